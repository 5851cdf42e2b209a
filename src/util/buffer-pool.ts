/**
 * Reused buffers of one size. Serving a torrent allocates a buffer per block and per read
 * chunk; left to the garbage collector, that churn of external memory lets the resident
 * size climb tens of MiB above the heap before V8 collects it. Buffers come back here once
 * the socket (or the cache) is done with them, so memory stays flat under load.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly size: number,
    private maxFree: number,
  ) {}

  /** A new number of spare buffers kept; spares past it are let go. */
  setMaxFree(n: number): void {
    this.maxFree = n;
    if (this.free.length > n) this.free.length = n;
  }

  get(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** Hands a buffer back; it must not be used by the caller afterwards. */
  release(b: Buffer): void {
    if (b.length === this.size && b.byteOffset === 0 && this.free.length < this.maxFree) this.free.push(b);
  }

  get freeCount(): number {
    return this.free.length;
  }
}
