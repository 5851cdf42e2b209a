// deadline: 30s
/**
 * PeerSession without a socket: bytes pushed in, bytes read back out, time from a
 * ManualClock. Checks the seeder's side of BEP 3/6/9/10/11.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { encode } from '../../src/codec/bencode';
import { parseMetainfo, type Metainfo } from '../../src/codec/metainfo';
import {
  LOCAL_EXT,
  PeerWireFramer,
  decodeExtendedHandshake,
  decodeMessage,
  decodeMetadataMessage,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMessage,
  encodeMetadataMessage,
  type Message,
} from '../../src/codec/peer-wire';
import { decodePex, encodePex } from '../../src/codec/pex';
import { TokenBucket } from '../../src/seeder/bandwidth';
import { HANDSHAKE_TIMEOUT_MS, IDLE_MS, KEEPALIVE_MS, PeerSession, REQQ, SILENT_MS, type SessionDeps, type SessionTorrent } from '../../src/seeder/peer-session';
import type { PeerDownload } from '../../src/seeder/download';
import { ManualClock } from '../../src/util/clock';
import { createLogger } from '../../src/util/log';
import { waitFor } from '../helpers';

const PIECE = 32 * 1024;

function makeTorrent(size: number, opts: { private?: boolean } = {}): { meta: Metainfo; data: Buffer } {
  const data = randomBytes(size);
  const hashes: Buffer[] = [];
  for (let at = 0; at < size; at += PIECE) hashes.push(createHash('sha1').update(data.subarray(at, at + PIECE)).digest());
  const info = { length: size, name: 'test', 'piece length': PIECE, pieces: Buffer.concat(hashes), ...(opts.private ? { private: 1 } : {}) };
  return { meta: parseMetainfo(encode({ info })), data };
}

interface Harness {
  session: PeerSession;
  clock: ManualClock;
  out: Message[];
  handshakes: number;
  closed: () => boolean;
  pex: { address: string; port: number }[];
  waits: number[];
  send(m: Message): void;
  settle(): Promise<void>;
  take(): Message[];
}

/** A session that accepts no torrent: for what happens before or instead of a handshake. */
function bareSession(): { clock: ManualClock; session: PeerSession; closed: () => boolean } {
  const clock = new ManualClock();
  let closed = false;
  const session = new PeerSession(
    {
      clock,
      log: createLogger('error', () => {}),
      peerId: Buffer.alloc(20, 1),
      version: 'x',
      listenPort: () => 1,
      accept: () => undefined,
      ready: () => {},
      interest: () => {},
      waitBandwidth: () => {},
      pexCandidates: () => {},
      uploaded: () => {},
    },
    { write: () => true, buffered: () => 0, close: () => (closed = true) },
    '127.0.0.1',
    1,
  );
  return { clock, session, closed: () => closed };
}

