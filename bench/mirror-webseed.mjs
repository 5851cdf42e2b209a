#!/usr/bin/env node
// Mirror download from a web seed: meshseed's daemon against curl, the same bytes from the same nginx.
//
//   node bench/mirror-webseed.mjs [--size-mib 256] [--warm-mib 0] [--rounds 6] [--piece-log2 18] [--multi 0] [--cpu-prof DIR] [--daemon-log FILE] [--daemon-args "..."] [--compare OTHER.js] [--compare-args "..."] [--compare-variant "--flag NAME=value ..."]
//
// Debian's nginx (test/helpers/nginx.ts) serves a SIZE MiB torrent's data on loopback; the
// torrent's only source is that web seed (BEP 19 `url-list`; no tracker answers, no peer).
// `--multi N` (N >= 2) makes it a multi-file torrent of N equal files (a URL ending in `/`),
// else a single file. Each round, alternating:
//   - curl (`--http1.1`, one invocation for all files, so one kept-alive connection) saves the
//     files into a fresh folder, as a user mirroring them by hand would;
//   - meshseed's daemon (dist/meshseed.js, the init script's node flags: 64 MiB heap) in mirror
//     mode, fresh data folder, gets the .torrent dropped in its watch folder and downloads it.
// Measured per run:
//   - throughput: SIZE over curl's summed time_total (its connect, request, and every body byte
//     written into its file, i.e. the page cache), and over the daemon's time from its first
//     web seed request to its last piece verified and written (into the page cache too): its
//     "download complete ... in S s from the first block" line plus the "first request ... s
//     before the first block" it gives (the first block of a web seed is its first whole piece);
//   - CPU seconds per GiB: curl's whole process (user + system, bash's `time`); the daemon's
//     (user + system, /proc/<pid>/stat) between its "download started" and "download complete"
//     lines, which includes its connect, its periodic and final fsyncs and its resume writes
//     (so it is a little over what its timed part costs), its main thread's part
//     (/proc/<pid>/task/<pid>) and the busiest other threads' (libuv's pool writing and
//     fsyncing, the hash thread, V8's);
//   - the daemon's peak RSS (VmHWM).
// The daemon's time leaves out its start (node, scan of the watch folder, statvfs, the torrent's
// check), which curl has no counterpart of, and its final fsync and resume write (logged apart):
// curl's file is not on disk either when curl exits (the "curl + fdatasync" line adds that).
// The downloaded data is compared with the served files (SHA-256) after each run, and `sync`
// flushes the written data before the next run. The daemon fsyncs what it writes (every 2 s and
// at the end: a piece counts once it is on disk); curl does not.
// `--warm-mib N` (N > 0): before the timed torrent, each daemon downloads another torrent of N MiB
// from the same nginx (its own data) and seeds it: the timed download then runs in a daemon whose
// JIT has already compiled the download path, as a router's that has been up a while has (the
// first download after a start pays V8's TurboFan compiles on the main thread: the init script's
// --no-concurrent-recompilation). CPU and RSS are still measured around the timed torrent only.
// `--compare OTHER.js` runs a second build of the daemon (e.g. a copy of dist/meshseed.js from
// before a change) in every round too, next to the first, in the other order each round: an A/B
// in the same minutes, which the load drifts least between; `--compare-args` gives it other options
// than `--daemon-args` (with `--compare dist/meshseed.js`: one build, two settings), `--compare-variant`
// node flags and environment variables of its own (as bench/router.mjs's --variants: flags added to
// the init script's, or replacing them when they set --max-old-space-size; e.g. UV_THREADPOOL_SIZE=1).
// Prints every round (who went first: half the rounds each), the medians, the median of the
// rounds' ratios meshseed / curl (target >= 0.9x) and the load average. `--cpu-prof DIR` runs the
// daemon under `node --cpu-prof` and leaves one .cpuprofile per round in DIR; `--daemon-log FILE`
// keeps the daemon's output of round N in FILE.N (MESHSEED_NODE_FLAGS replaces the node flags).
// Needs `npm ci` (esbuild bundles the nginx helper), `npm run build`, nginx and curl. Loopback only.
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonVariant, initScriptNodeFlags, makeTorrent, median, numberArg, processes, startMirrorDaemon, until } from './fixtures.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SIZE_MIB = numberArg('size-mib', 256);
const ROUNDS = numberArg('rounds', 6);
const PIECE_LOG2 = numberArg('piece-log2', 18);
const MULTI = numberArg('multi', 0);
const WARM_MIB = numberArg('warm-mib', 0);
const profIndex = process.argv.indexOf('--cpu-prof');
const PROF_DIR = profIndex >= 0 ? resolve(process.argv[profIndex + 1]) : undefined;
const logIndex = process.argv.indexOf('--daemon-log');
const DAEMON_LOG = logIndex >= 0 ? resolve(process.argv[logIndex + 1]) : undefined;
// extra daemon options, e.g. --daemon-args "--seeder-hash-thread-rate 0"
const argsIndex = process.argv.indexOf('--daemon-args');
const DAEMON_ARGS = argsIndex >= 0 ? process.argv[argsIndex + 1].split(' ').filter(Boolean) : [];
const compareIndex = process.argv.indexOf('--compare');
const COMPARE = compareIndex >= 0 ? resolve(process.argv[compareIndex + 1]) : undefined;
const compareArgsIndex = process.argv.indexOf('--compare-args');
const COMPARE_ARGS = compareArgsIndex >= 0 ? process.argv[compareArgsIndex + 1].split(' ').filter(Boolean) : DAEMON_ARGS;
const NODE_FLAGS = process.env.MESHSEED_NODE_FLAGS !== undefined ? process.env.MESHSEED_NODE_FLAGS.split(' ').filter(Boolean) : initScriptNodeFlags(ROOT);
const compareVariantIndex = process.argv.indexOf('--compare-variant');
/** `--compare-variant "--flag NAME=value"`: the compared daemon's node flags and environment (daemonVariant). */
const COMPARE_VARIANT = compareVariantIndex >= 0 ? daemonVariant(process.argv[compareVariantIndex + 1], NODE_FLAGS) : undefined;
const port = () => 20000 + Math.floor(Math.random() * 40000);

