/**
 * Which block to ask for next (BEP 3 "piece downloading strategy"). Pure: no sockets, no timers, no files. It is told which pieces we have,
 * what each peer has, which blocks were requested, received, dropped, and which pieces
 * passed or failed their hash, and it answers with blocks to request. libtorrent's
 * `piece_picker` is the model.
 *
 *   - 16 KiB blocks (BLOCK_SIZE); the last block of the last piece may be shorter;
 *   - finish started pieces first (fewer partial pieces held in memory);
 *   - at most `maxPartial` pieces started at once (the bounded pool of piece buffers);
 *   - the first RANDOM_FIRST_PIECES pieces are picked at random among those the peer has, so
 *     a fresh swarm does not all ask for piece 0; after that rarest first (lowest
 *     availability), ties broken at random (the first from a random place);
 *   - endgame: once every missing block is requested, a block already requested from
 *     another peer may be requested again (up to MAX_ENDGAME_REQUESTERS), and whoever else
 *     asked for it is told to `cancel` when it arrives;
 *   - a snubbed requester (download.ts: silent while we wait on it; asked of the caller,
 *     `isSnubbed`, never copied, so it cannot go stale) holds no block alone: a
 *     block only snubbed requesters were asked for is picked again by the others, as a free
 *     one, and counts for no one in endgame's limit (libtorrent's `snub_peer` gives the
 *     block back for others to pick); a started piece only snubbed requesters could finish
 *     is an orphan (`orphans`), for a web seed to take over;
 *   - a requester is any number: a peer connection or a web seed (which takes runs of whole
 *     pieces from the start of the longest gap, `pickRun`). Who delivered each block is kept until the piece is checked, so a piece
 *     that fails its hash can be blamed on its contributors (smart ban).
 */
import { BLOCK_SIZE } from '../codec/peer-wire.js';

/** Reason: libtorrent's `initial_picker_threshold` is 4 pieces picked at random. */
export const RANDOM_FIRST_PIECES = 4;
/** Reason: two copies of a block in flight cover a slow peer at the end; more only waste upload. */
export const MAX_ENDGAME_REQUESTERS = 2;

export interface Block {
  index: number;
  begin: number;
  length: number;
}

const NO_ONE: readonly number[] = Object.freeze([]);
const FREE = 0;
const REQUESTED = 1;
const RECEIVED = 2;

interface Partial {
  index: number;
  /** Per block: FREE, REQUESTED or RECEIVED. */
  state: Uint8Array;
  /** Per block: who asked for it (while REQUESTED). */
  requesters: number[][];
  /** Per block: who delivered it (once RECEIVED). */
  from: number[];
  received: number;
  /** Blocks neither requested nor received. */
  free: number;
  /** The whole piece is asked of one web seed. */
  wholePiece: boolean;
}

export interface PickerOptions {
  pieceCount: number;
  pieceLength: number;
  /** Total bytes of the torrent. */
  length: number;
  /** Pieces started at once at most (piece buffers in memory). */
  maxPartial: number;
  /** [0, 1): injected so tests are repeatable. */
  random?: () => number;
  /** Whether a requester is snubbed now: the caller's own state, asked each time (none by default). */
  isSnubbed?: (requester: number) => boolean;
  /** Whether any requester is snubbed now: while none is, a pick looks for no block held by snubbed requesters alone (by default: asked of `isSnubbed` whenever it is given). */
  anySnubbed?: () => boolean;
}

export interface Received {
  /** False when the block had already arrived (an endgame duplicate): drop its bytes. */
  fresh: boolean;
  /** Others that asked for this block: send them `cancel`. */
  cancel: readonly number[];
  /** Every block of the piece is here: check its hash. */
  pieceComplete: boolean;
}

export class PiecePicker {
  readonly pieceCount: number;
  private readonly pieceLength: number;
  private readonly length: number;
  private readonly random: () => number;
  maxPartial: number;
  /** 1 = we have the piece (verified on disk). */
  private readonly have: Uint8Array;
  private haveCount = 0;
  /** 1 = every block received, its hash being checked or written. */
  private readonly pending: Uint8Array;
  /** Peers that have each piece (seeds counted apart in `seeds`). */
  private readonly availability: Uint16Array;
  private seeds = 0;
  private readonly partials = new Map<number, Partial>();
  private readonly isSnubbed: (requester: number) => boolean;
  private readonly anySnubbed: () => boolean;

