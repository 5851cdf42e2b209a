/**
 * Piece memory for a download's web seed reads (mirror mode; split from torrent-download.ts).
 * A read is a run of whole pieces (BEP 19); each piece's buffer comes from the download's
 * bounded piece memory (piece-buffers.ts) when its first bytes arrive (web-seed-sink.ts):
 *   - a run's buffers are taken in piece order: a range that starts in a later piece (the next
 *     file's: one request per file) takes the earlier pieces' buffers first. Reason: a later
 *     piece holding a buffer while an earlier one waited for memory was hold and wait; with
 *     every buffer held so, the download stopped for good. In order, the earliest piece of a
 *     run without all its bytes has its buffer, so the run moves;
 *   - reads take new buffers below the soft bounds, except while no piece of any read holds
 *     one (none arriving, checked or written): then past them, within the hard ones. That is
 *     the web seeds' fair share: peers reserve up to the hard bounds, and web seeds kept to the
 *     soft ones got nothing for as long as fast peers kept the memory full (the engine starts
 *     no peer piece while a read waits, `waiting`);
 *   - reads waiting for a buffer are told when one comes back (`released`, `wake`);
 *   - a watchdog (`watch`): when reads wait for memory while nothing moves for
 *     MEMORY_STALL_MS, one of them is given up (aborted), its buffers back.
 */
import { WebSeedError } from '../codec/web-seed-url.js';
import type { Logger } from '../util/log.js';
import type { PieceBuffers } from './piece-buffers.js';
import type { RunBuffers } from './web-seed-sink.js';

/**
 * Reads waiting this long for piece memory while nothing at all moves (no byte arrives, no
 * buffer comes back) lose one of them, its buffers back and its pieces to others (the seed is
 * not backed off: the wait was ours). Reason: the web seed's own idle bound, 30 s.
 */
export const MEMORY_STALL_MS = 30_000;

/** A web seed read in flight. */
export interface RunRead {
  /** The run's pieces. */
  readonly run: readonly number[];
  /** Per piece of the run: all its bytes came and it went to its check (the engine sets it). */
  readonly handed: boolean[];
  /** Where its bytes go (web-seed-sink.ts). */
  readonly buffers: RunBuffers;
  /** Aborts it: given up here, or its seed's signal aborted. */
  readonly signal: AbortSignal;
}

interface Read extends RunRead {
  readonly abort: AbortController;
  /** Its seed's URL, for the log. */
  readonly url: () => string;
  /** Its ranges waiting for a buffer now. */
  waits: number;
  /** Started after every read with a lower one. */
  readonly seq: number;
  readonly unfollow: () => void;
}

export class RunMemory {
  private readonly reads = new Set<Read>();
  private waiters: (() => void)[] = [];
  private seq = 0;
  /** Counts movement (bytes into a piece, a buffer back). */
  private moved = 0;
  private movedSeen = 0;
  /** A clock time (fractional ms): set from the start so the field holds a double from the first (a 0 that became one later changed this object's shape and undid the compiled code using it). */
  private stillSince: number;
  private closed = false;

  /** `now`: the clock's time at the download's start. */
  constructor(
    private readonly deps: { buffers: PieceBuffers; log: Logger; name: string },
    now: number,
  ) {
    this.stillSince = now;
  }

  /** A read of `run` begins; it is aborted with `seedSignal` too. */
  begin(run: readonly number[], url: () => string, seedSignal: AbortSignal): RunRead {
    const abort = new AbortController();
    const follow = () => abort.abort(seedSignal.reason);
    seedSignal.addEventListener('abort', follow, { once: true });
    const read: Read = {
      run,
      handed: run.map(() => false),
      signal: abort.signal,
      abort,
      url,
      waits: 0,
      seq: this.seq++,
      unfollow: () => seedSignal.removeEventListener('abort', follow),
      buffers: {
        get: (i) => this.buffer(read, i),
        whenFree: (retry) => {
          read.waits++;
          this.waiters.push(() => {
            read.waits--;
            retry();
          });
        },
        arrived: (i, end) => {
          this.moved++;
          this.deps.buffers.hashTo(run[i]!, end);
        },
      },
    };
    this.reads.add(read);
    return read;
  }

  /** The read is over (done, failed or aborted). */
  end(read: RunRead): void {
    const r = read as Read;
    if (this.reads.delete(r)) r.unfollow();
  }

  /** Bytes went into a piece. */
  progress(): void {
    this.moved++;
  }

  /** A buffer came back: waiting reads look again. */
  released(): void {
    this.moved++;
    this.wake();
  }

  /** Waiting reads look again (each waits anew if there is still no buffer). */
  wake(): void {
    const waiting = this.waiters;
    if (waiting.length === 0 || this.closed) return;
    this.waiters = [];
    for (const retry of waiting) retry();
  }

  /** A read waits for piece memory. */
  get waiting(): boolean {
    for (const r of this.reads) if (r.waits > 0) return true;
    return false;
  }

  /**
   * About once a second: when reads have waited for memory while nothing moved for
   * MEMORY_STALL_MS, one is given up, the newest holding a buffer (else the newest): its
   * buffers go back and the others move. (A read can still wait on another: its next range
   * may wait for a connection another read's range holds while that one waits for memory.)
   */
  watch(now: number): void {
    let waiting: Read[] | undefined;
    for (const r of this.reads) if (r.waits > 0) (waiting ??= []).push(r);
    if (!waiting || this.moved !== this.movedSeen) {
      this.movedSeen = this.moved;
      this.stillSince = now;
      return;
    }
    const still = now - this.stillSince;
    if (still < MEMORY_STALL_MS) return;
    this.stillSince = now;
    const holding = waiting.filter((r) => r.run.some((index, i) => !r.handed[i] && this.deps.buffers.has(index)));
    const read = (holding.length > 0 ? holding : waiting).reduce((a, b) => (b.seq > a.seq ? b : a));
    const why = `it waited ${Math.round(still / 1000)} s for piece memory while nothing moved`;
    this.deps.log.warn(`${this.deps.name}: web seed ${read.url()}: read of pieces ${read.run[0]}-${read.run[read.run.length - 1]} given up: ${why}`);
    read.abort.abort(new WebSeedError('unavailable', `read given up: ${why}`));
  }

  /** The download stopped: no buffer is taken, no one is woken. */
  close(): void {
    this.closed = true;
    this.waiters = [];
  }

  /** Piece i's buffer for the read: the run's taken in piece order, below the soft bounds unless no read's piece holds one. */
  private buffer(read: Read, i: number): Buffer | undefined {
    if (this.closed) return undefined;
    const { buffers } = this.deps;
    const { run, handed } = read;
    for (let j = 0; j <= i; j++) {
      const index = run[j]!;
      if (handed[j] || buffers.has(index)) continue;
      if ((buffers.full && this.holdBuffers()) || !buffers.open(index)) return undefined;
    }
    return buffers.open(run[i]!);
  }

  /** A piece of a read holds a buffer (its bytes arriving, or it is being checked or written). */
  private holdBuffers(): boolean {
    for (const r of this.reads) if (r.run.some((index) => this.deps.buffers.has(index))) return true;
    return false;
  }
}
