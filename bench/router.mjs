#!/usr/bin/env node
// A router's load, and the memory it costs: meshseed (with the node flags the init script
// sets) against opentracker + a libtorrent seeder (python3-libtorrent, bench/lt-seed.py), in
// the same run, stage by stage, each stage adding to the load of the ones before:
//   1. idle: started, nothing in the watch folder;
//   2. 100 torrents in the folder (4 of 32 MiB, 96 of 256 KiB), all seeding;
//   3. + 100,000 tracked peers (10,000 torrents x 10 peers announced over UDP);
//   4. + 50 concurrent peer downloads from the seeder (bench/leechers.mjs, the 4 big torrents,
//      upload limit 256 KiB/s and 4 upload slots: the shipped defaults, for both seeders);
//   5. + mirror mode: 4 more torrents (--mirror-mib each) downloaded at once, while the 50
//      downloads go on, from a third program (a libtorrent seeder, not measured) found through
//      the torrents' tracker: meshseed's own tracker, opentracker for the reference.
// Each stage's figure is read once the stage is reached (status --json says the torrents seed,
// the load generator has finished, the leechers are all connected and receiving, the mirrored
// torrents are complete), never after a fixed pause; stages 4 and 5 print the peak RSS (sampled
// every 100 ms while they run). Then the high-water mark (VmHWM). For meshseed each stage also
// prints where its memory is (status --json: V8 heap, code, buffers; /proc: RssAnon, RssFile, and
// of RssAnon the C library's arenas: the main thread's and the other threads'),
// and a bare `node` with the same flags is measured first as the floor.
// Loopback only. Never part of `npm test`.
//
//   npm run build && node bench/router.mjs [--rounds 1] [--mirror-mib 32] [--only meshseed] [--node-flags "..."] [--variants "A; B"] [--daemon-log FILE]
//
// --node-flags "..." replaces the init script's flags; --variants "A; B; ..." also runs meshseed
// started other ways in each round, one after the other, for a side-by-side table: each is node
// flags added to the init script's (or replacing them when it sets --max-old-space-size) and
// NAME=value environment variables (MALLOC_ARENA_MAX=2, UV_THREADPOOL_SIZE=2), to measure a
// lever before choosing it.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSeconds, daemonVariant, initScriptNodeFlags, makeTorrent, median, mib, rss, runToEnd, until, waitForTcp } from './fixtures.mjs';

const root = new URL('..', import.meta.url).pathname;
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
};
const ROUNDS = Number(arg('rounds', '1'));
/** --only meshseed: skip the reference (while trying flags). */
const ONLY = arg('only', '');
/** --daemon-log FILE: each meshseed round's output appended there (with --variants "--trace-gc": V8's collections). */
const DAEMON_LOG = arg('daemon-log', '');
const INIT = initScriptNodeFlags(root);
/** The init script's flags, or --node-flags; --variants "A; B; ..." adds ways to compare in the same run (daemonVariant). */
const MAIN = daemonVariant(arg('node-flags', INIT.join(' ')), []);
const VARIANTS = [MAIN, ...(arg('variants', '') || '').split(';').filter((v) => v.trim()).map((v) => daemonVariant(v, INIT))];
const PY = '/usr/bin/python3';
const BIG = 4;
const BIG_BYTES = 32 << 20;
const SMALL_BYTES = 256 << 10;
const MIRRORS = 4;
const MIRROR_BYTES = Number(arg('mirror-mib', '32')) << 20;
const PIECE = 1 << 18;
const FILL_TORRENTS = 10000;
const FILL_PEERS = 10;
const DOWNLOADS = 50;
/** Stage 4 is reached once every leecher is connected and this much has been sent to them. */
const DOWNLOADS_FLOWING = 1 << 20;
const LIMIT_KIB = 256;
const STATUS = join(root, 'dist', 'meshseed.js');