const work = mkdtempSync(join(tmpdir(), 'meshseed-bench-mirror-webseed-'));
const start = processes(work, { spawn, rmSync });
/** User and system CPU seconds of a process (/proc/<pid>/stat), and of its main thread. */
const cpuSeconds = (pid) => {
  const read = (path) => {
    const f = readFileSync(path, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
  };
  const main = read(`/proc/${pid}/task/${pid}/stat`);
  return { ...read(`/proc/${pid}/stat`), main: main.user + main.system, mainUser: main.user };
};
/** CPU seconds of each thread of a process (tid → seconds); threads gone by then are missing. */
const threadSeconds = (pid) => {
  const out = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // the thread ended
    }
  }
  return out;
};
/** The other threads' CPU between two samples, largest first (node names none of them: libuv's pool writes and fsyncs, the hash thread hashes, V8's collect garbage). */
const otherThreads = (pid, before, after) =>
  [...after]
    .filter(([tid]) => tid !== String(pid))
    .map(([tid, s]) => s - (before.get(tid) ?? 0))
    .filter((s) => s > 0)
    .sort((a, b) => b - a);
/**
 * nginx's CPU seconds (user + system): what serving a run cost the server, on the same 2 cores.
 * Loopback TCP's work is charged to whichever process runs it: when Linux runs curl and nginx on
 * one core, most of nginx's sending is done (and charged) in curl's receive and nginx shows
 * 0.1 to 0.2 s per GiB; on two cores they work in parallel and nginx shows 0.7 to 0.9 (curl
 * pinned with taskset beside and apart from nginx gave both; a run the scheduler moves shows
 * between). curl's rate follows: 350 to 520 MiB/s on one core, up to about 1 GiB/s on two.
 */
const nginxSeconds = () => {
  const { user, system } = cpuSeconds(nginx.pid);
  return user + system;
};
const peakRssMiB = (pid) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

// ---- nginx (the test helper, bundled) ----
const lib = join(work, 'lib');
await build({
  entryPoints: { nginx: join(ROOT, 'test/helpers/nginx.ts') },
  outdir: lib,
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  logLevel: 'warning',
});
const { startNginx } = createRequire(import.meta.url)(join(lib, 'nginx.cjs'));
const www = join(work, 'www');
mkdirSync(www);
let nginx = await startNginx({ root: www });
process.on('exit', () => void nginx?.stop());

