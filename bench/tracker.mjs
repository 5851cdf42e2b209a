#!/usr/bin/env node
// Tracker benchmark: meshseed against opentracker, in one run, on loopback.
//
//   node bench/tracker.mjs [--http-rounds 7] [--seconds 3] [--rounds 3] [--udp-steps 10000,20000,...] [--step-seconds 3] [--daemon dist/meshseed.js]
//
// --daemon: the meshseed build to measure (default this tree's dist/meshseed.js): a copy of
// an earlier build measured by the same bench, for a before/after in the same minutes.
//
// 1. HTTP announces/s with wrk (bench/tracker.lua: varying info hashes and peer ids; one
//    thread, WRK_CONNECTIONS connections; a fresh TCP connection per announce, as BitTorrent
//    clients do, since both trackers close after each reply), and the CPU time the tracker
//    process spent per announce (user + system, from /proc): on a busy machine, or when wrk
//    itself is the limit, the CPU per announce still compares the two trackers' work. The
//    swarms are HTTP_TORRENTS x HTTP_PEERS peers that announce again and again (filled in the
//    warm-up), not a new peer per announce. Each round prints the tracker's share of its core
//    (under 100 %: it was not the limit), how long its main thread waited for its core while
//    something else ran there (/proc schedstat: the machine's other load), and wrk's share
//    of its core (near 100 %: wrk was the limit); a pair in which a tracker waited over 5 % of its round
//    is marked disturbed and the median of the undisturbed pairs is printed beside the median
//    of all.
//    opentracker's reply has no `Connection: close`, so wrk sends its next request into the
//    closed connection, counts a read error and reconnects: extra work for wrk (on the load
//    core) that meshseed's replies do not cause. The two trackers run in pairs of rounds back
//    to back, the order alternating (ot ms, ms ot, ...), --http-rounds pairs of --seconds
//    each: the ratio is taken within each pair (both saw the same machine load) and the
//    median of the pairs' ratios is the figure; the spread of the pairs is printed beside it.
//    Each pair has a third round beside it: bench/tracker-node-floor.mjs, a bare node:net
//    server with the same flags that answers a fixed reply and closes (Node's own work per
//    connection and nothing else): meshseed's rate against it is how much of the gap to
//    opentracker is the tracker's own code.
// 2. Sustained UDP announces/s, stepped: bench/tracker-udp-load.mjs (BEP 15 connect +
//    announce, open loop) offers each rate of --udp-steps for --step-seconds, on fresh swarms
//    each step (1,000 torrents not used before); the sustained rate is the highest step
//    answered with at most 0.5 % loss (a burst far above capacity would mostly measure how
//    fast a receive buffer drains). A step the generator could not offer is not counted.
// 3. The HTTP announce path alone (bench/tracker-http-path.ts): CPU and garbage per announce
//    of the tracker's own code, which the socket figures above mix with Node's and the kernel's.
// 4. Resident memory with 10,000 torrents and 100,000 peers (filled over UDP), both trackers
//    fresh; and the swarm store's heap per peer measured alone (bench/tracker-heap.ts).
//
// Each tracker is pinned to CPU 1 (one core), load generators to CPU 0. Rounds alternate
// between the trackers; medians and ratios (meshseed / opentracker) are printed. Debian's
// opentracker is whitelist-only: the bench's hashes are written to its whitelist before start.
// Never part of `npm test`.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { initScriptNodeFlags, rss, waitForTcp } from './fixtures.mjs';

const root = new URL('..', import.meta.url).pathname;
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
};
const SECONDS = Number(arg('seconds', '3'));
const HTTP_ROUNDS = Number(arg('http-rounds', '7'));
const ROUNDS = Number(arg('rounds', '3'));
// at most the tracker's half-open connections per address (src/tracker/http-front.ts,
// MAX_HALF_OPEN_PER_ADDRESS = 16; every wrk connection comes from 127.0.0.1): with more, the
// tracker refuses the connections past 16 that are accepted before their request is read, and
// wrk counts a read error and reconnects (work for both sides that measures the admission
// cap, not the tracker)
const WRK_CONNECTIONS = 16;
/** Peers per torrent in bench/tracker.lua: the swarms stop growing once each peer has announced. */
const HTTP_PEERS = 64;
const UDP_STEPS = arg('udp-steps', '5000,10000,15000,20000,30000,40000,50000,60000,70000').split(',').map(Number);
const STEP_SECONDS = Number(arg('step-seconds', '3'));
const MAX_LOSS = 0.005;
const HTTP_TORRENTS = 1000;
const MEM_TORRENTS = 10000;
const MEM_PEERS = 10;
const DAEMON = arg('daemon', join(root, 'dist', 'meshseed.js'));
const SERVER_CPU = '1';
const LOAD_CPU = '0';

