// deadline: 30s
/**
 * The client side of the peer wire and a torrent's download, in virtual time (STYLE 18): a
 * swarm of scripted seeds over in-memory "connections" and a ManualClock, no sockets, no
 * disk. Honest, silent (snubbed), choking (allowed-fast only) and hostile seeds.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import type { Metainfo } from '../../src/codec/metainfo';
import type { Message } from '../../src/codec/peer-wire';
import { ManualClock } from '../../src/util/clock';
import { createLogger } from '../../src/util/log';
import { TokenBucket } from '../../src/seeder/bandwidth';
import { MIN_PIPELINE, REFILL_FRACTION, SNUB_MS, type DownloadSession, type PeerDownload } from '../../src/seeder/download';
import { MAX_PARTIAL_BYTES, TorrentDownload } from '../../src/seeder/torrent-download';
import { BAN_STRIKES } from '../../src/seeder/hash-blame';
import { PiecePool } from '../../src/seeder/piece-pool';
import { PieceBuffers } from '../../src/seeder/piece-buffers';
import type { RunBuffers } from '../../src/seeder/web-seed';
import type { WebSeedSource } from '../../src/seeder/torrent-download';
import { checksSettled, memoryStorage } from './memory-storage';
import { waitFor } from '../helpers';

const B = 16 * 1024;
const PIECE = 4 * B;

function torrent(pieces: number, lastShort = 1000) {
  const length = pieces * PIECE - lastShort;
  const data = randomBytes(length);
  const hashes: Buffer[] = [];
  for (let at = 0; at < length; at += PIECE) hashes.push(createHash('sha1').update(data.subarray(at, at + PIECE)).digest());
  const meta = { name: 't', pieceLength: PIECE, pieceCount: pieces, length, pieces: Buffer.concat(hashes), files: [{ path: ['t'], length, offset: 0 }], infoHashHex: '00'.repeat(20) } as unknown as Metainfo;
  return { meta, data };
}


type Behaviour = 'honest' | 'silent' | 'hostile' | 'choking';

/** A scripted seed on the other end of an in-memory connection. */
class FakeSeed implements DownloadSession {
  readonly sent: Message[] = [];
  closed = '';
  download: PeerDownload | undefined;
  readonly peerFast = true;
  readonly peerHasAll = true;
  served = 0;
  /** Requests per write (sendMessages call) we made to this seed. */
  readonly requestWrites: number[] = [];
  private queue: Message[] = [];
  constructor(
    readonly address: string,
    readonly behaviour: Behaviour,
    readonly peerReqq: number | undefined,
    private readonly data: Buffer,
    private readonly allowedFast: number[] = [],
  ) {}
  peerHas(): boolean {
    return true;
  }
  sendMessage(m: Message): void {
    this.sent.push(m);
    this.queue.push(m);
  }
  sendMessages(ms: Message[]): void {
    this.requestWrites.push(ms.filter((m) => m.type === 'request').length);
    for (const m of ms) this.sendMessage(m);
  }
  close(reason: string): void {
    this.closed = reason;
  }
  /** The seed answers what it was sent since the last call. */
  answer(now: number, pieceCount: number): void {
    const q = this.queue;
    this.queue = [];
    const d = this.download;
    if (!d || this.closed) return;
    for (const m of q) {
      if (m.type === 'interested' && this.behaviour !== 'choking') d.onMessage({ type: 'unchoke' }, now, pieceCount);
      if (m.type === 'interested' && this.behaviour === 'choking') for (const i of this.allowedFast) d.onMessage({ type: 'allowedFast', index: i }, now, pieceCount);
      if (m.type !== 'request' || this.behaviour === 'silent') continue;
      this.served++;
      const at = m.index * PIECE + m.begin;
      const block = this.behaviour === 'hostile' ? randomBytes(m.length) : this.data.subarray(at, at + m.length);
      d.onMessage({ type: 'piece', index: m.index, begin: m.begin, block }, now, pieceCount);
    }
    d.flush(now);
  }
  /** The seed answers the oldest request only (one block per socket read). */
  answerOne(now: number, pieceCount: number): void {
    const d = this.download!;
    const at = this.queue.findIndex((m) => m.type === 'request');
    if (at < 0) return;
    const m = this.queue.splice(at, 1)[0] as Extract<Message, { type: 'request' | 'cancel' | 'reject' }>;
    this.served++;
    const from = m.index * PIECE + m.begin;
    d.onMessage({ type: 'piece', index: m.index, begin: m.begin, block: this.data.subarray(from, from + m.length) }, now, pieceCount);
    d.flush(now);
  }
}