function harness(
  opts: { fast?: boolean; extension?: boolean; torrentSize?: number; private?: boolean; complete?: boolean; rate?: number; pexPeers?: number; dhtPort?: number } = {},
): Harness & { torrent: SessionTorrent; data: Buffer; handshakeDht: () => boolean | undefined; dhtNodes: { address: string; port: number }[] } {
  const { meta, data } = makeTorrent(opts.torrentSize ?? 5 * PIECE + 1000, opts);
  const clock = new ManualClock();
  const complete = opts.complete ?? true;
  const torrent: SessionTorrent = {
    meta,
    available: (i) => complete || i !== 1,
    complete: () => complete,
    readBlock: async (index, begin, into) => {
      data.copy(into, 0, index * PIECE + begin, index * PIECE + begin + into.length);
      return true;
    },
    bucket: new TokenBucket(0, (opts.rate ?? 0) * 1024),
    pexPeers: () => Array.from({ length: opts.pexPeers ?? 0 }, (_, i) => ({ address: `10.1.${i >> 8}.${i & 255}`, port: 6881 })),
  };
  const framer = new PeerWireFramer(1 << 20);
  const h = {
    out: [] as Message[],
    handshakes: 0,
    handshakeDht: undefined as boolean | undefined,
    isClosed: false,
    pex: [] as { address: string; port: number }[],
    waits: [] as number[],
    dhtNodes: [] as { address: string; port: number }[],
  };
  const deps: SessionDeps = {
    clock,
    log: createLogger('error', () => {}),
    peerId: Buffer.from('-MS0100-000000000000'),
    version: 'meshseed test',
    listenPort: () => 6881,
    accept: (_s, ih) => (Buffer.compare(Buffer.from(ih), Buffer.from(meta.infoHash)) === 0 ? torrent : undefined),
    ready: () => {},
    interest: (s, interested) => s.setChoked(!interested),
    waitBandwidth: (_s, ms) => h.waits.push(ms),
    pexCandidates: (_s, peers) => h.pex.push(...peers),
    uploaded: () => {},
    ...(opts.dhtPort !== undefined ? { dhtPort: () => opts.dhtPort, dhtNode: (address: string, port: number) => h.dhtNodes.push({ address, port }) } : {}),
  };
  const session = new PeerSession(
    deps,
    {
      write: (b) => {
        framer.push(
          b,
          (hs) => {
            h.handshakes++;
            h.handshakeDht = hs.dht;
          },
          (body) => h.out.push(decodeMessage(body, meta)),
        );
        return true;
      },
      buffered: () => 0,
      close: () => (h.isClosed = true),
    },
    '10.0.0.9',
    40000,
  );
  const self = {
    session,
    clock,
    torrent,
    data,
    get out() {
      return h.out;
    },
    get handshakes() {
      return h.handshakes;
    },
    pex: h.pex,
    waits: h.waits,
    dhtNodes: h.dhtNodes,
    handshakeDht: () => h.handshakeDht,
    closed: () => h.isClosed,
    send: (m: Message) => session.onData(encodeMessage(m)),
    /** The block reads from the (in-memory) torrent are done, each block sent or rejected. */
    settle: async () => {
      await waitFor('the block reads', 5_000, () => session.blocksInFlight === 0, 0);
    },
    take: () => h.out.splice(0),
  };
  session.onData(encodeHandshake({ infoHash: meta.infoHash, peerId: Buffer.from('-XX0000-peerpeerpeer'), extension: opts.extension ?? true, fast: opts.fast ?? true }));
  return self;
}

const types = (ms: Message[]) => ms.map((m) => m.type);

test('answers a handshake for our torrent: handshake, extension handshake, have_all', () => {
  const h = harness();
  assert.is(h.handshakes, 1);
  const out = h.take();
  assert.equal(types(out), ['extended', 'haveAll']);
  const ext = decodeExtendedHandshake((out[0] as { payload: Uint8Array }).payload);
  assert.equal([...ext.m].sort(), [['ut_metadata', LOCAL_EXT.ut_metadata], ['ut_pex', LOCAL_EXT.ut_pex]]);
  assert.is(ext.metadataSize, h.torrent.meta.infoBytes.length);
  assert.equal([ext.port, ext.reqq, ext.uploadOnly], [6881, REQQ, true]);
  assert.equal([...ext.yourIp!], [10, 0, 0, 9]);
});

test('BEP 5: with the DHT running, the handshake sets the DHT bit and a port message follows; a peer\'s port message reaches the DHT', () => {
  const h = harness({ dhtPort: 6999 });
  assert.is(h.handshakeDht(), true);
  const out = h.take();
  assert.equal(types(out), ['extended', 'haveAll', 'port']);
  assert.is((out[2] as { port: number }).port, 6999);
  h.send({ type: 'port', port: 7001 });
  assert.equal(h.dhtNodes, [{ address: '10.0.0.9', port: 7001 }]);
  assert.not.ok(h.closed());
});

test('BEP 5: without the DHT no bit and no port message; BEP 27: a private torrent never mentions the DHT', () => {
  const off = harness();
  assert.is(off.handshakeDht(), false);
  assert.not.ok(types(off.take()).includes('port'));
  const priv = harness({ dhtPort: 6999, private: true });
  assert.is(priv.handshakeDht(), false);
  assert.not.ok(types(priv.take()).includes('port'));
  priv.send({ type: 'port', port: 7001 });
  assert.equal(priv.dhtNodes, []);
});

