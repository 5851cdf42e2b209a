/**
 * The client side of one peer connection (mirror mode), in BEP 3 and BEP 6 words:
 *   - `interested` once the peer has a piece we want, `not interested` when it has none left;
 *   - requests only while unchoked, except BEP 6 allowed-fast pieces; with the fast extension a
 *     choke does not cancel requests (we wait for the peer's `reject`s), without it a choke
 *     drops them all;
 *   - pipelining: enough requests outstanding for REQUEST_QUEUE_S seconds of the peer's rate
 *     (libtorrent's `request_queue_time`), at least MIN_PIPELINE, never more than the peer's
 *     `reqq` (BEP 10) or MAX_PIPELINE; until its rate is known (a second or two), slow start:
 *     one more request for each block received, as libtorrent does, so a fast peer's pipe is
 *     full in a few round trips rather than at MIN_PIPELINE for the first seconds; the pipe
 *     is refilled in batches of a quarter of it (REFILL_FRACTION), one write each; each
 *     request is paid for in the download bucket tree;
 *   - a peer that sends no block for SNUB_MS while we wait on it is snubbed: its requests go
 *     back to the picker (with `cancel`s) and it gets one request at a time until it sends;
 *     the engine's picker asks `snubbed` (never a copy of it), so that one request is open to others too;
 *   - endgame: the torrent's engine tells us to `cancel` a block another peer delivered.
 * The session (peer-session.ts) forwards the messages; the torrent's engine
 * (torrent-download.ts) owns the picker, the piece buffers and the bans.
 */
import { BLOCK_SIZE, PeerWireError, type Message } from '../codec/peer-wire.js';
import { RateMeter } from './bandwidth.js';
import type { Block } from './piece-picker.js';

/** Reason: libtorrent's request_queue_time is 3 s of the peer's rate. */
export const REQUEST_QUEUE_S = 3;
/** Requests outstanding before the peer's rate is known (libtorrent starts at 4 and ramps; 16 fills a LAN at once). */
export const MIN_PIPELINE = 16;
/** Requests sent together once the pipe has room for this many (a quarter of MIN_PIPELINE). */
export const REQUEST_BATCH = 4;
/**
 * A full pipe is refilled once this fraction of it is free (1/4: 125 requests, 2 MiB, at the
 * 500 cap), in one write. Reason: refilling after every socket read sent a write of a few
 * requests per 64 KiB received, and each one wakes the peer for a few requests: measured in
 * bench/download.mjs, the daemon's main thread spent about a third more CPU per GiB, and the
 * libtorrent seeder more per GiB sent to us than to a libtorrent downloader. Three quarters
 * of 3 s of the peer's rate stay in flight.
 */
export const REFILL_FRACTION = 1 / 4;
/** Reason: libtorrent's max_out_request_queue is 500. */
export const MAX_PIPELINE = 500;
/** BEP 10: a peer that does not say its reqq; libtorrent assumes 250. */
export const DEFAULT_PEER_REQQ = 250;
/** A peer that sends nothing for about 60 s while we wait on it is snubbed. */
export const SNUB_MS = 60_000;

/** What the client side needs of its session. */
export interface DownloadSession {
  readonly address: string;
  readonly peerFast: boolean;
  readonly peerReqq: number | undefined;
  readonly peerHasAll: boolean;
  peerHas(index: number): boolean;
  sendMessage(m: Message): void;
  /** Several messages in one write (a batch of requests: one syscall, not one per block). */
  sendMessages(ms: Message[]): void;
  close(reason: string): void;
}

/** What the client side needs of its torrent's engine. */
export interface DownloadEngine {
  readonly complete: boolean;
  /** A piece we still want (not had, not being checked). */
  wants(index: number): boolean;
  /** Up to `max` blocks for this peer, marked requested; fewer when the bandwidth budget is short. */
  pick(peer: PeerDownload, peerHas: (index: number) => boolean, max: number): Block[];
  /** Expected length of a block, or undefined when (index, begin) is no block of the torrent. */
  blockLength(index: number, begin: number): number | undefined;
  /** True when the block's bytes are still wanted (an unrequested block of a started piece). */
  wantsBlock(index: number, begin: number): boolean;
  /** A request of ours is gone without data. */
  dropped(peer: PeerDownload, index: number, begin: number): void;
  /** Bytes of a block arrived. */
  block(peer: PeerDownload, index: number, begin: number, data: Uint8Array): void;
  /** Availability: the peer has these. */
  peerHas(index: number): void;
  peerLost(index: number): void;
  peerHasAll(): void;
  peerLostAll(): void;
}

/** A request's key: numbers, not strings or objects (hundreds are outstanding, thousands a second). */
const key = (index: number, begin: number): number => index * 65536 + begin / BLOCK_SIZE; // (at most 4096 blocks a piece: 64 MiB)
const indexOf = (k: number): number => Math.floor(k / 65536);
const beginOf = (k: number): number => (k % 65536) * BLOCK_SIZE;

