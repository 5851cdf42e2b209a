/**
 * Admission of incoming peer connections (issue: slowloris on the peer port). The policy is
 * util/admission.ts: per-address caps on connections still in their handshake, a deadline
 * for the whole handshake (MSE included), and when every slot is taken the connection idle
 * the longest is closed for the new one. MSE handshakes (two modular exponentiations each,
 * ~1.2 ms of CPU) are rate-limited per address.
 */
import { Admission, AddressRateLimit } from '../util/admission.js';

/** Connections from one address still in their handshake; a client opens one per torrent. */
export const MAX_HANDSHAKING_PER_ADDRESS = 8;
/** The whole handshake (MSE, BitTorrent and extension handshakes) must be done within this. */
export const HANDSHAKE_DEADLINE_MS = 10_000;
/** MSE handshakes per address: a burst of 8 (a client's torrents at start), then 2 a second. */
export const MSE_BURST = 8;
export const MSE_PER_SECOND = 2;

interface Closable {
  close(reason: string): void;
}

export class PeerAdmission<S extends Closable = Closable> {
  private readonly admission = new Admission<S>({ maxConnections: 1, maxHalfOpenPerAddress: MAX_HANDSHAKING_PER_ADDRESS, headDeadlineMs: HANDSHAKE_DEADLINE_MS });
  private readonly mse = new AddressRateLimit(MSE_PER_SECOND, MSE_BURST);

  get counts() {
    return this.admission.counts;
  }

  /** A new incoming session; it (or the idlest handshaking one) is closed when there is no room. */
  admit(s: S, address: string, now: number, maxConnections: number): void {
    this.admission.limits.maxConnections = maxConnections;
    const r = this.admission.admit(s, address, now);
    if (!r.ok) s.close(r.reason === 'address' ? `more than ${MAX_HANDSHAKING_PER_ADDRESS} handshakes at once from this address` : 'too many connections');
    else r.evicted?.close('evicted: idle in its handshake while every slot was taken');
  }

  activity(s: S): void {
    this.admission.activity(s);
  }

  establish(s: S): void {
    this.admission.establish(s);
  }

  remove(s: S): void {
    this.admission.remove(s);
  }

  closeLate(now: number): void {
    for (const s of this.admission.late(now)) s.close(`no handshake within ${HANDSHAKE_DEADLINE_MS / 1000} s`);
  }

  mseAllowed(address: string, now: number): boolean {
    return this.mse.take(address, now);
  }
}
