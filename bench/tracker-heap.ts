/**
 * Memory per tracked peer of the swarm store alone: TORRENTS torrents × PEERS peers announced
 * straight into a SwarmStore (default 10,000 × 10, the router bench's shape; one swarm after
 * another, or with ORDER=interleaved one peer per swarm in turn), with a full GC
 * before and after (run under node --expose-gc; bundled by bench/tracker.mjs and
 * bench/swarm-memory.mjs). Counts V8 heap plus ArrayBuffer backing stores (the peer slots),
 * and prints the RSS change beside it (noisier: allocator slack, pages touched).
 */
import { SwarmStore } from '../src/tracker/swarm-store';

declare const gc: () => void;
const TORRENTS = Number(process.env.TORRENTS ?? 10000);
const PEERS = Number(process.env.PEERS ?? 10);

const mem = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return { js: m.heapUsed + m.arrayBuffers, heap: m.heapUsed, buffers: m.arrayBuffers, rss: m.rss };
};

const total = TORRENTS * PEERS;
const store = new SwarmStore({ maxTorrents: 1e6, maxPeersPerTorrent: 1e6, maxPeers: 1e7, interval: 120, numwantDefault: 50, numwantMax: 200 });
const infoHash = Buffer.alloc(20, 0x6d);
const peerId = Buffer.alloc(20, 0x2d);
const address = new Uint8Array(4);
const before = mem();
const started = process.hrtime.bigint();
// ORDER=interleaved: peers arrive in every swarm in turn (each swarm grows a little at a time)
const interleaved = process.env.ORDER === 'interleaved';
for (let k = 0; k < total; k++) {
  const t = interleaved ? k % TORRENTS : Math.floor(k / PEERS);
  const p = interleaved ? Math.floor(k / TORRENTS) : k % PEERS;
  infoHash.writeUInt32BE(t, 16);
  {
    const n = t * PEERS + p; // every peer its own address
    address[0] = 10;
    address[1] = (n >> 16) & 255;
    address[2] = (n >> 8) & 255;
    address[3] = n & 255;
    peerId.writeUInt32BE(n, 16);
    store.announce(0, { infoHash, peerId, address, port: 10000 + (p % 50000), left: p === 0 ? 0 : 1000, event: 'started', numwant: 0, families: 'same' });
  }
}
const fillMs = Number(process.hrtime.bigint() - started) / 1e6;
const after = mem();
if (store.peers !== total) throw new Error(`stored ${store.peers} peers, expected ${total}`);
console.log(
  JSON.stringify({
    torrents: store.torrents,
    peers: store.peers,
    bytes: after.js - before.js,
    bytes_per_peer: Math.round(((after.js - before.js) / store.peers) * 10) / 10,
    heap_bytes_per_peer: Math.round(((after.heap - before.heap) / store.peers) * 10) / 10,
    buffer_bytes_per_peer: Math.round(((after.buffers - before.buffers) / store.peers) * 10) / 10,
    rss_bytes_per_peer: Math.round(((after.rss - before.rss) / store.peers) * 10) / 10,
    fill_ns_per_announce: Math.round((fillMs * 1e6) / total),
  }),
);
