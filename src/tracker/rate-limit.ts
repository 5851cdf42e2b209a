/**
 * Per-address announce rate limit: a token bucket per address, refilled from elapsed time
 * passed in, so tests need no timers.
 *
 * Buckets live in fixed typed arrays indexed by a hash of the address, so memory does not
 * grow with the number of senders and there is nothing to evict: two addresses that share
 * a bucket share its budget, which only ever makes the limit stricter for them. With 4096
 * buckets and a mesh's few hundred clients, sharing is rare.
 */
const BUCKETS = 4096;

export class AddressRateLimit {
  private readonly tokens = new Float64Array(BUCKETS);
  private readonly stamp = new Float64Array(BUCKETS).fill(-1);
  private rate = 0;
  private burst = 0;

  /** `perSecond` 0 switches the limit off. The burst is two seconds' worth (at least 10). */
  constructor(perSecond: number) {
    this.set(perSecond);
  }

  set(perSecond: number): void {
    this.rate = perSecond;
    this.burst = Math.max(10, perSecond * 2);
  }

  /** Takes one token for this address (bytes, 4 or 16; for IPv6 its /64); false when its bucket is empty. */
  take(nowMs: number, address: Uint8Array): boolean {
    if (this.rate <= 0) return true;
    // An IPv6 host picks any address in its /64 at will: the /64 is the sender.
    const n = address.length === 16 ? 8 : address.length;
    let h = 0x811c9dc5;
    for (let i = 0; i < n; i++) h = Math.imul(h ^ address[i]!, 0x01000193);
    const i = (h >>> 0) % BUCKETS;
    const last = this.stamp[i]!;
    let t = last < 0 ? this.burst : Math.min(this.burst, this.tokens[i]! + ((nowMs - last) / 1000) * this.rate);
    this.stamp[i] = nowMs;
    if (t < 1) {
      this.tokens[i] = t;
      return false;
    }
    this.tokens[i] = t - 1;
    return true;
  }
}
