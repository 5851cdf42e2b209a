/**
 * The memory of every download together (mirror mode): the piece buffers of all torrents
 * come from this one pool, within one budget in bytes, and go back to it for reuse. Each
 * download also keeps its own caps (piece-buffers.ts); the pool bounds their sum, so four
 * torrents downloading at once hold no more partial pieces than the budget (each had its own
 * 4 MiB before: 16 MiB of a router's memory for four, bench/router.mjs).
 *
 *   - `soft` bytes in use: downloads that hold a buffer ask for no new pieces' blocks;
 *   - `hard` bytes: the most there may be, except that a download holding none always gets
 *     one (one busy torrent cannot stall the others: at most one piece over per download);
 *   - free buffers are kept by size for reuse while those in use and those free are within
 *     `hard` (a buffer let go is garbage until V8's next full collection, and V8 lets tens of
 *     MiB of such external memory wait for it: reused, the pool's memory stays flat), and
 *     all let go once none is in use (`trim`: no download running keeps its memory).
 * Pure bookkeeping and buffers, no I/O.
 */
export class PiecePool {
  private used = 0;
  private readonly free = new Map<number, Buffer[]>();
  private freeBytes = 0;

  constructor(readonly limits: { soft: number; hard: number }) {}

  /** Bytes of buffers handed out and not given back. */
  get inUse(): number {
    return this.used;
  }

  /** Bytes of free buffers kept for reuse. */
  get kept(): number {
    return this.freeBytes;
  }

  get full(): boolean {
    return this.used >= this.limits.soft;
  }

  /** Buffers of `size` bytes `take` would hand out now to a download that holds `held` already (it reserves them before asking for their blocks). */
  spare(size: number, held: number): number {
    const fit = Math.max(0, Math.floor((this.limits.hard - this.used) / size));
    return held === 0 ? Math.max(1, fit) : fit;
  }

  /** A buffer of `size` bytes for a download that holds `held` already; undefined past `hard` (unless it holds none). */
  take(size: number, held: number): Buffer | undefined {
    if (held > 0 && this.used + size > this.limits.hard) return undefined;
    this.used += size;
    const list = this.free.get(size);
    const reused = list?.pop();
    if (reused) {
      this.freeBytes -= size;
      return reused;
    }
    // free ones of other sizes (another torrent's pieces) make room
    for (const [other, kept] of this.free) {
      while (kept.length > 0 && this.used + this.freeBytes > this.limits.hard) this.freeBytes -= kept.pop()!.length;
      if (kept.length === 0) this.free.delete(other);
    }
    return Buffer.allocUnsafeSlow(size);
  }

  /** A buffer comes back, free for reuse (the caller must not touch it again). */
  give(buf: Buffer): void {
    this.used -= buf.length;
    if (this.used + this.freeBytes + buf.length > this.limits.hard) return;
    let list = this.free.get(buf.length);
    if (!list) this.free.set(buf.length, (list = []));
    list.push(buf);
    this.freeBytes += buf.length;
  }

  /** A buffer that may still be in use elsewhere (a write in flight) leaves the count, never to be reused. */
  forget(size: number): void {
    this.used -= size;
  }

  /** With no buffer in use, the free ones are let go. */
  trim(): void {
    if (this.used > 0) return;
    this.free.clear();
    this.freeBytes = 0;
  }
}