  constructor(o: PickerOptions) {
    this.pieceCount = o.pieceCount;
    this.pieceLength = o.pieceLength;
    this.length = o.length;
    this.maxPartial = Math.max(1, o.maxPartial);
    this.random = o.random ?? Math.random;
    this.isSnubbed = o.isSnubbed ?? (() => false);
    this.anySnubbed = o.anySnubbed ?? (o.isSnubbed ? () => true : () => false);
    this.have = new Uint8Array(o.pieceCount);
    this.pending = new Uint8Array(o.pieceCount);
    this.availability = new Uint16Array(o.pieceCount);
  }

  // ---- our pieces ----
  hasPiece(index: number): boolean {
    return this.have[index] === 1;
  }
  get piecesHave(): number {
    return this.haveCount;
  }
  get complete(): boolean {
    return this.haveCount === this.pieceCount;
  }
  /** A piece we want: neither had nor being checked. */
  wants(index: number): boolean {
    return this.have[index] === 0 && this.pending[index] === 0;
  }

  pieceSize(index: number): number {
    // (no branch for the last piece: a branch first taken at the download's end had no type feedback and undid the compiled callers)
    return Math.min(this.pieceLength, this.length - index * this.pieceLength);
  }
  blockCount(index: number): number {
    return Math.ceil(this.pieceSize(index) / BLOCK_SIZE);
  }
  blockLength(index: number, block: number): number {
    return Math.min(BLOCK_SIZE, this.pieceSize(index) - block * BLOCK_SIZE);
  }

  /** The piece passed its hash and is on disk (or was there at start). */
  pieceVerified(index: number): void {
    this.partials.delete(index);
    this.pending[index] = 0;
    if (this.have[index] === 0) {
      this.have[index] = 1;
      this.haveCount++;
    }
  }

  /** The piece failed its hash (or could not be written): every block is wanted again. */
  pieceFailed(index: number): void {
    this.partials.delete(index);
    this.pending[index] = 0;
  }

  /** Who delivered the blocks of a complete piece (one entry per block), for blame. */
  contributors(index: number): number[] {
    return this.partials.get(index)?.from.slice() ?? [];
  }

  // ---- availability ----
  peerHasAll(): void {
    this.seeds++;
  }
  peerLostAll(): void {
    this.seeds--;
  }
  peerHas(index: number): void {
    this.availability[index]!++;
  }
  peerLost(index: number): void {
    if (this.availability[index]! > 0) this.availability[index]!--;
  }
  availabilityOf(index: number): number {
    return this.availability[index]! + this.seeds;
  }

  // ---- requests ----
  /** Endgame: no missing piece is unstarted and no started piece has a free block. */
  get endgame(): boolean {
    // (pieces being checked are still among the partials)
    if (this.partials.size + this.haveCount < this.pieceCount) return false;
    for (const p of this.partials.values()) if (p.free > 0) return false;
    return true;
  }

  get partialCount(): number {
    return this.partials.size;
  }

  /**
   * Up to `max` blocks for `requester` from the pieces `peerHas` says it has: free blocks
   * of started pieces first, then new pieces (random first, then rarest; at most
   * `maxNewPieces` of them: the piece buffers the caller can reserve), then in endgame
   * blocks others were asked for. The blocks returned are marked requested by `requester`.
   */
  pick(requester: number, peerHas: (index: number) => boolean, max: number, maxNewPieces = Infinity): Block[] {
    const out: Block[] = [];
    if (max <= 0) return out;
    // (blocks held by snubbed requesters alone are looked for only while one is snubbed)
    const snubs = this.anySnubbed();
    const takesStuck = snubs && !this.isSnubbed(requester);
    for (const p of this.partials.values()) {
      if ((p.free === 0 && !takesStuck) || p.wholePiece || !peerHas(p.index)) continue;
      if (p.free > 0) this.takeFree(p, requester, out, max);
      if (takesStuck) this.takeStuck(p, requester, out, max);
      if (out.length >= max) return out;
    }
    for (let started = 0; out.length < max && started < maxNewPieces && this.partials.size < this.maxPartial; started++) {
      const index = this.choosePiece(peerHas);
      if (index === undefined) break;
      this.takeFree(this.start(index, false), requester, out, max);
    }
    if (out.length < max && this.endgame) {
      for (const p of this.partials.values()) {
        if (p.wholePiece || !peerHas(p.index)) continue;
        for (let b = 0; b < p.state.length && out.length < max; b++) {
          const who = p.requesters[b]!;
          if (p.state[b] !== REQUESTED || who.includes(requester) || (snubs ? this.live(who) : who.length) >= MAX_ENDGAME_REQUESTERS) continue;
          who.push(requester);
          out.push({ index: p.index, begin: b * BLOCK_SIZE, length: this.blockLength(p.index, b) });
        }
        if (out.length >= max) break;
      }
    }
    return out;
  }

