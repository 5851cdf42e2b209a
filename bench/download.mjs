#!/usr/bin/env node
// Download benchmark (mirror mode): meshseed against a libtorrent downloader, in one run.
//
//   node bench/download.mjs [--size-mib 256] [--rounds 3] [--piece-log2 18] [--enc forced-rc4] [--daemon-log FILE] [--daemon-js FILE]
//
// A libtorrent seeder (python3-libtorrent, test/interop/lt-seeder.py) holds a SIZE MiB torrent
// on loopback. Each round, alternately, meshseed's daemon (mirror mode, a fresh data folder;
// the seeder dials it) and a libtorrent client (test/interop/lt-download.py, which dials the
// seeder) download it from one libtorrent seeder alone. Measured per run:
//   - throughput: SIZE over the time from the first block received to the last piece
//     verified and written (meshseed: its "download complete" log line, which shows the final
//     fsync of the data apart, printed here too; libtorrent: the client's own status polled
//     every 10 ms, no fsync);
//   - CPU seconds (user + system) per GiB: meshseed's daemon from /proc/<pid>/stat between
//     its "download started" and "download complete" lines (and its main thread alone, from
//     /proc/<pid>/task/<pid>/stat); libtorrent's getrusage from the moment the torrent is
//     added to completion (it reports it); the libtorrent seeder's, per GiB it sent to each;
//   - peak resident memory: meshseed's daemon (VmHWM), with its resident size just before the
//     download (Node, our code, the torrent loaded) and, at the end, how much of it is the
//     node binary's pages (RssFile) and how much anonymous memory (RssAnon: heap, buffers, malloc);
//     the libtorrent client's (ru_maxrss of its python3 process, python and libtorrent together).
// The daemon runs with the init script's node flags (64 MiB heap, 1 MiB semi-space).
// With --enc (test/interop/lt_enc.py: enabled, forced, forced-rc4, disabled) every libtorrent
// runs with that protocol encryption: forced-rc4 makes every byte of both downloads RC4.
// `--daemon-log FILE` keeps the daemon's output of round N in FILE.N (with MESHSEED_NODE_FLAGS="...
// --trace-opt --trace-deopt": V8's compiles and deoptimisations on the download path).
// `--daemon-js FILE` runs another build of the daemon (e.g. a copy of dist/meshseed.js from before a change).
// Prints medians and ratios (meshseed / libtorrent). Needs a built dist/meshseed.js
// (npm run build), mktorrent and /usr/bin/python3 with libtorrent. Loopback only.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, openSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { cpuSeconds as cpuOf, initScriptNodeFlags, median, numberArg, processes, startMirrorDaemon, until } from './fixtures.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SIZE_MIB = numberArg('size-mib', 256);
const ROUNDS = numberArg('rounds', 3);
const PIECE_LOG2 = numberArg('piece-log2', 18);
const ENC = process.argv.includes('--enc') ? process.argv[process.argv.indexOf('--enc') + 1] : 'enabled';
const PY = '/usr/bin/python3';
const logIndex = process.argv.indexOf('--daemon-log');
const DAEMON_LOG = logIndex >= 0 ? resolve(process.argv[logIndex + 1]) : undefined;
const jsIndex = process.argv.indexOf('--daemon-js');
const DAEMON_JS = jsIndex >= 0 ? resolve(process.argv[jsIndex + 1]) : join(ROOT, 'dist', 'meshseed.js');
// the daemon runs with the init script's node flags (files/etc/init.d/meshseed); MESHSEED_NODE_FLAGS overrides
const NODE_FLAGS = process.env.MESHSEED_NODE_FLAGS !== undefined ? process.env.MESHSEED_NODE_FLAGS.split(' ').filter(Boolean) : initScriptNodeFlags(ROOT);
const port = () => 20000 + Math.floor(Math.random() * 40000);