export class PeerDownload {
  amInterested = false;
  peerChoking = true;
  /** Sent no block for SNUB_MS while we waited on it (until it sends one); the picker asks this, through the engine. */
  snubbed = false;
  private readonly allowedFast = new Set<number>();
  /** Our requests the peer has not answered: key → block length. */
  private readonly outstanding = new Map<number, number>();
  /** Bytes of blocks received from this peer. */
  downloaded = 0;
  readonly meter = new RateMeter();
  private lastBlockAt: number;
  /** Since when the peer chokes us (while `peerChoking`). */
  private chokedAt: number;
  /** Availability counted in the engine (undone when we detach). */
  private counted: 'none' | 'all' | 'pieces' = 'none';
  private detached = false;

  constructor(
    readonly id: number,
    private readonly engine: DownloadEngine,
    readonly session: DownloadSession,
    now: number,
  ) {
    this.lastBlockAt = now;
    this.chokedAt = now;
  }

  get requests(): number {
    return this.outstanding.size;
  }

  /** Counts what the peer has so far (called once, when the session joins the download). */
  attach(pieceCount: number, now: number): void {
    if (this.session.peerHasAll) {
      this.engine.peerHasAll();
      this.counted = 'all';
    } else {
      for (let i = 0; i < pieceCount; i++) if (this.session.peerHas(i)) this.engine.peerHas(i);
      this.counted = 'pieces';
    }
    this.updateInterest(pieceCount);
    this.fill(now);
  }

  /** The session is closing or the download is over: requests go back to the picker. */
  detach(pieceCount: number): void {
    if (this.detached) return;
    this.detached = true;
    for (const k of this.outstanding.keys()) this.engine.dropped(this, indexOf(k), beginOf(k));
    this.outstanding.clear();
    if (this.counted === 'all') this.engine.peerLostAll();
    else if (this.counted === 'pieces') for (let i = 0; i < pieceCount; i++) if (this.session.peerHas(i)) this.engine.peerLost(i);
    this.counted = 'none';
  }

  /** Whether the peer has anything we want; sends interested / not interested on a change. */
  updateInterest(pieceCount: number): void {
    let want = false;
    if (!this.engine.complete)
      for (let i = 0; i < pieceCount && !want; i++) want = this.engine.wants(i) && (this.session.peerHasAll || this.session.peerHas(i));
    this.setInterested(want);
  }

  private setInterested(want: boolean): void {
    if (want === this.amInterested) return;
    this.amInterested = want;
    this.session.sendMessage({ type: want ? 'interested' : 'notInterested' });
  }

  /** A message the session decoded (after its own bookkeeping of have/bitfield). */
  onMessage(m: Message, now: number, pieceCount: number): void {
    if (this.detached) return;
    switch (m.type) {
      case 'choke':
        if (!this.peerChoking) this.chokedAt = now;
        this.peerChoking = true;
        // BEP 6: with the fast extension a choke keeps the requests; the peer rejects them.
        if (!this.session.peerFast) this.dropAll(false);
        return;
      case 'unchoke':
        this.peerChoking = false;
        this.lastBlockAt = now;
        return this.fill(now);
      case 'have':
        if (this.counted === 'pieces') this.engine.peerHas(m.index);
        if (!this.amInterested && this.engine.wants(m.index)) this.setInterested(true);
        return this.fill(now);
      case 'bitfield':
      case 'haveAll':
      case 'haveNone':
        // (the session allows one of these, right after the handshake)
        if (this.counted === 'pieces' && m.type !== 'haveNone') {
          if (m.type === 'haveAll') {
            this.engine.peerHasAll();
            this.counted = 'all';
          } else for (let i = 0; i < pieceCount; i++) if (this.session.peerHas(i)) this.engine.peerHas(i);
        }
        this.updateInterest(pieceCount);
        return this.fill(now);
      case 'allowedFast':
        this.allowedFast.add(m.index);
        return this.fill(now);
      case 'reject': {
        if (!this.outstanding.delete(key(m.index, m.begin))) return;
        this.engine.dropped(this, m.index, m.begin);
        // not asked again at once: the next tick or block refills (no reject loop)
        return;
      }
      case 'piece':
        return this.onPiece(m.index, m.begin, m.block, now);
      default:
        return;
    }
  }

