#!/usr/bin/env node
// Web seed benchmark: meshseed's WebSeed against curl, the same file from the same nginx.
//
//   node bench/webseed.mjs [--size-mib 256] [--rounds 3] [--piece-kib 0] [--in-flight 1]
//
// nginx (Debian's, started by test/helpers/nginx.ts) serves a SIZE MiB file on loopback.
// Each round, alternating: `curl -o /dev/null` downloads the whole file; a node process
// running `WebSeed` (bundled by esbuild with the options of scripts/build.mjs: the code path
// of dist/meshseed.js) reads it as a single-file torrent in sequential piece-sized reads
// (`--piece-kib 0`: the piece length `meshseed create` would choose, 256 KiB for 256 MiB),
// each into the same piece buffer, as a download engine fills pieces from its pool.
// `--in-flight 2`: two reads at a time (one per connection, the seed's maxSockets), each the
// next piece, as an engine that keeps the web seed busy would; 1 (default) is one at a time.
// Throughput is bytes over the transfer's time as each program measures it (curl's
// time_total; the reader's clock around its reads), so neither counts its own start.
// The reader's CPU seconds per GiB and peak RSS are printed too. Before the timed rounds one
// verifying read checks every piece against the file's SHA-1. Prints medians and the ratio
// (meshseed / curl; the target is >= 0.9). Needs nginx, curl and npm ci (for esbuild).
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { bundleForBench, median, numberArg } from './fixtures.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SIZE_MIB = numberArg('size-mib', 256);
const ROUNDS = numberArg('rounds', 3);
const PIECE_KIB = numberArg('piece-kib', 0);
const IN_FLIGHT = numberArg('in-flight', 1);

const work = mkdtempSync(join(tmpdir(), 'meshseed-bench-webseed-'));
let nginx;
const cleanup = () => rmSync(work, { recursive: true, force: true });
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

// ---- the bundled code: WebSeed as dist/meshseed.js bundles it, the nginx starter, the piece length ----
const lib = join(work, 'lib');
await bundleForBench(
  build,
  {
    'web-seed': join(ROOT, 'src/seeder/web-seed.ts'),
    nginx: join(ROOT, 'test/helpers/nginx.ts'),
    'piece-length': join(ROOT, 'src/torrent/piece-length.ts'),
  },
  lib,
  { MESHSEED_VERSION: '"bench"', MESHSEED_BUNDLE: 'true' },
);
const require = createRequire(import.meta.url);
const { startNginx } = require(join(lib, 'nginx.cjs'));
const { choosePieceLength } = require(join(lib, 'piece-length.cjs'));

// ---- data ----
const size = SIZE_MIB * 1024 * 1024;
const pieceLength = PIECE_KIB > 0 ? PIECE_KIB * 1024 : choosePieceLength(size);
const www = join(work, 'www');
mkdirSync(www);
{
  const fd = openSync(join(www, 'bench.bin'), 'w');
  for (let left = size; left > 0; left -= 4 << 20) writeSync(fd, randomBytes(Math.min(left, 4 << 20)));
  closeSync(fd);
}
nginx = await startNginx({ root: www });
process.on('exit', () => nginx?.stop());
const url = `${nginx.url}bench.bin`;

