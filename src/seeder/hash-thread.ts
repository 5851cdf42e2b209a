/**
 * SHA-1 of whole pieces (BEP 3: "the SHA1 hash of the piece") in a thread of its own, for a
 * download fast enough that the main thread's hashing holds it back: a web seed on a LAN or
 * loopback reads hundreds of MiB/s, and the main thread, which also reads the sockets, spends
 * about as long hashing each piece as reading it.
 *
 *   - one worker thread (node:worker_threads, its code a string: the bundle stays one file),
 *     started only when a download asks for it (`demand`, with the rate it sees) on a machine
 *     of 2 or more cores, and ended after IDLE_MS without demand: it costs about 9 MiB of
 *     memory while it runs, which a router downloading at WAN speed never pays;
 *   - a piece's buffer is moved to the thread (an ArrayBuffer transfer: no copy) and moved
 *     back with its digest; the caller uses the buffer `digest` returns, the one it gave is
 *     detached. A buffer that does not own its whole ArrayBuffer cannot move: the caller
 *     hashes it itself (`canTake`);
 *   - the thread failing or ending with pieces on it rejects them with a HashThreadError (the
 *     pieces are lost, not bad: whoever sent them is not blamed) and the thread is not started
 *     again: pieces are hashed on the main thread, as without it.
 * Web Crypto's `digest` also hashes in libuv's pool, but it copies the piece on the main
 * thread (fresh pages, zeroed when freed): it cost the main thread about what it saved.
 */
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';

/** Demand older than this ends the thread. Reason: a download that pauses a moment keeps it; an idle router gets its memory back. */
export const IDLE_MS = 30_000;

/** What hashes a whole piece off the main thread (piece-buffers.ts uses it). */
export interface PieceHasher {
  /** Running and accepting pieces. */
  readonly ready: boolean;
  /** Whether `buf` can be moved to the thread (it owns its whole ArrayBuffer). */
  canTake(buf: Buffer): boolean;
  /** SHA-1 of `buf[0, size)`; resolves with the digest and the buffer (the same memory; `buf` is detached from the call on). */
  digest(buf: Buffer, size: number): Promise<{ digest: Buffer; buf: Buffer }>;
}

/** The thread failed or ended with the piece on it: the piece's bytes are lost, not wrong. */
export class HashThreadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HashThreadError';
  }
}

/** The thread as this class uses it (node's Worker; tests inject another). */
export interface WorkerLike {
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  on(event: 'message', fn: (m: { id: number; buf: ArrayBuffer; digest: ArrayBuffer }) => void): void;
  on(event: 'online', fn: () => void): void;
  on(event: 'error', fn: (err: Error) => void): void;
  on(event: 'exit', fn: (code: number) => void): void;
  terminate(): Promise<number>;
  unref(): void;
}

/** The worker's code: hash what comes, send it back with the digest. */
const WORKER_CODE = `'use strict';
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', (m) => {
  const d = createHash('sha1').update(new Uint8Array(m.buf, 0, m.size)).digest();
  const digest = d.buffer.slice(d.byteOffset, d.byteOffset + d.length);
  parentPort.postMessage({ id: m.id, buf: m.buf, digest }, [m.buf, digest]);
});`;

/** Node's worker, small limits: it holds no data of its own (pieces pass through as transfers). */
function nodeWorker(): WorkerLike {
  const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
  return new Worker(WORKER_CODE, {
    eval: true,
    stdout: false,
    stderr: false,
    resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1, stackSizeMb: 1 },
  }) as unknown as WorkerLike;
}

/** Whether a download at `bytesPerS` should hash in the thread: `fromMiBps` 0 never; one core never. */
export function wantsHashThread(bytesPerS: number, fromMiBps: number, cores: number): boolean {
  return fromMiBps > 0 && cores >= 2 && bytesPerS >= fromMiBps * 2 ** 20;
}

export interface HashThreadDeps {
  clock: Clock;
  log: Logger;
  /** Cores the process may use (os.availableParallelism). */
  cores: number;
  /** Makes the worker (tests inject one). */
  spawn?: () => WorkerLike;
}