function swarm(pieces: number, seeds: [string, Behaviour, number?, number[]?][], pool?: PiecePool, rate = 0) {
  const clock = new ManualClock();
  const { meta, data } = torrent(pieces);
  const memory = memoryStorage(meta);
  const { storage, written } = memory;
  const logs: string[] = [];
  let completed = false;
  const banned: string[] = [];
  const engine = new TorrentDownload({
    clock,
    log: createLogger('debug', (l) => logs.push(l)),
    storage,
    bucket: new TokenBucket(clock.now(), rate),
    pool,
    completed: () => (completed = true),
    paused: (r) => logs.push(`paused ${r}`),
    ban: (a) => banned.push(a),
  });
  const peers = seeds.map(([address, behaviour, reqq, fast]) => {
    const s = new FakeSeed(address, behaviour, reqq, data, fast);
    s.download = engine.addPeer(s);
    return s;
  });
  /** The pieces complete are checked and written (or their writes held: `memory.hold`). */
  const settled = () => checksSettled(engine.picker, memory.held, () => completed);
  /** Runs the swarm: each step every seed answers, the piece checks and writes settle, then 100 ms pass. */
  const run = async (ms: number) => {
    for (let t = 0; t < ms && !completed; t += 100) {
      for (const p of peers) p.answer(clock.now(), pieces);
      await settled();
      clock.advance(100);
      engine.tick(clock.now());
    }
  };
  return { clock, meta, data, engine, peers, storage, written, memory, logs, banned, run, settled, done: () => completed };
}

test('two honest seeds: the download completes, requests are 16 KiB blocks within reqq, interested first', async () => {
  const s = swarm(20, [
    ['10.0.0.1', 'honest', 8],
    ['10.0.0.2', 'honest', undefined],
  ]);
  let maxOutstanding = 0;
  const orig = s.peers[0]!.sendMessages.bind(s.peers[0]);
  s.peers[0]!.sendMessages = (ms) => {
    orig(ms);
    maxOutstanding = Math.max(maxOutstanding, s.peers[0]!.download!.requests);
  };
  await s.run(60_000);
  assert.ok(s.done(), s.logs.join('\n'));
  assert.is(Buffer.concat([...s.written.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1])).compare(s.data), 0);
  for (const p of s.peers) {
    assert.is(p.sent[0]!.type, 'interested');
    for (const m of p.sent) if (m.type === 'request') assert.ok(m.length <= B);
  }
  assert.ok(maxOutstanding <= 8, `reqq 8 respected (${maxOutstanding})`);
  assert.ok(s.peers[0]!.served > 0 && s.peers[1]!.served > 0, 'both seeds used');
  assert.match(s.logs.join('\n'), /download complete: .* the first request [\d.]+ s before the first block; /);
});

test('a silent seed is snubbed after SNUB_MS: its requests are cancelled and go to others', async () => {
  const s = swarm(6, [['10.0.0.1', 'silent']]);
  await s.run(5_000);
  const silent = s.peers[0]!;
  const asked = silent.sent.filter((m) => m.type === 'request').length;
  assert.ok(asked > 0);
  await s.run(SNUB_MS);
  assert.ok(silent.download!.snubbed);
  assert.ok(silent.sent.some((m) => m.type === 'cancel'), 'cancels sent');
  // an honest seed arrives and gets the blocks
  const honest = new FakeSeed('10.0.0.2', 'honest', undefined, s.data);
  honest.download = s.engine.addPeer(honest);
  s.peers.push(honest);
  await s.run(30_000);
  assert.ok(s.done());
  assert.ok(silent.download!.requests <= 1, 'one request at a time while snubbed');
});

test('choked: only allowed-fast pieces are requested', async () => {
  const s = swarm(8, [['10.0.0.1', 'choking', undefined, [3, 5]]]);
  await s.run(3_000);
  const requested = new Set(s.peers[0]!.sent.filter((m) => m.type === 'request').map((m) => (m as { index: number }).index));
  assert.equal([...requested].sort(), [3, 5]);
  assert.ok(s.written.has(3) && s.written.has(5));
  assert.not.ok(s.done());
});