  /**
   * Whole pieces for a web seed to fetch in one range request: up to `maxPieces` consecutive
   * unstarted wanted pieces from the start of the longest gap (BEP 19: a web seed fills gaps
   * front to back, so each request is as long as it can be and a mirror reads its disk in
   * order), all their blocks marked requested by `requester`. Empty when nothing is left or
   * the pool of partial pieces is full.
   */
  pickRun(requester: number, maxPieces: number): number[] {
    let best = -1;
    let bestLength = 0;
    for (let i = 0; i < this.pieceCount; ) {
      if (!this.free(i)) {
        i++;
        continue;
      }
      let end = i + 1;
      while (end < this.pieceCount && this.free(end)) end++;
      if (end - i > bestLength) {
        best = i;
        bestLength = end - i;
      }
      i = end;
    }
    const run: number[] = [];
    for (let i = best; run.length < Math.min(maxPieces, bestLength) && this.partials.size < this.maxPartial; i++) {
      const p = this.start(i, true);
      for (let b = 0; b < p.state.length; b++) {
        p.state[b] = REQUESTED;
        p.requesters[b]!.push(requester);
      }
      p.free = 0;
      run.push(i);
    }
    return run;
  }

  /** A started piece (web seed runs too). */
  started(index: number): boolean {
    return this.partials.has(index);
  }

  /** A started piece of which nothing is asked for or received goes back to unstarted (its buffer could not be reserved, or its requests were not sent). */
  unstart(index: number): void {
    const p = this.partials.get(index);
    if (!p || p.received > 0 || p.wholePiece || p.free < p.state.length) return;
    this.partials.delete(index);
  }

  /**
   * Started pieces of which no block is asked of a requester that is not snubbed, and that
   * no one who could finish them has (`othersHave`, by default: any connected peer; its
   * peers left mid-piece, or only snubbed or choking ones have it): only a web seed could complete
   * them, and it takes unstarted pieces.
   */
  orphans(othersHave: (index: number) => boolean = (i) => this.availabilityOf(i) > 0): number[] {
    const out: number[] = [];
    const snubs = this.anySnubbed();
    for (const p of this.partials.values()) {
      if (p.wholePiece || this.pending[p.index] === 1) continue;
      if (p.free + p.received !== p.state.length && !(snubs && this.onlyStuck(p))) continue;
      if (!othersHave(p.index)) out.push(p.index);
    }
    return out;
  }

  /** Requesters of a block that are not snubbed. */
  private live(who: readonly number[]): number {
    let n = 0;
    for (const r of who) if (!this.isSnubbed(r)) n++;
    return n;
  }

  /** Every block asked for is asked of snubbed requesters only (while one is, a block only snubbed requesters were asked for is open to the others). */
  private onlyStuck(p: Partial): boolean {
    for (let b = 0; b < p.state.length; b++) if (p.state[b] === REQUESTED && this.live(p.requesters[b]!) > 0) return false;
    return true;
  }

  /** Blocks asked of snubbed requesters only: `requester` is asked too (whoever delivers first, the other is told to `cancel`). */
  private takeStuck(p: Partial, requester: number, out: Block[], max: number): void {
    for (let b = 0; b < p.state.length && out.length < max; b++) {
      const who = p.requesters[b]!;
      if (p.state[b] !== REQUESTED || this.live(who) > 0) continue;
      who.push(requester);
      out.push({ index: p.index, begin: b * BLOCK_SIZE, length: this.blockLength(p.index, b) });
    }
  }

  /** Wanted and not started. */
  private free(index: number): boolean {
    return this.wants(index) && !this.partials.has(index);
  }

