/**
 * Peer records of one address family, for every swarm, in one buffer (a slab of fixed-size
 * records): no object and no ArrayBuffer per peer or per swarm.
 *
 * Each swarm's records of this family are a segment: a run of records at `at`, holding
 * `count` peers packed at the front, of one of the capacities in CAPACITIES (every count up
 * to 8, even ones to 16, then steps of about 1.25×: a swarm wastes at most a fifth of its
 * segment). A full
 * segment grows in place when it is the last in the buffer (a swarm filling up, or a big swarm
 * after a rebuild); otherwise it moves to a segment of the next capacity, and the one it leaves
 * goes on its capacity's free list for the next swarm that grows through it. Segments come
 * from the free list, else from the end of the buffer.
 *
 * Waste (free segments, spare records inside segments, the buffer's unused end) is bounded by
 * a rebuild: every segment copied, in swarm order, into a new buffer, each sized to its count.
 * It runs when the buffer is full (the new one has room for a quarter as much again, the
 * growing swarm placed last so it grows in place) and when the sweep finds the buffer more
 * than twice the records in use (`compactIfWasteful`), so memory follows the peers down after
 * they expire. A rebuild copies each live record once and comes after at least a quarter as
 * many records were handed out, so its cost per announce is a small constant.
 */

/** Segment capacities in records: every count up to 8, even ones to 16, then steps of about 1.25×, to 2^31. */
export const CAPACITIES: readonly number[] = (() => {
  const caps: number[] = [];
  for (let c = 1; c < 2 ** 31; c = c < 8 ? c + 1 : c < 16 ? c + 2 : Math.ceil((c * 1.25) / 4) * 4) caps.push(c);
  return caps;
})();

/** The class (index in CAPACITIES) of the smallest segment holding `n` records. */
export function capacityClass(n: number): number {
  let lo = 0;
  let hi = CAPACITIES.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (CAPACITIES[mid]! >= n) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** One swarm's records of one family: `count` records at record `at`, in a segment of class `cls` (-1: none). */
export class PeerList {
  at = 0;
  cls = -1;
  count = 0;
}

/** Records a rebuild leaves free at the end at least (so a small store does not rebuild on every new swarm). */
const MIN_SPARE = 256;

export class PeerArena {
  /** The records; replaced by a rebuild (read it again after `append`). */
  bytes: Uint8Array;
  /** Records handed out from the buffer's start (segments in use or free). */
  private top = 0;
  /** Records holding a peer. */
  private used = 0;
  /** Free segments' record offsets, by class. */
  private free: number[][] = [];

  /**
   * `record`: bytes per record. `lists`: every list that may hold records (the rebuild
   * walks them; lists with no records are passed over).
   */
  constructor(
    readonly record: number,
    private readonly lists: () => Iterable<PeerList>,
  ) {
    this.bytes = new Uint8Array(MIN_SPARE * record);
  }

  /** Peers stored. */
  get records(): number {
    return this.used;
  }
  /** Bytes of the buffer (in use, free, and spare). */
  get byteLength(): number {
    return this.bytes.length;
  }

  /** Adds a zeroed record at the end of `l`; returns its slot (index in the list). May rebuild: read `l.at` and `bytes` after. */
  append(l: PeerList): number {
    if (l.cls < 0 || l.count === CAPACITIES[l.cls]) this.move(l, l.cls < 0 ? 0 : l.cls + 1);
    const slot = l.count++;
    this.used++;
    const o = (l.at + slot) * this.record;
    this.bytes.fill(0, o, o + this.record);
    return slot;
  }

  /** Removes slot `i` of `l`: the last record moves into its place. An emptied list gives its segment back. */
  remove(l: PeerList, i: number): void {
    const last = --l.count;
    this.used--;
    const r = this.record;
    if (i !== last) this.bytes.copyWithin((l.at + i) * r, (l.at + last) * r, (l.at + last + 1) * r);
    if (l.count === 0) this.release(l);
  }

  /** Gives back the segment of `l` and all its records (a swarm dropped whole). */
  clear(l: PeerList): void {
    if (l.count === 0 && l.cls < 0) return;
    this.used -= l.count;
    l.count = 0;
    this.release(l);
  }

  /** Rebuilds when the buffer holds more than twice the records in use (and 2 × MIN_SPARE): call it from the sweep. */
  compactIfWasteful(): boolean {
    if (this.bytes.length / this.record <= 2 * (this.used + MIN_SPARE)) return false;
    this.rebuild(0);
    return true;
  }

  private release(l: PeerList): void {
    if (l.cls >= 0) (this.free[l.cls] ??= []).push(l.at);
    l.cls = -1;
    l.at = 0;
  }

  /** Moves `l` into a segment of class `cls` (bigger than its count). */
  private move(l: PeerList, cls: number): void {
    if (this.extend(l, cls)) return;
    const size = CAPACITIES[cls]!;
    let at = this.free[cls]?.pop();
    if (at === undefined) {
      if (this.top + size > this.bytes.length / this.record) {
        this.rebuild(size, l);
        if (this.extend(l, cls)) return;
      }
      at = this.top;
      this.top += size;
    }
    const r = this.record;
    if (l.count > 0) this.bytes.copyWithin(at * r, l.at * r, (l.at + l.count) * r);
    this.release(l);
    l.at = at;
    l.cls = cls;
  }

  /** Grows the segment of `l` in place when it is the last one and the buffer has room (a swarm filling up moves no records). */
  private extend(l: PeerList, cls: number): boolean {
    if (l.cls < 0 || l.at + CAPACITIES[l.cls]! !== this.top || l.at + CAPACITIES[cls]! > this.bytes.length / this.record) return false;
    this.top = l.at + CAPACITIES[cls]!;
    l.cls = cls;
    return true;
  }

  /**
   * Copies every list into a new buffer, each in the smallest segment for its count, `last`
   * at the end (so it can grow in place), with room for `extra` more records or a quarter as
   * many again, whichever is more.
   */
  private rebuild(extra: number, last?: PeerList): void {
    let total = 0;
    for (const l of this.lists()) if (l.count > 0) total += CAPACITIES[capacityClass(l.count)]!;
    const r = this.record;
    const next = new Uint8Array((total + Math.max(extra, total >> 2, MIN_SPARE)) * r);
    let top = 0;
    const place = (l: PeerList) => {
      next.set(this.bytes.subarray(l.at * r, (l.at + l.count) * r), top * r);
      l.at = top;
      l.cls = capacityClass(l.count);
      top += CAPACITIES[l.cls]!;
    };
    for (const l of this.lists()) if (l.count > 0 && l !== last) place(l);
    if (last && last.count > 0) place(last);
    this.bytes = next;
    this.top = top;
    this.free = [];
  }
}