test(`a hostile seed is banned after ${BAN_STRIKES} strikes; the honest one completes the download`, async () => {
  const s = swarm(30, [
    ['10.0.0.66', 'hostile'],
    ['10.0.0.2', 'honest'],
  ]);
  await s.run(120_000);
  assert.ok(s.done(), s.logs.join('\n'));
  assert.equal(s.banned, ['10.0.0.66']);
  assert.ok(s.engine.banned.has('10.0.0.66'));
  assert.not.ok(s.engine.banned.has('10.0.0.2'));
  assert.is(Buffer.concat([...s.written.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1])).compare(s.data), 0);
  // a banned address is not taken again
  assert.is(s.engine.addPeer(new FakeSeed('10.0.0.66', 'hostile', undefined, s.data)), undefined);
});

test('writes that lag hold the download back: buffers stay bounded, no more blocks are asked for, it completes once they go through', async () => {
  const pieces = 3 * (MAX_PARTIAL_BYTES / PIECE);
  const s = swarm(pieces, [['10.0.0.1', 'honest', 250]]);
  // every write waits until released
  s.memory.hold();
  const write = s.storage.writePiece.bind(s.storage);
  let pending = 0;
  let maxPending = 0;
  s.storage.writePiece = async (i: number, d: Uint8Array) => {
    pending++;
    maxPending = Math.max(maxPending, pending);
    await write(i, d);
    pending--;
  };
  await s.run(3_000);
  const served = s.peers[0]!.served;
  await s.run(3_000);
  assert.not.ok(s.done());
  assert.is(s.written.size, 0);
  // the buffers of the pieces waiting for their write: at least the soft bound, never past twice it
  const soft = MAX_PARTIAL_BYTES / PIECE;
  assert.ok(maxPending >= soft && maxPending <= 2 * soft, `${maxPending} pieces held for their write (soft ${soft})`);
  assert.is(s.peers[0]!.served, served, 'no block asked for while every buffer waits for its write');
  s.memory.release();
  await s.run(60_000);
  assert.ok(s.done(), s.logs.join('\n'));
  for (let i = 0; i < pieces; i++) assert.ok(s.written.get(i)!.equals(s.data.subarray(i * PIECE, (i + 1) * PIECE)), `piece ${i}`);
});

test('a block is asked for only once its piece has a buffer: a deep pipe against lagging writes wastes nothing', async () => {
  const pieces = 200;
  const s = swarm(pieces, [['10.0.0.1', 'honest', 500]]);
  // writes lag for the first seconds: every buffer waits for its write while the pipe deepens
  s.memory.hold();
  await s.run(2_000);
  const seed = s.peers[0]!;
  const memoryBlocks = ((2 * MAX_PARTIAL_BYTES) / PIECE) * (PIECE / B);
  assert.ok(seed.served <= memoryBlocks, `${seed.served} blocks asked for while no buffer came back (memory for ${memoryBlocks})`);
  assert.ok(s.memory.held.size > 0);
  s.memory.release();
  await s.run(60_000);
  assert.ok(s.done(), s.logs.join('\n'));
  assert.is(s.engine.wasted, 0, 'no block refused and asked for again');
  assert.is(seed.served, pieces * (PIECE / B), 'each block asked for once');
  assert.match(s.logs.join('\n'), /0 B of it not used/);
});

/** Requests outstanding after each of six round trips with a seed of this reqq, the rate still unknown (no tick). */
async function slowStart(reqq: number): Promise<number[]> {
  const pieces = 400;
  const s = swarm(pieces, [['10.0.0.1', 'honest', reqq]]);
  const seed = s.peers[0]!;
  const outstanding: number[] = [];
  for (let round = 0; round < 6; round++) {
    seed.answer(s.clock.now(), pieces);
    await s.settled();
    outstanding.push(seed.download!.requests);
  }
  return outstanding;
}

test('slow start: until the rate is known each block received lets one more request out, within reqq and the piece memory', async () => {
  const outstanding = await slowStart(250);
  assert.is(outstanding[0], MIN_PIPELINE, `${outstanding}`);
  // doubling each round trip until the piece memory (blocks of pieces with a buffer reserved) or reqq stops it
  for (let i = 1; i < 4; i++) assert.is(outstanding[i], 2 * outstanding[i - 1]!, `${outstanding}`);
  const memory = ((2 * MAX_PARTIAL_BYTES) / PIECE) * (PIECE / B);
  assert.ok(Math.max(...outstanding) <= Math.min(250, memory), `${outstanding}`);
  // a reqq below what the memory holds is reached
  const small = await slowStart(100);
  assert.ok(Math.max(...small) <= 100, `${small}`);
  assert.is(small[small.length - 1], 100, `reaches the peer's reqq: ${small}`);
});