for (const p of ['wrk', 'opentracker', 'taskset']) {
  if (spawnSync('sh', ['-c', `command -v ${p}`]).status !== 0) {
    console.error(`${p} is not installed (Debian packages: wrk, opentracker, util-linux)`);
    process.exit(1);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'meshseed-bench-'));
// opentracker chroots to this folder and drops to user nobody: it must be able to enter it
chmodSync(dir, 0o755);
const children = new Set();
const cleanup = () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
// below Linux's ephemeral ports (32768 and up): wrk's thousands of connections per second
// (and their TIME_WAIT) take ports there, and a tracker could not listen on one of them
const randomPort = () => 20000 + Math.floor(Math.random() * 12000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function runToEnd(cmd, args, env = {}) {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(c);
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('error', reject);
    c.on('close', (code) => {
      children.delete(c);
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out}`));
    });
  });
}

const hashHex = (t) => '6d'.repeat(16) + t.toString(16).padStart(8, '0');
writeFileSync(join(dir, 'whitelist.txt'), Array.from({ length: MEM_TORRENTS }, (_, t) => hashHex(t)).join('\n') + '\n');

function startOpentracker() {
  const port = randomPort();
  // -i must come before the -p/-P it applies to; -d: opentracker chroots there and reads the whitelist from it
  const c = spawn('taskset', ['-c', SERVER_CPU, 'opentracker', '-i', '127.0.0.1', '-p', String(port), '-P', String(port), '-d', dir, '-w', 'whitelist.txt'], {
    stdio: 'ignore',
  });
  children.add(c);
  return { name: 'opentracker', port, child: c };
}

function startMeshseed() {
  const port = randomPort();
  const c = spawn(
    'taskset',
    [
      '-c',
      SERVER_CPU,
      process.execPath,
      // the init script's node flags, as on a router
      ...initScriptNodeFlags(root),
      DAEMON,
      'daemon',
      '--seeder-enabled', '0',
      '--lpd-enabled', '0',
      // a tracker bench: no DHT node (it would bind UDP 6881 on every address)
      '--dht-enabled', '0',
      '--log-level', 'warn',
      '--state-dir', join(dir, `state-${port}`),
      '--tracker-address', '127.0.0.1',
      '--tracker-port', String(port),
      '--tracker-rate-limit', '0',
      '--tracker-max-torrents', '1000000',
      '--tracker-max-peers', '10000000',
      '--tracker-max-peers-per-torrent', '1000000',
    ],
    { stdio: 'ignore' },
  );
  children.add(c);
  return { name: 'meshseed', port, child: c };
}

function startNodeFloor() {
  const port = randomPort();
  const c = spawn('taskset', ['-c', SERVER_CPU, process.execPath, ...initScriptNodeFlags(root), join(root, 'bench', 'tracker-node-floor.mjs'), '--port', String(port)], {
    stdio: 'ignore',
  });
  children.add(c);
  return { name: 'node floor', port, child: c };
}

async function stop(t) {
  t.child.kill('SIGKILL');
  await new Promise((r) => (t.child.exitCode !== null ? r() : t.child.on('exit', r)));
  children.delete(t.child);
}

/** CPU time (user + system, ms) the process has used so far, from /proc (clock ticks of 10 ms). */
function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Time (ms) the process's main thread has waited, runnable, for its CPU while something else
 * ran there (/proc/PID/schedstat). The main thread only: Node's helper threads are pinned to
 * the same core and wait for the main thread, which is not the machine's other load.
 */
function waitedMs(pid) {
  return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
}

/** Seconds in `times` output (`0m1.230000s`). */
const shellSeconds = (s) => {
  const m = /(\d+)m([\d.]+)s/.exec(s);
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
};

/**
 * One wrk round against tracker `t`: announces/s, the tracker's CPU per announce and its share
 * of the round (under 100 % of one core: the tracker was not the limit: wrk or the kernel was),
 * how long the tracker waited for its core while another process held it (the machine's other
 * load: such a round says little), and wrk's own CPU share of its core (near 100 %: wrk was the
 * limit). wrk runs under `sh -c '...; times'`, whose second line is its children's CPU time.
 */
async function httpRate(t, seconds = SECONDS) {
  const cpu0 = cpuMs(t.child.pid);
  const waited0 = waitedMs(t.child.pid);
  const wall0 = performance.now();
  const out = await runToEnd(
    'taskset',
    [
      '-c', LOAD_CPU, 'sh', '-c', 'wrk "$@" || exit $?; times', 'sh',
      '-t1', `-c${WRK_CONNECTIONS}`, `-d${seconds}s`, '-s', join(root, 'bench', 'tracker.lua'), `http://127.0.0.1:${t.port}/announce`,
    ],
    { TORRENTS: String(HTTP_TORRENTS), PEERS: String(HTTP_PEERS) },
  );
  const wallMs = performance.now() - wall0;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const failures = Number(/FAILURES (\d+)/.exec(out)?.[1] ?? 0);
  const errors = /Socket errors: (.*)/.exec(out)?.[1];
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const children = out.trim().split('\n').pop().split(' ');
  const wrkCpuMs = (shellSeconds(children[0]) + shellSeconds(children[1])) * 1000;
  const cpu = cpuMs(t.child.pid) - cpu0;
  return {
    rps,
    failures,
    errors,
    cpuUs: (cpu * 1000) / requests,
    busy: cpu / wallMs,
    waited: (waitedMs(t.child.pid) - waited0) / wallMs,
    wrkBusy: wrkCpuMs / wallMs,
  };
}
const pct = (x) => `${Math.round(x * 100)} %`;