for (const p of ['opentracker', 'curl']) {
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

// ---- the torrents ----
const all = join(dir, 'all');
const dataDir = join(dir, 'data');
const mirrorAll = join(dir, 'mirror-all');
const mirrorData = join(dir, 'mirror-data');
for (const d of [all, dataDir, mirrorAll, mirrorData]) mkdirSync(d);
const bigHashes = [];
console.log(`making ${BIG} torrents of ${BIG_BYTES >> 20} MiB, ${100 - BIG} of ${SMALL_BYTES >> 10} KiB and ${MIRRORS} to mirror of ${MIRROR_BYTES >> 20} MiB...`);
for (let t = 0; t < 100; t++) {
  const h = makeTorrent({ torrentDir: all, dataDir, name: `file-${String(t).padStart(3, '0')}.bin`, bytes: t < BIG ? BIG_BYTES : SMALL_BYTES, pieceLength: PIECE, announce: 'http://127.0.0.1:1/announce', seed: t + 1 });
  if (t < BIG) bigHashes.push(h.toString('hex'));
}
const mirrorHashes = [];
for (let t = 0; t < MIRRORS; t++)
  mirrorHashes.push(makeTorrent({ torrentDir: mirrorAll, dataDir: mirrorData, name: `mirror-${t}.bin`, bytes: MIRROR_BYTES, pieceLength: PIECE, announce: 'http://127.0.0.1:1/announce', seed: 1000 + t }));
const hashHex = (t) => '6d'.repeat(16) + t.toString(16).padStart(8, '0');
writeFileSync(join(dir, 'whitelist.txt'), [...Array.from({ length: FILL_TORRENTS }, (_, t) => hashHex(t)), ...mirrorHashes.map((h) => h.toString('hex'))].join('\n') + '\n');

/** The mirrored torrents with `announce` as their tracker (the info, so the hash, unchanged), written to `to`; returns their paths. */
function mirrorTorrents(announce, to) {
  mkdirSync(to, { recursive: true });
  return readdirSync(mirrorAll).map((f) => {
    const b = readFileSync(join(mirrorAll, f));
    // d8:announce<len>:<url>4:info...: only the url changes
    const colon = b.indexOf(':', 11);
    const rest = b.subarray(colon + 1 + Number(b.subarray(11, colon).toString()));
    writeFileSync(join(to, f), Buffer.concat([Buffer.from(`d8:announce${announce.length}:${announce}`), rest]));
    return join(to, f);
  });
}

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
const waitFor = (what, fn) => until(what, 180000, fn, 100);
const fill = (port) =>
  runToEnd(process.execPath, [join(root, 'bench', 'tracker-udp-load.mjs'), '--fill', '--port', String(port), '--torrents', String(FILL_TORRENTS), '--peers', String(FILL_PEERS)]);
/** Peers a tracker counts for `hash` (an HTTP scrape: libtorrent announces before it has checked its data, as a leecher). */
async function scrapePeers(port, hash) {
  const q = [...hash].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  const out = await runToEnd('curl', ['-s', `http://127.0.0.1:${port}/scrape?info_hash=${q}`]).catch(() => '');
  return Number(/8:completei(\d+)e/.exec(out)?.[1] ?? 0) + Number(/10:incompletei(\d+)e/.exec(out)?.[1] ?? 0);
}
/**
 * The C library's share of RssAnon (glibc, from /proc/PID/smaps): `brk`, the main thread's
 * arena (Buffers, V8's and Node's own mallocs), and `arenas`, the arenas of other threads
 * (V8's helpers, libuv's pool): anonymous mappings that start on a 64 MiB boundary, as glibc
 * places them. What V8 compiles on a helper thread stays in that thread's arena.
 */
function mallocSplit(pid) {
  let brk = 0;
  let arenas = 0;
  let cur = null;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const start = BigInt(`0x${head[1]}`);
      cur = head[2] === '[heap]' ? 'brk' : head[2] === '' && start % (64n << 20n) === 0n ? 'arenas' : null;
      continue;
    }
    const anon = /^Anonymous:\s+(\d+) kB/.exec(line);
    if (anon && cur === 'brk') brk += Number(anon[1]) * 1024;
    if (anon && cur === 'arenas') arenas += Number(anon[1]) * 1024;
  }
  return { brk, arenas };
}
/** Summed RSS of `pids()` every 100 ms; `take()` returns the peak since the last take (with RssAnon/RssFile then). */
function sampler(pids) {
  let peak = { rss: 0, anon: 0, file: 0 };
  const sample = () => {
    const now = pids().map((p) => rss(p)).reduce((a, x) => ({ rss: a.rss + x.rss, anon: a.anon + x.anon, file: a.file + x.file }), { rss: 0, anon: 0, file: 0 });
    if (now.rss > peak.rss) peak = now;
  };
  const timer = setInterval(sample, 100);
  return {
    take() {
      sample();
      const p = peak;
      peak = { rss: 0, anon: 0, file: 0 };
      return p;
    },
    stop: () => clearInterval(timer),
  };
}
/** 50 leechers on the 4 big torrents, until `.end()`; resolves once each is connected or refused, and blocks flow. */
async function leechers(port) {
  const l = start(process.execPath, [
    join(root, 'bench', 'leechers.mjs'), '--port', String(port), '--hashes', bigHashes.join(','), '--count', String(DOWNLOADS),
    '--seconds', '0', '--pieces', String(BIG_BYTES / PIECE), '--piece-length', String(PIECE),
  ]);
  const last = () => JSON.parse(l.out.trim().split('\n').pop() || '{}');
  await waitFor('50 leechers connected (or refused) and receiving', () => {
    const p = last();
    return p.connected + p.failed >= DOWNLOADS && p.bytes >= DOWNLOADS_FLOWING;
  }).catch((err) => {
    throw new Error(`${err.message}: leechers said ${l.out.trim().split('\n').pop()}`);
  });
  return {
    async end() {
      l.stdin.end();
      await new Promise((r) => (l.exitCode !== null ? r() : l.on('exit', r)));
      return last();
    },
  };
}
/** The bare floor: `node` with the same flags, doing nothing. */
async function nodeFloor() {
  const n = start(process.execPath, [...MAIN.flags, '-e', 'console.log("up"); setInterval(() => {}, 1e6)']);
  await waitFor('node up', () => n.out.includes('up'));
  const m = rss(n.pid);
  await stop(n);
  return m;
}