test('without the fast extension: a bitfield of exact length, only pieces we have', () => {
  const h = harness({ fast: false, extension: false, complete: false });
  const out = h.take();
  assert.equal(types(out), ['bitfield']);
  const bits = (out[0] as { bits: Uint8Array }).bits;
  assert.is(bits.length, 1); // 6 pieces
  assert.is(bits[0], 0b10111100);
});

test('a handshake for a torrent we do not seed is dropped', () => {
  const { session: s, closed } = bareSession();
  s.onData(encodeHandshake({ infoHash: Buffer.alloc(20, 9), peerId: Buffer.alloc(20, 2), extension: true, fast: true }));
  assert.ok(closed());
  assert.match(s.closeReason, /do not seed/);
});

test('requests while choked are rejected (fast); unchoked they are served with the right bytes', async () => {
  const h = harness();
  h.take();
  h.send({ type: 'request', index: 0, begin: 0, length: 16384 });
  assert.equal(h.take(), [{ type: 'reject', index: 0, begin: 0, length: 16384 }]);
  h.send({ type: 'interested' });
  assert.equal(types(h.take()), ['unchoke']);
  h.send({ type: 'request', index: 5, begin: 0, length: 1000 }); // the short last piece
  h.send({ type: 'request', index: 2, begin: 16384, length: 16384 });
  await h.settle();
  const out = h.take() as { type: string; index: number; begin: number; block: Uint8Array }[];
  assert.equal(types(out as Message[]), ['piece', 'piece']);
  const p2 = out.find((m) => m.index === 2)!;
  assert.is(Buffer.compare(Buffer.from(p2.block), h.data.subarray(2 * PIECE + 16384, 3 * PIECE)), 0);
  const p5 = out.find((m) => m.index === 5)!;
  assert.is(Buffer.compare(Buffer.from(p5.block), h.data.subarray(5 * PIECE, 5 * PIECE + 1000)), 0);
});

test('requests past the end of a piece or of the torrent are rejected; larger than 16 KiB disconnects', async () => {
  const h = harness();
  h.send({ type: 'interested' });
  h.take();
  const bad = [
    { index: 5, begin: 0, length: 1001 }, // past the end of the last piece
    { index: 6, begin: 0, length: 16 }, // no such piece
    { index: 0, begin: PIECE - 10, length: 16384 }, // past the end of a piece
    { index: 0, begin: 0, length: 0 },
  ];
  for (const r of bad) h.send({ type: 'request', ...r });
  await h.settle();
  assert.equal(h.take(), bad.map((r) => ({ type: 'reject', ...r })));
  assert.not.ok(h.closed());
  h.send({ type: 'request', index: 0, begin: 0, length: 16385 });
  assert.ok(h.closed());
  assert.match(h.session.closeReason, /more than 16384/);
});

test('without the fast extension a request past the end disconnects', () => {
  const h = harness({ fast: false });
  h.send({ type: 'interested' });
  h.send({ type: 'request', index: 9, begin: 0, length: 16384 });
  assert.ok(h.closed());
});

test('reqq is enforced: the overflow is rejected (fast) and every request gets exactly one answer', async () => {
  const h = harness({ rate: 1 }); // a crawl: requests stay queued
  h.torrent.bucket.consume(1 << 20, 0); // in debt: nothing is sent for a long while
  h.send({ type: 'interested' });
  h.take();
  const n = REQQ + 30;
  for (let i = 0; i < n; i++) h.send({ type: 'request', index: i % 5, begin: 0, length: 16 + (i % 100) });
  await h.settle();
  const first = h.take();
  assert.ok(first.filter((m) => m.type === 'reject').length >= 30, 'overflow rejected');
  // a choke rejects every queued request
  h.session.setChoked(true);
  await h.settle();
  const rest = h.take();
  const answers = [...first, ...rest].filter((m) => m.type === 'piece' || m.type === 'reject');
  assert.is(answers.length, n, 'one answer per request');
  assert.is(h.session.queuedRequests, 0);
});

test('without the fast extension the reqq overflow disconnects', () => {
  const h = harness({ fast: false, rate: 1 });
  h.send({ type: 'interested' });
  for (let i = 0; i <= REQQ + 5 && !h.closed(); i++) h.send({ type: 'request', index: 0, begin: 0, length: 16 });
  assert.ok(h.closed());
  assert.match(h.session.closeReason, /reqq/);
});

