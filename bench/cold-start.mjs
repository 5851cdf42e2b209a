#!/usr/bin/env node
// Cold start: time from spawning the daemon (with the init script's node flags) to its tracker
// port accepting a TCP connection, with 100 torrents in the watch folder, against the time
// `node -e 0` takes to start and exit, in the same run (interleaved, medians).
//
//   npm run build && node bench/cold-start.mjs [--runs 9] [--torrents 100]
//
// The first daemon start checks the data, writes resume data and, as the init script has it
// (MESHSEED_CODE_CACHE is main.state_dir), V8's code cache of the bundle; it is not counted (a
// router restarts with these in place). `--no-code-cache` measures starts without the cache.
// The tracker port is probed every millisecond by a raw socket connect (a refused connect on
// loopback costs microseconds).
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { coldStartFolder, initScriptNodeFlags, median, numberArg } from './fixtures.mjs';

const root = new URL('..', import.meta.url).pathname;
const RUNS = numberArg('runs', 9);
const TORRENTS = numberArg('torrents', 100);
const flags = initScriptNodeFlags(root);
const codeCache = !process.argv.includes('--no-code-cache');
const { dir, torrentDir, dataDir, port } = coldStartFolder(TORRENTS);

const hr = () => Number(process.hrtime.bigint()) / 1e6;

function nodeE0() {
  return new Promise((resolve) => {
    const t0 = hr();
    spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' }).on('exit', () => resolve(hr() - t0));
  });
}

/**
 * ms until the tracker port accepts, and until the daemon logs that every part started.
 * `first`: also waits for the code cache to be written.
 */
function daemon(first = false) {
  return new Promise((resolve, reject) => {
    const t0 = hr();
    const c = spawn(
      process.execPath,
      [
        ...flags,
        join(root, 'dist', 'meshseed.js'),
        'daemon',
        '--state-dir', join(dir, 'state'),
        '--seeder-torrent-dir', torrentDir,
        '--seeder-data-dir', dataDir,
        '--seeder-listen-port', String(port + 1),
        '--tracker-port', String(port),
        '--tracker-address', '127.0.0.1',
        '--lpd-enabled', '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MESHSEED_CODE_CACHE: codeCache ? join(dir, 'state') : '' } },
    );
    let out = '';
    let open;
    let all;
    // the log goes to stderr; "started (...)" comes once every part started (folder scanned)
    const onLog = (d) => {
      out += d;
      if (all === undefined && /started \(/.test(out)) all = hr() - t0;
      if (first && codeCache && !/code cache: \S+ written \(/.test(out)) return;
      if (open !== undefined && all !== undefined) c.kill('SIGTERM');
    };
    c.stdout.on('data', onLog);
    c.stderr.on('data', onLog);
    const limit = setTimeout(() => c.kill('SIGKILL'), 60000);
    const probe = () => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        open = hr() - t0;
        s.destroy();
        if (all !== undefined && !first) c.kill('SIGTERM');
      });
      s.on('error', () => setTimeout(probe, 1));
    };
    probe();
    c.on('exit', () => {
      clearTimeout(limit);
      if (open === undefined || all === undefined) return reject(new Error(`daemon exited before its port opened and it started:\n${out}`));
      resolve({ open, all });
    });
  });
}

await daemon(true); // first start: data check, resume data and code cache written
const e0 = [];
const open = [];
const all = [];
for (let r = 0; r < RUNS; r++) {
  e0.push(await nodeE0());
  const d = await daemon();
  open.push(d.open);
  all.push(d.all);
}
const m0 = median(e0);
const mo = median(open);
console.log(`cold start, ${TORRENTS} torrents in the folder, node flags ${flags.join(' ') || '(none)'}, code cache ${codeCache ? 'on' : 'off'}, ${RUNS} runs:`);
console.log(`  node -e 0                 ${m0.toFixed(0)} ms (runs: ${e0.map((x) => x.toFixed(0)).join(' ')})`);
console.log(`  meshseed tracker port open ${mo.toFixed(0)} ms (runs: ${open.map((x) => x.toFixed(0)).join(' ')})`);
console.log(`  meshseed every part started ${median(all).toFixed(0)} ms (watch folder scanned)`);
console.log(`  ratio ${(mo / m0).toFixed(2)} (target <= 1.2)`);