const work = mkdtempSync(join(tmpdir(), 'meshseed-bench-download-'));
const start = processes(work, { spawn, rmSync });
const cpuSeconds = (pid) => cpuOf(pid, readFileSync);
// the daemon's main thread alone (its event loop: JavaScript, socket reads); the rest is libuv's threadpool (writes, SHA-1) and V8's helpers
const mainThreadCpu = (pid) => cpuOf(`${pid}/task/${pid}`, readFileSync);
const statusMiB = (pid, field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

function digest(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

// ---- data, torrent, seeder ----
const srcDir = join(work, 'src');
mkdirSync(srcDir, { recursive: true });
{
  const fd = openSync(join(srcDir, 'bench.bin'), 'w');
  const chunk = 4 << 20;
  for (let i = 0; i < SIZE_MIB * (1 << 20); i += chunk) writeSync(fd, randomBytes(chunk));
  closeSync(fd);
}
const torrent = join(work, 'bench.torrent');
{
  const c = start('mktorrent', ['-l', String(PIECE_LOG2), '-a', 'http://127.0.0.1:1/announce', '-o', torrent, 'bench.bin'], { cwd: srcDir });
  if ((await c.done) !== 0) throw new Error(`mktorrent: ${c.out}`);
}
const want = digest(join(srcDir, 'bench.bin'));
const seederPort = port();
const seeder = start(PY, [join(ROOT, 'test', 'interop', 'lt-seeder.py'), '--torrent', torrent, '--data', srcDir, '--port', String(seederPort), '--enc', ENC]);
await until('the libtorrent seeder', 120_000, () => seeder.out.includes('ready'), 100);

async function meshseedRun(round) {
  const base = join(work, `ms-${round}`);
  const p = port();
  const daemon = await startMirrorDaemon(start, { root: ROOT, base, nodeFlags: NODE_FLAGS, port: p, js: DAEMON_JS, extra: ['--seeder-upload-rate', '0'] });
  // the torrent file dropped in the watch folder, as an operator would
  const bytes = readFileSync(torrent);
  const tmp = join(base, 'bench.torrent.part');
  writeFileSync(tmp, bytes);
  renameSync(tmp, join(base, 'torrents', 'bench.torrent'));
  await until('the download to start', 30_000, () => /download started/.test(daemon.out));
  const idle = statusMiB(daemon.pid, 'VmRSS');
  const cpu0 = cpuSeconds(daemon.pid);
  const main0 = mainThreadCpu(daemon.pid);
  // a libtorrent seeder of the same data that dials the daemon (as a tracker or PEX would make it)
  const pusher = start(PY, [join(ROOT, 'test', 'interop', 'lt-seeder.py'), '--torrent', torrent, '--data', srcDir, '--port', String(port()), '--peer', `127.0.0.1:${p}`, '--enc', ENC]);
  // the seeder's CPU counts from when it has checked its data and dials
  await until('the seeder to be ready', 120_000, () => pusher.out.includes('ready'), 20);
  const seeder0 = cpuSeconds(pusher.pid);
  await until('the download to complete', 600_000, () => /download complete/.test(daemon.out), 20);
  const cpu1 = cpuSeconds(daemon.pid);
  const main1 = mainThreadCpu(daemon.pid);
  const seederCpu = cpuSeconds(pusher.pid) - seeder0;
  if (DAEMON_LOG) writeFileSync(`${DAEMON_LOG}.${round}`, daemon.out);
  const rss = statusMiB(daemon.pid, 'VmHWM');
  const anon = statusMiB(daemon.pid, 'RssAnon');
  const file = statusMiB(daemon.pid, 'RssFile');
  pusher.kill('SIGKILL');
  daemon.kill('SIGTERM');
  await daemon.done;
  const m = /download complete: .* in ([\d.]+) s from the first block/.exec(daemon.out);
  const seconds = Number(m[1]);
  const fsync = Number(/then ([\d.]+) s to fsync/.exec(daemon.out)[1]);
  // bytes of blocks received from the peer, and how many of them were not used (dropped for want of a piece buffer, duplicates)
  const mib = (v, unit) => Number(v) * { B: 1 / 2 ** 20, KiB: 1 / 1024, MiB: 1, GiB: 1024 }[unit];
  const peers = /from peers ([\d.]+) (\w+)/.exec(daemon.out);
  const wasted = /; ([\d.]+) (\w+) of it not used/.exec(daemon.out);
  const received = mib(peers[1], peers[2]);
  const unused = wasted ? mib(wasted[1], wasted[2]) : NaN;
  const ok = digest(join(base, 'data', 'bench.bin')) === want;
  rmSync(base, { recursive: true, force: true });
  return { received, unused, seconds, fsync, cpu: cpu1 - cpu0, main: main1 - main0, seederCpu, rss, idle, anon, file, ok };
}

async function libtorrentRun(round) {
  const base = join(work, `lt-${round}`);
  mkdirSync(base, { recursive: true });
  const seeder0 = cpuSeconds(seeder.pid);
  const c = start(PY, [join(ROOT, 'test', 'interop', 'lt-download.py'), '--torrent', torrent, '--save', base, '--peer', `127.0.0.1:${seederPort}`, '--timeout', '600', '--enc', ENC]);
  const code = await c.done;
  const seederCpu = cpuSeconds(seeder.pid) - seeder0;
  if (code !== 0) throw new Error(`libtorrent download failed: ${c.out.slice(-2000)}`);
  const m = /from first byte ([\d.]+) s, cpu ([\d.]+) s, peak rss (\d+) KiB/.exec(c.out);
  const ok = digest(join(base, 'bench.bin')) === want;
  rmSync(base, { recursive: true, force: true });
  return { seconds: Number(m[1]), cpu: Number(m[2]), seederCpu, rss: Number(m[3]) / 1024, ok };
}

const GiB = SIZE_MIB / 1024;
const ms = [];
const lt = [];
for (let round = 1; round <= ROUNDS; round++) {
  const a = await meshseedRun(round);
  const b = await libtorrentRun(round);
  ms.push(a);
  lt.push(b);
  console.log(
    `round ${round}: meshseed ${(SIZE_MIB / a.seconds).toFixed(1)} MiB/s (then ${a.fsync.toFixed(2)} s to fsync), ${(a.cpu / GiB).toFixed(2)} CPU s/GiB (main thread ${(a.main / GiB).toFixed(2)}; seeder ${(a.seederCpu / GiB).toFixed(2)}), peak RSS ${a.rss.toFixed(1)} MiB ` +
      `(${a.idle.toFixed(1)} before the download; at the end anon ${a.anon.toFixed(1)}, file ${a.file.toFixed(1)}), received ${a.received.toFixed(1)} MiB (${a.unused.toFixed(1)} not used)${a.ok ? '' : ' (DATA DIFFERS)'}; ` +
      `libtorrent ${(SIZE_MIB / b.seconds).toFixed(1)} MiB/s, ${(b.cpu / GiB).toFixed(2)} CPU s/GiB (seeder ${(b.seederCpu / GiB).toFixed(2)}), peak RSS ${b.rss.toFixed(1)} MiB${b.ok ? '' : ' (DATA DIFFERS)'}`,
  );
}
const msRate = median(ms.map((r) => SIZE_MIB / r.seconds));
const ltRate = median(lt.map((r) => SIZE_MIB / r.seconds));
const msCpu = median(ms.map((r) => r.cpu / GiB));
const ltCpu = median(lt.map((r) => r.cpu / GiB));
const msMain = median(ms.map((r) => r.main / GiB));
const msSeeder = median(ms.map((r) => r.seederCpu / GiB));
const ltSeeder = median(lt.map((r) => r.seederCpu / GiB));
const rss = median(ms.map((r) => r.rss));
const idle = median(ms.map((r) => r.idle));
const ltRss = median(lt.map((r) => r.rss));
const received = median(ms.map((r) => r.received));
const unused = median(ms.map((r) => r.unused));
console.log(`\n${SIZE_MIB} MiB from one libtorrent seeder over loopback, ${2 ** (PIECE_LOG2 - 10)} KiB pieces, libtorrent encryption ${ENC}, medians of ${ROUNDS}:`);
console.log(`  throughput   meshseed ${msRate.toFixed(1)} MiB/s, libtorrent ${ltRate.toFixed(1)} MiB/s: ratio ${(msRate / ltRate).toFixed(2)}x (target >= 1.0x)`);
console.log(`  CPU per GiB  meshseed ${msCpu.toFixed(2)} s, libtorrent ${ltCpu.toFixed(2)} s: ratio ${(msCpu / ltCpu).toFixed(2)}x (target <= 1.2x); meshseed's main thread ${msMain.toFixed(2)} s`);
console.log(`  seeder CPU   per GiB sent to meshseed ${msSeeder.toFixed(2)} s, to libtorrent ${ltSeeder.toFixed(2)} s`);
console.log(`  peak RSS     meshseed daemon ${rss.toFixed(1)} MiB (target <= 64 MiB; ${idle.toFixed(1)} MiB before the download), libtorrent client ${ltRss.toFixed(1)} MiB`);
console.log(`  received     meshseed ${received.toFixed(1)} MiB of blocks for ${SIZE_MIB} MiB (${(received / SIZE_MIB).toFixed(2)}x; ${unused.toFixed(1)} MiB not used: refused for want of a piece buffer, duplicates, failed pieces)`);
if (ms.some((r) => !r.ok) || lt.some((r) => !r.ok)) {
  console.log('  DATA DIFFERS in some run');
  process.exitCode = 1;
}
seeder.kill('SIGKILL');
process.exit();