// ---- data and torrent: served by nginx, the torrent's only source ----
const size = SIZE_MIB * 2 ** 20;
const name = MULTI >= 2 ? 'bench' : 'bench.bin';
const files = MULTI >= 2 ? Array.from({ length: MULTI }, (_, i) => ({ path: `part-${i}.bin`, bytes: Math.floor(size / MULTI) + (i === 0 ? size % MULTI : 0) })) : undefined;
const torrentDir = join(work, 'torrent');
mkdirSync(torrentDir);
makeTorrent({
  torrentDir,
  dataDir: www,
  name,
  bytes: size,
  files,
  pieceLength: 2 ** PIECE_LOG2,
  announce: 'http://127.0.0.1:1/announce',
  urlList: files ? nginx.url : `${nginx.url}${name}`,
});
const torrentBytes = readFileSync(join(torrentDir, `${name}.torrent`));
let warmBytes;
if (WARM_MIB > 0) {
  makeTorrent({ torrentDir, dataDir: www, name: 'warm.bin', bytes: WARM_MIB * 2 ** 20, pieceLength: 2 ** PIECE_LOG2, announce: 'http://127.0.0.1:1/announce', urlList: `${nginx.url}warm.bin`, seed: 7 });
  warmBytes = readFileSync(join(torrentDir, 'warm.bin.torrent'));
}
const relPaths = files ? files.map((f) => `${name}/${f.path}`) : [name];
const digest = (base) => {
  const h = createHash('sha256');
  for (const p of relPaths) h.update(readFileSync(join(base, p)));
  return h.digest('hex');
};
const want = digest(www);

async function curlRun(round) {
  const base = join(work, `curl-${round}`);
  mkdirSync(files ? join(base, name) : base, { recursive: true });
  const args = ['--http1.1', '-sS', '-f', '-w', 'curl %{time_total} %{size_download}\\n'];
  for (const p of relPaths) args.push('-o', join(base, p), `${nginx.url}${p}`);
  // bash's `time` gives curl's user and system CPU seconds
  const n0 = nginxSeconds();
  const c = start('bash', ['-c', 'TIMEFORMAT="cpu %U %S"; time curl "$@"', 'bash', ...args]);
  if ((await c.done) !== 0) throw new Error(`curl failed: ${c.out}`);
  const served = nginxSeconds() - n0;
  let seconds = 0;
  let bytes = 0;
  let user = 0;
  let system = 0;
  for (const line of c.out.trim().split('\n')) {
    const [what, a, b] = line.split(' ');
    if (what === 'curl') (seconds += Number(a)), (bytes += Number(b));
    if (what === 'cpu') (user = Number(a)), (system = Number(b));
  }
  if (bytes !== size) throw new Error(`curl got ${bytes} of ${size} bytes`);
  // then its files' data to disk (fdatasync), as the daemon does before it counts a piece
  const t0 = performance.now();
  const sync = start('sync', ['-d', ...relPaths.map((p) => join(base, p))]);
  if ((await sync.done) !== 0) throw new Error(`sync -d failed: ${sync.out}`);
  const syncSeconds = (performance.now() - t0) / 1000;
  const ok = digest(base) === want;
  rmSync(base, { recursive: true, force: true });
  return { seconds, syncSeconds, ok, user, system, nginx: served };
}

