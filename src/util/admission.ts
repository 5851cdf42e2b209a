/**
 * Connection admission for the listening sockets (the tracker's HTTP port, the seeder's peer
 * port): what keeps a slowloris flood — hundreds of connections each trickling one byte every
 * few seconds — from holding every slot while normal clients are turned away.
 *
 * A connection is *half-open* from accept until its request head (HTTP) or handshake (peer
 * wire) is complete, then *established*. The policy:
 *   - at most `maxHalfOpenPerAddress` half-open connections from one address: more are
 *     refused at once (one host cannot take the slots alone);
 *   - a half-open connection must complete within `headDeadlineMs` of its accept, however
 *     active it looks (`late()` lists the ones past it);
 *   - when `maxConnections` are open, a new connection is still admitted: the half-open one
 *     idle the longest (no byte for the longest time) is evicted for it. Only when every
 *     connection is established is the new one refused. A normal client completes its head
 *     in one packet and is never the idlest, so the flood evicts itself.
 *
 * Pure: no sockets, no timers; times are passed in. The owner destroys what `admit` evicts
 * and what `late` lists, and calls `remove` when a connection closes.
 */
export interface AdmissionLimits {
  maxConnections: number;
  maxHalfOpenPerAddress: number;
  headDeadlineMs: number;
}

export type AdmitResult<C> = { ok: true; evicted?: C } | { ok: false; reason: 'address' | 'full' };

interface HalfOpen {
  address: string;
  openedAt: number;
}

/** The usual answer, one object for all (an admission per connection: per HTTP announce). */
const ADMITTED: { readonly ok: true } = { ok: true };

export class Admission<C> {
  /** Half-open connections, least recently active first (a Map keeps insertion order). */
  private readonly halfOpen = new Map<C, HalfOpen>();
  private readonly established = new Set<C>();
  private readonly perAddress = new Map<string, number>();
  /** Counters for the status and the log. */
  readonly counts = { admitted: 0, evicted: 0, refusedAddress: 0, refusedFull: 0, late: 0 };

  constructor(public limits: AdmissionLimits) {}

  get size(): number {
    return this.halfOpen.size + this.established.size;
  }

  get halfOpenCount(): number {
    return this.halfOpen.size;
  }

  admit(c: C, address: string, now: number): AdmitResult<C> {
    if ((this.perAddress.get(address) ?? 0) >= this.limits.maxHalfOpenPerAddress) {
      this.counts.refusedAddress++;
      return { ok: false, reason: 'address' };
    }
    let evicted: C | undefined;
    if (this.size >= this.limits.maxConnections) {
      const idlest = this.halfOpen.keys().next();
      if (idlest.done) {
        this.counts.refusedFull++;
        return { ok: false, reason: 'full' };
      }
      evicted = idlest.value;
      this.remove(evicted);
      this.counts.evicted++;
    }
    this.halfOpen.set(c, { address, openedAt: now });
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    this.counts.admitted++;
    return evicted === undefined ? ADMITTED : { ok: true, evicted };
  }

  /** Bytes arrived on a half-open connection: it becomes the most recently active. */
  activity(c: C): void {
    const h = this.halfOpen.get(c);
    if (!h) return;
    this.halfOpen.delete(c);
    this.halfOpen.set(c, h);
  }

  /** The head or handshake is complete. */
  establish(c: C): void {
    const h = this.halfOpen.get(c);
    if (!h) return;
    this.forgetHalfOpen(c, h);
    this.established.add(c);
  }

  remove(c: C): void {
    const h = this.halfOpen.get(c);
    if (h) this.forgetHalfOpen(c, h);
    else this.established.delete(c);
  }

  /** Half-open connections past their deadline (removed from the books; the owner closes them). */
  late(now: number): C[] {
    const out: C[] = [];
    for (const [c, h] of this.halfOpen) if (now - h.openedAt >= this.limits.headDeadlineMs) out.push(c);
    for (const c of out) this.remove(c);
    this.counts.late += out.length;
    return out;
  }

  private forgetHalfOpen(c: C, h: HalfOpen): void {
    this.halfOpen.delete(c);
    const n = (this.perAddress.get(h.address) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(h.address);
    else this.perAddress.set(h.address, n);
  }
}

/**
 * Per-address rate limit for costly work (an MSE handshake costs two 768-bit modular
 * exponentiations, ~1.2 ms of CPU): `burst` at once, refilled at `perSecond`. At most
 * `maxAddresses` addresses are remembered (the longest unseen forgotten first), so a flood of
 * addresses costs bounded memory.
 */
export class AddressRateLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maxAddresses = 4096,
  ) {}

  /** True (and one token spent) when `address` may do the work now. */
  take(address: string, now: number): boolean {
    let b = this.buckets.get(address);
    if (b) {
      this.buckets.delete(address);
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
      b.at = now;
    } else {
      b = { tokens: this.burst, at: now };
      if (this.buckets.size >= this.maxAddresses) this.buckets.delete(this.buckets.keys().next().value as string);
    }
    this.buckets.set(address, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
