// deadline: 90s
/**
 * DhtService on loopback: three nodes find each other from mesh introductions only,
 * announce and look up, never announce a private torrent, save and reload their table,
 * and hold their bounds against a raw KRPC client.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { deadline, tempDir, waitFor } from '../helpers';
import { FakeSeeder, hashOf, torrent } from '../lpd/fakes';
import { KrpcClient, NodeGroup, replyOf, startNode, type TestNode } from './harness';
import { isBytes, isList } from '../../src/codec/bencode';
import { GuardedDhtSocket } from '../../src/dht/guarded-socket';
import { ManualClock } from '../../src/util/clock';
import { encode } from '../../src/codec/bencode';
import type { RemoteInfo } from 'node:dgram';

const PUBLIC = hashOf(0xa1);
const PRIVATE = hashOf(0xb2);

test(
  'a chain of three nodes met by LPD and port messages: C finds the peer A announced; the private torrent is never announced',
  deadline(60_000, async () => {
    const dirs = [tempDir(), tempDir(), tempDir()];
    const seederA = new FakeSeeder();
    seederA.port = 40001;
    const nodes: TestNode[] = [];
    try {
      const a = await startNode(dirs[0]!.path, {}, seederA);
      const b = await startNode(dirs[1]!.path);
      const c = await startNode(dirs[2]!.path);
      nodes.push(a, b, c);
      // B hears A by LPD, C gets a port message from B; nobody else is known to anybody
      b.dht.addNode('127.0.0.1', a.port, 'lpd');
      c.dht.addNode('::ffff:127.0.0.1', b.port, 'port');
      await waitFor('B and C in their tables', 10_000, () => b.dht.status().nodes >= 1 && c.dht.status().nodes >= 1);
      const t0 = Date.now();
      seederA.set([torrent(PUBLIC), torrent(PRIVATE, true)]);
      await waitFor('A announced its public torrent', 20_000, () => a.dht.status().torrentsAnnounced === 1);
      const peers = await c.dht.peersFor(PUBLIC, 10_000);
      console.log(`  announce and lookup through the chain: ${Date.now() - t0} ms`);
      assert.ok(peers.some((p) => p.address === '127.0.0.1' && p.port === 40001 && p.source === 'dht'), JSON.stringify(peers));
      // BEP 27: the private torrent is nowhere on the DHT, and A never looks it up either
      assert.equal(await c.dht.peersFor(PRIVATE, 5_000), []);
      assert.equal(await a.dht.peersFor(PRIVATE, 1_000), []);
      assert.is(a.dht.status().torrentsAnnounced, 1);
      const stored = nodes.reduce((n, x) => n + x.dht.status().storedTorrents, 0);
      assert.ok(stored >= 1 && stored <= 3, `only the public torrent is stored (${stored})`);
      const s = c.dht.status();
      assert.ok(s.socket!.queriesOut > 0 && s.socket!.repliesIn > 0 && s.nodesMet.port === 1, JSON.stringify(s));
      assert.is(b.dht.status().nodesMet.lpd, 1);
    } finally {
      for (const n of nodes) await n.dht.close();
      for (const d of dirs) d.remove();
    }
  }),
);

test(
  'a node that boots alone announces as soon as a neighbour appears (a failed round is not cached)',
  deadline(30_000, async () => {
    const seederA = new FakeSeeder();
    seederA.list = [torrent(PUBLIC)];
    const group = new NodeGroup();
    try {
      const a = await group.start({ seeder: seederA });
      await waitFor('a first round that reached nobody', 10_000, () => a.dht.status().announceRounds >= 1);
      assert.is(a.dht.status().torrentsAnnounced, 0);
      const b = await group.start({ settings: { 'dht.bootstrap': [`127.0.0.1:${a.port}`] } });
      const t0 = Date.now();
      await waitFor('A announced to B', 15_000, () => a.dht.status().torrentsAnnounced === 1);
      console.log(`  announced ${Date.now() - t0} ms after the neighbour came up`);
      assert.is(b.dht.status().nodesMet.bootstrap, 1);
    } finally {
      await group.close();
    }
  }),
);

test(
  'the routing table is saved atomically on stop and reloaded at start: same node id, contacts back',
  deadline(30_000, async () => {
    const group = new NodeGroup();
    try {
      const a = await group.start();
      const b = await group.start();
      b.dht.addNode('127.0.0.1', a.port, 'lpd');
      await waitFor('A in B\'s table', 10_000, () => b.dht.status().nodes >= 1);
      const id = b.dht.status().nodeId;
      await b.dht.close();
      const saved = JSON.parse(readFileSync(join(b.stateDir, 'dht.json'), 'utf8'));
      assert.is(saved.nodeId, id);
      assert.equal(saved.nodes, [{ host: '127.0.0.1', port: a.port }]);
      assert.equal(readdirSync(b.stateDir), ['dht.json'], 'no temporary file left');
      const b2 = await group.start({ stateDir: b.stateDir, settings: { 'dht.port': b.port } });
      assert.is(b2.dht.status().nodeId, id);
      await waitFor('A back in B\'s table after the restart', 10_000, () => b2.dht.status().nodes >= 1);
      assert.is(b2.dht.status().nodesMet.saved, 1);
    } finally {
      await group.close();
    }
  }),
);

test(
  'bounds: routing table size, peers per info hash, peers in all',
  deadline(30_000, async () => {
    const d = tempDir();
    const n = await startNode(d.path, { 'dht.max_nodes': 8, 'dht.max_peers_per_torrent': 5, 'dht.max_peers': 100 });
    const client = await new KrpcClient().open();
    try {
      // every query adds its sender to the table: 40 senders, one table of at most 8
      for (let i = 0; i < 40; i++) assert.ok(await client.query(n.port, 'ping', {}, { id: randomBytes(20) }));
      const nodes = n.dht.status().nodes;
      assert.ok(nodes >= 1 && nodes <= 8, `routing table ${nodes}`);
      // 20 peers announced for one info hash: 5 stored, and a get_peers reply carries 5
      const ih = Buffer.from(PUBLIC, 'hex');
      const token = replyOf(await client.query(n.port, 'get_peers', { info_hash: ih }))!.get('token');
      assert.ok(isBytes(token));
      for (let p = 1; p <= 20; p++) assert.ok(replyOf(await client.query(n.port, 'announce_peer', { info_hash: ih, port: 50000 + p, token })), `announce ${p} answered`);
      const values = replyOf(await client.query(n.port, 'get_peers', { info_hash: ih }))!.get('values');
      assert.ok(isList(values) && values.length === 5, `values ${isList(values) ? values.length : values}`);
      // a peer already stored is refreshed, not refused
      assert.ok(replyOf(await client.query(n.port, 'announce_peer', { info_hash: ih, port: 50001, token })));
      // 300 info hashes with one peer each: at most max_peers stored in all
      for (let i = 0; i < 300; i++) await client.query(n.port, 'announce_peer', { info_hash: Buffer.from(hashOf(i + 1), 'hex'), port: 6881, token });
      const stored = n.dht.status().storedPeers;
      assert.ok(stored > 0 && stored <= 100, `stored ${stored}`);
      console.log(`  after 40 senders and 320 announces: ${nodes} nodes, ${stored} peers stored`);
    } finally {
      client.close();
      await n.dht.close();
      d.remove();
    }
  }),
);

test('per-address query rate: a burst of twice the rate, then dropped and counted; replies are not limited', () => {
  const clock = new ManualClock();
  const sock = new GuardedDhtSocket({ clock, createSocket: () => { throw new Error('no socket in this test'); } }, 5);
  let passed = 0;
  sock.on('message', () => passed++);
  const from = (address: string): RemoteInfo => ({ address, port: 6881, family: 'IPv4', size: 0 });
  const ping = encode({ t: 'aa', y: 'q', q: 'ping', a: { id: Buffer.alloc(20, 3) } } as never) as Buffer;
  const reply = encode({ t: 'aa', y: 'r', r: { id: Buffer.alloc(20, 3) } } as never) as Buffer;
  for (let i = 0; i < 50; i++) sock.onDatagram(ping, from('10.0.0.1'));
  assert.is(passed, 10);
  assert.is(sock.counters.dropped.rate, 40);
  for (let i = 0; i < 50; i++) sock.onDatagram(reply, from('10.0.0.1'));
  assert.is(passed, 60);
  sock.onDatagram(ping, from('10.0.0.2'));
  assert.is(passed, 61);
  clock.advance(1000);
  for (let i = 0; i < 50; i++) sock.onDatagram(ping, from('10.0.0.1'));
  assert.is(passed, 66);
  assert.equal([sock.counters.queriesIn, sock.counters.repliesIn, sock.counters.queriesInByMethod.ping], [16, 50, 16]);
});

test(
  'dht.enabled 0: nothing listens, status says off',
  deadline(10_000, async () => {
    const d = tempDir();
    const n = await startNode(d.path, { 'dht.enabled': false });
    try {
      assert.equal([n.dht.status().running, n.dht.port()], [false, undefined]);
      n.dht.addNode('127.0.0.1', 6881, 'lpd');
      assert.equal(await n.dht.peersFor(PUBLIC), []);
    } finally {
      await n.dht.close();
      d.remove();
    }
  }),
);

test(
  'seeder.address keeps the DHT there too (its first IPv4 address); only IPv6 there: a clear refusal',
  deadline(15_000, async () => {
    const dir = tempDir();
    try {
      const n = await startNode(dir.path, { 'seeder.address': ['::1', '127.0.0.1'] });
      try {
        const bound = (n.dht as unknown as { socket: GuardedDhtSocket }).socket.address();
        assert.is(bound.address, '127.0.0.1');
        assert.is(bound.port, n.port);
      } finally {
        await n.dht.close();
      }
      try {
        await startNode(dir.path, { 'seeder.address': ['::1'] });
        assert.unreachable('an IPv6-only seeder.address cannot carry the IPv4 DHT');
      } catch (err) {
        assert.match(String(err), /seeder\.address lists no IPv4 address, and the DHT is IPv4 only/);
      }
    } finally {
      dir.remove();
    }
  }),
);

test.run();