async function meshseedRun(round, js, tag = 'ms', extra = DAEMON_ARGS, variant = undefined) {
  const base = join(work, `${tag}-${round}`);
  const prof = PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROF_DIR, '--cpu-prof-name', `mirror-webseed-${tag}-${round}.cpuprofile`] : [];
  const nodeFlags = variant?.flags ?? NODE_FLAGS;
  const daemon = await startMirrorDaemon(start, { root: ROOT, base, nodeFlags: [...nodeFlags, ...prof], port: port(), extra, ...(js ? { js } : {}), env: variant?.env });
  // the torrent file dropped in the watch folder, as an operator would
  const drop = (bytes, file) => {
    writeFileSync(join(base, `${file}.part`), bytes);
    renameSync(join(base, `${file}.part`), join(base, 'torrents', file));
  };
  if (warmBytes) {
    drop(warmBytes, 'warm.torrent');
    await until('the warm-up download to complete', 600_000, () => daemon.out.includes('warm.bin: download complete') || daemon.exitCode !== null, 20);
  }
  const mark = daemon.out.length;
  const out = () => daemon.out.slice(mark);
  drop(torrentBytes, 'bench.torrent');
  await until('the download to start', 30_000, () => out().includes(`${name}: download started`));
  const cpu0 = cpuSeconds(daemon.pid);
  const threads0 = threadSeconds(daemon.pid);
  const n0 = nginxSeconds();
  await until('the download to complete', 600_000, () => out().includes(`${name}: download complete`) || daemon.exitCode !== null, 20);
  const cpu1 = cpuSeconds(daemon.pid);
  const served = nginxSeconds() - n0;
  const others = otherThreads(daemon.pid, threads0, threadSeconds(daemon.pid));
  const rss = peakRssMiB(daemon.pid);
  daemon.kill('SIGTERM');
  await daemon.done;
  if (DAEMON_LOG) writeFileSync(`${DAEMON_LOG}.${tag}.${round}`, daemon.out);
  const m = /download complete: .* in ([\d.]+) s from the first block.*from peers ([^,]+), from web seeds ([^;]+);/.exec(out());
  if (!m) throw new Error(`no "download complete" line:\n${daemon.out.slice(-3000)}`);
  const asked = /the first request ([\d.]+) s before the first block/.exec(out());
  if (!asked) throw new Error(`the "download complete" line does not say when the first request went out:\n${m[0]}`);
  const ok = digest(join(base, 'data')) === want;
  rmSync(base, { recursive: true, force: true });
  const user = cpu1.user - cpu0.user;
  const system = cpu1.system - cpu0.system;
  return { seconds: Number(m[1]) + Number(asked[1]), firstBlockS: Number(asked[1]), cpu: user + system, user, system, main: cpu1.main - cpu0.main, mainUser: cpu1.mainUser - cpu0.mainUser, others, rss, ok, nginx: served, split: `peers ${m[2]}, web seeds ${m[3]}` };
}

