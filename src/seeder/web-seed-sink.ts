/**
 * Where a web seed read's bytes go (split from web-seed.ts): a run of whole pieces, each
 * piece's buffer taken from the engine's bounded piece memory when its first bytes arrive,
 * written through one `RangeWriter` per range request, the socket reading straight into the
 * piece where it can.
 */
import { WebSeedError, type RangeRequest } from '../codec/web-seed-url.js';
import type { Cancel } from './http-client.js';

/**
 * Where the pieces of a run go: piece i's buffer, taken when its first bytes arrive. A read
 * waits (its socket stops reading) while `get` has none, until `whenFree`'s call.
 */
export interface RunBuffers {
  /** Piece i's buffer (at least the piece's size), or undefined when none is free now. */
  get(i: number): Buffer | undefined;
  /** Calls `retry` once, when a buffer may have been freed. */
  whenFree(retry: () => void): void;
  /** Piece i's bytes [0, end) are all in (called as they arrive, so they can be hashed while in the CPU's cache). */
  arrived?(i: number, end: number): void;
}

/** The parts [from, to) of a read no request fills (padding files: zeros). */
export function gapsOf(length: number, plan: readonly RangeRequest[]): [number, number][] {
  const gaps: [number, number][] = [];
  let at = 0;
  for (const r of plan) {
    if (r.at > at) gaps.push([at, r.at]);
    at = r.at + (r.last - r.first + 1);
  }
  if (at < length) gaps.push([at, length]);
  return gaps;
}

/**
 * Where the bytes of a run of pieces go: byte `at` of the run is in piece `at / pieceLength`,
 * whose buffer is taken when its first bytes arrive (its padding zeroed then); a piece whose
 * bytes are all there is handed over at once. Each range request writes through its own
 * `RangeWriter`.
 */
export class PieceSink {
  private readonly sizes: number[] = [];
  /** Per piece, bytes not there yet. */
  private readonly left: number[] = [];
  private readonly bufs: (Buffer | undefined)[] = [];
  /** Per piece, bytes there from its start on. */
  private readonly prefix: number[] = [];
  private readonly source: RunBuffers;
  private closed = false;
  /** Bytes of the pieces handed over. */
  delivered = 0;

  constructor(
    into: readonly Buffer[] | RunBuffers,
    readonly pieceLength: number,
    length: number,
    private readonly onPiece: (i: number) => void,
    private readonly gaps: readonly [number, number][],
  ) {
    for (let i = 0; i * pieceLength < length; i++) {
      const size = Math.min(pieceLength, length - i * pieceLength);
      if (Array.isArray(into) && (!into[i] || into[i]!.length < size)) throw new WebSeedError('bad-request', `no buffer of ${size} bytes for piece ${i} of a read of ${length}`);
      this.sizes.push(size);
      this.left.push(size);
      this.prefix.push(0);
    }
    const given = into as readonly Buffer[];
    this.source = Array.isArray(into) ? { get: (i) => given[i], whenFree: () => undefined } : (into as RunBuffers);
  }

  writer(at: number): RangeWriter {
    return new RangeWriter(this, at);
  }

  /** The read is over (done or failed): no buffer is taken any more. */
  close(): void {
    this.closed = true;
  }

  whenFree(retry: () => void): void {
    if (!this.closed) this.source.whenFree(() => !this.closed && retry());
  }

  sizeOf(i: number): number {
    return this.sizes[i]!;
  }

  get pieceCount(): number {
    return this.sizes.length;
  }

  /** Piece i's buffer, taken now if it has none yet (its padding zeroed); undefined: none free now. */
  buffer(i: number): Buffer | undefined {
    const had = this.bufs[i];
    if (had || this.closed || i >= this.sizes.length) return had;
    const b = this.source.get(i);
    if (!b) return undefined;
    if (b.length < this.sizes[i]!) throw new WebSeedError('bad-request', `no buffer of ${this.sizes[i]} bytes for piece ${i}`);
    this.bufs[i] = b;
    const first = i * this.pieceLength;
    const end = first + this.sizes[i]!;
    for (const [from, to] of this.gaps) {
      const a = Math.max(from, first);
      const z = Math.min(to, end);
      if (a >= z) continue;
      b.fill(0, a - first, z - first);
      this.filled(i, a - first, z - a);
    }
    return b;
  }

