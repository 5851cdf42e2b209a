// deadline: 150s
/**
 * Interop with libtorrent's DHT (python3-libtorrent), on loopback, bootstrapped only from a
 * meshseed node: libtorrent's `dht_get_peers` finds the peer a meshseed node announced,
 * and a meshseed node's lookup finds the peer libtorrent announced (`dht_announce`).
 * lt-dht.py reports any DHT packet to an address outside 127/8 and the test fails on it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, deadline, randomPort, requirePrograms, run, waitFor } from '../helpers';
import { FakeSeeder, hashOf, torrent } from '../lpd/fakes';
import { NodeGroup, type TestNode } from './harness';

const PY = '/usr/bin/python3';
const SCRIPT = join(ROOT, 'test', 'dht', 'lt-dht.py');

/** Two meshseed nodes, A (the seeder) and B (libtorrent's bootstrap); A knows B. */
async function pair(seederA: FakeSeeder): Promise<{ a: TestNode; b: TestNode; cleanup(): Promise<void> }> {
  const group = new NodeGroup();
  const b = await group.start();
  const a = await group.start({ seeder: seederA });
  a.dht.addNode('127.0.0.1', b.port, 'port');
  await waitFor('A and B know each other', 10_000, () => a.dht.status().nodes >= 1 && b.dht.status().nodes >= 1);
  return { a, b, cleanup: () => group.close() };
}

test(
  "libtorrent's dht_get_peers finds the peer a meshseed node announced",
  deadline(70_000, async () => {
    if (!requirePrograms(PY)) return;
    const seederA = new FakeSeeder();
    seederA.port = 41234;
    const { a, b, cleanup } = await pair(seederA);
    try {
      const t0 = Date.now();
      seederA.set([torrent(hashOf(0xc3))]);
      await waitFor('A announced', 20_000, () => a.dht.status().torrentsAnnounced === 1);
      const r = await run(PY, [SCRIPT, '--listen', `127.0.0.1:${randomPort()}`, '--bootstrap', `127.0.0.1:${b.port}`, '--get-peers', hashOf(0xc3), '--expect', '127.0.0.1:41234', '--timeout', '45'], { timeoutMs: 55_000 });
      console.log(`  meshseed announce to libtorrent finding it: ${Date.now() - t0} ms`);
      assert.is(r.code, 0, `libtorrent did not find the peer:\n${r.stdout}${r.stderr}`);
      assert.not.match(r.stdout, /foreign_packet/);
      assert.ok(b.dht.status().socket!.queriesInByMethod.get_peers > 0, 'libtorrent asked B');
    } finally {
      await cleanup();
    }
  }),
);

test(
  'libtorrent with no bootstrap node at all learns ours when our node pings it (as after hearing it by LPD), then finds the peer',
  deadline(60_000, async () => {
    if (!requirePrograms(PY)) return;
    const seederA = new FakeSeeder();
    seederA.port = 41235;
    const { a, b, cleanup } = await pair(seederA);
    const ltPort = randomPort();
    const lt = spawn(PY, [SCRIPT, '--listen', `127.0.0.1:${ltPort}`, '--bootstrap', 'none', '--get-peers', hashOf(0xc5), '--expect', '127.0.0.1:41235', '--timeout', '45']);
    let out = '';
    lt.stdout.on('data', (d) => (out += d));
    lt.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => lt.on('close', r));
    try {
      seederA.set([torrent(hashOf(0xc5))]);
      await waitFor('A announced', 20_000, () => a.dht.status().torrentsAnnounced === 1);
      await waitFor('libtorrent started', 10_000, () => out.includes('"started"'));
      const t0 = Date.now();
      b.dht.addNode('127.0.0.1', ltPort, 'lpd');
      assert.is(await exited, 0, `libtorrent did not find the peer:\n${out}`);
      console.log(`  from our ping to libtorrent finding the peer: ${Date.now() - t0} ms`);
      assert.not.match(out, /foreign_packet/);
    } finally {
      lt.kill('SIGKILL');
      await cleanup();
    }
  }),
);

test(
  "a meshseed node's lookup finds the peer libtorrent announced (a torrent added to libtorrent with its DHT on)",
  deadline(70_000, async () => {
    if (!requirePrograms(PY)) return;
    const { a, b, cleanup } = await pair(new FakeSeeder());
    const ltPort = randomPort();
    const lt = spawn(PY, [SCRIPT, '--listen', `127.0.0.1:${ltPort}`, '--bootstrap', `127.0.0.1:${b.port}`, '--announce', hashOf(0xd4), '--timeout', '50'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    lt.stdout.on('data', (d) => (out += d));
    lt.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => lt.on('close', r));
    try {
      const t0 = Date.now();
      const found = await waitFor('A finds libtorrent\'s peer', 45_000, async () => {
        const peers = await a.dht.peersFor(hashOf(0xd4), 3_000);
        return peers.find((p) => p.port === ltPort);
      }, 500);
      console.log(`  libtorrent announce to meshseed finding it: ${Date.now() - t0} ms`);
      assert.is(found!.address, '127.0.0.1');
      assert.ok(b.dht.status().socket!.queriesInByMethod.announce_peer > 0, 'libtorrent announced to B');
      assert.not.match(out, /foreign_packet/);
    } finally {
      lt.stdin.end();
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('killed'), 5000))]);
      if (code === 'killed') lt.kill('SIGKILL');
      await cleanup();
    }
  }),
);

test.run();
