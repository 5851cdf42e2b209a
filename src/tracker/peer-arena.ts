/**
 * Peer records of one address family, for every swarm, in a few large buffers (a slab of
 * fixed-size records): no object and no ArrayBuffer per peer, nor per swarm but the biggest.
 *
 * Each swarm's records of this family are a segment: a run of records at `at` in `bytes`,
 * holding `count` peers packed at the front, of one of the capacities in CAPACITIES (every
 * count up to 8, even ones to 16, then steps of about 1.25×: a swarm wastes at most a fifth of
 * its segment). Segments live in chunks of CHUNK records, allocated one at a time and never
 * reallocated, so filling the store leaves no garbage for the GC to find later (V8 frees an
 * old-generation buffer only at a full GC, which a small heap rarely runs). A full segment
 * grows in place when it is the last of the newest chunk (a swarm filling up moves no
 * records); otherwise it moves to a segment of the next capacity, and the one it leaves goes
 * on its capacity's free list for the next swarm that grows through it. A segment too big for
 * a quarter chunk (a swarm of hundreds) gets a buffer of its own, and a smaller segment when
 * its swarm shrinks to a quarter.
 *
 * Waste (free segments, spare records in segments and chunks) is bounded by compaction, in
 * place: the segments slid down, in chunk order, each refitted to its count, and the chunks
 * left empty dropped. It runs when the chunks hold more than twice the records in use plus 4
 * chunks: before a new chunk would be cut (peers arriving in many swarms at once leave each
 * swarm's old segments behind), and from the sweep (`compactIfWasteful`), so memory follows
 * the peers down after they expire. It copies each live record at most once, after at least
 * as many records were wasted.
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

const NO_BYTES = new Uint8Array(0);

/** One swarm's records of one family: `count` records at record `at` of `bytes`, in a segment of class `cls` (-1: none). */
export class PeerList {
  bytes: Uint8Array = NO_BYTES;
  at = 0;
  cls = -1;
  count = 0;
}

/** Records per chunk: 64 KiB of IPv4 records; a few chunks are a small store's whole memory. */
export const CHUNK = 2048;
/** Segments bigger than this get their own buffer. */
const BIG = CHUNK / 4;

export class PeerArena {
  /** The chunks, oldest first; segments are cut from the last, `top` records of it so far. */
  private chunks: Uint8Array[] = [];
  private chunk: Uint8Array = NO_BYTES;
  private top = CHUNK;
  /** Records in chunks and own buffers (in use, free or spare). */
  private held = 0;
  /** Records holding a peer. */
  private used = 0;
  /** Free segments (their buffer and record offset), by class. */
  private freeBytes: Uint8Array[][] = [];
  private freeAt: number[][] = [];

  /**
   * `record`: bytes per record. `lists`: every list that may hold records (compaction walks
   * them; lists with no records are passed over).
   */
  constructor(
    readonly record: number,
    private readonly lists: () => Iterable<PeerList>,
  ) {}

  /** Peers stored. */
  get records(): number {
    return this.used;
  }
  /** Bytes of the buffers (records in use, free and spare). */
  get byteLength(): number {
    return this.held * this.record;
  }

  /** Adds a zeroed record at the end of `l`; returns its slot (index in the list). */
  append(l: PeerList): number {
    if (l.cls < 0 || l.count === CAPACITIES[l.cls]) this.move(l, l.cls < 0 ? 0 : l.cls + 1);
    const slot = l.count++;
    this.used++;
    const o = (l.at + slot) * this.record;
    l.bytes.fill(0, o, o + this.record);
    return slot;
  }

  /**
   * Removes slot `i` of `l`: the last record moves into its place. An emptied list gives its
   * segment back; a list with its own buffer, three quarters empty, moves into a segment its
   * size (records keep their order: read `l.bytes` and `l.at` again).
   */
  remove(l: PeerList, i: number): void {
    const last = --l.count;
    this.used--;
    const r = this.record;
    if (i !== last) l.bytes.copyWithin((l.at + i) * r, (l.at + last) * r, (l.at + last + 1) * r);
    if (l.count === 0) this.release(l);
    else if (CAPACITIES[l.cls]! > BIG && l.count * 4 < CAPACITIES[l.cls]!) this.move(l, capacityClass(l.count));
  }

