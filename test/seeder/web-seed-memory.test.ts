// deadline: 60s
/**
 * Web seed reads and piece memory (mirror mode): no read holds a buffer for a later piece
 * while it waits for one for an earlier piece (a real WebSeed reading a multi-file torrent
 * from a loopback HTTP server); a read waiting for memory while nothing moves is given up
 * (the download's watchdog); and a web seed gets its share of the memory while a fast peer
 * keeps the pool full (virtual time, scripted peer and web seed).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import type { Metainfo } from '../../src/codec/metainfo';
import type { Message } from '../../src/codec/peer-wire';
import { ManualClock, systemClock } from '../../src/util/clock';
import { createLogger } from '../../src/util/log';
import { TokenBucket } from '../../src/seeder/bandwidth';
import type { DownloadSession, PeerDownload } from '../../src/seeder/download';
import { TorrentDownload, type WebSeedSource } from '../../src/seeder/torrent-download';
import { MEMORY_STALL_MS } from '../../src/seeder/run-memory';
import { PiecePool } from '../../src/seeder/piece-pool';
import { WebSeed, type RunBuffers } from '../../src/seeder/web-seed';
import { deadline, waitFor } from '../helpers';
import { checksSettled, memoryStorage } from './memory-storage';

const B = 16 * 1024;
const PIECE = 4 * B;

/** A torrent of `files` (name → length) over `data`, its pieces' hashes computed. */
function torrent(data: Buffer, files: [string, number][], pieceLength = PIECE): Metainfo {
  const hashes: Buffer[] = [];
  for (let at = 0; at < data.length; at += pieceLength) hashes.push(createHash('sha1').update(data.subarray(at, at + pieceLength)).digest());
  let offset = 0;
  const entries = files.map(([name, length]) => {
    const f = { path: [name], length, offset };
    offset += length;
    return f;
  });
  return { name: 'dir', pieceLength, pieceCount: hashes.length, length: data.length, pieces: Buffer.concat(hashes), files: entries, singleFile: files.length === 1, urlList: [], infoHashHex: '00'.repeat(20) } as unknown as Metainfo;
}

function engineFor(meta: Metainfo, pool: PiecePool, clock = new ManualClock() as typeof systemClock) {
  const { storage, written, held } = memoryStorage(meta);
  const logs: string[] = [];
  let completed = false;
  const engine = new TorrentDownload({
    clock,
    log: createLogger('debug', (l) => logs.push(l)),
    storage,
    bucket: new TokenBucket(clock.now(), 0),
    pool,
    completed: () => (completed = true),
    paused: (r) => logs.push(`paused ${r}`),
    ban: () => undefined,
  });
  /** The pieces complete are checked and written. */
  const settled = () => checksSettled(engine.picker, held, () => completed);
  return { engine, written, logs, settled, done: () => completed };
}

const joined = (written: Map<number, Buffer>) => Buffer.concat([...written.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]));