test('a full pipe is refilled in batches of a quarter of it, one write each, never draining below three quarters', async () => {
  const pieces = 400;
  const reqq = 64;
  const s = swarm(pieces, [['10.0.0.1', 'honest', reqq]]);
  const seed = s.peers[0]!;
  // slow start fills the pipe to the peer's reqq
  for (let round = 0; round < 6 && seed.download!.requests < reqq; round++) {
    seed.answer(s.clock.now(), pieces);
    await s.settled();
  }
  assert.is(seed.download!.requests, reqq);
  const before = seed.requestWrites.length;
  let lowest = reqq;
  // 200 blocks arrive one per socket read
  for (let i = 0; i < 200; i++) {
    seed.answerOne(s.clock.now(), pieces);
    lowest = Math.min(lowest, seed.download!.requests);
    if (i % 16 === 15) await s.settled();
  }
  const writes = seed.requestWrites.slice(before);
  const batch = reqq * REFILL_FRACTION;
  assert.ok(writes.length > 0 && writes.length <= Math.ceil(200 / batch), `${writes.length} writes for 200 blocks: ${writes}`);
  for (const n of writes) assert.ok(n >= batch, `a write of ${n} requests (batch ${batch}): ${writes}`);
  assert.ok(lowest >= reqq - batch, `the pipe drained to ${lowest}`);
});


test('a web seed read waiting for piece memory goes on once another download frees the shared pool (not only its own release)', async () => {
  const clock = new ManualClock();
  const { meta } = torrent(8);
  const { storage } = memoryStorage(meta);
  const pool = new PiecePool({ soft: 4 * PIECE, hard: 6 * PIECE });
  // another torrent's download fills the pool to its soft budget
  const other = new PieceBuffers(PIECE, () => PIECE, { soft: 8, hard: 8 }, pool);
  for (let i = 0; i < 4; i++) assert.ok(other.open(i));
  assert.ok(pool.full);
  const engine = new TorrentDownload({
    clock,
    log: createLogger('error', () => undefined),
    storage,
    bucket: new TokenBucket(0, 0),
    pool,
    completed: () => undefined,
    paused: () => undefined,
    ban: () => undefined,
  });
  let runs: RunBuffers[] = [];
  let slots = 1;
  engine.addWebSeed({
    readPieces: (_o, _l, _p, into) => {
      runs.push(into);
      return new Promise<void>(() => undefined); // the socket stays open
    },
    readSlots: () => slots,
    piecesPerRead: () => 2,
    drop: () => undefined,
    status: () => ({ url: 'http://127.0.0.1/', state: 'ok', failures: 0, retryInS: null, error: null, downloaded: 0 }),
    close: () => undefined,
  });
  engine.tick(clock.now());
  slots = 0;
  assert.is(runs.length, 1);
  const run = runs[0]!;
  // the run's second file starts inside its second piece: the first piece's buffer is taken
  // first (in piece order; a download holding none always gets one), then the second finds
  // the pool full while this download holds one: the socket waits
  assert.is(run.get(1), undefined);
  let retried = 0;
  run.whenFree(() => retried++);
  // the other download lets its buffers go: room again in the pool
  for (let i = 0; i < 4; i++) other.release(i);
  assert.not.ok(pool.full);
  clock.advance(1000);
  engine.tick(clock.now());
  assert.is(retried, 1, 'the waiting read is told to look again');
  assert.ok(run.get(1), 'and gets its buffer');
  assert.ok(run.get(0), "the first piece's was taken before");
  runs = [];
  engine.stop();
});
/** A web seed that reads each run at once from `data` (or fails the read when no piece buffer is free). */
function instantWebSeed(data: Buffer): WebSeedSource {
  return {
    readPieces: async (offset, length, pieceLength, into, onPiece) => {
      for (let i = 0; i * pieceLength < length; i++) {
        const size = Math.min(pieceLength, length - i * pieceLength);
        const buf = into.get(i);
        if (!buf) throw new Error('no piece memory');
        data.copy(buf, 0, offset + i * pieceLength, offset + i * pieceLength + size);
        into.arrived?.(i, size);
        onPiece(i);
      }
    },
    readSlots: () => 1,
    piecesPerRead: () => 2,
    drop: () => undefined,
    status: () => ({ url: 'http://127.0.0.1/', state: 'ok', failures: 0, retryInS: null, error: null, downloaded: 0 }),
    close: () => undefined,
  };
}

