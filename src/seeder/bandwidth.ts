/**
 * Upload rate limits as a tree of token buckets: global → torrent → peer.
 *
 * Each bucket holds `tokens` (bytes it may still send) and fills at `rate` bytes per second
 * up to `capacity`, from the elapsed time passed in (`now`, milliseconds from the injected
 * clock), never from a timer of its own. A block may be sent when every bucket on its path
 * to the root holds a positive balance; sending it takes its size from every one of them,
 * so a balance can go negative by at most one block (debt), and the long-run rate of every
 * bucket is exactly its `rate`: over any interval T, bytes sent ≤ capacity + rate·T + one
 * block. A rate of 0 means unlimited (the bucket never blocks and keeps no balance).
 *
 * Capacity (the burst) is a tenth of a second of the rate, at least one 16 KiB block: small
 * enough that the limit holds within a percent over a few seconds, large enough that timer
 * granularity (a few ms) costs no throughput. A sender blocked on a bucket asks `waitMs`
 * how long until every bucket on its path is positive again and retries then.
 *
 * The limits apply to every peer, loopback and private (mesh) addresses included: nothing
 * here knows addresses.
 */

/** Reason: a tenth of a second of the rate as burst (see above). */
export const BURST_SECONDS = 0.1;
export const MIN_CAPACITY = 16 * 1024;

export class TokenBucket {
  private tokens = 0;
  private capacity = MIN_CAPACITY;
  private last: number;
  /** Bytes that went through this bucket since it was made. */
  total = 0;

  constructor(
    now: number,
    private rate = 0,
    readonly parent?: TokenBucket,
  ) {
    this.last = now;
    this.setRate(rate, now);
    // a new bucket starts full: the first block goes out at once
    if (rate !== 0) this.tokens = this.capacity;
  }

  /** Bytes per second; 0 = unlimited. */
  get bytesPerSecond(): number {
    return this.rate;
  }

  setRate(rate: number, now: number): void {
    this.refill(now);
    this.rate = rate;
    this.capacity = Math.max(MIN_CAPACITY, rate * BURST_SECONDS);
    if (this.tokens > this.capacity) this.tokens = this.capacity;
    if (rate === 0) this.tokens = 0;
  }

  private refill(now: number): void {
    const elapsed = now - this.last;
    if (elapsed <= 0) return;
    this.last = now;
    if (this.rate === 0) return;
    this.tokens = Math.min(this.capacity, this.tokens + (this.rate * elapsed) / 1000);
  }

  /** True when this bucket and every ancestor may send now. */
  canSend(now: number): boolean {
    for (let b: TokenBucket | undefined = this; b; b = b.parent) {
      b.refill(now);
      if (b.rate !== 0 && b.tokens <= 0) return false;
    }
    return true;
  }

  /** Takes `bytes` from this bucket and every ancestor (call after canSend). */
  consume(bytes: number, now: number): void {
    for (let b: TokenBucket | undefined = this; b; b = b.parent) {
      b.refill(now);
      b.total += bytes;
      if (b.rate !== 0) b.tokens -= bytes;
    }
  }

  /** Milliseconds until `canSend` can be true again (0 when it is now). */
  waitMs(now: number): number {
    let wait = 0;
    for (let b: TokenBucket | undefined = this; b; b = b.parent) {
      b.refill(now);
      if (b.rate !== 0 && b.tokens <= 0) wait = Math.max(wait, ((1 - b.tokens) * 1000) / b.rate);
    }
    return Math.ceil(wait);
  }
}

/**
 * Rate meter: bytes per second over a sliding window, from totals sampled by the caller
 * once a second (no timer of its own).
 */
export class RateMeter {
  private samples: { at: number; total: number }[] = [];
  /**
   * The rate at the last sample, in whole bytes per second. Reason: `rate()` is read on every
   * request batch (download.ts); reading the samples there, code compiled while the list was
   * still empty (another kind of array) was undone by the first sample. Whole: a field that
   * went from 0 to a fraction would change the object's shape the same way.
   */
  private current = 0;
  constructor(private readonly windowMs = 5000) {}
  sample(now: number, total: number): void {
    this.samples.push({ at: now, total });
    while (this.samples.length > 2 && now - this.samples[0]!.at > this.windowMs) this.samples.shift();
    const a = this.samples[0]!;
    this.current = now > a.at ? Math.round(((total - a.total) * 1000) / (now - a.at)) : 0;
  }
  /** Bytes per second over the window (whole). */
  rate(): number {
    return this.current;
  }
}
