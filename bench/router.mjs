#!/usr/bin/env node
// A router's load, and the memory it costs: meshseed (with the node flags the init script
// sets) against opentracker + a libtorrent seeder (python3-libtorrent, bench/lt-seed.py), in
// the same run, stage by stage:
//   1. idle: started, nothing in the watch folder;
//   2. 100 torrents in the folder (4 of 32 MiB, 96 of 256 KiB), all seeding;
//   3. + 100,000 tracked peers (10,000 torrents x 10 peers announced over UDP);
//   4. + 50 concurrent peer downloads from the seeder (bench/leechers.mjs, the 4 big torrents,
//      upload limit 256 KiB/s and 4 upload slots: the shipped defaults, for both seeders).
// Prints RSS after each stage (peak RSS during stage 4, sampled every 100 ms) and the high-water
// mark (VmHWM) at the end; the reference's figures are opentracker's plus libtorrent's.
// Loopback only. Never part of `npm test`.
//
//   npm run build && node bench/router.mjs [--rounds 1] [--seconds 15] [--node-flags "..."]
//
// --node-flags replaces the init script's flags (to measure a V8 flag before choosing it).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initScriptNodeFlags, makeTorrent, median, mib, rss, runToEnd, until, waitForTcp } from './fixtures.mjs';

const root = new URL('..', import.meta.url).pathname;
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
};
const ROUNDS = Number(arg('rounds', '1'));
const SECONDS = Number(arg('seconds', '15'));
/** --only meshseed: skip the reference (while trying flags). */
const ONLY = arg('only', '');
const FLAGS = arg('node-flags', undefined)?.split(/\s+/).filter(Boolean) ?? initScriptNodeFlags(root);
const PY = '/usr/bin/python3';
const BIG = 4;
const BIG_BYTES = 32 << 20;
const SMALL_BYTES = 256 << 10;
const PIECE = 1 << 18;
const FILL_TORRENTS = 10000;
const FILL_PEERS = 10;
const DOWNLOADS = 50;
const LIMIT_KIB = 256;

for (const p of ['opentracker']) {
  if (spawnSync('sh', ['-c', `command -v ${p}`]).status !== 0) {
    console.error(`${p} is not installed`);
    process.exit(1);
  }
}
if (spawnSync(PY, ['-c', 'import libtorrent']).status !== 0) {
  console.error('python3-libtorrent is not installed (Debian package python3-libtorrent, under /usr/bin/python3)');
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'meshseed-router-'));
chmodSync(dir, 0o755); // opentracker chroots here as nobody
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));
const randomPort = () => 20000 + Math.floor(Math.random() * 40000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the torrents ----
const all = join(dir, 'all');
const dataDir = join(dir, 'data');
mkdirSync(all);
mkdirSync(dataDir);
const bigHashes = [];
console.log(`making ${BIG} torrents of ${BIG_BYTES >> 20} MiB and ${100 - BIG} of ${SMALL_BYTES >> 10} KiB...`);
for (let t = 0; t < 100; t++) {
  const h = makeTorrent({ torrentDir: all, dataDir, name: `file-${String(t).padStart(3, '0')}.bin`, bytes: t < BIG ? BIG_BYTES : SMALL_BYTES, pieceLength: PIECE, announce: 'http://127.0.0.1:1/announce', seed: t + 1 });
  if (t < BIG) bigHashes.push(h.toString('hex'));
}
const hashHex = (t) => '6d'.repeat(16) + t.toString(16).padStart(8, '0');
writeFileSync(join(dir, 'whitelist.txt'), Array.from({ length: FILL_TORRENTS }, (_, t) => hashHex(t)).join('\n') + '\n');

function start(cmd, args, opts = {}) {
  const c = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  children.add(c);
  c.out = '';
  c.stdout.on('data', (d) => (c.out += d));
  c.stderr.on('data', (d) => (c.out += d));
  c.on('exit', () => children.delete(c));
  return c;
}
async function stop(c) {
  if (c.exitCode !== null) return;
  c.kill('SIGKILL');
  await new Promise((r) => c.on('exit', r));
}
const waitFor = (what, fn) => until(what, 120000, fn, 100);
const fill = (port) =>
  runToEnd(process.execPath, [join(root, 'bench', 'tracker-udp-load.mjs'), '--fill', '--port', String(port), '--torrents', String(FILL_TORRENTS), '--peers', String(FILL_PEERS)]);
/** Runs the leechers while sampling `pids`' summed RSS every 100 ms; returns the peak and the leechers' report. */
async function downloads(port, pids) {
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, pids().reduce((a, p) => a + rss(p).rss, 0))), 100);
  const out = await runToEnd(process.execPath, [
    join(root, 'bench', 'leechers.mjs'), '--port', String(port), '--hashes', bigHashes.join(','), '--count', String(DOWNLOADS),
    '--seconds', String(SECONDS), '--pieces', String(BIG_BYTES / PIECE), '--piece-length', String(PIECE),
  ]);
  clearInterval(timer);
  return { peak, report: JSON.parse(out.trim().split('\n').pop()) };
}