interface Pending {
  resolve(r: { digest: Buffer; buf: Buffer }): void;
  reject(err: Error): void;
}

export class HashThread implements PieceHasher {
  private worker: WorkerLike | undefined;
  private online = false;
  /** It failed once: never started again. */
  private broken = false;
  private closed = false;
  private lastDemand = 0;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly deps: HashThreadDeps,
    private settings: { fromMiBps: number },
  ) {}

  get ready(): boolean {
    return this.online && !this.broken && !this.closed;
  }

  /** Pieces on the thread now. */
  get inFlight(): number {
    return this.pending.size;
  }

  reload(settings: { fromMiBps: number }): void {
    this.settings = settings;
    if (settings.fromMiBps === 0) this.stop();
  }

  /** A download goes at `bytesPerS`: the thread starts (or stays) if that is fast enough. */
  demand(bytesPerS: number): void {
    if (this.closed || this.broken || !wantsHashThread(bytesPerS, this.settings.fromMiBps, this.deps.cores)) return;
    this.lastDemand = this.deps.clock.now();
    if (!this.worker) this.start(bytesPerS);
  }

  /** About once a second: ends the thread after IDLE_MS without demand and with no piece on it. */
  tick(now: number): void {
    if (this.worker && this.pending.size === 0 && now - this.lastDemand >= IDLE_MS) {
      this.deps.log.info(`hash thread stopped: no fast download for ${IDLE_MS / 1000} s`);
      this.stop();
    }
  }

  canTake(buf: Buffer): boolean {
    return buf.byteOffset === 0 && buf.buffer.byteLength === buf.length && !(buf.buffer instanceof SharedArrayBuffer);
  }

  digest(buf: Buffer, size: number): Promise<{ digest: Buffer; buf: Buffer }> {
    const w = this.worker;
    if (!w || !this.ready) return Promise.reject(new HashThreadError('hash thread not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      try {
        w.postMessage({ id, buf: buf.buffer, size }, [buf.buffer as ArrayBuffer]);
      } catch (err) {
        this.pending.delete(id);
        reject(new HashThreadError(`hash thread: ${(err as Error).message}`));
      }
    });
  }

  close(): void {
    this.closed = true;
    this.stop();
  }

  private start(bytesPerS: number): void {
    let w: WorkerLike;
    try {
      w = (this.deps.spawn ?? nodeWorker)();
    } catch (err) {
      this.broken = true;
      this.deps.log.warn(`hash thread cannot start (${(err as Error).message}): pieces are hashed on the main thread`);
      return;
    }
    this.worker = w;
    w.unref();
    w.on('online', () => {
      if (this.worker !== w) return;
      this.online = true;
      this.deps.log.info(`hash thread started: a web seed reads at ${Math.round(bytesPerS / 2 ** 20)} MiB/s (seeder.hash_thread_rate ${this.settings.fromMiBps})`);
    });
    w.on('message', (m) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      p.resolve({ digest: Buffer.from(m.digest), buf: Buffer.from(m.buf) });
    });
    w.on('error', (err) => this.failed(w, `hash thread failed: ${err.message}`));
    w.on('exit', (code) => this.failed(w, `hash thread ended (exit code ${code})`));
  }

  /** The thread is gone: what was on it is lost; unless we ended it, it is not started again. */
  private failed(w: WorkerLike, reason: string): void {
    if (this.worker !== w) return;
    this.worker = undefined;
    this.online = false;
    if (!this.closed) {
      this.broken = true;
      this.deps.log.warn(`${reason}: pieces are hashed on the main thread from now on`);
    }
    this.rejectAll(reason);
  }

  private stop(): void {
    const w = this.worker;
    if (!w) return;
    this.worker = undefined;
    this.online = false;
    this.rejectAll('hash thread stopped');
    void w.terminate().catch(() => undefined);
  }

  private rejectAll(reason: string): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(new HashThreadError(reason));
  }
}
