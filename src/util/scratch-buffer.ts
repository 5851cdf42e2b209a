/**
 * One buffer reused from one use to the next, and a view of its first bytes per length, made
 * once: the tracker puts every announce reply together in one of these (a Buffer per
 * announce, and a share of Node's 8 KiB buffer pool, were garbage per announce; replies come
 * in a handful of lengths). What `view` returns is valid until the next use: the owner hands
 * it on at once (a socket write the kernel takes whole, an encoder that copies it), and calls
 * `renew` when something keeps it (a write left pending).
 */
export class ScratchBuffer {
  private buf: Buffer;
  private views = new Map<number, Buffer>();

  constructor(
    readonly size: number,
    /** Views kept at most (more lengths than this: the views are made afresh). */
    private readonly maxViews = 64,
  ) {
    this.buf = Buffer.allocUnsafeSlow(size);
  }

  /** The whole buffer, to write into. */
  get bytes(): Buffer {
    return this.buf;
  }

  /** The first `length` bytes (at most `size`), the same Buffer for the same length. */
  view(length: number): Buffer {
    let v = this.views.get(length);
    if (!v) {
      if (length > this.size) throw new RangeError(`a view of ${length} bytes of a ${this.size}-byte scratch buffer`);
      if (this.views.size >= this.maxViews) this.views.clear();
      this.views.set(length, (v = this.buf.subarray(0, length)));
    }
    return v;
  }

  /** The buffer (or a view of it) is kept elsewhere from now on: the next uses get a new one. */
  renew(): void {
    this.buf = Buffer.allocUnsafeSlow(this.size);
    this.views = new Map();
  }
}