async function meshseedRound({ flags, env }) {
  const state = join(dir, 'ms-state');
  const torrents = join(dir, 'ms-torrents');
  const data = join(dir, 'ms-data');
  for (const d of [state, torrents, data]) rmSync(d, { recursive: true, force: true });
  mkdirSync(torrents);
  mkdirSync(data);
  for (const f of readdirSync(dataDir)) linkSync(join(dataDir, f), join(data, f));
  const tport = randomPort();
  const sport = tport + 1;
  const srcPort = tport + 2;
  const d = start(process.execPath, [
    ...flags, STATUS, 'daemon',
    '--state-dir', state, '--seeder-torrent-dir', torrents, '--seeder-data-dir', data,
    '--seeder-listen-port', String(sport), '--tracker-port', String(tport), '--tracker-address', '127.0.0.1',
    '--lpd-enabled', '0', '--tracker-rate-limit', '0', '--tracker-max-torrents', '20000', '--tracker-max-peers', '200000',
    '--seeder-upload-rate', String(LIMIT_KIB),
  ], { env: { ...process.env, ...env } });
  const status = async () => JSON.parse(await runToEnd(process.execPath, [STATUS, 'status', '--json', '--state-dir', state]).catch(() => '{}'));
  const seeding = (v, names) => (v.torrents ?? []).filter((t) => t.state === 'seeding' && names(t.name ?? '')).length;
  const r = { detail: {} };
  const snap = async (stage) => {
    const v = await status();
    r.detail[stage] = { ...v.memory, ...rss(d.pid), ...mallocSplit(d.pid) };
  };
  const samples = sampler(() => [d.pid]);
  let source;
  try {
    await waitForTcp(tport);
    await waitFor('every part running', async () => {
      const v = await status();
      return v.parts && Object.values(v.parts).every((p) => p.state === 'running' || p.state === 'off');
    });
    r.idle = rss(d.pid).rss;
    await snap('idle');
    // the mirror source announces to this tracker now, long before stage 5 needs it
    const srcTorrents = mirrorTorrents(`http://127.0.0.1:${tport}/announce`, join(dir, 'ms-mirror'));
    source = start(PY, [join(root, 'bench', 'lt-seed.py'), srcTorrents.join(','), mirrorData, String(srcPort)]);
    for (const f of readdirSync(all)) copyFileSync(join(all, f), join(torrents, f));
    await waitFor('100 torrents seeding', async () => seeding(await status(), (n) => n.startsWith('file-')) === 100);
    r.torrents = rss(d.pid).rss;
    await snap('torrents');
    await fill(tport);
    r.peers = rss(d.pid).rss;
    await snap('peers');
    samples.take();
    const dl = await leechers(sport);
    r.downloads = samples.take().rss;
    await snap('downloads');
    await waitFor('the mirror source on the tracker', async () => (await Promise.all(mirrorHashes.map((h) => scrapePeers(tport, h)))).every((n) => n >= 1));
    const t0 = Date.now();
    for (const f of srcTorrents) copyFileSync(f, join(torrents, f.split('/').pop()));
    await waitFor(`${MIRRORS} mirrored torrents complete`, async () => seeding(await status(), (n) => n.startsWith('mirror-')) === MIRRORS);
    r.mirrorSeconds = (Date.now() - t0) / 1000;
    r.mirror = samples.take().rss;
    await snap('mirror');
    r.report = await dl.end();
    r.hwm = rss(d.pid).hwm;
    r.cpu = cpuSeconds(d.pid, readFileSync);
    const stats = JSON.parse(await runToEnd('curl', ['-s', `http://127.0.0.1:${tport}/stats.json`]));
    r.tracked = stats.peers;
  } catch (err) {
    console.error(d.out.slice(-3000));
    throw err;
  } finally {
    samples.stop();
    await stop(d);
    if (source) await stop(source);
    if (DAEMON_LOG) appendFileSync(DAEMON_LOG, `---- [${flags.join(' ')}]\n${d.out}`);
  }
  return r;
}

