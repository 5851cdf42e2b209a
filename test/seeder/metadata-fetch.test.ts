// deadline: 30s
/**
 * BEP 9 metadata fetch against peers on loopback that lie: a metadata_size over the bound
 * (refused before anything is allocated), metadata that does not hash to the info hash, a
 * reject, a peer without ut_metadata, a silent one. Each is dropped with its reason and the
 * honest peer's metadata (several 16 KiB pieces) is the result.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import {
  MSG,
  PeerWireFramer,
  decodeExtendedHandshake,
  decodeMetadataMessage,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMetadataMessage,
  METADATA_PIECE_SIZE,
} from '../../src/codec/peer-wire';
import { encode } from '../../src/codec/bencode';
import { MetadataFetch } from '../../src/seeder/metadata-fetch';
import { systemClock } from '../../src/util/clock';
import { deadline } from '../helpers';

const info = Buffer.from(encode({ name: 'x', 'piece length': 16384, length: 1, pieces: randomBytes(20), padding: randomBytes(40_000) }));
const infoHash = createHash('sha1').update(info).digest();

type Mode = 'good' | 'huge' | 'wrong' | 'reject' | 'no-ut-metadata' | 'silent';

function extended(id: number, payload: Uint8Array): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt32BE(2 + payload.length, 0);
  head[4] = MSG.extended;
  head[5] = id;
  return Buffer.concat([head, payload]);
}

async function fakePeer(mode: Mode): Promise<{ server: Server; port: number; requests: number[] }> {
  const requests: number[] = [];
  const served = mode === 'wrong' ? Buffer.from(info).fill(0x41, 100, 200) : info;
  const server = createServer((s: Socket) => {
    if (mode === 'silent') return;
    const framer = new PeerWireFramer(1 << 20);
    let theirId = 0;
    s.on('error', () => undefined);
    s.on('data', (d) =>
      framer.push(
        d,
        () => {
          s.write(encodeHandshake({ infoHash, peerId: Buffer.alloc(20, 7), extension: true, fast: false }));
          const m = new Map(mode === 'no-ut-metadata' ? [['ut_pex', 1]] : [['ut_metadata', 3]]);
          s.write(extended(0, encodeExtendedHandshake({ m, metadataSize: mode === 'huge' ? 9 << 20 : served.length })));
        },
        (body) => {
          if (body[0] !== MSG.extended) return;
          if (body[1] === 0) {
            theirId = decodeExtendedHandshake(body.subarray(2)).m.get('ut_metadata') ?? 0;
            return;
          }
          if (body[1] !== 3) return;
          const m = decodeMetadataMessage(body.subarray(2));
          if (m.msgType !== 'request') return;
          requests.push(m.piece);
          if (mode === 'reject') return void s.write(extended(theirId, encodeMetadataMessage({ msgType: 'reject', piece: m.piece })));
          const data = served.subarray(m.piece * METADATA_PIECE_SIZE, (m.piece + 1) * METADATA_PIECE_SIZE);
          s.write(extended(theirId, encodeMetadataMessage({ msgType: 'data', piece: m.piece, totalSize: served.length, data })));
        },
      ),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, requests };
}

test(
  'lying peers are dropped with their reason; the honest one gives metadata that hashes to the info hash',
  deadline(20_000, async () => {
    assert.ok(info.length > 2 * METADATA_PIECE_SIZE);
    const modes: Mode[] = ['huge', 'wrong', 'reject', 'no-ut-metadata', 'silent', 'good'];
    const peers = await Promise.all(modes.map(fakePeer));
    const f = new MetadataFetch({ clock: systemClock, peerId: randomBytes(20) }, { maxMetadataBytes: 8 << 20, peerTimeoutMs: 1500, peersAtOnce: 1 }, infoHash);
    try {
      const got = f.start();
      f.addPeers(peers.map((p) => ({ address: '127.0.0.1', port: p.port })));
      const result = await got;
      assert.ok(Buffer.from(result).equals(info));
      const reasons = f.failures.map((x) => x.replace(/^127\.0\.0\.1:\d+: /, ''));
      assert.equal(reasons, ['metadata_size 9437184 over 8388608', 'metadata does not hash to the info hash', 'rejected piece 0', 'no ut_metadata', 'silent']);
      assert.equal(peers[0]!.requests, [], 'nothing asked of the peer announcing 9 MiB');
      assert.equal(peers[5]!.requests, [0, 1, 2]);
    } finally {
      f.close();
      for (const p of peers) p.server.close();
    }
  }),
);

test.run();