for (const [how, lose] of [
  ['the peer leaves', (s: ReturnType<typeof swarm>, seed: FakeSeed) => s.engine.removePeer(seed.download!)],
  ['the peer chokes and rejects every request (BEP 6)', (s: ReturnType<typeof swarm>, seed: FakeSeed) => {
    seed.download!.onMessage({ type: 'choke' }, s.clock.now(), s.meta.pieceCount);
    for (const m of seed.sent) if (m.type === 'request') seed.download!.onMessage({ type: 'reject', index: m.index, begin: m.begin, length: m.length }, s.clock.now(), s.meta.pieceCount);
  }],
  ['the peer chokes (no fast extension: the requests are dropped)', (s: ReturnType<typeof swarm>, seed: FakeSeed) => {
    (seed as { peerFast: boolean }).peerFast = false;
    seed.download!.onMessage({ type: 'choke' }, s.clock.now(), s.meta.pieceCount);
  }],
] as const) {
  test(`piece buffers reserved for a peer's requests go back to the shared pool when ${how}; a web seed then completes the download`, async () => {
    const pool = new PiecePool({ soft: 4 * PIECE, hard: 6 * PIECE });
    const s = swarm(12, [['10.0.0.1', 'silent']], pool);
    const seed = s.peers[0]!;
    await s.run(1_000);
    assert.ok(seed.sent.some((m) => m.type === 'request'));
    assert.ok(pool.inUse > 0, 'buffers reserved for the requests');
    lose(s, seed);
    assert.is(pool.inUse, 0, 'no buffer held for blocks no one was asked for');
    s.engine.addWebSeed(instantWebSeed(s.data));
    await s.run(10_000);
    assert.ok(s.done(), `the web seed took the pieces the peer was asked for: ${s.written.size} of 12 written`);
    assert.is(Buffer.concat([...s.written.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1])).compare(s.data), 0);
  });
}

test('churn (chokes that drop requests, blocks arriving after them, a peer leaving and coming back, a rate limit): the shared pool counts every buffer back, none leaks', async () => {
  const pieces = 60;
  const pool = new PiecePool({ soft: 4 * PIECE, hard: 6 * PIECE });
  const s = swarm(pieces, [['10.0.0.1', 'honest'], ['10.0.0.2', 'honest']], pool, 1 << 20);
  let maxInUse = 0;
  for (let step = 0; step < 600 && !s.done(); step++) {
    const [a, b] = s.peers as [FakeSeed, FakeSeed];
    if (step % 7 === 3) {
      // a choke without the fast extension drops our requests; the blocks already sent still come
      (a as { peerFast: boolean }).peerFast = false;
      a.download!.onMessage({ type: 'choke' }, s.clock.now(), pieces);
    } else if (step % 7 === 4) a.download!.onMessage({ type: 'unchoke' }, s.clock.now(), pieces);
    if (step % 11 === 5) {
      // the second peer leaves, and connects again as a new session
      s.engine.removePeer(b.download!);
      const again = new FakeSeed(b.address, 'honest', undefined, s.data);
      again.download = s.engine.addPeer(again);
      s.peers[1] = again;
    }
    await s.run(100);
    maxInUse = Math.max(maxInUse, pool.inUse);
    assert.ok(pool.inUse <= 6 * PIECE, `${pool.inUse} bytes in use, over the pool's hard budget`);
  }
  assert.ok(s.done(), `${s.written.size} of ${pieces} written`);
  assert.is(Buffer.concat([...s.written.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1])).compare(s.data), 0);
  assert.is(pool.inUse, 0, 'every buffer counted back');
  console.log(`churn: at most ${maxInUse / PIECE} pieces of buffers in use; ${s.engine.wasted} bytes not used`);
  s.engine.stop();
  assert.is(pool.inUse, 0);
});