const GiB = SIZE_MIB / 1024;
const rate = (r) => SIZE_MIB / r.seconds;
const rateSynced = (r) => SIZE_MIB / (r.seconds + r.syncSeconds);
console.log(
  `mirror from a web seed: ${SIZE_MIB} MiB ${files ? `in ${files.length} files` : 'single file'}, ${2 ** (PIECE_LOG2 - 10)} KiB pieces, nginx on loopback, ${ROUNDS} rounds${WARM_MIB > 0 ? `, each daemon warm (a ${WARM_MIB} MiB torrent downloaded first)` : ', each daemon cold (its first download)'}; daemon flags: ${NODE_FLAGS.join(' ')}${DAEMON_ARGS.length ? `, options: ${DAEMON_ARGS.join(' ')}` : ''}\n` +
    `meshseed's time: from its first web seed request to its last piece verified and written (not its start nor its torrent's load and check, nor the final fsync); curl's: its time_total (connect to close); neither counts the writeback to disk\n` +
    `CPU: curl's whole process; the daemon's from its "download started" to its "download complete" line (connect, fsyncs and resume writes included)`,
);
// each run's written data is flushed before the next one starts, so neither pays for the other's writeback
const flush = async () => {
  if ((await start('sync', []).done) !== 0) throw new Error('sync failed');
};
const ms = [];
const cu = [];
const other = [];
for (let round = 1; round <= ROUNDS; round++) {
  // alternate who goes first, so neither always gets the warmer page cache (the compared build: on the other side)
  let c;
  let o;
  if (round % 2) (c = await curlRun(round)), await flush();
  else if (COMPARE) (o = await meshseedRun(round, COMPARE, 'other', COMPARE_ARGS, COMPARE_VARIANT)), await flush();
  const m = await meshseedRun(round);
  await flush();
  if (round % 2 && COMPARE) (o = await meshseedRun(round, COMPARE, 'other', COMPARE_ARGS, COMPARE_VARIANT)), await flush();
  const cr = c ?? (await curlRun(round));
  if (!(round % 2)) await flush();
  cu.push(cr);
  ms.push(m);
  if (o) other.push(o);
  const cpu = (r) => `${((r.user + r.system) / GiB).toFixed(2)} CPU s/GiB (user ${(r.user / GiB).toFixed(2)}, system ${(r.system / GiB).toFixed(2)})`;
  console.log(
    `round ${round} (${round % 2 ? 'curl' : 'meshseed'} first): curl ${rate(cr).toFixed(1)} MiB/s (${rateSynced(cr).toFixed(1)} with its fdatasync), ${cpu(cr)}, nginx ${(cr.nginx / GiB).toFixed(2)}${cr.ok ? '' : ' (DATA DIFFERS)'}\n` +
      `         meshseed ${rate(m).toFixed(1)} MiB/s (first request to first piece ${(m.firstBlockS * 1000).toFixed(0)} ms), ${cpu(m)}, main thread ${(m.main / GiB).toFixed(2)} (user ${(m.mainUser / GiB).toFixed(2)}), other threads ${m.others.slice(0, 5).map((s) => (s / GiB).toFixed(2)).join(' ') || 'none'}, nginx ${(m.nginx / GiB).toFixed(2)}, peak RSS ${m.rss.toFixed(1)} MiB (${m.split})${m.ok ? '' : ' (DATA DIFFERS)'}\n` +
      `         ratio ${(rate(m) / rate(cr)).toFixed(2)}x (${(rate(m) / rateSynced(cr)).toFixed(2)}x against curl + fdatasync)` +
      (o ? `\n         compared build ${rate(o).toFixed(1)} MiB/s, ${cpu(o)}, main thread ${(o.main / GiB).toFixed(2)}, other threads ${o.others.slice(0, 5).map((s) => (s / GiB).toFixed(2)).join(' ') || 'none'}, peak RSS ${o.rss.toFixed(1)} MiB: ratio ${(rate(o) / rate(cr)).toFixed(2)}x${o.ok ? '' : ' (DATA DIFFERS)'}` : ''),
  );
}
const msRate = median(ms.map(rate));
const cuRate = median(cu.map(rate));
const cuSynced = median(cu.map(rateSynced));
const GiBcpu = (r) => (r.user + r.system) / GiB;
console.log(`\nmedians of ${ROUNDS}:`);
console.log(`  throughput   meshseed ${msRate.toFixed(1)} MiB/s, curl ${cuRate.toFixed(1)} MiB/s: ratio ${(msRate / cuRate).toFixed(2)}x`);
console.log(`               curl + fdatasync ${cuSynced.toFixed(1)} MiB/s: ratio ${(msRate / cuSynced).toFixed(2)}x (both until the data is on disk)`);
console.log(`  median of the rounds' ratios ${median(ms.map((m, i) => rate(m) / rate(cu[i]))).toFixed(2)}x (target >= 0.9x; each round's pair ran back to back, so this drifts least with the load) (${median(ms.map((m, i) => rate(m) / rateSynced(cu[i]))).toFixed(2)}x against curl + fdatasync)`);
console.log(`  CPU per GiB  meshseed ${median(ms.map(GiBcpu)).toFixed(2)} s (main thread ${median(ms.map((m) => m.main / GiB)).toFixed(2)}), curl ${median(cu.map(GiBcpu)).toFixed(2)} s (the daemon's includes its fdatasync; curl's file is written back later, by the kernel)`);
console.log(`               nginx serving meshseed ${median(ms.map((m) => m.nginx / GiB)).toFixed(2)} s, serving curl ${median(cu.map((c) => c.nginx / GiB)).toFixed(2)} s (its CPU in the same windows)`);
// curl's rate moves with how much of the loopback work nginx did on a core of its own (see nginxSeconds)
const byNginx = cu.map((c, i) => ({ c, i })).sort((a, b) => a.c.nginx - b.c.nginx);
console.log(`  by nginx's CPU per GiB while serving curl: ${byNginx.map(({ c, i }) => `${(c.nginx / GiB).toFixed(2)} s: curl ${rate(c).toFixed(0)} MiB/s, ratio ${(rate(ms[i]) / rate(c)).toFixed(2)}x`).join('; ')}`);
console.log(`  daemon peak RSS ${median(ms.map((m) => m.rss)).toFixed(1)} MiB`);
if (COMPARE) {
  console.log(`  compared build (${COMPARE}${COMPARE_ARGS.length ? `, options: ${COMPARE_ARGS.join(' ')}` : ''}${COMPARE_VARIANT ? `, started with: ${COMPARE_VARIANT.label}` : ''}): ${median(other.map(rate)).toFixed(1)} MiB/s, median of the rounds' ratios ${median(other.map((o, i) => rate(o) / rate(cu[i]))).toFixed(2)}x;`);
  console.log(`               CPU per GiB ${median(other.map(GiBcpu)).toFixed(2)} s (main thread ${median(other.map((o) => o.main / GiB)).toFixed(2)}), peak RSS ${median(other.map((o) => o.rss)).toFixed(1)} MiB`);
}
console.log(`  load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} (2 cores; curl + nginx alone keep about 1.5 busy)`);
if ([...ms, ...cu, ...other].some((r) => !r.ok)) {
  console.log('  DATA DIFFERS in some run');
  process.exitCode = 1;
}
await nginx.stop();
nginx = undefined;
process.exit();