test('cancel of a queued request is answered with a reject (fast)', async () => {
  const h = harness({ rate: 1 });
  h.torrent.bucket.consume(1 << 20, 0);
  h.send({ type: 'interested' });
  for (let i = 0; i < 10; i++) h.send({ type: 'request', index: 1, begin: i * 1024, length: 1024 });
  await h.settle();
  h.take();
  const queued = h.session.queuedRequests;
  assert.ok(queued > 0);
  h.send({ type: 'cancel', index: 1, begin: 9 * 1024, length: 1024 });
  assert.equal(h.take(), [{ type: 'reject', index: 1, begin: 9 * 1024, length: 1024 }]);
  assert.is(h.session.queuedRequests, queued - 1);
});

test('bandwidth: a blocked peer asks to be woken, and sends when the bucket refills', async () => {
  const h = harness({ rate: 16 }); // 16 KiB/s
  h.send({ type: 'interested' });
  h.take();
  for (let i = 0; i < 4; i++) h.send({ type: 'request', index: i, begin: 0, length: 16384 });
  await h.settle();
  assert.is(h.take().filter((m) => m.type === 'piece').length, 1);
  assert.is(h.waits.length, 1);
  h.clock.advance(h.waits[0]!);
  h.session.bandwidthAvailable();
  await h.settle();
  assert.is(h.take().filter((m) => m.type === 'piece').length, 1);
});

test('keep-alive when idle, silent peers and uninterested peers dropped', () => {
  const h = harness();
  h.take();
  h.clock.advance(KEEPALIVE_MS);
  h.session.tick(h.clock.now());
  assert.equal(types(h.take()), ['keepAlive']);
  // the peer keeps talking but is never interested
  for (let t = KEEPALIVE_MS; t <= IDLE_MS; t += 30_000) {
    h.clock.advance(30_000);
    h.send({ type: 'keepAlive' });
    h.session.tick(h.clock.now());
  }
  h.clock.advance(30_000);
  h.session.tick(h.clock.now());
  assert.ok(h.closed());
  assert.match(h.session.closeReason, /not interested/);

  const s = harness();
  s.send({ type: 'interested' });
  s.clock.advance(SILENT_MS + 1);
  s.session.tick(s.clock.now());
  assert.ok(s.closed());
  assert.match(s.session.closeReason, /silent/);
});

test('have: to a seed we download from it rides with our next requests (or the next tick); to others at once', () => {
  const h = harness({ complete: false });
  h.send({ type: 'haveAll' });
  h.session.download = { amInterested: true, onMessage: () => {}, flush: () => {} } as unknown as PeerDownload;
  h.take();
  h.session.announceHave(1);
  h.session.announceHave(2);
  assert.equal(h.take(), [], 'held');
  h.session.sendMessages([{ type: 'request', index: 3, begin: 0, length: 16384 }]);
  assert.equal(types(h.take()), ['request', 'have', 'have']);
  h.session.announceHave(4);
  h.clock.advance(1000);
  h.session.tick(h.clock.now());
  assert.equal(h.take(), [{ type: 'have', index: 4 }], 'the tick sends what is held');
  // a peer that is no seed wants our pieces: at once
  const l = harness({ complete: false });
  l.send({ type: 'haveNone' });
  l.take();
  l.session.announceHave(1);
  assert.equal(l.take(), [{ type: 'have', index: 1 }]);
});

test('a connection that never completes its handshake is dropped', () => {
  const { clock, session: s, closed } = bareSession();
  s.onData(Buffer.from([19, 66, 105])); // the first bytes of a handshake, and then nothing
  clock.advance(HANDSHAKE_TIMEOUT_MS);
  s.tick(clock.now());
  assert.not.ok(closed());
  clock.advance(1000);
  s.tick(clock.now());
  assert.ok(closed());
  assert.match(s.closeReason, /no handshake/);
});

