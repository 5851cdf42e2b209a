// deadline: 20s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SwarmStore, type StoreAnnounce, type StoreLimits } from '../../src/tracker/swarm-store';
import { ManualClock } from '../../src/util/clock';
import { CHUNK } from '../../src/tracker/peer-arena';

const LIMITS: StoreLimits = { maxTorrents: 100, maxPeersPerTorrent: 50, maxPeers: 1000, interval: 120, numwantDefault: 50, numwantMax: 200 };
const hash = (n: number) => new Uint8Array(20).fill(n);
const id = (n: number) => {
  const b = new Uint8Array(20).fill(0x41);
  new DataView(b.buffer).setUint32(16, n);
  return b;
};
const v4 = (n: number) => new Uint8Array([10, 0, (n >> 8) & 255, n & 255]);
const v6 = (n: number) => {
  const b = new Uint8Array(16);
  b[0] = 0xfd;
  b[15] = n;
  return b;
};
function ann(n: number, over: Partial<StoreAnnounce> = {}): StoreAnnounce {
  return { infoHash: hash(1), peerId: id(n), address: v4(n), port: 6000 + n, left: 100, event: 'started', numwant: undefined, families: 'both', ...over };
}
/** Compact IPv4 peers as "a.b.c.d:port" strings. */
const list4 = (b: Uint8Array) => {
  const out: string[] = [];
  for (let i = 0; i < b.length; i += 6) out.push(`${b[i]}.${b[i + 1]}.${b[i + 2]}.${b[i + 3]}:${(b[i + 4]! << 8) | b[i + 5]!}`);
  return out.sort();
};

test('the requester is never returned to itself; counters follow announces', () => {
  const s = new SwarmStore(LIMITS);
  const a = s.announce(0, ann(1));
  assert.is(a.peers4.length, 0, 'alone in the swarm');
  assert.is(a.incomplete, 1);
  const b = s.announce(0, ann(2));
  assert.equal(list4(b.peers4), ['10.0.0.1:6001']);
  const again = s.announce(0, ann(1));
  assert.equal(list4(again.peers4), ['10.0.0.2:6002']);
  assert.is(s.peers, 2, 're-announce updates, does not add');
  // the same peer id from another address (dual-stack client) is not returned either
  const other = s.announce(0, ann(1, { address: v6(1), port: 6001 }));
  assert.is(other.peers6.length, 0);
  assert.equal(list4(other.peers4), ['10.0.0.2:6002']);
});

test('seeders are given seeders too (aria2 says left=0 before it has a magnet\'s metadata); completed counted once per peer', () => {
  const s = new SwarmStore(LIMITS);
  s.announce(0, ann(1, { left: 0, uploaded: 1 }));
  s.announce(0, ann(2, { left: 0, downloaded: 5 }));
  s.announce(0, ann(3));
  const seed = s.announce(0, ann(1, { left: 0 }));
  assert.equal(list4(seed.peers4), ['10.0.0.2:6002', '10.0.0.3:6003']);
  assert.is(seed.complete, 2);
  assert.is(seed.incomplete, 1);
  // a magnet client with no metadata yet: left=0, nothing downloaded or uploaded
  const magnet = s.announce(0, ann(4, { left: 0, downloaded: 0, uploaded: 0 }));
  assert.equal(list4(magnet.peers4), ['10.0.0.1:6001', '10.0.0.2:6002', '10.0.0.3:6003'], 'it gets the seeders it needs');
  const leech = s.announce(0, ann(3));
  assert.equal(list4(leech.peers4), ['10.0.0.1:6001', '10.0.0.2:6002', '10.0.0.4:6004']);
  const done = s.announce(0, ann(3, { left: 0, event: 'completed' }));
  assert.equal([done.complete, done.incomplete, done.downloaded], [3, 1, 1]);
  s.announce(0, ann(3, { left: 0, event: 'completed' }));
  assert.is(s.counts(hash(1)).downloaded, 1, 'a repeated completed is not counted twice');
  assert.is(s.seeders, 3);
});