test("a peer's unasked block for a piece a web seed is reading is not taken into its buffer; the read fails: the piece goes to the peers, the download completes", async () => {
  const pieces = 6;
  const pool = new PiecePool({ soft: 4 * PIECE, hard: 6 * PIECE });
  const s = swarm(pieces, [['10.0.0.1', 'honest']], pool);
  let slots = 1;
  let fail: ((err: Error) => void) | undefined;
  let run: RunBuffers | undefined;
  s.engine.addWebSeed({
    readPieces: (offset, _l, _p, into) => {
      assert.is(offset, 0);
      run = into;
      return new Promise<void>((_ok, no) => (fail = no));
    },
    readSlots: () => slots,
    piecesPerRead: () => 2,
    drop: () => undefined,
    status: () => ({ url: 'http://127.0.0.1/', state: 'ok', failures: 0, retryInS: null, error: null, downloaded: 0 }),
    close: () => undefined,
  });
  s.engine.tick(s.clock.now());
  slots = 0;
  assert.ok(fail && run, 'the web seed reads pieces 0 and 1');
  // its first bytes arrive into piece 0
  s.data.copy(run.get(0)!, 0, 0, 1000);
  // the peer (still choking us) sends a block of piece 0 we never asked it for (it is wanted)
  const seed = s.peers[0]!;
  seed.download!.onMessage({ type: 'piece', index: 0, begin: B, block: s.data.subarray(B, 2 * B) }, s.clock.now(), pieces);
  // the read fails: pieces 0 and 1 go back (unstarted: none of their bytes was taken)
  fail(new Error('connection reset'));
  await waitFor('the failed read to give its pieces back', 5_000, () => !s.engine.picker.started(0) && !s.engine.picker.started(1), 0);
  await s.run(30_000);
  assert.ok(s.done(), `${s.written.size} of ${pieces} written; started without a buffer: ${[...Array(pieces).keys()].filter((i) => s.engine.picker.started(i))}`);
  assert.is(Buffer.concat([...s.written.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1])).compare(s.data), 0);
  assert.is(pool.inUse, 0);
});

test('a silent seed and a web seed: once the seed is snubbed it starts no piece, so the web seed takes every one and the download completes', async () => {
  const s = swarm(12, [['10.0.0.1', 'silent']]);
  s.engine.addWebSeed(instantWebSeed(s.data));
  await s.run(SNUB_MS + 30_000);
  assert.ok(s.peers[0]!.download!.snubbed);
  assert.ok(s.done(), `${s.written.size} of 12 written; started: ${[...Array(12).keys()].filter((i) => s.engine.picker.started(i))}`);
  assert.is(Buffer.concat([...s.written.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1])).compare(s.data), 0);
});

test('a peer sends part of a piece and leaves; only a web seed is left: the piece is started again for it and the download completes', async () => {
  const pool = new PiecePool({ soft: 4 * PIECE, hard: 6 * PIECE });
  const s = swarm(12, [['10.0.0.1', 'silent']], pool);
  const seed = s.peers[0]!;
  await s.run(1_000);
  const first = seed.sent.find((m) => m.type === 'request') as Extract<Message, { type: 'request' | 'cancel' | 'reject' }>;
  const at = first.index * PIECE + first.begin;
  seed.download!.onMessage({ type: 'piece', index: first.index, begin: first.begin, block: s.data.subarray(at, at + first.length) }, s.clock.now(), 12);
  s.engine.removePeer(seed.download!);
  s.engine.addWebSeed(instantWebSeed(s.data));
  await s.run(10_000);
  assert.ok(s.done(), `${s.written.size} of 12 written; started: ${[...Array(12).keys()].filter((i) => s.engine.picker.started(i))}`);
  assert.is(Buffer.concat([...s.written.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1])).compare(s.data), 0);
  assert.is(pool.inUse, 0);
});

/** The peer sends the block it was asked for first, then leaves: its piece stays started, half done. */
function leaveHalfDone(s: ReturnType<typeof swarm>, leaver: FakeSeed): Extract<Message, { type: 'request' | 'cancel' | 'reject' }> {
  const first = leaver.sent.find((m) => m.type === 'request') as Extract<Message, { type: 'request' | 'cancel' | 'reject' }>;
  const at = first.index * PIECE + first.begin;
  leaver.download!.onMessage({ type: 'piece', index: first.index, begin: first.begin, block: s.data.subarray(at, at + first.length) }, s.clock.now(), s.meta.pieceCount);
  s.engine.removePeer(leaver.download!);
  return first;
}