test('ut_metadata: the info dict is served in 16 KiB pieces, beyond it rejected', () => {
  const h = harness({ torrentSize: 1200 * PIECE }); // 1200 hashes: an info dict of more than 16 KiB
  h.send({ type: 'extended', extId: 0, payload: encodeExtendedHandshake({ m: new Map([['ut_metadata', 3]]) }) });
  h.take();
  const info = h.torrent.meta.infoBytes;
  const got: Buffer[] = [];
  for (let piece = 0; piece < 2; piece++) {
    h.send({ type: 'extended', extId: LOCAL_EXT.ut_metadata, payload: encodeMetadataMessage({ msgType: 'request', piece }) });
    const [m] = h.take() as { type: 'extended'; extId: number; payload: Uint8Array }[];
    assert.is(m!.extId, 3);
    const md = decodeMetadataMessage(m!.payload);
    assert.is(md.msgType, 'data');
    if (md.msgType === 'data') {
      assert.is(md.totalSize, info.length);
      got.push(Buffer.from(md.data));
    }
  }
  assert.is(Buffer.compare(Buffer.concat(got), Buffer.from(info)), 0);
  h.send({ type: 'extended', extId: LOCAL_EXT.ut_metadata, payload: encodeMetadataMessage({ msgType: 'request', piece: 2 }) });
  const [r] = h.take() as { payload: Uint8Array }[];
  assert.equal(decodeMetadataMessage(r!.payload), { msgType: 'reject', piece: 2 });
});

test('ut_pex: at most 50 added per message, at most one message a minute, learned peers passed on', () => {
  const h = harness({ pexPeers: 80 });
  h.send({ type: 'extended', extId: 0, payload: encodeExtendedHandshake({ m: new Map([['ut_pex', 7]]) }) });
  h.send({ type: 'interested' });
  h.take();
  h.session.tick(h.clock.now());
  const first = h.take().filter((m) => m.type === 'extended') as { extId: number; payload: Uint8Array }[];
  assert.is(first.length, 1);
  assert.is(first[0]!.extId, 7);
  assert.is(decodePex(first[0]!.payload).added.length, 50);
  h.clock.advance(30_000);
  h.send({ type: 'keepAlive' });
  h.session.tick(h.clock.now());
  assert.is(h.take().filter((m) => m.type === 'extended').length, 0, 'not twice in a minute');
  h.clock.advance(30_000);
  h.session.tick(h.clock.now());
  const second = h.take().filter((m) => m.type === 'extended') as { payload: Uint8Array }[];
  assert.is(decodePex(second[0]!.payload).added.length, 30);
  h.send({ type: 'extended', extId: LOCAL_EXT.ut_pex, payload: encodePex({ added: [{ address: '10.9.9.9', port: 51413 }], dropped: [] }) });
  assert.equal(h.pex, [{ address: '10.9.9.9', port: 51413, flags: 0 }]);
});

test('a private torrent neither advertises nor sends nor accepts PEX (BEP 27)', () => {
  const h = harness({ private: true, pexPeers: 5 });
  const ext = decodeExtendedHandshake((h.take()[0] as { payload: Uint8Array }).payload);
  assert.not.ok(ext.m.has('ut_pex'));
  h.send({ type: 'extended', extId: 0, payload: encodeExtendedHandshake({ m: new Map([['ut_pex', 7]]) }) });
  h.send({ type: 'interested' });
  h.take();
  h.session.tick(h.clock.now());
  assert.is(h.take().filter((m) => m.type === 'extended').length, 0);
  h.send({ type: 'extended', extId: LOCAL_EXT.ut_pex, payload: encodePex({ added: [{ address: '10.9.9.9', port: 1 }], dropped: [] }) });
  assert.is(h.pex.length, 0);
});

test('protocol violations close the connection: fast messages without the bit, unsolicited pieces, a second seed', () => {
  const a = harness({ fast: false });
  a.send({ type: 'haveAll' });
  assert.ok(a.closed());
  const b = harness();
  b.send({ type: 'piece', index: 0, begin: 0, block: Buffer.alloc(10) });
  assert.ok(b.closed());
  const c = harness();
  c.send({ type: 'haveAll' });
  assert.ok(c.closed());
  assert.match(c.session.closeReason, /seed too/);
  const d = harness();
  d.session.onData(Buffer.from('05ffff', 'hex').subarray(0, 0)); // nothing
  d.session.onData(Buffer.from('00000002' + '05ff', 'hex')); // bitfield of the wrong length
  assert.ok(d.closed());
});

test.run();
