// deadline: 90s
/**
 * KRPC fuzz (seeded mutation, reproducible: MESHSEED_FUZZ_SEED picks the seed, printed on
 * failure). Valid BEP 5 messages are mutated (bit flips, byte changes, truncation, splices of
 * bencode fragments, type swaps) and sent over loopback to a running DHT node, whose
 * guarded socket and the `bittorrent-dht` package behind it must neither crash nor stop
 * answering. Every datagram stays under 2 KiB plus a few oversized ones.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deadline, tempDir } from '../helpers';
import { KrpcClient, replyOf, startNode } from './harness';
import { encode } from '../../src/codec/bencode';
import { checkKrpc } from '../../src/codec/krpc';

/** xorshift32: the same seed, the same inputs. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

const id = Buffer.alloc(20, 7);
const ih = Buffer.alloc(20, 8);
const SEEDS: Uint8Array[] = [
  encode({ t: 'aa', y: 'q', q: 'ping', a: { id } } as never),
  encode({ t: 'ab', y: 'q', q: 'find_node', a: { id, target: ih } } as never),
  encode({ t: 'ac', y: 'q', q: 'get_peers', a: { id, info_hash: ih } } as never),
  encode({ t: 'ad', y: 'q', q: 'announce_peer', a: { id, info_hash: ih, port: 6881, token: Buffer.alloc(20, 1), implied_port: 0 } } as never),
  encode({ t: 'ae', y: 'r', r: { id, nodes: Buffer.alloc(52, 9), token: Buffer.alloc(4), values: [Buffer.alloc(6, 1)] } } as never),
  encode({ t: 'af', y: 'e', e: [201, 'A Generic Error Ocurred'] } as never),
  encode({ t: 'ag', y: 'q', q: 'get', a: { id, target: ih } } as never),
];
const FRAGMENTS = ['i-1e', 'i99999999999999999999e', '0:', '20:', 'le', 'de', 'd2:idi1ee', 'l' .repeat(40), '4:ping', '9:info_hash', '1:y1:q', '1:y1:r', '4:port', 'i70000e', '5:token'].map((s) => Buffer.from(s, 'latin1'));

function mutate(r: () => number, input: Uint8Array): Buffer {
  const b = Buffer.from(input);
  const pick = (n: number) => Math.floor(r() * n);
  switch (pick(6)) {
    case 0: // bit flips
      for (let i = 0, n = 1 + pick(4); i < n; i++) b[pick(b.length)]! ^= 1 << pick(8);
      return b;
    case 1: // random bytes
      for (let i = 0, n = 1 + pick(8); i < n; i++) b[pick(b.length)] = pick(256);
      return b;
    case 2: // truncation
      return b.subarray(0, pick(b.length));
    case 3: {
      // splice a bencode fragment in
      const at = pick(b.length);
      return Buffer.concat([b.subarray(0, at), FRAGMENTS[pick(FRAGMENTS.length)]!, b.subarray(at + pick(6))]);
    }
    case 4: {
      // digits changed (lengths and integers lie)
      const s = b.toString('latin1').replace(/\d+/g, (d) => (r() < 0.3 ? String(pick(100000)) : d));
      return Buffer.from(s, 'latin1');
    }
    default: // pure noise, sometimes oversized
      return randomBytesFrom(r, r() < 0.02 ? 4096 : 1 + pick(300));
  }
}

function randomBytesFrom(r: () => number, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256);
  return out;
}

test(
  '5,000 mutated KRPC datagrams: the node neither crashes nor stops answering',
  deadline(80_000, async () => {
    const seed = Number(process.env.MESHSEED_FUZZ_SEED ?? 0x5eed15);
    const r = rng(seed);
    const d = tempDir();
    const node = await startNode(d.path);
    const client = await new KrpcClient().open();
    let crash: unknown;
    const onCrash = (err: unknown) => (crash = err);
    process.on('uncaughtException', onCrash);
    try {
      let accepted = 0;
      for (let i = 0; i < 5000; i++) {
        const m = mutate(r, SEEDS[i % SEEDS.length]!);
        if (checkKrpc(m).ok) accepted++;
        client.send(node.port, m);
        // a ping every 50 datagrams: the node must still answer (and the socket buffer never overflows)
        if (i % 50 === 49) {
          assert.is(crash, undefined, `seed ${seed}`);
          assert.ok(replyOf(await client.query(node.port, 'ping', {}, { ms: 5000 })), `ping after ${i + 1} datagrams (seed ${seed})`);
        }
      }
      assert.ok(replyOf(await client.query(node.port, 'ping', {}, { ms: 5000 })), `final ping (seed ${seed})`);
      assert.is(crash, undefined, `seed ${seed}`);
      const s = node.dht.status().socket!;
      const dropped = s.dropped.malformed + s.dropped.size + s.dropped.method;
      console.log(`  seed ${seed}: ${accepted} mutants well formed, ${dropped} dropped (${JSON.stringify(s.dropped)}), ${s.queriesIn} queries answered`);
      assert.ok(dropped > 1000, 'most mutants are dropped at the guard');
    } finally {
      process.off('uncaughtException', onCrash);
      client.close();
      await node.dht.close();
      d.remove();
    }
  }),
);

test.run();
