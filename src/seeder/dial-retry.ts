/**
 * Dialling again the peers we could not reach (connection refused or timed out, or a hang-up
 * before the handshake both ways), without waiting for a tracker, LPD or PEX to name them
 * again: a seeder that starts after us, or a router back from a reboot, is found. Pure
 * policy, one per torrent, time passed in: exponential back-off from the first delay
 * (`seeder.dial_retry`, 30 s by default: 30 s, 1, 2, 4, 8, 16 min), capped at
 * MAX_DIAL_RETRY_MS, at most DIAL_RETRY_ATTEMPTS retries, at most MAX_RETRIED_PEERS peers
 * remembered (the oldest dropped). libtorrent does the same in spirit: a failed peer's
 * `failcount` grows and its next connect waits `min_reconnect_time` times it, until
 * `max_failcount`.
 */

/** Retries of one peer before it is forgotten (until something names it again). */
export const DIAL_RETRY_ATTEMPTS = 6;
/** The longest wait between two tries. */
export const MAX_DIAL_RETRY_MS = 30 * 60_000;
/** Peers waiting for a retry, per torrent. */
export const MAX_RETRIED_PEERS = 50;

interface Entry<C> {
  candidate: C;
  failures: number;
  /** When it is due; undefined while a retry dial is under way. */
  at: number | undefined;
}

export class DialRetry<C> {
  private readonly entries = new Map<string, Entry<C>>();

  /**
   * A dial to `key` failed. Returns when it will be tried again, or undefined when it has
   * had its DIAL_RETRY_ATTEMPTS retries (it is then forgotten).
   */
  failed(key: string, candidate: C, now: number, firstDelayMs: number): number | undefined {
    const e = this.entries.get(key);
    const failures = (e?.failures ?? 0) + 1;
    this.entries.delete(key);
    if (failures > DIAL_RETRY_ATTEMPTS) return undefined;
    const at = now + Math.min(firstDelayMs * 2 ** (failures - 1), MAX_DIAL_RETRY_MS);
    this.entries.set(key, { candidate, failures, at });
    if (this.entries.size > MAX_RETRIED_PEERS) this.entries.delete(this.entries.keys().next().value!);
    return at;
  }

  /** The peer answered (its handshake came): it starts afresh next time. */
  succeeded(key: string): void {
    this.entries.delete(key);
  }

  /** The peers due now, marked as being dialled (their failure count kept). */
  due(now: number): { key: string; candidate: C }[] {
    const out: { key: string; candidate: C }[] = [];
    for (const [key, e] of this.entries)
      if (e.at !== undefined && e.at <= now) {
        e.at = undefined;
        out.push({ key, candidate: e.candidate });
      }
    return out;
  }

  /** Peers remembered (waiting, or being dialled again). */
  get size(): number {
    return this.entries.size;
  }

  /** When `key` is due, if it waits. */
  nextAt(key: string): number | undefined {
    return this.entries.get(key)?.at;
  }
}