async function referenceRound() {
  const tport = randomPort();
  const lport = tport + 1;
  const srcPort = tport + 2;
  const mirrorTo = join(dir, 'lt-mirror');
  rmSync(mirrorTo, { recursive: true, force: true });
  mkdirSync(mirrorTo);
  const ot = start('opentracker', ['-i', '127.0.0.1', '-p', String(tport), '-P', String(tport), '-d', dir, '-w', 'whitelist.txt']);
  const torrentList = readdirSync(all).map((f) => join(all, f)).join(',');
  const lt = start(PY, [join(root, 'bench', 'lt-seed.py'), torrentList, dataDir, String(lport), String(LIMIT_KIB * 1024)], { env: { ...process.env, LT_WAIT_STDIN: '1' } });
  const samples = sampler(() => [ot.pid, lt.pid]);
  const both = () => rss(ot.pid).rss + rss(lt.pid).rss;
  const r = {};
  let source;
  try {
    await waitForTcp(tport);
    await waitFor('libtorrent idle', () => lt.out.includes('idle'));
    r.idle = both();
    const srcTorrents = mirrorTorrents(`http://127.0.0.1:${tport}/announce`, join(dir, 'lt-mirror-torrents'));
    source = start(PY, [join(root, 'bench', 'lt-seed.py'), srcTorrents.join(','), mirrorData, String(srcPort)]);
    lt.stdin.write('go\n');
    await waitFor('libtorrent seeding 100 torrents', () => lt.out.includes('ready'));
    r.torrents = both();
    await fill(tport);
    r.peers = both();
    samples.take();
    const dl = await leechers(lport);
    r.downloads = samples.take().rss;
    await waitFor('the mirror source on the tracker', async () => (await Promise.all(mirrorHashes.map((h) => scrapePeers(tport, h)))).every((n) => n >= 1));
    const t0 = Date.now();
    lt.stdin.write(`mirror ${srcTorrents.join(',')} ${mirrorTo}\n`);
    await waitFor(`${MIRRORS} mirrored torrents complete`, () => lt.out.includes('mirrored'));
    r.mirrorSeconds = (Date.now() - t0) / 1000;
    r.mirror = samples.take().rss;
    r.report = await dl.end();
    r.hwm = rss(ot.pid).hwm + rss(lt.pid).hwm;
  } catch (err) {
    console.error(ot.out.slice(-2000), lt.out.slice(-2000), source?.out.slice(-2000));
    throw err;
  } finally {
    samples.stop();
    await stop(ot);
    await stop(lt);
    if (source) await stop(source);
  }
  return r;
}

const STAGES = [
  ['idle', 'idle'],
  ['torrents', '100 torrents'],
  ['peers', '+100k tracked peers'],
  ['downloads', '+50 downloads (peak)'],
  ['mirror', `+${MIRRORS} mirror downloads (peak)`],
  ['hwm', 'high-water mark'],
];
const line = (x) => `${STAGES.map(([k]) => mib(x[k])).join(' -> ')} MiB (last: HWM)`;
/** Where meshseed's memory is at one stage. */
const where = (m) =>
  `RssAnon ${mib(m.anon)} (malloc: main ${mib(m.brk)}, threads ${mib(m.arenas)}) + RssFile ${mib(m.file)}; heap ${mib(m.heapUsed)}/${mib(m.heapTotal)} (code ${mib(m.codeSpace)}), external ${mib(m.external)} (buffers ${mib(m.arrayBuffers)})`;

