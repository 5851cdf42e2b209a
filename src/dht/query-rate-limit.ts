/**
 * Per-address rate limit of incoming DHT queries: a token bucket per IP address holding
 * up to twice `ratePerSecond`, refilled from the elapsed time passed in (`now`, in ms).
 * The table of addresses is bounded: past `maxAddresses`, the address seen least recently
 * is forgotten (it starts again with a full bucket, which only costs one burst). Pure: no
 * timers; the DHT socket calls `allow(address, now)` for each query it receives.
 */
export const DEFAULT_MAX_ADDRESSES = 4096;

interface Bucket {
  tokens: number;
  at: number;
}

export class QueryRateLimit {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private ratePerSecond: number,
    private readonly maxAddresses = DEFAULT_MAX_ADDRESSES,
  ) {}

  setRate(ratePerSecond: number): void {
    this.ratePerSecond = ratePerSecond;
  }

  /** Addresses currently remembered. */
  get size(): number {
    return this.buckets.size;
  }

  /** True when a query from `address` at `now` may be answered (and takes one token). */
  allow(address: string, now: number): boolean {
    if (this.ratePerSecond <= 0) return true;
    const burst = this.ratePerSecond * 2;
    let b = this.buckets.get(address);
    if (b) {
      this.buckets.delete(address); // re-inserted last: the Map's order is least recently seen first
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSecond);
      b.at = now;
    } else {
      if (this.buckets.size >= this.maxAddresses) this.buckets.delete(this.buckets.keys().next().value as string);
      b = { tokens: burst, at: now };
    }
    this.buckets.set(address, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