let stepBase = 0;
/** The stepped UDP load: each step on 1,000 swarms never used before (the whitelist holds MEM_TORRENTS). */
async function udpSustained(t) {
  let best = 0;
  const steps = [];
  for (const rate of UDP_STEPS) {
    const base = stepBase;
    stepBase = (stepBase + HTTP_TORRENTS) % MEM_TORRENTS;
    const out = await runToEnd('taskset', [
      '-c', LOAD_CPU, process.execPath, join(root, 'bench', 'tracker-udp-load.mjs'),
      '--port', String(t.port), '--rate', String(rate), '--seconds', String(STEP_SECONDS), '--torrents', String(HTTP_TORRENTS), '--torrent-base', String(base),
    ]);
    const r = JSON.parse(out.trim().split('\n').pop());
    const offered = r.sent_per_s >= rate * 0.98;
    steps.push(`${rate / 1000}k:${(r.loss * 100).toFixed(1)}%${offered ? '' : `(offered ${r.sent_per_s})`}`);
    if (!offered) break; // the generator is the limit from here on
    if (r.loss > MAX_LOSS) break;
    best = rate;
  }
  return { best, steps: steps.join(' ') };
}

/** RSS, and its anonymous part (heap, buffers, JIT code) apart from file pages (the program's code touched). */
async function memory(t) {
  await sleep(300);
  // the tracker is taskset's child after exec: same pid
  const before = rss(t.child.pid);
  await runToEnd('taskset', [
    '-c', LOAD_CPU, process.execPath, join(root, 'bench', 'tracker-udp-load.mjs'),
    '--fill', '--port', String(t.port), '--torrents', String(MEM_TORRENTS), '--peers', String(MEM_PEERS),
  ]);
  await sleep(1000);
  const after = rss(t.child.pid);
  return { before, after };
}