  private onPiece(index: number, begin: number, block: Uint8Array, now: number): void {
    const expected = this.engine.blockLength(index, begin);
    if (expected === undefined || block.length !== expected) throw new PeerWireError(`piece ${index} block at ${begin} of ${block.length} bytes, expected ${expected ?? 'none'}`);
    this.lastBlockAt = now;
    this.snubbed = false;
    this.downloaded += block.length;
    this.blocksReceived++;
    const asked = this.outstanding.delete(key(index, begin));
    // a block we cancelled (endgame) or never asked for is taken while it is still wanted
    if (asked || this.engine.wantsBlock(index, begin)) this.engine.block(this, index, begin, block);
    // refilled once per chunk the socket read (`flush`), so requests go out in batches
    this.refill = true;
  }

  private refill = false;

  /** The session read a chunk of bytes: the requests its blocks freed go out together. */
  flush(now: number): void {
    if (!this.refill) return;
    this.refill = false;
    this.fill(now);
  }

  /** Another peer delivered this block first (endgame): `cancel` ours. */
  cancel(index: number, begin: number): void {
    const length = this.outstanding.get(key(index, begin));
    if (length === undefined) return;
    this.outstanding.delete(key(index, begin));
    this.session.sendMessage({ type: 'cancel', index, begin, length });
  }

  /** Every request back to the picker; `cancel` tells the peer too. */
  private dropAll(cancel: boolean): void {
    for (const [k, length] of this.outstanding) {
      this.engine.dropped(this, indexOf(k), beginOf(k));
      if (cancel) this.session.sendMessage({ type: 'cancel', index: indexOf(k), begin: beginOf(k), length });
    }
    this.outstanding.clear();
  }

  /** Requests to fill the pipe to the peer's rate. */
  fill(now: number): void {
    if (this.detached || !this.amInterested || this.engine.complete) return;
    if (this.peerChoking && this.allowedFast.size === 0) return;
    const target = this.snubbed ? 1 : this.pipelineTarget();
    const n = target - this.outstanding.size;
    if (n <= 0) return;
    // requests go out in batches (one write each); an empty pipe is refilled at once
    if (this.outstanding.size > 0 && n < Math.max(Math.min(REQUEST_BATCH, target / 2), target * REFILL_FRACTION)) return;
    const choked = this.peerChoking;
    const has = (i: number) => (this.session.peerHasAll || this.session.peerHas(i)) && (!choked || this.allowedFast.has(i));
    const blocks = this.engine.pick(this, has, n);
    if (blocks.length === 0) return;
    // (assigned on every call: an assignment first reached late, the pipe empty, had no type feedback and undid the compiled fill)
    this.lastBlockAt = this.outstanding.size === 0 ? now : this.lastBlockAt;
    // (an array made by push, not map: see sendMessages)
    const requests: Message[] = [];
    for (const b of blocks) {
      this.outstanding.set(key(b.index, b.begin), b.length);
      requests.push({ type: 'request', index: b.index, begin: b.begin, length: b.length });
    }
    this.session.sendMessages(requests);
  }

  /** Blocks received (slow start counts them until the rate is known). */
  private blocksReceived = 0;
  private slowStart = true;

  /** ~3 s of the peer's rate in blocks (slow start before it is known), within [MIN_PIPELINE, min(reqq, MAX_PIPELINE)]. */
  pipelineTarget(): number {
    const cap = Math.min(this.session.peerReqq ?? DEFAULT_PEER_REQQ, MAX_PIPELINE);
    const rate = this.meter.rate();
    // (both ways computed from the first call: a branch first taken once the rate is known had no type feedback and undid the
    // compiled fill; and times a fraction, not divided: a division of 0 fed it whole numbers, and the first fraction undid it)
    this.slowStart &&= rate === 0;
    const byRate = Math.ceil(rate * (REQUEST_QUEUE_S / BLOCK_SIZE));
    const want = this.slowStart ? MIN_PIPELINE + this.blocksReceived : byRate;
    return Math.max(1, Math.min(cap, Math.max(MIN_PIPELINE, want)));
  }

  /**
   * Whether the peer may send us blocks of `index`: it has it, is not snubbed, and does not
   * choke us, or has for less than SNUB_MS, or allows it fast (BEP 6). A half-done piece no
   * such peer has is left to the web seeds (torrent-download.ts).
   */
  mayServe(index: number, now: number): boolean {
    if (this.snubbed || !(this.session.peerHasAll || this.session.peerHas(index))) return false;
    return !this.peerChoking || this.allowedFast.has(index) || now - this.chokedAt < SNUB_MS;
  }

  /** About once a second: rate, snubbing, interest. */
  tick(now: number, pieceCount: number, recheckInterest: boolean): void {
    if (this.detached) return;
    this.meter.sample(now, this.downloaded);
    if (this.outstanding.size > 0 && !this.snubbed && now - this.lastBlockAt > SNUB_MS) {
      // waiting on it for a minute: its requests go to others
      this.snubbed = true;
      this.dropAll(true);
    }
    if (recheckInterest) this.updateInterest(pieceCount);
    this.fill(now);
  }
}