async function meshseedRound() {
  const state = join(dir, 'ms-state');
  const torrents = join(dir, 'ms-torrents');
  rmSync(state, { recursive: true, force: true });
  rmSync(torrents, { recursive: true, force: true });
  mkdirSync(torrents);
  const tport = randomPort();
  const sport = tport + 1;
  const d = start(process.execPath, [
    ...FLAGS, join(root, 'dist', 'meshseed.js'), 'daemon',
    '--state-dir', state, '--seeder-torrent-dir', torrents, '--seeder-data-dir', dataDir,
    '--seeder-listen-port', String(sport), '--tracker-port', String(tport), '--tracker-address', '127.0.0.1',
    '--lpd-enabled', '0', '--tracker-rate-limit', '0', '--tracker-max-torrents', '20000', '--tracker-max-peers', '200000',
    '--seeder-upload-rate', String(LIMIT_KIB),
  ]);
  const r = {};
  try {
    await waitForTcp(tport);
    await waitFor('meshseed started', () => /started \(/.test(d.out));
    await sleep(1000);
    r.idle = rss(d.pid).rss;
    for (const f of readdirSync(all)) copyFileSync(join(all, f), join(torrents, f));
    await waitFor('100 torrents seeding', async () => {
      const out = await runToEnd(process.execPath, [join(root, 'dist', 'meshseed.js'), 'status', '--json', '--state-dir', state]).catch(() => '{}');
      const v = JSON.parse(out);
      return (v.torrents ?? []).filter((t) => t.state === 'seeding').length === 100;
    });
    r.torrents = rss(d.pid).rss;
    await fill(tport);
    r.peers = rss(d.pid).rss;
    const dl = await downloads(sport, () => [d.pid]);
    r.downloads = dl.peak;
    r.report = dl.report;
    r.hwm = rss(d.pid).hwm;
    const stats = JSON.parse(await runToEnd('curl', ['-s', `http://127.0.0.1:${tport}/stats.json`]));
    r.tracked = stats.peers;
    r.heap = stats.memory;
  } catch (err) {
    console.error(d.out.slice(-3000));
    throw err;
  } finally {
    await stop(d);
  }
  return r;
}

async function referenceRound() {
  const tport = randomPort();
  const lport = tport + 1;
  const ot = start('opentracker', ['-i', '127.0.0.1', '-p', String(tport), '-P', String(tport), '-d', dir, '-w', 'whitelist.txt']);
  const torrentList = readdirSync(all).map((f) => join(all, f)).join(',');
  const lt = start(PY, [join(root, 'bench', 'lt-seed.py'), torrentList, dataDir, String(lport), String(LIMIT_KIB * 1024)], { env: { ...process.env, LT_WAIT_STDIN: '1' } });
  const both = () => rss(ot.pid).rss + rss(lt.pid).rss;
  const r = {};
  try {
    await waitForTcp(tport);
    await waitFor('libtorrent idle', () => lt.out.includes('idle'));
    await sleep(1000);
    r.idle = both();
    lt.stdin.write('go\n');
    await waitFor('libtorrent seeding 100 torrents', () => lt.out.includes('ready'));
    r.torrents = both();
    await fill(tport);
    r.peers = both();
    r.otAdded = rss(ot.pid).rss;
    const dl = await downloads(lport, () => [ot.pid, lt.pid]);
    r.downloads = dl.peak;
    r.report = dl.report;
    r.hwm = rss(ot.pid).hwm + rss(lt.pid).hwm;
  } catch (err) {
    console.error(ot.out.slice(-2000), lt.out.slice(-2000));
    throw err;
  } finally {
    await stop(ot);
    await stop(lt);
  }
  return r;
}

console.log(`router bench: meshseed with node flags [${FLAGS.join(' ')}], ${ROUNDS} round(s), downloads for ${SECONDS} s`);
const ms = [];
const ref = [];
for (let i = 0; i < ROUNDS; i++) {
  const a = await meshseedRound();
  if (ONLY === 'meshseed') {
    console.log(`meshseed: ${mib(a.idle)} -> ${mib(a.torrents)} -> ${mib(a.peers)} -> ${mib(a.downloads)} MiB (HWM ${mib(a.hwm)}); heap ${mib(a.heap.heapUsed)} MiB, buffers ${mib(a.heap.arrayBuffers)} MiB; ${a.report.connected} connected, ${a.report.unchoked} unchoked, ${mib(a.report.bytes)} MiB`);
    continue;
  }
  const b = await referenceRound();
  ms.push(a);
  ref.push(b);
  const line = (x) => `${mib(x.idle)} -> ${mib(x.torrents)} -> ${mib(x.peers)} -> ${mib(x.downloads)} MiB (HWM ${mib(x.hwm)})`;
  console.log(`round ${i + 1} meshseed                 ${line(a)}; tracked ${a.tracked} peers; heap ${mib(a.heap.heapUsed)} MiB, buffers ${mib(a.heap.arrayBuffers)} MiB; downloads: ${a.report.connected} connected, ${a.report.unchoked} unchoked, ${mib(a.report.bytes)} MiB`);
  console.log(`round ${i + 1} opentracker + libtorrent ${line(b)}; downloads: ${b.report.connected} connected, ${b.report.unchoked} unchoked, ${mib(b.report.bytes)} MiB`);
}
if (ONLY === 'meshseed') process.exit(0);
const m = (xs, k) => median(xs.map((x) => x[k]));
console.log(`\nmedians (RSS, MiB): stage             meshseed   opentracker+libtorrent   ratio`);
for (const [k, label] of [['idle', 'idle'], ['torrents', '100 torrents'], ['peers', '+100k tracked peers'], ['downloads', '+50 downloads (peak)'], ['hwm', 'high-water mark']])
  console.log(`  ${label.padEnd(34)} ${mib(m(ms, k)).padStart(8)} ${mib(m(ref, k)).padStart(12)}             ${(m(ms, k) / m(ref, k)).toFixed(2)}`);
console.log(`memory added by 100k tracked peers: meshseed +${mib(m(ms, 'peers') - m(ms, 'torrents'))} MiB (target <= 8)`);
console.log(`peak RSS (high-water mark) ${mib(m(ms, 'hwm'))} MiB (target <= 64)`);