test('honest seeder counts: left=0 counts as complete only once the peer showed it has data', () => {
  const s = new SwarmStore(LIMITS);
  const c = () => {
    const x = s.counts(hash(1));
    return [x.complete, x.incomplete];
  };
  s.announce(0, ann(1, { left: 0 }));
  assert.equal(c(), [0, 1], 'left=0 alone (no metadata yet, or a fresh seed) is not counted as complete');
  s.announce(0, ann(1, { left: 0, uploaded: 0, downloaded: 0, event: 'none' }));
  assert.equal(c(), [0, 1], 'still nothing to show');
  s.announce(0, ann(1, { left: 0, uploaded: 16384, event: 'none' }));
  assert.equal(c(), [1, 0], 'a seed that uploaded has the data');
  s.announce(0, ann(2, { left: 0, event: 'completed' }));
  assert.equal(c(), [2, 0], 'completed counts');
  s.announce(0, ann(3, { left: 500 }));
  s.announce(0, ann(3, { left: 0, event: 'none' }));
  assert.equal(c(), [3, 0], 'a leecher seen finishing counts');
  s.announce(0, ann(4, { left: 0, downloaded: 100 }));
  assert.equal(c(), [4, 0], 'so does a peer that downloaded something');
  // aria2 after the metadata: left goes up again; it is a leecher, whatever it said before
  s.announce(0, ann(5, { left: 0 }));
  s.announce(0, ann(5, { left: 1000 }));
  assert.equal(c(), [4, 1]);
  s.announce(0, ann(2, { left: 10 }));
  assert.equal(c(), [3, 2], 'a seeder that says it lacks data again is a leecher');
  s.announce(0, ann(2, { event: 'stopped' }));
  s.announce(0, ann(1, { event: 'stopped' }));
  assert.equal(c(), [2, 1]);
  assert.is(s.seeders, 2);
  assert.is(s.leechers, 1);
});

test('a big swarm\'s index finds every peer through adds, removals and expiry (checked against a scan)', () => {
  const clock = new ManualClock();
  const s = new SwarmStore({ ...LIMITS, maxPeersPerTorrent: 10_000, maxPeers: 100_000 });
  const live = new Map<number, number>(); // peer n -> expiry second
  let seed = 12345;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  for (let step = 0; step < 20_000; step++) {
    const n = rand(3000) + 1;
    const address = n % 3 === 0 ? v6(n & 255) : v4(n);
    const port = n % 3 === 0 ? 7000 + n : 6000 + n;
    const r = rand(10);
    if (r < 7) {
      s.announce(clock.now(), ann(n, { address, port, numwant: 0 }));
      live.set(n, Math.floor(clock.now() / 1000) + 180);
    } else if (r < 9) {
      s.announce(clock.now(), ann(n, { address, port, numwant: 0, event: 'stopped' }));
      live.delete(n);
    } else {
      clock.advance(1000);
      s.sweep(clock.now());
    }
    if (step % 5000 === 2500) {
      clock.advance(120_000);
      for (let k = 0; k < 200; k++) {
        clock.advance(1000);
        s.sweep(clock.now());
      }
      const now = Math.floor(clock.now() / 1000);
      for (const [k, exp] of live) if (exp < now) live.delete(k);
    }
  }
  // re-announcing every live peer must not add any: each is found where the index says
  for (const n of live.keys()) s.announce(clock.now(), ann(n, { address: n % 3 === 0 ? v6(n & 255) : v4(n), port: n % 3 === 0 ? 7000 + n : 6000 + n, numwant: 0 }));
  assert.is(s.peers, live.size, `${live.size} live peers, each stored once`);
  const swarm = [...s.swarmList()][0]!;
  assert.ok(live.size > 500, `${live.size} peers at the end`);
  assert.ok(swarm.index, 'a swarm this size has an index');
});

test('many swarms filled in turn, IPv4 and IPv6, then mostly expired: every swarm lists exactly its live peers, and the slabs shrink', () => {
  const clock = new ManualClock();
  const s = new SwarmStore({ ...LIMITS, maxTorrents: 1000, maxPeersPerTorrent: 1000, maxPeers: 100_000 });
  const endpoint = (t: number, n: number) => (n % 4 === 0 ? { address: v6(n), port: 7000 + t } : { address: v4(n), port: 6000 + t });
  const model = new Map<number, Set<string>>(); // torrent -> "family:port:last address byte"
  const key = (address: Uint8Array, port: number) => `${address.length}:${port}:${address[address.length - 1]}`;
  // round robin: every swarm grows a little at a time, so segments move and free segments are reused
  for (let n = 1; n <= 120; n++)
    for (let t = 0; t < 240; t++) {
      if (n > 5 + (t % 116)) continue;
      const e = endpoint(t, n);
      // swarms t % 6 === 0 keep announcing; the others go silent after their peers' first announce
      s.announce(clock.now(), ann(n, { infoHash: hash(t), ...e, numwant: 0 }));
      if (!model.has(t)) model.set(t, new Set());
      model.get(t)!.add(key(e.address, e.port));
    }
  const full = s.slabBytes;
  assert.is(s.peers, [...model.values()].reduce((k, m) => k + m.size, 0));
  for (let sec = 1; sec <= 400; sec++) {
    clock.advance(1000);
    if (sec % 100 === 0)
      for (let t = 0; t < 240; t += 6) for (let n = 1; n <= 5 + (t % 116); n++) s.announce(clock.now(), ann(n, { infoHash: hash(t), ...endpoint(t, n), numwant: 0 }));
    s.sweep(clock.now());
  }
  for (let t = 0; t < 240; t++) {
    const listed = s.peersOf(String.fromCharCode(...hash(t)), clock.now(), 1000).map((p) => key(p.address, p.port));
    if (t % 6 === 0) assert.equal(listed.sort(), [...model.get(t)!].sort(), `swarm ${t}`);
    else assert.equal(listed, [], `swarm ${t} expired`);
  }
  assert.is(s.torrents, 40);
  assert.ok(s.slabBytes < full / 2, `slabs shrank from ${full} to ${s.slabBytes} bytes`);
});