const uptime = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`router bench: meshseed started with [${MAIN.label}]${VARIANTS.length > 1 ? `, and to compare: ${VARIANTS.slice(1).map((v) => `[${v.label}]`).join(', ')}` : ''}; ${ROUNDS} round(s); load average ${uptime()}`);
const floor = await nodeFloor();
console.log(`bare node with these flags: RSS ${mib(floor.rss)} MiB (RssAnon ${mib(floor.anon)} + RssFile ${mib(floor.file)})`);
const runs = VARIANTS.map(() => []);
const ref = [];
for (let i = 0; i < ROUNDS; i++) {
  for (const [v, x] of VARIANTS.entries()) {
    const a = await meshseedRound(x);
    runs[v].push(a);
    console.log(`round ${i + 1} meshseed [${x.label}] ${line(a)}; tracked ${a.tracked} peers; leechers: ${a.report.connected} connected (${a.report.failed} refused), ${a.report.unchoked} unchoked, ${mib(a.report.bytes)} MiB; ${MIRRORS} x ${MIRROR_BYTES >> 20} MiB mirrored in ${a.mirrorSeconds.toFixed(1)} s; ${a.cpu.toFixed(1)} CPU s`);
    for (const [k, label] of STAGES.slice(0, 5)) console.log(`    ${label.replace('(peak)', '(its end)').padEnd(30)} ${where(a.detail[k])}`);
  }
  if (ONLY === 'meshseed') continue;
  const b = await referenceRound();
  ref.push(b);
  console.log(`round ${i + 1} opentracker + libtorrent ${line(b)}; leechers: ${b.report.connected} connected (${b.report.failed} refused), ${b.report.unchoked} unchoked, ${mib(b.report.bytes)} MiB; mirrored in ${b.mirrorSeconds.toFixed(1)} s`);
}
const ms = runs[0];
const m = (xs, k) => median(xs.map((x) => x[k]));
const md = (k, f) => median(ms.map((x) => x.detail[k][f]));
console.log(`\nmedians of ${ROUNDS} (RSS, MiB; load average now ${uptime()}), meshseed with [${MAIN.label}]:`);
console.log(`  stage                              meshseed  RssAnon  RssFile  heap used  opentracker+libtorrent  ratio`);
for (const [k, label] of STAGES) {
  const detail = ms[0].detail[k] ? `${mib(md(k, 'anon')).padStart(8)} ${mib(md(k, 'file')).padStart(8)} ${mib(md(k, 'heapUsed')).padStart(10)}` : ' '.repeat(28);
  const refText = ref.length ? `${mib(m(ref, k)).padStart(12)}             ${(m(ms, k) / m(ref, k)).toFixed(2)}` : '';
  console.log(`  ${label.padEnd(34)} ${mib(m(ms, k)).padStart(8)} ${detail} ${refText}`);
}
console.log(`  (RssAnon, RssFile and heap are read when a stage is reached, or at its end for the peaks)`);
console.log(`memory added by 100k tracked peers: meshseed +${mib(m(ms, 'peers') - m(ms, 'torrents'))} MiB (target <= 8)`);
console.log(`peak RSS (high-water mark) ${mib(m(ms, 'hwm'))} MiB (target <= 64)`);
if (VARIANTS.length > 1) {
  console.log(`\nvariants (medians, MiB: RSS per stage, last the high-water mark; RssAnon at the mirror stage; mirror time; daemon CPU s):`);
  for (const [v, x] of VARIANTS.entries()) {
    const rs = runs[v];
    console.log(`  ${STAGES.map(([k]) => mib(m(rs, k)).padStart(6)).join(' ')}  anon ${mib(median(rs.map((r) => r.detail.mirror.anon)))}  ${median(rs.map((r) => r.mirrorSeconds)).toFixed(1)} s  ${median(rs.map((r) => r.cpu)).toFixed(1)} CPU s  [${x.label}]`);
  }
}
