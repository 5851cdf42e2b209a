/**
 * Heap per peer of the swarm store alone: 10,000 torrents × 10 peers announced straight
 * into a SwarmStore, with a full GC before and after (run under node --expose-gc, bundled by
 * bench/tracker.mjs). Counts V8 heap plus ArrayBuffer backing stores (the peer slots).
 */
import { SwarmStore } from '../src/tracker/swarm-store';

declare const gc: () => void;
const TORRENTS = Number(process.env.TORRENTS ?? 10000);
const PEERS = Number(process.env.PEERS ?? 10);

const mem = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

const store = new SwarmStore({ maxTorrents: 1e6, maxPeersPerTorrent: 1e6, maxPeers: 1e7, interval: 120, numwantDefault: 50, numwantMax: 200 });
const before = mem();
const infoHash = Buffer.alloc(20, 0x6d);
const peerId = Buffer.alloc(20, 0x2d);
const address = new Uint8Array(4);
for (let t = 0; t < TORRENTS; t++) {
  infoHash.writeUInt32BE(t, 16);
  for (let p = 0; p < PEERS; p++) {
    address[0] = 10;
    address[1] = (t >> 8) & 255;
    address[2] = t & 255;
    address[3] = p;
    peerId.writeUInt32BE(t * PEERS + p, 16);
    store.announce(0, { infoHash, peerId, address, port: 10000 + p, left: p === 0 ? 0 : 1000, event: 'started', numwant: 0, families: 'same' });
  }
}
const after = mem();
console.log(JSON.stringify({ torrents: store.torrents, peers: store.peers, bytes: after - before, bytes_per_peer: Math.round(((after - before) / store.peers) * 10) / 10 }));
