#!/usr/bin/env node
// DHT memory bench: the daemon's resident memory with a full routing table and a full peer
// store, against the 64 MiB budget of a router (main.max_heap_mb).
//
//   node bench/dht-memory.mjs [--nodes 2000] [--peers 10000] [--rounds 3]
//   MESHSEED_NODE_FLAGS="--max-semi-space-size=16" node bench/dht-memory.mjs   (extra node flags)
//
// Runs dist/meshseed.js (npm run build) with the init script's node flags (heap 64 MiB),
// seeder on with no torrents, LPD off, DHT on a loopback-reachable port, query rate limit
// off (every query comes from 127.0.0.1). Then, over loopback only:
//   - NODES queries from distinct node ids spread over the buckets next to the daemon's id
//     (20 per bucket, the most k-bucket keeps), which the daemon adds to its routing table;
//   - PEERS announce_peer queries: 100 info hashes x (PEERS / 100) ports, all stored
//     (dht.max_peers raised to 2 x PEERS so the cap does not drop any).
// Prints, per round (a fresh daemon each), VmRSS and VmHWM of the daemon before and after
// (from /proc) and its heap as it reports it, then the medians.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import bencode from 'bencode';
import { initScriptNodeFlags, rss, mib, numberArg, median } from './fixtures.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = join(ROOT, 'dist', 'meshseed.js');
const NODES = numberArg('nodes', 2000);
const PEERS = numberArg('peers', 10000);
const ROUNDS = numberArg('rounds', 3);
const HASHES = 100;
const port = () => 20000 + Math.floor(Math.random() * 40000);
const MiB = (bytes) => `${mib(bytes)} MiB`;
const nodeFlags = [...initScriptNodeFlags(ROOT), ...(process.env.MESHSEED_NODE_FLAGS ?? '').split(' ').filter(Boolean)];

/** One round: a fresh daemon loaded with NODES contacts and PEERS stored peers. */
async function round() {

const dir = mkdtempSync(join(tmpdir(), 'meshseed-dht-bench-'));
for (const d of ['state', 'torrents', 'data']) mkdirSync(join(dir, d));
const dhtPort = port();
const trackerPort = port();
const daemon = spawn(
  process.execPath,
  [
    ...nodeFlags,
    BUNDLE,
    'daemon',
    '--state-dir', join(dir, 'state'),
    '--seeder-torrent-dir', join(dir, 'torrents'),
    '--seeder-data-dir', join(dir, 'data'),
    '--seeder-listen-port', String(port()),
    '--tracker-port', String(trackerPort),
    '--lpd-enabled', '0',
    '--dht-port', String(dhtPort),
    '--dht-query-rate', '0',
    '--dht-max-nodes', '3200',
    '--dht-max-peers', String(2 * PEERS),
  ],
  { stdio: ['ignore', 'pipe', 'pipe'] },
);
let log = '';
daemon.stdout.on('data', (d) => (log += d));
daemon.stderr.on('data', (d) => (log += d));

const proc = () => rss(daemon.pid);
const status = async () => {
  const out = await new Promise((resolve) => {
    const c = spawn(process.execPath, [BUNDLE, 'status', '--json', '--state-dir', join(dir, 'state')]);
    let o = '';
    c.stdout.on('data', (d) => (o += d));
    c.on('close', () => resolve(o));
  });
  return JSON.parse(out);
};

const sock = createSocket('udp4');
await new Promise((r) => sock.bind(0, '127.0.0.1', r));
const waiting = new Map();
let tid = 0;
sock.on('message', (buf) => {
  try {
    const m = bencode.decode(buf);
    const t = Buffer.from(m.t).toString('hex');
    waiting.get(t)?.(m);
    waiting.delete(t);
  } catch {}
});
/** The daemon's own view of its heap, from the tracker's stats.json. */
const heap = async () => {
  const r = await fetch(`http://127.0.0.1:${trackerPort}/stats.json`);
  const m = (await r.json()).memory;
  return { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers };
};
/** Sends a query and waits for its reply (the wait also keeps the socket buffers from overflowing). */
function query(q, a) {
  const t = Buffer.alloc(4);
  t.writeUInt32BE(++tid);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiting.delete(t.toString('hex'));
      resolve(undefined);
    }, 2000);
    waiting.set(t.toString('hex'), (m) => {
      clearTimeout(timer);
      resolve(m);
    });
    const buf = bencode.encode({ t, y: 'q', q, a });
    sock.send(buf, dhtPort, '127.0.0.1');
  });
}
/** Runs `fn` for 0..n-1, `width` at a time. */
async function pool(n, width, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await fn(next++);
  }));
}

try {
  const until = Date.now() + 20_000;
  while (!/info: started/.test(log)) {
    if (Date.now() > until) throw new Error(`daemon did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const s0 = await status();
  const nodeId = Buffer.from(s0.services.dht.nodeId, 'hex');
  const before = proc();
  const heapBefore = await heap();

  // NODES contacts, 20 per bucket: bucket i holds ids that share the daemon's first i bits
  const t0 = Date.now();
  await pool(NODES, 32, async (n) => {
    const bucket = Math.floor(n / 20);
    const id = randomBytes(20);
    for (let bit = 0; bit < bucket; bit++) {
      const mask = 0x80 >> bit % 8;
      id[bit >> 3] = (id[bit >> 3] & ~mask) | (nodeId[bit >> 3] & mask);
    }
    const mask = 0x80 >> bucket % 8;
    id[bucket >> 3] = (id[bucket >> 3] & ~mask) | (~nodeId[bucket >> 3] & mask);
    await query('ping', { id });
  });
  const me = randomBytes(20);
  const hashes = Array.from({ length: HASHES }, () => randomBytes(20));
  const token = (await query('get_peers', { id: me, info_hash: hashes[0] })).r.token;
  const perHash = Math.ceil(PEERS / HASHES);
  await pool(PEERS, 32, (n) => query('announce_peer', { id: me, info_hash: hashes[n % HASHES], port: 10000 + Math.floor(n / HASHES), token }));
  const loadSeconds = (Date.now() - t0) / 1000;
  const s1 = await status();
  const after = proc();
  const heapAfter = await heap();
  const d = s1.services.dht;
  console.log(
    `  loaded in ${loadSeconds.toFixed(1)} s: routing table ${d.nodes} nodes, ${d.storedPeers} peers stored for ${d.storedTorrents} info hashes\n` +
      `    before: RSS ${MiB(before.rss)}, heap used ${MiB(heapBefore.heapUsed)}\n` +
      `    after:  RSS ${MiB(after.rss)}, peak ${MiB(after.hwm)}, heap used ${MiB(heapAfter.heapUsed)}, array buffers ${MiB(heapAfter.arrayBuffers)}`,
  );
  return { before, after, heapAfter };
} finally {
  sock.close();
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.on('close', r));
  rmSync(dir, { recursive: true, force: true });
}
}

console.log(`DHT memory bench: ${NODES} node ids, ${PEERS} peers (${HASHES} info hashes); node ${nodeFlags.join(' ')}; ${ROUNDS} round(s)`);
const rounds = [];
for (let i = 0; i < ROUNDS; i++) rounds.push(await round());
const peak = median(rounds.map((r) => r.after.hwm));
console.log(
  `median: RSS before ${MiB(median(rounds.map((r) => r.before.rss)))}, peak after ${MiB(peak)} (budget 64 MiB: ${peak <= 64 * 1048576 ? 'within' : 'OVER'}), ` +
    `heap used after ${MiB(median(rounds.map((r) => r.heapAfter.heapUsed)))}`,
);