const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`;

// ---- run ----
if (!existsSync(join(root, 'dist', 'meshseed.js')) || process.argv.includes('--build')) await runToEnd(process.execPath, [join(root, 'scripts', 'build.mjs')]);
if (!existsSync(DAEMON)) throw new Error(`no meshseed build at ${DAEMON}`);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(
  `tracker bench: HTTP ${HTTP_ROUNDS} pairs of ${SECONDS} s rounds (wrk, 1 thread, ${WRK_CONNECTIONS} connections, one announce per TCP connection), UDP ${ROUNDS} round(s) of stepped load; trackers on CPU ${SERVER_CPU}, load on CPU ${LOAD_CPU}; load average ${load()}`,
);

const ot = startOpentracker();
const ms = startMeshseed();
await waitForTcp(ot.port);
await waitForTcp(ms.port);
const floor = startNodeFloor();
await waitForTcp(floor.port);

// Warm-up, not counted: a router's tracker runs for months, so the figure that matters is the
// steady state, after V8 has compiled the announce path (opentracker, C, needs none; it gets the
// same run so both trackers start the rounds with the same swarms).
// 5 s: at the trackers' rates every bench peer (HTTP_TORRENTS x HTTP_PEERS) has announced by
// then or soon after, so the rounds measure swarms of a steady size.
for (const t of [ot, ms, floor]) await httpRate(t, 5);

const results = { opentracker: { http: [], cpu: [], udp: [] }, meshseed: { http: [], cpu: [], udp: [] }, 'node floor': { http: [], cpu: [] } };
// HTTP: pairs back to back, the ratio within each pair
const pairRatios = [];
const pairCpuRatios = [];
const floorRatios = [];
/** Pairs in which a tracker (or the floor) waited more than this share of its round for its core. */
const DISTURBED = 0.05;
const quietRatios = [];
for (let r = 1; r <= HTTP_ROUNDS; r++) {
  const pair = {};
  for (const t of r % 2 ? [ot, ms, floor] : [floor, ms, ot]) {
    const h = await httpRate(t);
    pair[t.name] = h;
    results[t.name].http.push(h.rps);
    results[t.name].cpu.push(h.cpuUs);
    console.log(
      `HTTP pair ${r} ${t.name.padEnd(11)} ${Math.round(h.rps)} announces/s, ${h.cpuUs.toFixed(1)} µs CPU each, busy ${pct(h.busy)} of its core, waited ${pct(h.waited)} for it, wrk busy ${pct(h.wrkBusy)} (failures ${h.failures}${h.errors ? `, socket errors ${h.errors}` : ''})`,
    );
  }
  pairRatios.push(pair.meshseed.rps / pair.opentracker.rps);
  pairCpuRatios.push(pair.opentracker.cpuUs / pair.meshseed.cpuUs);
  floorRatios.push(pair.meshseed.rps / pair['node floor'].rps);
  const disturbed = Object.values(pair).some((h) => h.waited > DISTURBED);
  if (!disturbed) quietRatios.push(pairRatios.at(-1));
  console.log(
    `HTTP pair ${r} ratio ${pairRatios.at(-1).toFixed(2)}, meshseed / node floor ${floorRatios.at(-1).toFixed(2)} (load average ${load()}${disturbed ? `; disturbed: a tracker waited over ${pct(DISTURBED)} of its round for its core` : ''})`,
  );
}
for (let r = 1; r <= ROUNDS; r++) {
  for (const t of r % 2 ? [ot, ms] : [ms, ot]) {
    const u = await udpSustained(t);
    results[t.name].udp.push(u.best);
    console.log(`UDP round ${r} ${t.name.padEnd(11)} sustained ${u.best}/s (loss per step: ${u.steps})`);
  }
}
console.log(`load average after the rounds ${load()}`);
await stop(ot);
await stop(ms);
await stop(floor);

// memory: fresh trackers
const ot2 = startOpentracker();
const ms2 = startMeshseed();
await waitForTcp(ot2.port);
await waitForTcp(ms2.port);
const memOt = await memory(ot2);
const memMs = await memory(ms2);
let msStats;
try {
  msStats = await (await fetch(`http://127.0.0.1:${ms2.port}/stats.json`)).json();
} catch {}
await stop(ot2);
await stop(ms2);

// the store's heap per peer, alone
const heapJs = join(dir, 'tracker-heap.cjs');
await build({ entryPoints: [join(root, 'bench', 'tracker-heap.ts')], outfile: heapJs, bundle: true, platform: 'node', format: 'cjs', logLevel: 'warning' });
const heap = JSON.parse((await runToEnd(process.execPath, ['--expose-gc', heapJs])).trim());
// the HTTP announce path alone (no sockets), with the init script's node flags
const pathJs = join(dir, 'tracker-http-path.cjs');
await build({ entryPoints: [join(root, 'bench', 'tracker-http-path.ts')], outfile: pathJs, bundle: true, platform: 'node', format: 'cjs', logLevel: 'warning' });
const paths = [];
for (let r = 0; r < ROUNDS; r++) paths.push(JSON.parse((await runToEnd('taskset', ['-c', SERVER_CPU, process.execPath, ...initScriptNodeFlags(root), pathJs])).trim().split('\n').pop()));