/** Pieces started and not done (for messages). */
const startedPieces = (s: ReturnType<typeof swarm>) => [...Array(s.meta.pieceCount).keys()].filter((i) => s.engine.picker.started(i));

test('a piece a peer left half done, the one other peer that has it snubbed and silent: the web seed takes the piece over (the snubbed peer\'s request is cancelled) and the download completes', async () => {
  const pool = new PiecePool({ soft: 4 * PIECE, hard: 6 * PIECE });
  const pieces = 12;
  const s = swarm(pieces, [['10.0.0.1', 'silent'], ['10.0.0.2', 'silent']], pool);
  const [leaver, silent] = s.peers as [FakeSeed, FakeSeed];
  await s.run(1_000);
  const first = leaveHalfDone(s, leaver);
  s.engine.addWebSeed(instantWebSeed(s.data));
  await s.run(SNUB_MS + 30_000);
  assert.ok(silent.download!.snubbed, 'the silent peer is snubbed');
  assert.ok(s.done(), `${s.written.size} of ${pieces} written; started: ${startedPieces(s)}`);
  assert.is(Buffer.concat([...s.written.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1])).compare(s.data), 0);
  assert.is(silent.download!.requests, 0, 'no request left with the snubbed peer');
  assert.ok(silent.sent.some((m) => m.type === 'cancel' && m.index === first.index), 'its request for the half-done piece was cancelled');
  assert.is(pool.inUse, 0);
});

test('endgame: a block two snubbed, silent peers were both asked for is asked of an honest peer that connects; the download completes', async () => {
  // one piece of one block: the second silent peer asks for it in endgame
  const clock = new ManualClock();
  const length = 1000;
  const data = randomBytes(length);
  const meta = { name: 't', pieceLength: PIECE, pieceCount: 1, length, pieces: createHash('sha1').update(data).digest(), files: [{ path: ['t'], length, offset: 0 }], infoHashHex: '00'.repeat(20) } as unknown as Metainfo;
  const { storage, written, held } = memoryStorage(meta);
  let completed = false;
  const engine = new TorrentDownload({ clock, log: createLogger('error', () => undefined), storage, bucket: new TokenBucket(0, 0), completed: () => (completed = true), paused: () => undefined, ban: () => undefined });
  const peers = ['10.0.0.1', '10.0.0.2'].map((a) => {
    const p = new FakeSeed(a, 'silent', undefined, data);
    p.download = engine.addPeer(p);
    return p;
  });
  const step = async () => {
    for (const p of peers) p.answer(clock.now(), 1);
    await checksSettled(engine.picker, held, () => completed);
    clock.advance(1000);
    engine.tick(clock.now());
  };
  for (let t = 0; t < SNUB_MS + 5_000; t += 1000) await step();
  assert.ok(peers.every((p) => p.download!.snubbed && p.download!.requests === 1), 'both snubbed, each asked for the one block');
  const honest = new FakeSeed('10.0.0.3', 'honest', undefined, data);
  honest.download = engine.addPeer(honest);
  peers.push(honest);
  for (let t = 0; t < 10_000 && !completed; t += 1000) await step();
  assert.ok(completed, `the honest peer was asked for the block: ${honest.served} served`);
  assert.ok(written.get(0)!.equals(data));
  assert.ok(peers.slice(0, 2).every((p) => p.sent.some((m) => m.type === 'cancel')), 'the snubbed peers are told to cancel');
});

test('a piece a peer left half done, the one other peer that has it choking us for good: after SNUB_MS the web seed takes the piece over and the download completes', async () => {
  const pieces = 12;
  const s = swarm(pieces, [['10.0.0.1', 'silent'], ['10.0.0.2', 'choking']]);
  const [leaver, choking] = s.peers as [FakeSeed, FakeSeed];
  await s.run(1_000);
  leaveHalfDone(s, leaver);
  s.engine.addWebSeed(instantWebSeed(s.data));
  await s.run(SNUB_MS + 30_000);
  assert.ok(choking.download!.peerChoking && choking.download!.amInterested, 'still choked, still interested');
  assert.ok(s.done(), `${s.written.size} of ${pieces} written; started: ${startedPieces(s)}`);
  assert.is(Buffer.concat([...s.written.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1])).compare(s.data), 0);
});

test.run();