// ---- the reader: one process per run ----
const reader = join(work, 'read.cjs');
writeFileSync(
  reader,
  `const { WebSeed } = require(${JSON.stringify(join(lib, 'web-seed.cjs'))});
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const [url, size, pieceLength, inFlight, verifyFile] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]), process.argv[6]];
const clock = { now: () => performance.now(), setTimeout: (fn, ms) => { const t = setTimeout(fn, ms); t.unref(); return { cancel: () => clearTimeout(t) }; } };
const logger = { error: console.error, warn: console.error, info() {}, debug() {}, child() { return logger; }, level: 'warn' };
(async () => {
  const ws = new WebSeed({ clock, logger }, { url, name: 'bench.bin', singleFile: true, files: [{ path: ['bench.bin'], length: size, offset: 0 }] });
  const file = verifyFile ? readFileSync(verifyFile) : null;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let bytes = 0;
  let next = 0;
  // each reader: one piece buffer, reused: a download engine fills pieces from its bounded pool, not from fresh memory
  await Promise.all(Array.from({ length: inFlight }, async () => {
    const into = Buffer.alloc(pieceLength);
    while (next < size) {
      const offset = next;
      next += pieceLength;
      const piece = await ws.read(offset, Math.min(pieceLength, size - offset), undefined, into);
      bytes += piece.length;
      if (file) {
        const want = createHash('sha1').update(file.subarray(offset, offset + piece.length)).digest('hex');
        if (createHash('sha1').update(piece).digest('hex') !== want) throw new Error('piece at ' + offset + ' differs');
      }
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  ws.close();
  console.log(JSON.stringify({ bytes, seconds, cpuS: (cpu.user + cpu.system) / 1e6, maxRssMiB: process.resourceUsage().maxRSS / 1024, status: ws.status() }));
})().catch((e) => { console.error(e); process.exit(1); });
`,
);

function runProgram(cmd, args) {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${err}`))));
  });
}

async function meshseedRun(verify = false) {
  const r = JSON.parse(await runProgram(process.execPath, [reader, url, String(size), String(pieceLength), String(IN_FLIGHT), ...(verify ? [join(www, 'bench.bin')] : [])]));
  if (r.bytes !== size || r.status.state !== 'ok') throw new Error(`meshseed read ${r.bytes} of ${size} bytes: ${JSON.stringify(r.status)}`);
  return r;
}

async function curlRun() {
  const out = await runProgram('curl', ['--http1.1', '-s', '-f', '-o', '/dev/null', '-w', '%{time_total} %{size_download}', url]);
  const [seconds, bytes] = out.trim().split(' ').map(Number);
  if (bytes !== size) throw new Error(`curl got ${bytes} of ${size} bytes`);
  return { seconds, bytes };
}

const mibs = (r) => r.bytes / 2 ** 20 / r.seconds;
console.log(`web seed bench: ${SIZE_MIB} MiB file, nginx on loopback, ${pieceLength / 1024} KiB pieces, ${IN_FLIGHT} read(s) in flight, ${ROUNDS} rounds`);
await meshseedRun(true);
console.log('verify: every piece read through WebSeed matches the file');
const ours = [];
const curls = [];
for (let round = 1; round <= ROUNDS; round++) {
  const c = await curlRun();
  const m = await meshseedRun();
  curls.push(c);
  ours.push(m);
  console.log(
    `round ${round}: curl ${mibs(c).toFixed(0)} MiB/s, meshseed ${mibs(m).toFixed(0)} MiB/s` +
      ` (CPU ${(m.cpuS / (size / 2 ** 30)).toFixed(2)} s/GiB, peak RSS ${m.maxRssMiB.toFixed(0)} MiB)`,
  );
}
const curlMedian = median(curls.map(mibs));
const oursMedian = median(ours.map(mibs));
console.log(`median: curl ${curlMedian.toFixed(0)} MiB/s, meshseed ${oursMedian.toFixed(0)} MiB/s`);
console.log(`meshseed CPU per GiB (median): ${median(ours.map((m) => m.cpuS / (size / 2 ** 30))).toFixed(2)} s; peak RSS (median): ${median(ours.map((m) => m.maxRssMiB)).toFixed(0)} MiB`);
console.log(`ratio meshseed/curl: ${(oursMedian / curlMedian).toFixed(2)}x (target >= 0.9x)`);
// each round runs the two back to back, so their ratio is less exposed to a shared machine's swings
console.log(`median of the rounds' ratios: ${median(ours.map((m, i) => mibs(m) / mibs(curls[i]))).toFixed(2)}x`);
await nginx.stop();
nginx = undefined;