const m = (name, kind) => median(results[name][kind]);
console.log('\nmedians');
const spread = (xs) => `${Math.min(...xs).toFixed(2)}..${Math.max(...xs).toFixed(2)}`;
console.log(
  `  HTTP announces/s   opentracker ${Math.round(m('opentracker', 'http'))}   meshseed ${Math.round(m('meshseed', 'http'))}   ratio ${median(pairRatios).toFixed(2)} (median of ${pairRatios.length} pairs, spread ${spread(pairRatios)}; target >= 0.8)`,
);
console.log(
  quietRatios.length
    ? `  HTTP ratio of the ${quietRatios.length} undisturbed pairs (no tracker waited over ${pct(DISTURBED)} of its round for its core): ${median(quietRatios).toFixed(2)}, spread ${spread(quietRatios)}`
    : `  no HTTP pair was undisturbed (every pair had a tracker wait over ${pct(DISTURBED)} of its round for its core): the machine was busy, the ratio above says little`,
);
console.log(
  `  HTTP against a bare node:net server (bench/tracker-node-floor.mjs, same flags)   node floor ${Math.round(m('node floor', 'http'))}/s, ${m('node floor', 'cpu').toFixed(1)} µs CPU each   meshseed / node floor ${median(floorRatios).toFixed(2)} (median of the pairs, spread ${spread(floorRatios)})`,
);
console.log(
  `  HTTP CPU per announce (µs, tracker process)   opentracker ${m('opentracker', 'cpu').toFixed(1)}   meshseed ${m('meshseed', 'cpu').toFixed(1)}   ratio ${median(pairCpuRatios).toFixed(2)} (opentracker / meshseed: announces per CPU second, relative; median of the pairs, spread ${spread(pairCpuRatios)})`,
);
console.log(`  UDP announces/s sustained at <= ${MAX_LOSS * 100} % loss   opentracker ${Math.round(m('opentracker', 'udp'))}   meshseed ${Math.round(m('meshseed', 'udp'))}   ratio ${(m('meshseed', 'udp') / m('opentracker', 'udp')).toFixed(2)} (target >= 0.8; steps of ${STEP_SECONDS} s: ${UDP_STEPS.join(', ')}/s)`);
console.log(`memory with ${MEM_TORRENTS} torrents x ${MEM_PEERS} peers (RSS)`);
const added = (m) => `+${mib(m.after.rss - m.before.rss)}: anonymous +${mib(m.after.anon - m.before.anon)}, file pages +${mib(m.after.file - m.before.file)}`;
console.log(`  opentracker ${mib(memOt.before.rss)} -> ${mib(memOt.after.rss)} (${added(memOt)})`);
console.log(`  meshseed    ${mib(memMs.before.rss)} -> ${mib(memMs.after.rss)} (${added(memMs)}; target <= 8 MiB)${msStats ? `, tracker holds ${msStats.torrents} torrents / ${msStats.peers} peers, V8 heap ${mib(msStats.memory.heapUsed)} + buffers ${mib(msStats.memory.arrayBuffers)}` : ''}`);
console.log(`  ratio of added RSS ${((memMs.after.rss - memMs.before.rss) / (memOt.after.rss - memOt.before.rss)).toFixed(2)}; of total RSS ${(memMs.after.rss / memOt.after.rss).toFixed(2)}`);
console.log('  (a fresh tracker touches its announce code for the first time while filling: file pages; bench/router.mjs measures the peers on a daemon already at work)');
console.log(`swarm store alone: ${heap.bytes_per_peer} bytes of heap per peer (${heap.peers} peers in ${heap.torrents} torrents; target < 100)`);
if (paths.length) console.log(
  `HTTP announce path alone (parse, announce, reply; no sockets): ${median(paths.map((p) => p.cpu_us_per_announce))} µs CPU per announce, ${median(paths.map((p) => p.announces_per_minor_gc))} announces per young-generation GC (medians of ${paths.length}; ${paths[0].peers} peers)`,
);
