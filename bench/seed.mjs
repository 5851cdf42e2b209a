#!/usr/bin/env node
// Seeder benchmark: meshseed against a libtorrent seeder (python3-libtorrent), in one run.
//
//   node bench/seed.mjs [--size-mib 256] [--rounds 3] [--limit-kib 4096] [--limit-seconds 30]
//
// Each round, aria2c downloads a SIZE MiB torrent from one seeder at a time (the only
// seed, found through Debian's opentracker on loopback), alternating meshseed and
// libtorrent. Measured per run: throughput, the seeder's CPU seconds (utime + stime from
// /proc) per GiB sent, and its peak resident memory (VmHWM). Throughput is what the
// seeder's TCP connections deliver, read from the kernel (`ss -tip` bytes_acked of the
// seeder process's connections, polled): bytes from the 4th MiB to 90% of SIZE over the
// time between.
// aria2c's fixed costs (its start, its announce, its exit) are printed apart: the time
// aria2c takes for a 1 MiB torrent from the same seeder, and the raw SIZE / wall-time figure.
// Then the upload limit: each seeder limited to LIMIT KiB/s, a libtorrent client downloads
// and the bytes it received over LIMIT_SECONDS (after the first MiB) give the delivered rate.
// Prints medians and ratios (meshseed / libtorrent). Needs a built dist/meshseed.js
// (npm run build), aria2c, opentracker, mktorrent and /usr/bin/python3 with libtorrent.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, writeSync, closeSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { cpuSeconds as cpuOf, initScriptNodeFlags, median, numberArg, processes, until } from './fixtures.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SIZE_MIB = numberArg('size-mib', 256);
const ROUNDS = numberArg('rounds', 3);
const LIMIT_KIB = numberArg('limit-kib', 4096);
const LIMIT_SECONDS = numberArg('limit-seconds', 30);
const PY = '/usr/bin/python3';
const port = () => 20000 + Math.floor(Math.random() * 40000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const work = mkdtempSync(join(tmpdir(), 'meshseed-bench-seed-'));
const start = processes(work, { spawn, rmSync });
const cpuSeconds = (pid) => cpuOf(pid, readFileSync);
const peakRssMiB = (pid) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

// ---- data and torrent ----
const dataDir = join(work, 'data');
mkdirSync(join(dataDir, 'bench'), { recursive: true });
{
  const fd = openSync(join(dataDir, 'bench', 'blob.bin'), 'w');
  const chunk = 1 << 20;
  for (let i = 0; i < SIZE_MIB; i++) writeSync(fd, randomBytes(chunk));
  closeSync(fd);
  writeFileSync(join(dataDir, 'bench', 'small.txt'), randomBytes(12345));
}
const size = SIZE_MIB * 1024 * 1024 + 12345;
mkdirSync(join(dataDir, 'probe'));
writeFileSync(join(dataDir, 'probe', 'one.bin'), randomBytes(1 << 20));

mkdirSync(join(work, 'torrents'));
mkdirSync(join(work, 'ot'));
chmodSync(join(work, 'ot'), 0o755);
/** A port nobody listens on now (TCP and UDP), for opentracker. */
async function freePort() {
  const { createServer } = await import('node:net');
  const { createSocket } = await import('node:dgram');
  for (;;) {
    const p = port();
    const ok = await new Promise((resolve) => {
      const srv = createServer().once('error', () => resolve(false)).listen(p, '127.0.0.1', () => {
        const u = createSocket('udp4').once('error', () => srv.close(() => resolve(false)));
        u.bind(p, '127.0.0.1', () => u.close(() => srv.close(() => resolve(true))));
      });
    });
    if (ok) return p;
  }
}
const trackerPort = await freePort();
const announceUrl = `http://127.0.0.1:${trackerPort}/announce`;
function makeTorrent(name) {
  const file = join(work, 'torrents', `${name}.torrent`);
  if (spawnSync('mktorrent', ['-l', '18', '-a', announceUrl, '-o', file, name], { cwd: dataDir }).status !== 0) throw new Error('mktorrent failed');
  // info hash: SHA-1 of the info dict's bytes (mktorrent writes info last)
  const tbytes = readFileSync(file);
  const infoAt = tbytes.indexOf('4:infod') + 6;
  return { file, infoHash: createHash('sha1').update(tbytes.subarray(infoAt, tbytes.length - 1)).digest('hex') };
}
const big = makeTorrent('bench');
const probe = makeTorrent('probe');
const torrentFile = big.file;
writeFileSync(join(work, 'ot', 'whitelist'), `${big.infoHash}\n${probe.infoHash}\n`);

async function startTracker() {
  const t = start('opentracker', ['-i', '127.0.0.1', '-p', String(trackerPort), '-P', String(trackerPort), '-w', '/whitelist', '-d', join(work, 'ot')]);
  await until(`opentracker (${t.out})`, 5000, () => spawnSync('sh', ['-c', `ss -ltnpH 'sport = :${trackerPort}'`], { encoding: 'utf8' }).stdout.includes(`pid=${t.pid},`));
  return t;
}
async function announce(peerPort) {
  for (const t of [big, probe]) await announceOne(t.infoHash, peerPort);
}
function announceOne(infoHash, peerPort) {
  const pct = infoHash.replace(/../g, '%$&');
  return new Promise((resolve, reject) => {
    request(`${announceUrl}?info_hash=${pct}&peer_id=-MS0000-benchbenchbe&port=${peerPort}&uploaded=0&downloaded=0&left=0&compact=1&event=started&numwant=0`, { agent: false }, (res) => {
      res.resume();
      res.on('end', resolve);
    }).on('error', reject).end();
  });
}

async function startMeshseed(limitKiB, announceIt = true) {
  const p = port();
  const state = join(work, 'state');
  // MESHSEED_NODE_FLAGS: node flags for the daemon, as the init script would give them
  // the init script's node flags, as on a router, unless MESHSEED_NODE_FLAGS says otherwise
  const flags = process.env.MESHSEED_NODE_FLAGS !== undefined ? process.env.MESHSEED_NODE_FLAGS.split(' ').filter(Boolean) : initScriptNodeFlags(ROOT);
  const c = start(process.execPath, [...flags, join(ROOT, 'dist', 'meshseed.js'), 'daemon', '--tracker-enabled', '0', '--lpd-enabled', '0',
    '--state-dir', state, '--seeder-torrent-dir', join(work, 'torrents'), '--seeder-data-dir', dataDir,
    '--seeder-listen-port', String(p), '--seeder-upload-rate', String(limitKiB), '--seeder-upload-slots', '4']);
  await until('meshseed to seed', 120_000, () => (c.out.match(/: seeding \(/g) ?? []).length === 2 || c.exitCode !== null);
  const m = /listening for peers on port (\d+)/.exec(c.out);
  if (!m) throw new Error(`meshseed did not start: ${c.out}`);
  if (announceIt) await announce(Number(m[1]));
  return { child: c, port: Number(m[1]) };
}
async function startLibtorrent(limitKiB, announceIt = true) {
  const p = port();
  const c = start(PY, [join(ROOT, 'bench', 'lt-seed.py'), `${big.file},${probe.file}`, dataDir, String(p), String(limitKiB * 1024)]);
  await until('libtorrent to seed', 120_000, () => c.out.includes('ready') || c.exitCode !== null);
  if (!c.out.includes('ready')) throw new Error(`libtorrent seeder failed: ${c.out}`);
  if (announceIt) await announce(p); // it announces itself too; this makes it immediate
  return { child: c, port: p };
}

async function downloadWithAria2(torrentFile, listenPort = port()) {
  const dl = join(work, 'dl');
  rmSync(dl, { recursive: true, force: true });
  mkdirSync(dl);
  const t0 = performance.now();
  const a = start('aria2c', [`--dir=${dl}`, '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false',
    '--seed-time=0', `--listen-port=${listenPort}`, '--interface=127.0.0.1', '--summary-interval=0', '--console-log-level=error',
    '--file-allocation=none', '--bt-hash-check-seed=false', '--check-integrity=false', torrentFile]);
  const code = await a.done;
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`aria2c failed: ${a.out}`);
  rmSync(dl, { recursive: true, force: true });
  return seconds;
}

/** Polls the kernel's bytes_acked of the TCP connections of process `pid` until `stop()`; returns [ms, total] samples. */
function watchAcked(pid) {
  const samples = [];
  const best = new Map();
  let running = true;
  const loop = (async () => {
    while (running) {
      const r = spawnSync('ss', ['-tinpH', 'state', 'established'], { encoding: 'utf8' });
      const t = performance.now();
      let peer = '';
      for (const line of r.stdout.split('\n')) {
        // (with a state filter, ss prints no State column)
        const conn = /^\d+\s+\d+\s+(\S+)\s+(\S+)/.exec(line);
        if (conn) peer = line.includes(`pid=${pid},`) ? `${conn[1]}>${conn[2]}` : '';
        const a = /bytes_acked:(\d+)/.exec(line);
        if (a && peer) best.set(peer, Math.max(best.get(peer) ?? 0, Number(a[1])));
      }
      samples.push([t, [...best.values()].reduce((x, y) => x + y, 0)]);
      await sleep(10);
    }
  })();
  return { samples, stop: async () => { running = false; await loop; } };
}
function rateFrom(samples, total) {
  if (process.env.BENCH_DEBUG) console.log(`  (${samples.length} samples, last ${JSON.stringify(samples[samples.length - 1])}, total ${total})`);
  const lo = 4 << 20;
  const hi = total * 0.9;
  const a = samples.find((x) => x[1] >= lo);
  const b = samples.find((x) => x[1] >= hi);
  if (!a || !b || b[0] <= a[0]) return NaN;
  return (b[1] - a[1]) / 2 ** 20 / ((b[0] - a[0]) / 1000);
}

async function runThroughput(kind) {
  const tracker = await startTracker();
  const seeder = kind === 'meshseed' ? await startMeshseed(0) : await startLibtorrent(0);
  const fixed = await downloadWithAria2(probe.file);
  const cpu0 = cpuSeconds(seeder.child.pid);
  const watch = watchAcked(seeder.child.pid);
  const seconds = await downloadWithAria2(big.file);
  await watch.stop();
  const cpu = cpuSeconds(seeder.child.pid) - cpu0;
  const rss = peakRssMiB(seeder.child.pid);
  seeder.child.kill('SIGKILL');
  tracker.kill('SIGKILL');
  await seeder.child.done;
  await tracker.done;
  const gib = size / 2 ** 30;
  return { mibps: rateFrom(watch.samples, size), wall: size / 2 ** 20 / seconds, fixed, cpuPerGiB: cpu / gib, rss };
}

async function runLimit(kind) {
  // dialled directly by the client: no tracker
  const seeder = kind === 'meshseed' ? await startMeshseed(LIMIT_KIB, false) : await startLibtorrent(LIMIT_KIB, false);
  const dl = join(work, 'dl-limit');
  rmSync(dl, { recursive: true, force: true });
  mkdirSync(dl);
  const c = start(PY, [join(ROOT, 'test', 'interop', 'lt-download.py'), '--torrent', torrentFile, '--save', dl,
    '--peer', `127.0.0.1:${seeder.port}`, '--timeout', String(LIMIT_SECONDS + 30), '--progress']);
  const samples = [];
  await until('enough samples', (LIMIT_SECONDS + 40) * 1000, () => {
    const lines = c.out.split('\n').filter((l) => l.startsWith('progress '));
    samples.length = 0;
    for (const l of lines) {
      const [, t, b] = l.split(' ');
      samples.push([Number(t), Number(b)]);
    }
    const first = samples.find((s) => s[1] >= 1 << 20);
    return (first && samples[samples.length - 1][0] - first[0] >= LIMIT_SECONDS) || c.exitCode !== null;
  });
  c.kill('SIGKILL');
  seeder.child.kill('SIGKILL');
  await c.done;
  await seeder.child.done;
  rmSync(dl, { recursive: true, force: true });
  const first = samples.find((s) => s[1] >= 1 << 20);
  const last = samples[samples.length - 1];
  const rate = (last[1] - first[1]) / (last[0] - first[0]) / 1024;
  return { rateKiB: rate, error: rate / LIMIT_KIB - 1 };
}

const results = { meshseed: [], libtorrent: [] };
console.log(`seeding ${SIZE_MIB} MiB to aria2c on loopback, ${ROUNDS} round(s), alternating seeders`);
// a first, uncounted meshseed start writes its resume data (its one full check)
{
  const warm = await startMeshseed(0, false);
  warm.child.kill('SIGKILL');
  await warm.child.done;
}
for (let r = 0; r < ROUNDS; r++) {
  for (const kind of ['meshseed', 'libtorrent']) {
    const x = await runThroughput(kind);
    results[kind].push(x);
    console.log(`  round ${r + 1} ${kind.padEnd(10)} ${x.mibps.toFixed(1)} MiB/s (wall ${x.wall.toFixed(1)}, 1 MiB torrent ${x.fixed.toFixed(2)} s)  ${x.cpuPerGiB.toFixed(2)} CPU s/GiB  peak RSS ${x.rss.toFixed(1)} MiB`);
  }
}
const med = (kind, key) => median(results[kind].map((x) => x[key]));
const pick = (k) => ({ mibps: med(k, 'mibps'), wall: med(k, 'wall'), fixed: med(k, 'fixed'), cpu: med(k, 'cpuPerGiB'), rss: med(k, 'rss') });
const m = pick('meshseed');
const l = pick('libtorrent');
console.log(`\nupload limit ${LIMIT_KIB} KiB/s over ${LIMIT_SECONDS} s (libtorrent client, after the first MiB)`);
const limM = await runLimit('meshseed');
console.log(`  meshseed   ${limM.rateKiB.toFixed(0)} KiB/s (${(limM.error * 100).toFixed(2)}%)`);
const limL = await runLimit('libtorrent');
console.log(`  libtorrent ${limL.rateKiB.toFixed(0)} KiB/s (${(limL.error * 100).toFixed(2)}%)`);

console.log(`\nmedians                 meshseed   libtorrent   ratio   target`);
console.log(`throughput MiB/s      ${m.mibps.toFixed(1).padStart(10)} ${l.mibps.toFixed(1).padStart(12)} ${(m.mibps / l.mibps).toFixed(2).padStart(7)}   >= 0.90`);
console.log(`throughput MiB/s wall ${m.wall.toFixed(1).padStart(10)} ${l.wall.toFixed(1).padStart(12)} ${(m.wall / l.wall).toFixed(2).padStart(7)}`);
console.log(`fixed cost s (1 MiB)  ${m.fixed.toFixed(2).padStart(10)} ${l.fixed.toFixed(2).padStart(12)} ${(m.fixed / l.fixed).toFixed(2).padStart(7)}`);
console.log(`CPU s per GiB         ${m.cpu.toFixed(2).padStart(10)} ${l.cpu.toFixed(2).padStart(12)} ${(m.cpu / l.cpu).toFixed(2).padStart(7)}   <= 1.50`);
console.log(`peak RSS MiB          ${m.rss.toFixed(1).padStart(10)} ${l.rss.toFixed(1).padStart(12)} ${(m.rss / l.rss).toFixed(2).padStart(7)}   meshseed < 64`);
console.log(`limit error           ${(limM.error * 100).toFixed(2).padStart(9)}% ${(limL.error * 100).toFixed(2).padStart(11)}%           |meshseed| <= 5%`);