test('a leecher becoming a seeder, or stopping with nothing left, counts as one download', () => {
  const s = new SwarmStore(LIMITS);
  s.announce(0, ann(1, { left: 0 })); // a seeder from the start: not a download
  s.announce(0, ann(2));
  s.announce(0, ann(2, { left: 0, event: 'none' }));
  s.announce(0, ann(2, { left: 0, event: 'completed' }));
  assert.is(s.counts(hash(1)).downloaded, 1);
  s.announce(0, ann(3));
  s.announce(0, ann(3, { left: 0, event: 'stopped' }));
  assert.is(s.counts(hash(1)).downloaded, 2);
  s.announce(0, ann(4));
  s.announce(0, ann(4, { left: 10, event: 'stopped' }));
  s.announce(0, ann(1, { left: 0, event: 'stopped' }));
  assert.is(s.counts(hash(1)).downloaded, 2, 'a leecher giving up and a seeder leaving are not downloads');
});

test('numwant: 0 gives none, capped at numwant_max, default otherwise', () => {
  const s = new SwarmStore({ ...LIMITS, numwantDefault: 3, numwantMax: 5 });
  for (let i = 1; i <= 10; i++) s.announce(0, ann(i));
  assert.is(s.announce(0, ann(1, { numwant: 0 })).peers4.length, 0);
  assert.is(s.announce(0, ann(1)).peers4.length, 3 * 6);
  assert.is(s.announce(0, ann(1, { numwant: 100 })).peers4.length, 5 * 6);
});

test('IPv4 in peers, IPv6 in peers6; UDP (same family) gets only its own family', () => {
  const s = new SwarmStore(LIMITS);
  s.announce(0, ann(1));
  s.announce(0, ann(2, { address: v6(2) }));
  const both = s.announce(0, ann(3));
  assert.is(both.peers4.length, 6);
  assert.is(both.peers6.length, 18);
  assert.is(both.peers6[15], 2);
  assert.is(both.peers6[16]! * 256 + both.peers6[17]!, 6002);
  const same6 = s.announce(0, ann(4, { address: v6(4), families: 'same' }));
  assert.is(same6.peers4.length, 0);
  assert.is(same6.peers6.length, 18);
});

test('port 0 is never stored nor handed out; stopped removes', () => {
  const s = new SwarmStore(LIMITS);
  const z = s.announce(0, ann(1, { port: 0 }));
  assert.is(z.refused, 'port 0');
  assert.is(s.peers, 0);
  s.announce(0, ann(2));
  s.announce(0, ann(3));
  s.announce(0, ann(2, { event: 'stopped' }));
  assert.is(s.peers, 1);
  assert.equal(list4(s.announce(0, ann(4)).peers4), ['10.0.0.3:6003']);
  s.announce(0, ann(3, { event: 'stopped' }));
  s.announce(0, ann(4, { event: 'stopped' }));
  assert.is(s.torrents, 0, 'an empty swarm is pruned');
});

test('expiry after 1.5 intervals by the incremental sweep; empty swarms pruned; downloaded kept', () => {
  const clock = new ManualClock();
  const s = new SwarmStore(LIMITS);
  for (let t = 0; t < 40; t++) s.announce(clock.now(), ann(1, { infoHash: hash(t), left: 0, event: 'completed' }));
  s.announce(clock.now(), ann(2));
  assert.is(s.peers, 41);
  // peer 2 keeps announcing every interval; everyone else goes silent
  for (let sec = 1; sec <= 200; sec++) {
    clock.advance(1000);
    if (sec % 120 === 0) s.announce(clock.now(), ann(2));
    s.sweep(clock.now());
    if (sec === 179) assert.is(s.peers, 41, 'nobody expires before 1.5 intervals');
  }
  assert.is(s.peers, 1, 'silent peers expired within 200 s');
  assert.is(s.torrents, 1, 'their swarms pruned');
  assert.is(s.counts(hash(5)).downloaded, 1, 'downloaded survives the pruning');
  assert.equal([...s.retiredList()].length, 39);
});

