#!/usr/bin/env node
// Cold start in instructions: what bench/cold-start.mjs times, counted by valgrind's
// callgrind instead (a loaded machine changes the time, hardly the count). Each program runs
// once under callgrind with a preload that ends the process when the tracker's TCP port is
// listening (and loads nothing before the program does); `node -e 0` runs with the same
// preload, with and without the init script's flags.
//
//   npm run build && node bench/cold-start-instructions.mjs [--torrents 100] [--bundle FILE]
//
// --bundle FILE counts another build (e.g. a copy of an older dist/meshseed.js) beside it.
// Needs valgrind; each count takes about a minute (the program runs 20 to 50 times slower).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coldStartFolder, initScriptNodeFlags, numberArg } from './fixtures.mjs';

const root = new URL('..', import.meta.url).pathname;
const i = process.argv.indexOf('--bundle');
const bundles = [['meshseed', join(root, 'dist', 'meshseed.js')], ...(i > 0 ? [['--bundle', process.argv[i + 1]]] : [])];
const flags = initScriptNodeFlags(root);
if (spawnSync('valgrind', ['--version']).status !== 0) {
  console.error('cold-start-instructions: needs valgrind (apt-get install valgrind)');
  process.exit(2);
}
const TORRENTS = numberArg('torrents', 100);
const { dir, torrentDir, dataDir, port } = coldStartFolder(TORRENTS, 'meshseed-cold-ir-');

// Ends the process at the listen on WATCH_PORT; node:net is patched when the program asks for it.
const preload = join(dir, 'exit-at-listen.cjs');
writeFileSync(
  preload,
  `const Module = require('module');
const load = Module._load;
let patched = false;
Module._load = function (request, ...rest) {
  const m = load.call(this, request, ...rest);
  if (!patched && (request === 'node:net' || request === 'net')) {
    patched = true;
    const listen = m.Server.prototype.listen;
    m.Server.prototype.listen = function (...args) {
      this.once('listening', () => { if (this.address()?.port === Number(process.env.WATCH_PORT)) process.reallyExit(0); });
      return listen.apply(this, args);
    };
  }
  return m;
};
`,
);

const daemonArgs = (bundle, state) => [
  bundle, 'daemon', '--state-dir', state, '--seeder-torrent-dir', torrentDir, '--seeder-data-dir', dataDir,
  '--seeder-listen-port', String(port + 1), '--tracker-port', String(port), '--tracker-address', '127.0.0.1', '--lpd-enabled', '0',
];

/** A first start of `bundle` until its code cache is written (resume data and cache in place, as on a router). */
function firstStart(bundle, state) {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [...flags, ...daemonArgs(bundle, state)], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, MESHSEED_CODE_CACHE: state } });
    let log = '';
    const limit = setTimeout(() => c.kill('SIGKILL'), 120000);
    c.stderr.on('data', (d) => {
      log += d;
      if (/code cache: \S+ written \(/.test(log)) c.kill('SIGTERM');
    });
    c.on('exit', () => {
      clearTimeout(limit);
      if (/code cache: \S+ written \(/.test(log)) resolve();
      else reject(new Error(`no code cache written:\n${log}`));
    });
  });
}

/** Instructions callgrind counts for node with `args`. */
function count(args, env = {}) {
  const out = join(dir, 'callgrind.out');
  const r = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, '--smc-check=all-non-file', process.execPath, ...args], {
    encoding: 'utf8',
    env: { ...process.env, WATCH_PORT: String(port), ...env },
    maxBuffer: 64 << 20,
  });
  const m = /I\s+refs:\s+([\d,]+)/.exec(r.stderr);
  if (!m) throw new Error(`callgrind gave no count:\n${r.stderr.slice(-2000)}`);
  return Number(m[1].replace(/,/g, '')) / 1e6;
}

const e0 = count(['-r', preload, '-e', '0']);
const e0flags = count([...flags, '-r', preload, '-e', '0']);
console.log(`cold start in instructions (callgrind, millions, exec to the tracker's listen), ${TORRENTS} torrents in the folder, node flags ${flags.join(' ')}:`);
console.log(`  node -e 0                   ${e0.toFixed(1)}`);
console.log(`  node -e 0 with those flags  ${e0flags.toFixed(1)}`);
for (const [name, bundle] of bundles) {
  const state = join(dir, `state-${name.replace(/\W/g, '')}`);
  mkdirSync(state);
  await firstStart(bundle, state);
  const n = count([...flags, '-r', preload, ...daemonArgs(bundle, state)], { MESHSEED_CODE_CACHE: state });
  console.log(`  ${name.padEnd(27)} ${n.toFixed(1)}  ratio ${(n / e0).toFixed(2)} (target <= 1.2), ${(n - e0).toFixed(1)} above node -e 0`);
}
