/**
 * Choking for a seed (BEP 3 "choking"): a fixed number of upload slots per torrent, given
 * to interested peers round-robin so every leecher gets a turn. A seed has nothing to
 * reciprocate, so there is no tit-for-tat and no optimistic slot: a free slot goes at once
 * to the peer that has waited longest, and every `rotateMs` the peer unchoked the longest
 * gives its slot to the next in line (when someone is waiting). With S slots a peer holds
 * its slot for about S × rotateMs.
 *
 * Pure and clock-driven: methods take `now` and return the peers to choke and unchoke.
 */

export interface ChokeDecision<P> {
  choke: P[];
  unchoke: P[];
}

/** Reason: libtorrent and Transmission re-evaluate chokes every 10 s; long enough for TCP to ramp up. */
export const ROTATE_MS = 10_000;

export class Choker<P> {
  /** Interested and choked, longest waiting first. */
  private readonly waiting: P[] = [];
  /** Unchoked peers and when they were unchoked. */
  private readonly unchoked = new Map<P, number>();

  constructor(
    private slots: number,
    private readonly rotateMs = ROTATE_MS,
  ) {}

  get unchokedPeers(): P[] {
    return [...this.unchoked.keys()];
  }
  get waitingPeers(): P[] {
    return [...this.waiting];
  }
  isUnchoked(p: P): boolean {
    return this.unchoked.has(p);
  }

  setSlots(n: number, now: number): ChokeDecision<P> {
    this.slots = n;
    const d: ChokeDecision<P> = { choke: [], unchoke: [] };
    // too many unchoked: the ones unchoked longest go back in line
    const byAge = [...this.unchoked].sort((a, b) => a[1] - b[1]);
    while (this.unchoked.size > this.slots) {
      const [p] = byAge.shift()!;
      this.unchoked.delete(p);
      this.waiting.push(p);
      d.choke.push(p);
    }
    this.fill(now, d);
    return d;
  }

  interested(p: P, now: number): ChokeDecision<P> {
    const d: ChokeDecision<P> = { choke: [], unchoke: [] };
    if (!this.unchoked.has(p) && !this.waiting.includes(p)) this.waiting.push(p);
    this.fill(now, d);
    return d;
  }

  /** The peer is no longer interested, or left: its slot goes to the next in line. */
  notInterested(p: P, now: number): ChokeDecision<P> {
    const d: ChokeDecision<P> = { choke: [], unchoke: [] };
    const i = this.waiting.indexOf(p);
    if (i >= 0) this.waiting.splice(i, 1);
    if (this.unchoked.delete(p)) d.choke.push(p);
    this.fill(now, d);
    return d;
  }

  remove(p: P, now: number): ChokeDecision<P> {
    const d = this.notInterested(p, now);
    d.choke = d.choke.filter((x) => x !== p);
    return d;
  }

  /** Called every rotateMs: the longest-unchoked peer yields its slot to the longest-waiting one. */
  tick(now: number): ChokeDecision<P> {
    const d: ChokeDecision<P> = { choke: [], unchoke: [] };
    if (this.waiting.length > 0) {
      let oldest: [P, number] | undefined;
      for (const e of this.unchoked) if (!oldest || e[1] < oldest[1]) oldest = e;
      if (oldest && now - oldest[1] >= this.rotateMs) {
        this.unchoked.delete(oldest[0]);
        d.choke.push(oldest[0]);
        this.fill(now, d);
        this.waiting.push(oldest[0]);
      }
    }
    this.fill(now, d);
    return d;
  }

  private fill(now: number, d: ChokeDecision<P>): void {
    while (this.unchoked.size < this.slots && this.waiting.length > 0) {
      const p = this.waiting.shift()!;
      this.unchoked.set(p, now);
      d.unchoke.push(p);
    }
  }
}