  private start(index: number, wholePiece: boolean): Partial {
    const n = this.blockCount(index);
    const p: Partial = {
      index,
      state: new Uint8Array(n),
      requesters: Array.from({ length: n }, () => []),
      from: new Array<number>(n).fill(-1),
      received: 0,
      free: n,
      wholePiece,
    };
    this.partials.set(index, p);
    return p;
  }

  private takeFree(p: Partial, requester: number, out: Block[], max: number): void {
    for (let b = 0; b < p.state.length && out.length < max; b++) {
      if (p.state[b] !== FREE) continue;
      p.state[b] = REQUESTED;
      p.requesters[b]!.push(requester);
      p.free--;
      out.push({ index: p.index, begin: b * BLOCK_SIZE, length: this.blockLength(p.index, b) });
    }
  }

  /**
   * An unstarted wanted piece `peerHas` has: random among the first few, then rarest. The
   * scan starts at a random piece and takes the first of the lowest availability (ties broken
   * at random that way); it stops at a piece only seeds have, as none can be rarer, so with
   * seeds alone (a mirror's usual swarm) a pick costs a few steps, not a pass over every piece
   * (which made starting every piece of a big torrent quadratic).
   */
  private choosePiece(peerHas: (index: number) => boolean): number | undefined {
    const randomPhase = this.haveCount + this.partials.size < RANDOM_FIRST_PIECES;
    const n = this.pieceCount;
    const floor = this.seeds;
    const start = Math.floor(this.random() * n);
    let best: number | undefined;
    let bestAvail = Infinity;
    for (let k = 0; k < n; k++) {
      // (a remainder, not a branch for the wrap: a branch first taken late had no type feedback and undid the compiled caller)
      const i = (start + k) % n;
      if (!this.free(i) || !peerHas(i)) continue;
      const a = randomPhase ? floor : this.availabilityOf(i);
      if (a < bestAvail) {
        bestAvail = a;
        best = i;
        if (a <= floor) break;
      }
    }
    return best;
  }

  /** A block arrived from `requester` (requested or not). */
  received(requester: number, index: number, begin: number): Received {
    const p = this.partials.get(index);
    const b = begin / BLOCK_SIZE;
    if (!p || !Number.isInteger(b) || b >= p.state.length || p.state[b] === RECEIVED) return { fresh: false, cancel: NO_ONE, pieceComplete: false };
    if (p.state[b] === FREE) p.free--;
    const who = p.requesters[b]!;
    // (the usual case, the one requester delivering, allocates nothing)
    const cancel = who.length === 0 || (who.length === 1 && who[0] === requester) ? NO_ONE : who.filter((r) => r !== requester);
    who.length = 0;
    p.state[b] = RECEIVED;
    p.from[b] = requester;
    p.received++;
    const pieceComplete = p.received === p.state.length;
    if (pieceComplete) this.pending[index] = 1;
    return { fresh: true, cancel, pieceComplete };
  }

  /** True when the block is in a started piece and has not arrived (so its bytes are wanted; a web seed's whole piece's come from it alone). */
  wantsBlock(index: number, begin: number): boolean {
    const p = this.partials.get(index);
    const b = begin / BLOCK_SIZE;
    return p !== undefined && !p.wholePiece && Number.isInteger(b) && b < p.state.length && p.state[b] !== RECEIVED;
  }

  /** A request of `requester` is gone (rejected, timed out, choked, peer closed): the block is free again unless someone else has it. */
  dropped(requester: number, index: number, begin: number): void {
    const p = this.partials.get(index);
    const b = begin / BLOCK_SIZE;
    if (!p || !Number.isInteger(b) || b >= p.state.length || p.state[b] !== REQUESTED) return;
    const who = p.requesters[b]!;
    const at = who.indexOf(requester);
    if (at < 0) return;
    who.splice(at, 1);
    if (who.length === 0) {
      p.state[b] = FREE;
      p.free++;
    }
  }

  /** A whole piece a web seed gave back (it failed): unstarted again, or open to peers if some blocks came. */
  droppedPiece(requester: number, index: number): void {
    const p = this.partials.get(index);
    if (!p || !p.wholePiece) return;
    if (p.received === 0) {
      this.partials.delete(index);
      return;
    }
    p.wholePiece = false;
    for (let b = 0; b < p.state.length; b++) this.dropped(requester, index, b * BLOCK_SIZE);
  }
}