  /** Pieces no request touches (all padding) get their zeros once a buffer is free. */
  async fillGaps(signal: Cancel): Promise<void> {
    for (let i = 0; i < this.sizes.length; i++) {
      const first = i * this.pieceLength;
      if (!this.gaps.some(([from, to]) => from <= first && to >= first + this.sizes[i]!)) continue;
      while (!this.buffer(i)) {
        signal.throwIfAborted();
        await this.freed(signal);
      }
    }
  }

  /** Resolves once a buffer may have been freed, or the read is aborted. */
  freed(signal: Cancel): Promise<void> {
    return new Promise<void>((resolve) => {
      const off = signal.onAbort(resolve);
      this.whenFree(() => (off(), resolve()));
    });
  }

  /** Bytes [off, off+n) of piece i are in. */
  filled(i: number, off: number, n: number): void {
    if (off === this.prefix[i]) {
      this.prefix[i] = off + n;
      this.source.arrived?.(i, off + n);
    }
    this.left[i]! -= n;
    if (this.left[i] !== 0) return;
    this.delivered += this.sizes[i]!;
    this.onPiece(i);
  }
}

/**
 * One range request's bytes, in order from byte `at` of the run: copied from the shared read
 * buffer (`put`), or read by the socket straight into the piece (`target`, then `direct`).
 * Bytes read while no buffer was free wait in `pending` (one socket read at most: the socket
 * stops reading until a buffer is free); the range ends only once they are placed (`placed`).
 */
export class RangeWriter {
  private pending: Buffer | undefined;
  /** The socket stopped reading until a piece buffer is free. */
  waiting = false;

  constructor(
    private readonly sink: PieceSink,
    private at: number,
  ) {}

  /** `src[start, end)` are the next bytes. */
  put(src: Buffer, start: number, end: number): void {
    if (this.pending && !this.flush()) {
      this.pending = Buffer.concat([this.pending, src.subarray(start, end)]);
      return;
    }
    const rest = this.place(src, start, end);
    if (rest < end) this.pending = Buffer.from(src.subarray(rest, end)); // a copy: `src` is the shared read buffer
  }

  /** Where the socket should read the next bytes (at most `max`, within one piece; 0: the shared buffer); null: no buffer free, `wake` is called once one is. */
  target(max: number, wake: () => void): Uint8Array | null | undefined {
    const i = Math.floor(this.at / this.sink.pieceLength);
    if (i >= this.sink.pieceCount) return undefined; // its bytes are all in (a body of unknown length)
    const b = this.pending && !this.flush() ? undefined : this.sink.buffer(i);
    if (!b) {
      this.waiting = true;
      const retry = () => {
        // going on only once the waiting bytes are placed and the next piece has a buffer: at most one read waits
        const next = Math.floor(this.at / this.sink.pieceLength);
        if ((this.pending && !this.flush()) || (next < this.sink.pieceCount && !this.sink.buffer(next))) return this.sink.whenFree(retry);
        this.waiting = false;
        wake();
      };
      this.sink.whenFree(retry);
      return null;
    }
    if (max === 0) return undefined;
    const off = this.at - i * this.sink.pieceLength;
    return b.subarray(off, Math.min(this.sink.sizeOf(i), off + max));
  }

  /**
   * The range's body is all in: resolves once the bytes waiting for a buffer are placed too
   * (its last socket read may have come before any buffer was free), so a read that succeeds
   * has handed over every piece.
   */
  async placed(signal: Cancel): Promise<void> {
    while (this.pending) {
      signal.throwIfAborted();
      if (this.flush()) return;
      await this.sink.freed(signal);
    }
  }

  /** `n` bytes were read into the last `target`. */
  direct(n: number): void {
    const i = Math.floor(this.at / this.sink.pieceLength);
    const off = this.at - i * this.sink.pieceLength;
    this.at += n;
    this.sink.filled(i, off, n);
  }

  /** Places the waiting bytes; false if a buffer is still missing. */
  private flush(): boolean {
    const p = this.pending!;
    const rest = this.place(p, 0, p.length);
    this.pending = rest < p.length ? p.subarray(rest) : undefined;
    return this.pending === undefined;
  }

  /** Copies what it can of `src[start, end)` into the pieces; returns where it stopped (no buffer free). */
  private place(src: Buffer, start: number, end: number): number {
    while (start < end) {
      const i = Math.floor(this.at / this.sink.pieceLength);
      const b = this.sink.buffer(i);
      if (!b) return start;
      const off = this.at - i * this.sink.pieceLength;
      const n = Math.min(end - start, this.sink.sizeOf(i) - off);
      src.copy(b, off, start, start + n);
      start += n;
      this.at += n;
      this.sink.filled(i, off, n);
    }
    return end;
  }
}