test('an expired peer is not handed out even before the sweep reaches it', () => {
  const clock = new ManualClock();
  const s = new SwarmStore(LIMITS);
  s.announce(0, ann(1));
  clock.advance(181_000);
  assert.is(s.announce(clock.now(), ann(2)).peers4.length, 0);
});

test('caps: torrents, peers per torrent, peers in total; refused peers still get peers', () => {
  const s = new SwarmStore({ ...LIMITS, maxTorrents: 2, maxPeersPerTorrent: 3, maxPeers: 5 });
  s.announce(0, ann(1, { infoHash: hash(1) }));
  s.announce(0, ann(1, { infoHash: hash(2) }));
  assert.is(s.announce(0, ann(1, { infoHash: hash(3) })).refused, 'torrent limit');
  assert.is(s.torrents, 2);
  s.announce(0, ann(2));
  s.announce(0, ann(3));
  const full = s.announce(0, ann(4));
  assert.is(full.refused, 'swarm limit');
  assert.is(full.peers4.length, 3 * 6);
  s.announce(0, ann(5, { infoHash: hash(2) }));
  assert.is(s.peers, 5);
  assert.is(s.announce(0, ann(6, { infoHash: hash(2) })).refused, 'peer limit');
  assert.is(s.peers, 5);
  // an existing peer can always re-announce
  assert.is(s.announce(0, ann(2)).refused, undefined);
});

test('the peer slabs grow and shrink; peer ids returned for the dictionary model', () => {
  const clock = new ManualClock();
  const s = new SwarmStore({ ...LIMITS, maxPeersPerTorrent: 10_000, maxPeers: 100_000 });
  for (let i = 1; i <= 5000; i++) s.announce(0, ann(i, { numwant: 0 }));
  const full = s.slabBytes;
  assert.ok(full >= 5000 * 32 && full <= 5000 * 32 * 1.25 + CHUNK * 32, `5000 IPv4 peers in ${full} bytes`);
  const r = s.announce(0, ann(1, { numwant: 2, wantPeerIds: true }));
  assert.is(r.peerIds!.length, 40);
  const p = r.peers4;
  const n = (p[2]! << 8) | p[3]!;
  assert.equal([...r.peerIds!.subarray(0, 20)], [...id(n)]);
  clock.advance(100_000);
  for (let i = 1; i <= 10; i++) s.announce(clock.now(), ann(i));
  clock.advance(100_000);
  for (let k = 0; k < 20; k++) s.sweep(clock.now());
  assert.is(s.peers, 10);
  assert.ok(s.slabBytes <= CHUNK * 32, `shrunk from ${full} to ${s.slabBytes} bytes`);
  assert.is([...s.swarmList()][0]!.index, undefined, 'a swarm of 10 has no index');
  assert.is(s.announce(clock.now(), ann(11)).peers4.length, 60);
});

test('a peer registered with its own ttl (LPD) outlives 1.5 intervals, then expires', () => {
  const s = new SwarmStore(LIMITS);
  s.announce(0, ann(1));
  s.announce(0, ann(2, { ttlSeconds: 660, numwant: 0 }));
  const sweepTo = (ms: number) => {
    for (let t = 0; t <= ms; t += 1000) s.sweep(t);
  };
  sweepTo(200_000); // past 1.5 × 120 s
  assert.is(s.peers, 1, 'the announced peer expired, the LPD one stays');
  sweepTo(700_000);
  assert.is(s.peers, 0, 'and it expires after its ttl');
});

test('an announce says whether it added the peer; peersOf lists live peers, seeders first, bounded', () => {
  const s = new SwarmStore(LIMITS);
  assert.is(s.announce(0, ann(1)).added, true);
  assert.is(s.announce(0, ann(1)).added, undefined, 'a re-announce adds nothing');
  assert.is(s.announce(0, ann(2, { left: 0 })).added, true);
  s.announce(0, ann(3, { address: v6(3) }));
  const key = String.fromCharCode(...hash(1));
  const all = s.peersOf(key, 0, 10);
  assert.equal(all.map((p) => [p.address.length, p.port, p.seeder]), [
    [4, 6002, true],
    [4, 6001, false],
    [16, 6003, false],
  ]);
  assert.is(s.peersOf(key, 0, 1).length, 1);
  assert.is(s.peersOf(key, 0, 1)[0]!.port, 6002, 'the seeder first');
  assert.equal(s.peersOf(String.fromCharCode(...hash(9)), 0, 10), []);
  // expired peers (1.5 intervals) are not listed
  assert.equal(s.peersOf(key, 181_000, 10), []);
  assert.is(s.announce(0, ann(4, { event: 'stopped' })).added, undefined);
});

test.run();