  /** Gives back the segment of `l` and all its records (a swarm dropped whole). */
  clear(l: PeerList): void {
    if (l.count === 0 && l.cls < 0) return;
    this.used -= l.count;
    l.count = 0;
    this.release(l);
  }

  /** Compacts when the buffers hold more than twice the records in use and 4 chunks: call it from the sweep. */
  compactIfWasteful(): boolean {
    if (this.held <= 2 * this.used + 4 * CHUNK) return false;
    this.compact();
    return true;
  }

  private release(l: PeerList): void {
    if (l.cls >= 0) {
      if (CAPACITIES[l.cls]! > BIG) this.held -= CAPACITIES[l.cls]!; // its own buffer: garbage now
      else if (l.bytes === this.chunk && l.at + CAPACITIES[l.cls]! === this.top) this.top = l.at; // the newest segment: cut again
      else {
        (this.freeBytes[l.cls] ??= []).push(l.bytes);
        (this.freeAt[l.cls] ??= []).push(l.at);
      }
    }
    l.bytes = NO_BYTES;
    l.cls = -1;
    l.at = 0;
  }

  /** Moves `l` into a segment of class `cls` (at least its count). */
  private move(l: PeerList, cls: number): void {
    const size = CAPACITIES[cls]!;
    // the last segment of the newest chunk grows in place
    if (l.cls >= 0 && l.bytes === this.chunk && l.at + CAPACITIES[l.cls]! === this.top && l.at + size <= CHUNK && size <= BIG) {
      this.top = l.at + size;
      l.cls = cls;
      return;
    }
    const [bytes, at] = this.segment(cls);
    const r = this.record;
    if (l.count > 0) bytes.set(l.bytes.subarray(l.at * r, (l.at + l.count) * r), at * r);
    this.release(l);
    l.bytes = bytes;
    l.at = at;
    l.cls = cls;
  }

  /** A segment of class `cls`: a free one, else cut from the newest chunk (a new one when it lacks room), else a buffer of its own. */
  private segment(cls: number): [Uint8Array, number] {
    const size = CAPACITIES[cls]!;
    if (size > BIG) {
      this.held += size;
      return [new Uint8Array(size * this.record), 0];
    }
    const at = this.freeAt[cls]?.pop();
    if (at !== undefined) return [this.freeBytes[cls]!.pop()!, at];
    if (this.top + size > CHUNK) {
      // compaction first, when it can spare the new chunk
      if (this.held + CHUNK > 2 * this.used + 4 * CHUNK) this.compact();
      if (this.top + size > CHUNK) {
        this.chunk = new Uint8Array(CHUNK * this.record);
        this.chunks.push(this.chunk);
        this.top = 0;
        this.held += CHUNK;
      }
    }
    this.top += size;
    return [this.chunk, this.top - size];
  }

  /**
   * Slides every segment in the chunks down to the front, in chunk order, refitted to its
   * count; drops the chunks left empty. Safe in place: a segment's new place never lies past
   * its old one (it is no bigger, and everything before it only shrank), so nothing not yet
   * moved is overwritten.
   */
  private compact(): void {
    const order = new Map<Uint8Array, number>();
    this.chunks.forEach((c, i) => order.set(c, i));
    const lists: PeerList[] = [];
    for (const l of this.lists()) if (l.count > 0 && order.has(l.bytes)) lists.push(l);
    lists.sort((a, b) => order.get(a.bytes)! - order.get(b.bytes)! || a.at - b.at);
    const r = this.record;
    let ci = 0;
    let top = 0;
    for (const l of lists) {
      const cls = capacityClass(l.count);
      const size = CAPACITIES[cls]!;
      if (top + size > CHUNK) {
        ci++;
        top = 0;
      }
      const to = this.chunks[ci]!;
      if (to === l.bytes) to.copyWithin(top * r, l.at * r, (l.at + l.count) * r);
      else to.set(l.bytes.subarray(l.at * r, (l.at + l.count) * r), top * r);
      l.bytes = to;
      l.at = top;
      l.cls = cls;
      top += size;
    }
    const keep = lists.length > 0 ? ci + 1 : 0;
    this.held -= (this.chunks.length - keep) * CHUNK;
    this.chunks.length = keep;
    this.chunk = this.chunks[keep - 1] ?? NO_BYTES;
    this.top = keep > 0 ? top : CHUNK;
    this.freeBytes = [];
    this.freeAt = [];
  }
}