test(
  'a multi-file run whose second file answers first takes the buffers in piece order: with memory for one piece only, the download completes (no hold and wait)',
  deadline(30_000, async () => {
    // piece 0 is file a; piece 1 is the end of file a, then file b: the run [0, 1] is two range
    // requests. Pieces of 1 MiB: file a's answer is many socket reads (the socket stops reading
    // while no buffer is free, a read's worth of bytes waiting)
    const piece = 1 << 20;
    const data = randomBytes(2 * piece);
    const files: [string, number][] = [
      ['a', piece + piece / 2],
      ['b', piece / 2],
    ];
    const meta = torrent(data, files, piece);
    const content: Record<string, Buffer> = { a: data.subarray(0, piece + piece / 2), b: data.subarray(piece + piece / 2) };
    // file a's answer waits until a piece buffer is taken (by file b's first bytes)
    let release: () => void = () => undefined;
    const taken = new Promise<void>((r) => (release = r));
    const server = http.createServer((req, res) => {
      const name = decodeURIComponent(req.url!.split('/').pop()!);
      const [first, last] = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '')!.slice(1).map(Number) as [number, number];
      const answer = () => {
        res.writeHead(206, { 'Content-Range': `bytes ${first}-${last}/${content[name]!.length}`, 'Content-Length': last - first + 1 });
        res.end(content[name]!.subarray(first, last + 1));
      };
      if (name === 'a') void taken.then(answer);
      else answer();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    // memory for one piece: the pool's soft and hard budgets
    const pool = new PiecePool({ soft: piece, hard: piece });
    const take = pool.take.bind(pool);
    pool.take = (size, held) => {
      const b = take(size, held);
      if (b) release();
      return b;
    };
    const s = engineFor(meta, pool, systemClock);
    const ws = new WebSeed({ clock: systemClock, logger: createLogger('error', () => undefined) }, { url, name: meta.name, singleFile: false, files: meta.files });
    // one read of the whole run (the real seed asks one piece until it has measured its rate)
    s.engine.addWebSeed({
      readPieces: ws.readPieces.bind(ws),
      readSlots: (now) => Math.min(1, ws.readSlots(now)),
      piecesPerRead: () => 2,
      drop: (r) => ws.drop(r),
      status: () => ws.status(),
      close: () => ws.close(),
    });
    try {
      s.engine.fillAll();
      await waitFor('the download to complete', 10_000, () => (s.engine.tick(systemClock.now()), s.done()));
      assert.is(joined(s.written).compare(data), 0);
      assert.is(ws.status().failures, 0);
      assert.is(pool.inUse, 0);
    } finally {
      s.engine.stop();
      server.closeAllConnections();
      server.close();
    }
  }),
);

/**
 * A scripted web seed: each read fills its pieces in order from `data`, one piece per socket
 * read (`turn()`: every read in flight reads once), waiting (`whenFree`) while no buffer is
 * free, as a socket that stops reading; an aborted read rejects.
 */
function scriptedWebSeed(data: Buffer, opts: { piecesPerRead: number; slots: number; onPiece?: (index: number) => void; firstGet?: (run: number[]) => number[] }) {
  let reads = 0;
  /** What each read in flight does at its next socket read. */
  let next: (() => void)[] = [];
  const seed: WebSeedSource & { reads: () => number; turn: () => void } = {
    reads: () => reads,
    turn: () => {
      const now = next;
      next = [];
      for (const f of now) f();
    },
    readPieces: (offset, length, pieceLength, into: RunBuffers, onPiece, signal) =>
      new Promise<void>((resolve, reject) => {
        reads++;
        const count = Math.ceil(length / pieceLength);
        const first = offset / pieceLength;
        const settle = (err?: unknown) => {
          reads--;
          if (err) reject(err);
          else resolve();
        };
        signal?.addEventListener('abort', () => settle(signal.reason), { once: true });
        // pieces asked for first, out of order (a later file's range answering first); then all in order
        const order = [...(opts.firstGet?.(Array.from({ length: count }, (_, i) => i)) ?? []), ...Array.from({ length: count }, (_, i) => i)];
        const step = (k: number): void => {
          if (signal?.aborted) return;
          if (k === order.length) return settle();
          const i = order[k]!;
          const buf = into.get(i);
          if (!buf) return into.whenFree(() => step(k));
          if (k < order.length - count) return step(k + 1);
          const size = Math.min(pieceLength, length - i * pieceLength);
          data.copy(buf, 0, offset + i * pieceLength, offset + i * pieceLength + size);
          into.arrived?.(i, size);
          opts.onPiece?.(first + i);
          onPiece(i);
          // the next piece's bytes come at the next socket read
          next.push(() => step(k + 1));
        };
        next.push(() => step(0));
      }),
    readSlots: () => Math.max(0, opts.slots - reads),
    piecesPerRead: () => opts.piecesPerRead,
    drop: () => undefined,
    status: () => ({ url: 'http://127.0.0.1/', state: 'ok', failures: 0, retryInS: null, error: null, downloaded: 0 }),
    close: () => undefined,
  };
  return seed;
}

/** An honest seed on an in-memory connection that keeps our pipe full. */
class FastPeer implements DownloadSession {
  readonly address = '10.0.0.1';
  readonly peerFast = true;
  readonly peerHasAll = true;
  readonly peerReqq = 250;
  download: PeerDownload | undefined;
  private queue: Message[] = [];
  constructor(private readonly data: Buffer) {}
  peerHas(): boolean {
    return true;
  }
  sendMessage(m: Message): void {
    this.queue.push(m);
  }
  sendMessages(ms: Message[]): void {
    for (const m of ms) this.queue.push(m);
  }
  close(): void {}
  /** Answers what it was sent, at most `blocks` blocks (the rest wait for the next call). */
  answer(now: number, pieceCount: number, blocks: number): void {
    const d = this.download!;
    for (let m = this.queue.shift(); m; m = blocks > 0 ? this.queue.shift() : undefined) {
      if (m.type === 'interested') d.onMessage({ type: 'unchoke' }, now, pieceCount);
      if (m.type !== 'request') continue;
      blocks--;
      const at = m.index * PIECE + m.begin;
      d.onMessage({ type: 'piece', index: m.index, begin: m.begin, block: this.data.subarray(at, at + m.length) }, now, pieceCount);
    }
    d.flush(now);
  }
}

test('a web seed gets piece memory while a fast peer keeps the shared pool full; the pool never passes its hard budget', async () => {
  const pieces = 200;
  const data = randomBytes(pieces * PIECE);
  const meta = torrent(data, [['f', data.length]]);
  const pool = new PiecePool({ soft: 16 * PIECE, hard: 24 * PIECE });
  const clock = new ManualClock();
  const s = engineFor(meta, pool, clock);
  const peer = new FastPeer(data);
  peer.download = s.engine.addPeer(peer);
  let maxInUse = 0;
  let writtenAtFirstWebPiece: number | undefined;
  const ws = scriptedWebSeed(data, { piecesPerRead: 4, slots: 1, onPiece: () => (writtenAtFirstWebPiece ??= s.written.size) });
  /** 100 ms: the peer answers 32 blocks (20 MiB/s), the web seed's socket reads 4 times, each time the pieces complete are checked, the engine ticks. */
  const step = async () => {
    peer.answer(clock.now(), pieces, 32);
    await s.settled();
    for (let k = 0; k < 4; k++) {
      ws.turn();
      await s.settled();
    }
    maxInUse = Math.max(maxInUse, pool.inUse);
    clock.advance(100);
    s.engine.tick(clock.now());
  };
  // the peer fills the pool first
  for (let t = 0; t < 1_000; t += 100) await step();
  assert.ok(pool.full, `the peer keeps the pool full: ${pool.inUse / PIECE} pieces in use, ${peer.download!.requests} requests`);
  const writtenAtStart = s.written.size;
  s.engine.addWebSeed(ws);
  for (let t = 0; t < 120_000 && !s.done(); t += 100) await step();
  assert.ok(s.done(), `${s.written.size} of ${pieces} written`);
  assert.is(joined(s.written).compare(data), 0);
  console.log(`the web seed began with ${writtenAtStart} pieces written; its first piece came with ${writtenAtFirstWebPiece} of ${pieces} written; from the web seed ${s.engine.fromWebSeeds / PIECE} pieces, from the peer ${s.engine.fromPeers / PIECE}; at most ${maxInUse / PIECE} pieces of memory in use`);
  // the pieces the peer had started when the web seed began: at most the pool's hard budget
  assert.ok(writtenAtFirstWebPiece !== undefined && writtenAtFirstWebPiece - writtenAtStart <= 24, `the web seed began with ${writtenAtStart} pieces written; its first piece came with ${writtenAtFirstWebPiece}`);
  assert.ok(maxInUse <= 24 * PIECE, `${maxInUse / PIECE} pieces in use, over the pool's hard budget of 24`);
  assert.is(pool.inUse, 0);
});

test(`reads waiting for piece memory while nothing moves for ${MEMORY_STALL_MS / 1000} s: one holding a buffer is given up (its buffers back, the seed not backed off) and the download completes`, async () => {
  const pieces = 4;
  const data = randomBytes(pieces * PIECE);
  const meta = torrent(data, [['f', data.length]]);
  // memory for one piece; two reads in flight. The first asks a buffer for its second piece
  // first (a later file's range answering first) while the range that fills its first piece
  // waits for a connection (the other read's); the second waits for memory: nothing moves
  const pool = new PiecePool({ soft: PIECE, hard: PIECE });
  const clock = new ManualClock();
  const s = engineFor(meta, pool, clock);
  let stuck = 1;
  const ws = scriptedWebSeed(data, { piecesPerRead: 2, slots: 2, firstGet: (run) => (stuck-- > 0 ? [run[1]!] : []) });
  s.engine.addWebSeed(ws);
  s.engine.fillAll();
  let stalledAt: number | undefined;
  for (let t = 0; t < 3 * MEMORY_STALL_MS && !s.done(); t += 1000) {
    // each second the seed's sockets read 4 times; the pieces complete are checked
    for (let k = 0; k < 4; k++) {
      ws.turn();
      await s.settled();
    }
    if (stalledAt === undefined && ws.reads() === 2 && s.written.size === 0) stalledAt = clock.now();
    clock.advance(1000);
    s.engine.tick(clock.now());
  }
  assert.ok(stalledAt !== undefined, 'both reads waited');
  assert.ok(s.done(), `${s.written.size} of ${pieces} written\n${s.logs.join('\n')}`);
  assert.is(joined(s.written).compare(data), 0);
  assert.match(s.logs.join('\n'), /given up/);
  assert.is(pool.inUse, 0);
});

test.run();
