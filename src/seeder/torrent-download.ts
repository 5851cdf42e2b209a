/**
 * Mirror mode for one torrent: downloads every piece it lacks from its peers (and web seeds),
 * then hands it back to seeding. It owns:
 *   - the PiecePicker (piece-picker.ts) and one PeerDownload per connected peer (download.ts);
 *   - the partial pieces (piece-buffers.ts): a buffer per piece, reserved when a peer is
 *     asked for its first blocks (so no block arrives without memory for it), at most twice
 *     MAX_PARTIAL_BYTES of them, never one buffer per request; web seeds and peers fill the
 *     same pieces;
 *   - the check of each complete piece (its SHA-1 computed as its blocks arrive), its write
 *     (storage, one write per piece), and the periodic fsync after which written pieces count
 *     in the resume data (SYNC_MS);
 *   - blame (hash-blame.ts): a piece that fails its hash is remembered block by block; whoever
 *     sent a block that differs from the copy that passes, or a whole failed piece alone, gets
 *     a strike; two strikes ban the peer's address for this torrent. A web seed whose piece
 *     fails is dropped;
 *   - disk space: a write that fails (ENOSPC…) pauses the download (`waiting: …`); the owner
 *     checks free space before starting and again while waiting.
 * `have` to every peer is the storage's onAvailable (torrent-session.ts sends it).
 */
import type { Metainfo } from '../codec/metainfo.js';
import { BLOCK_SIZE } from '../codec/peer-wire.js';
import { PIECE_VERIFIED, type TorrentStorage } from '../storage/torrent-storage.js';
import { pieceHashMatches } from '../storage/piece-verify.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { RateMeter, type TokenBucket } from './bandwidth.js';
import { MAX_PIPELINE, PeerDownload, type DownloadEngine, type DownloadSession } from './download.js';
import { PieceBuffers } from './piece-buffers.js';
import type { PiecePool } from './piece-pool.js';
import { HashThreadError, type HashThread } from './hash-thread.js';
import { PiecePicker, type Block } from './piece-picker.js';
import { nextRunLength, type RunBuffers } from './web-seed.js';
import { RunMemory } from './run-memory.js';
import { HashBlame } from './hash-blame.js';
import { formatBytes } from '../control/status-view.js';

/**
 * Bytes of piece buffers in use beyond which a web seed's read takes no new one (at least 2
 * pieces), unless no web seed piece holds one (run-memory.ts); peers' pieces reserve up to twice as many (at least one piece more), which bounds
 * the blocks asked of peers at once. Reason: the buffers in use are the pieces asked for and
 * arriving plus those being written; 4 MiB is 20 ms at 200 MiB/s in flight (with 2 MiB
 * bench/download.mjs ran about a third slower, one run under load), and a slower disk holds
 * the download back rather than filling a router's memory.
 */
export const MAX_PARTIAL_BYTES = 2 << 20;
/**
 * The same for every download together (the pool they share, piece-pool.ts): the caps of one
 * download, so one download alone runs as fast as with no pool, and four at once hold no more
 * partial pieces than it (4 MiB; web seeds' reads take new ones below 2 MiB). Reason: four
 * mirror downloads at loopback speed held 16 MiB of a router's memory with per-download caps
 * alone, 6 MiB with a pool of 6 (bench/router.mjs).
 */
export const ALL_PARTIAL_BYTES = { soft: MAX_PARTIAL_BYTES, hard: 2 * MAX_PARTIAL_BYTES };
/** Blocks of started pieces beyond the buffered ones (web seed runs, whose buffers are taken as their bytes arrive): two full pipelines (MAX_PIPELINE). */
const STARTED_BLOCKS = 2 * MAX_PIPELINE;
/** Written pieces are fsync'ed (then recorded in the resume data) this often: a crash costs at most this much re-checking; one small resume write per interval. */
export const SYNC_MS = 2_000;
/** Interest is recomputed from scratch this often (a peer whose pieces we all got is told `not interested`). */
const INTEREST_RECHECK_MS = 10_000;

/** A web seed as the engine uses it (web-seed.ts). */
export interface WebSeedSource {
  /** A run of whole pieces into buffers of the engine's piece pool, each taken as its bytes arrive; `onPiece(i)` as each is complete. */
  readPieces(offset: number, length: number, pieceLength: number, into: RunBuffers, onPiece: (i: number) => void, signal?: AbortSignal): Promise<void>;
  /** Reads it takes now (0: backing off, dropped, or busy enough). */
  readSlots(now: number): number;
  piecesPerRead(pieceLength: number): number;
  drop(reason: string): void;
  status(): { url: string; state: 'ok' | 'idle' | 'backoff' | 'dropped'; failures: number; retryInS: number | null; error: string | null; downloaded: number };
  close(): void;
}

export interface TorrentDownloadDeps {
  clock: Clock;
  log: Logger;
  storage: TorrentStorage;
  /** The torrent's download bucket (its parent: the global one). */
  bucket: TokenBucket;
  /** Piece buffers shared by every download (ALL_PARTIAL_BYTES); none: this download's own. */
  pool?: PiecePool;
  /** The hash thread every download shares (hash-thread.ts): a fast web seed asks for it, and whole pieces are hashed there while it runs. */
  hasher?: Pick<HashThread, 'ready' | 'canTake' | 'digest' | 'demand'>;
  /** Every piece is ours and on disk. */
  completed(): void;
  /** A write failed for want of space (or another I/O error): pause and say why. */
  paused(reason: string): void;
  /** Close every connection to this address (banned). */
  ban(address: string): void;
}

export interface DownloadStats {
  progress: number;
  downloadRate: number;
  downloaded: number;
  fromPeers: number;
  fromWebSeeds: number;
  etaS: number | null;
  piecesHave: number;
}

interface WebSeedSlot {
  id: number;
  seed: WebSeedSource;
  abort: AbortController;
  /** Reads in flight. */
  reads: number;
}

export class TorrentDownload implements DownloadEngine {
  readonly picker: PiecePicker;
  private readonly meta: Metainfo;
  private readonly peers = new Map<number, PeerDownload>();
  /** Set while `fillAll` runs: whether any peer is snubbed (see `anySnubbed`). */
  private snubbedNow: boolean | undefined;
  private nextId = 1;
  private readonly buffers: PieceBuffers;
  private readonly blameOf = new HashBlame((id) => this.addressOf.get(id));
  /** Addresses banned for this torrent: their data failed the hash check BAN_STRIKES times. */
  readonly banned = this.blameOf.banned;
  private readonly webSeeds: WebSeedSlot[] = [];
  /** The web seed reads' piece memory: in piece order, their share, the reads waiting, the watchdog. */
  private readonly runs: RunMemory;
  private readonly addressOf = new Map<number, string>();
  fromPeers = 0;
  fromWebSeeds = 0;
  /** Bytes received that were not used (duplicates, failed pieces). */
  wasted = 0;
  readonly meter = new RateMeter();
  private readonly startedAt: number;
  /** When the first block arrived (the average rate is counted from there). */
  private firstBlockAt: number | undefined;
  /** When the first block was asked for (of a peer or a web seed): the log line says how long before the first block. */
  private firstRequestAt: number | undefined;
  private readonly startHave: number;
  private lastSync: number;
  private lastInterest: number;
  private syncing = false;
  private bandwidthTimer: { cancel(): void } | undefined;
  private done = false;
  stopped = false;

  constructor(private readonly deps: TorrentDownloadDeps) {
    const meta = deps.storage.meta;
    this.meta = meta;
    const soft = Math.max(2, Math.floor(MAX_PARTIAL_BYTES / meta.pieceLength));
    const maxPartial = soft + Math.ceil(STARTED_BLOCKS / Math.ceil(meta.pieceLength / BLOCK_SIZE));
    this.picker = new PiecePicker({
      pieceCount: meta.pieceCount,
      pieceLength: meta.pieceLength,
      length: meta.length,
      maxPartial,
      // the peers' own state, asked (a web seed is never snubbed; a peer gone is not either)
      isSnubbed: (id) => this.peers.get(id)?.snubbed === true,
      anySnubbed: () => this.anySnubbed(),
    });
    const hard = Math.max(soft + 1, Math.floor((2 * MAX_PARTIAL_BYTES) / meta.pieceLength));
    this.buffers = new PieceBuffers(meta.pieceLength, (i) => this.picker.pieceSize(i), { soft, hard }, deps.pool, deps.hasher);
    this.startedAt = this.lastSync = this.lastInterest = deps.clock.now();
    this.runs = new RunMemory({ buffers: this.buffers, log: deps.log, name: meta.name }, this.startedAt);
    for (let i = 0; i < meta.pieceCount; i++) if (deps.storage.stateOf(i) === PIECE_VERIFIED) this.picker.pieceVerified(i);
    this.startHave = this.bytesHave();
  }

  get complete(): boolean {
    return this.picker.complete;
  }

  private bytesHave(): number {
    return this.meta.length - this.deps.storage.left();
  }

  // ---- peers ----
  addPeer(session: DownloadSession): PeerDownload | undefined {
    if (this.banned.has(session.address) || this.stopped) return undefined;
    const pd = new PeerDownload(this.nextId++, this, session, this.deps.clock.now());
    this.peers.set(pd.id, pd);
    this.addressOf.set(pd.id, session.address);
    pd.attach(this.meta.pieceCount, this.deps.clock.now());
    return pd;
  }

  removePeer(pd: PeerDownload): void {
    if (!this.peers.delete(pd.id)) return;
    pd.detach(this.meta.pieceCount);
  }

  // ---- web seeds ----
  addWebSeed(seed: WebSeedSource): void {
    this.webSeeds.push({ id: this.nextId++, seed, abort: new AbortController(), reads: 0 });
  }

  webSeedStatus(): ReturnType<WebSeedSource['status']>[] {
    return this.webSeeds.map((w) => w.seed.status());
  }

  // ---- DownloadEngine ----
  wants(index: number): boolean {
    return this.picker.wants(index);
  }

  pick(peer: PeerDownload, peerHas: (index: number) => boolean, max: number): Block[] {
    const now = this.deps.clock.now();
    const bucket = this.deps.bucket;
    if (!bucket.canSend(now)) {
      this.waitBandwidth(bucket.waitMs(now));
      return [];
    }
    // memory first: blocks of pieces that hold a buffer, and new pieces only as many as buffers can be reserved for
    const has = (i: number) => peerHas(i) && (this.buffers.has(i) || !this.picker.started(i));
    // a snubbed peer starts no piece a web seed could take (web seeds take unstarted pieces only; its one request may never be answered)
    // while a web seed read waits for piece memory, peers finish their started pieces and start none: the next buffer back is the read's
    const blocks = this.picker.pick(peer.id, has, max, (peer.snubbed && this.webSeedUsable()) || this.runs.waiting ? 0 : this.buffers.spare);
    // each request is paid for (at most one block into debt): the bucket tree bounds the download rate
    let i = 0;
    for (; i < blocks.length; i++) {
      if (!bucket.canSend(now)) break;
      bucket.consume(blocks[i]!.length, now);
    }
    for (const b of blocks.slice(i)) this.picker.dropped(peer.id, b.index, b.begin);
    if (i < blocks.length) this.waitBandwidth(bucket.waitMs(now));
    const sent = this.reserve(peer, blocks, i);
    if (sent.length > 0) this.firstRequestAt ??= now;
    return sent;
  }

  /**
   * The buffers of the pieces the first `sent` blocks start, reserved now: a block never
   * arrives for a piece with no memory for it (it would be refused and asked for again: 10 to
   * 40 % of a fast download's bytes were, bench/download.mjs). Pieces started and then left
   * without a request (the bandwidth budget) go back to unstarted.
   */
  private reserve(peer: PeerDownload, blocks: Block[], sent: number): Block[] {
    const out: Block[] = [];
    for (let k = 0; k < blocks.length; k++) {
      const b = blocks[k]!;
      if (k < sent && (this.buffers.has(b.index) || this.buffers.open(b.index))) {
        out.push(b);
        continue;
      }
      // not sent (the bandwidth budget), or no buffer after all (not reached: `spare` said there was one)
      if (k < sent) this.picker.dropped(peer.id, b.index, b.begin);
      this.releaseIfIdle(b.index);
    }
    return out;
  }

  private waitBandwidth(ms: number): void {
    if (this.bandwidthTimer) return;
    this.bandwidthTimer = this.deps.clock.setTimeout(
      () => {
        this.bandwidthTimer = undefined;
        try {
          this.fillAll();
        } catch (err) {
          this.deps.log.error(`${this.meta.name}: ${(err as Error).stack ?? err}`);
        }
      },
      Math.max(5, ms),
    );
  }

  blockLength(index: number, begin: number): number | undefined {
    if (index >= this.meta.pieceCount || begin % BLOCK_SIZE !== 0) return undefined;
    const b = begin / BLOCK_SIZE;
    if (b >= this.picker.blockCount(index)) return undefined;
    return this.picker.blockLength(index, b);
  }

  wantsBlock(index: number, begin: number): boolean {
    return this.picker.wantsBlock(index, begin);
  }

  dropped(peer: PeerDownload, index: number, begin: number): void {
    this.picker.dropped(peer.id, index, begin);
    this.releaseIfIdle(index);
  }

  /**
   * A started piece of which nothing is asked for or received any more (its requests rejected,
   * dropped at a choke, snubbed, its peer gone, or never sent) goes back to unstarted and its
   * reserved buffer back to the pool: no buffer waits for blocks no one was asked for, and a
   * web seed may take the piece.
   */
  private releaseIfIdle(index: number): void {
    if (!this.picker.started(index)) return;
    this.picker.unstart(index);
    if (!this.picker.started(index)) this.releaseBuffer(index);
  }

  /** Whether a peer is snubbed now; `fillAll` asks once for all its picks (no peer's state changes while it runs). */
  private anySnubbed(): boolean {
    if (this.snubbedNow !== undefined) return this.snubbedNow;
    for (const pd of this.peers.values()) if (pd.snubbed) return true;
    return false;
  }

  peerHas(index: number): void {
    this.picker.peerHas(index);
  }
  peerLost(index: number): void {
    this.picker.peerLost(index);
  }
  peerHasAll(): void {
    this.picker.peerHasAll();
  }
  peerLostAll(): void {
    this.picker.peerLostAll();
  }

  block(peer: PeerDownload, index: number, begin: number, data: Uint8Array): void {
    this.store(peer.id, index, begin, data);
    this.fromPeers += data.length;
  }

  /** Bytes of a block into its piece's buffer (`data` undefined: they are there already); a complete piece is checked. */
  private store(from: number, index: number, begin: number, data: Uint8Array | undefined, length = data?.length ?? 0): void {
    this.firstBlockAt ??= this.deps.clock.now();
    if (!this.buffers.has(index) && this.picker.wantsBlock(index, begin) && !this.buffers.open(index)) {
      // no memory for another piece: asked for again later
      this.picker.dropped(from, index, begin);
      this.wasted += length;
      return;
    }
    const r = this.picker.received(from, index, begin);
    if (!r.fresh) {
      this.wasted += length;
      return;
    }
    this.runs.progress();
    if (data) this.buffers.data(index).set(data, begin);
    this.buffers.filled(index, begin, data !== undefined);
    for (const id of r.cancel) this.peers.get(id)?.cancel(index, begin);
    if (r.pieceComplete) this.checkPiece(index).catch((err) => this.deps.log.error(`${this.meta.name}: piece ${index}: ${(err as Error).stack ?? err}`));
  }

  private releaseBuffer(index: number): void {
    if (!this.buffers.has(index)) return;
    this.buffers.release(index);
    this.runs.released();
  }

  private async checkPiece(index: number): Promise<void> {
    const size = this.picker.pieceSize(index);
    const contributors = this.picker.contributors(index);
    let ok: boolean;
    try {
      // hashed as its blocks arrived; what was not (out of order, a web seed's) in slices now, or on the hash thread
      ok = pieceHashMatches(this.meta.pieces, index, await this.buffers.digest(index));
    } catch (err) {
      if (err instanceof HashThreadError) {
        // lost with the thread, not wrong: asked for again, no one blamed
        if (!this.stopped) this.picker.pieceFailed(index);
        this.releaseBuffer(index);
        this.wasted += size;
        return this.fillAll();
      }
      ok = false;
    }
    if (this.stopped) return this.releaseBuffer(index);
    // (after the digest: a piece hashed on the thread comes back in another Buffer)
    const data = this.buffers.data(index);
    if (!ok) {
      this.blame(index, data, contributors);
      this.wasted += size;
      this.picker.pieceFailed(index);
      this.releaseBuffer(index);
      this.fillAll();
      return;
    }
    try {
      await this.deps.storage.writePiece(index, data);
    } catch (err) {
      this.picker.pieceFailed(index);
      this.releaseBuffer(index);
      if (!this.stopped) this.deps.paused(`cannot write ${this.meta.name}: ${(err as Error).message}`);
      return;
    }
    this.ban(this.blameOf.passed(index, data));
    this.picker.pieceVerified(index);
    this.releaseBuffer(index);
    if (this.picker.complete) await this.finish();
    else this.fillAll();
  }

  /** A failed piece: a web seed that sent any of it is dropped; who sent which bytes is remembered (a sole sender is struck at once). */
  private blame(index: number, data: Uint8Array, contributors: number[]): void {
    const senders = new Set(contributors);
    this.deps.log.warn(`${this.meta.name}: piece ${index} failed its hash check (from ${[...senders].map((id) => this.describe(id)).join(', ')})`);
    for (const id of senders) {
      const web = this.webSeeds.find((w) => w.id === id);
      if (web) {
        web.seed.drop(`piece ${index} failed its hash check`);
        this.deps.log.warn(`${this.meta.name}: web seed ${web.seed.status().url} dropped: its data failed the hash check`);
      }
    }
    this.ban(this.blameOf.failed(index, data, contributors));
  }

  private ban(addresses: { address: string; strikes: number }[]): void {
    for (const { address, strikes } of addresses) {
      this.deps.log.warn(`${this.meta.name}: peer ${address} banned: its data failed the hash check ${strikes} times`);
      for (const pd of [...this.peers.values()]) if (pd.session.address === address) this.removePeer(pd);
      this.deps.ban(address);
    }
  }

  private describe(id: number): string {
    const w = this.webSeeds.find((x) => x.id === id);
    return w ? `web seed ${w.seed.status().url}` : `peer ${this.addressOf.get(id) ?? id}`;
  }

  private async finish(): Promise<void> {
    if (this.done) return;
    this.done = true;
    // the rate counts to the last piece verified and written, as other clients count it; the
    // fsync that makes it all durable (the resume data claims nothing before it) is shown apart
    const written = this.deps.clock.now();
    await this.deps.storage.sync().catch((err) => this.deps.log.warn(`${this.meta.name}: sync: ${(err as Error).message}`));
    const now = this.deps.clock.now();
    const seconds = Math.max(0.001, (written - (this.firstBlockAt ?? this.startedAt)) / 1000);
    const bytes = this.bytesHave() - this.startHave;
    const asked = this.firstBlockAt !== undefined && this.firstRequestAt !== undefined ? `the first request ${((this.firstBlockAt - this.firstRequestAt) / 1000).toFixed(3)} s before the first block; ` : '';
    this.deps.log.info(
      `${this.meta.name}: download complete: ${formatBytes(bytes)} in ${seconds.toFixed(2)} s from the first block to the last piece written (average ${formatBytes(bytes / seconds)}/s; from peers ${formatBytes(this.fromPeers)}, from web seeds ${formatBytes(this.fromWebSeeds)}; ${formatBytes(this.wasted)} of it not used: duplicates, refused, failed; then ${((now - written) / 1000).toFixed(2)} s to fsync; ${asked}${((now - this.startedAt) / 1000).toFixed(1)} s since it started)`,
    );
    this.deps.completed();
  }

  // ---- web seed reads ----
  /** Each web seed gets runs of whole pieces (BEP 19), as many reads at once as it takes (web-seed.ts). */
  private feedWebSeeds(now: number): void {
    // pieces peers left half done, no peer left to finish them but snubbed ones or ones that choke us: started again, for the web seeds
    if (this.webSeedUsable())
      for (const index of this.picker.orphans((i) => this.mayBeServed(i, now))) {
        // a snubbed peer's one request for it is cancelled (its block would land in a web seed's piece)
        for (const pd of this.peers.values()) for (let begin = 0; begin < this.picker.pieceSize(index); begin += BLOCK_SIZE) pd.cancel(index, begin);
        this.picker.pieceFailed(index);
        this.releaseBuffer(index);
      }
    for (const w of this.webSeeds) {
      for (let n = w.seed.readSlots(now); n > 0 && !this.picker.complete; n--) {
        // room for whole pieces in the picker (piece memory is taken only as their bytes arrive)
        const room = this.picker.maxPartial - this.picker.partialCount;
        if (room <= 0) return;
        const run = this.picker.pickRun(w.id, nextRunLength(w.seed.piecesPerRead(this.meta.pieceLength), room, w.reads > 0));
        if (run.length === 0) return;
        this.readRun(w, run);
      }
    }
  }

  /** A web seed is neither backing off nor dropped. */
  private webSeedUsable(): boolean {
    return this.webSeeds.some((w) => {
      const state = w.seed.status().state;
      return state === 'ok' || state === 'idle';
    });
  }

  /** A connected peer may send us the piece's blocks (PeerDownload.mayServe). */
  private mayBeServed(index: number, now: number): boolean {
    for (const pd of this.peers.values()) if (pd.mayServe(index, now)) return true;
    return false;
  }

  /**
   * The web seed reads straight into the pieces' buffers (whole pieces: no block of them is
   * anyone else's), each taken when its first bytes arrive, within the soft bounds of piece
   * memory (this download's and the shared pool's): the blocks peers were already promised
   * keep the room up to the hard ones. A run's buffers are taken in piece order, and while
   * no web seed piece holds a buffer a read gets one within the hard bounds (run-memory.ts).
   */
  private readRun(w: WebSeedSlot, run: number[]): void {
    const read = this.runs.begin(run, () => w.seed.status().url, w.abort.signal);
    const { handed } = read;
    const length = run.reduce((n, index) => n + this.picker.pieceSize(index), 0);
    const started = this.deps.clock.now();
    this.firstRequestAt ??= started;
    w.reads++;
    const onPiece = (i: number) => {
      if (this.stopped) return;
      handed[i] = true;
      const index = run[i]!;
      const size = this.picker.pieceSize(index);
      for (let begin = 0; begin < size; begin += BLOCK_SIZE) this.store(w.id, index, begin, undefined, Math.min(BLOCK_SIZE, size - begin));
      this.fromWebSeeds += size;
    };
    // pieces not handed over (a failure: its own backoff says when to try it again) go back to the peers
    const giveBack = () => {
      w.reads--;
      this.runs.end(read);
      run.forEach((index, i) => {
        if (handed[i]) return;
        this.releaseBuffer(index);
        if (!this.stopped) this.picker.droppedPiece(w.id, index);
      });
    };
    w.seed
      .readPieces(run[0]! * this.meta.pieceLength, length, this.meta.pieceLength, read.buffers, onPiece, read.signal)
      .then(
        () => {
          giveBack();
          const now = this.deps.clock.now();
          // a seed this fast makes hashing on the main thread the limit: the hash thread takes the pieces
          this.deps.hasher?.demand((length * 1000) / Math.max(1, now - started));
          this.feedWebSeeds(now);
        },
        (err) => {
          giveBack();
          this.deps.log.debug(`${this.meta.name}: web seed: ${(err as Error).message}`);
        },
      );
  }

  // ---- timers ----
  fillAll(): void {
    if (this.stopped || this.done) return;
    const now = this.deps.clock.now();
    // one look over the peers for every pick below, not one per pick (peers x peers per piece)
    this.snubbedNow = this.anySnubbed();
    try {
      for (const pd of this.peers.values()) pd.fill(now);
      this.feedWebSeeds(now);
    } finally {
      this.snubbedNow = undefined;
    }
  }

  /** About once a second. */
  tick(now: number): void {
    if (this.stopped || this.done) return;
    this.meter.sample(now, this.fromPeers + this.fromWebSeeds);
    const recheck = now - this.lastInterest >= INTEREST_RECHECK_MS;
    if (recheck) this.lastInterest = now;
    for (const pd of this.peers.values()) pd.tick(now, this.meta.pieceCount, recheck);
    // a buffer another download gave back to the shared pool wakes no one here: waiting reads look again
    if (!this.buffers.full) this.runs.wake();
    this.runs.watch(now);
    this.feedWebSeeds(now);
    if (!this.syncing && this.deps.storage.unsyncedPieces > 0 && now - this.lastSync >= SYNC_MS) {
      this.syncing = true;
      this.lastSync = now;
      this.deps.storage
        .sync()
        .catch((err) => this.deps.paused(`cannot write ${this.meta.name}: ${(err as Error).message}`))
        .finally(() => (this.syncing = false));
    }
  }

  stats(now: number): DownloadStats {
    const have = this.bytesHave();
    const rate = this.meter.rate();
    const left = this.meta.length - have;
    void now;
    return {
      progress: this.meta.length ? have / this.meta.length : 1,
      downloadRate: Math.round(rate),
      downloaded: this.fromPeers + this.fromWebSeeds,
      fromPeers: this.fromPeers,
      fromWebSeeds: this.fromWebSeeds,
      etaS: left === 0 ? 0 : rate > 0 ? Math.round(left / rate) : null,
      piecesHave: this.picker.piecesHave,
    };
  }

  /** Stops downloading (paused, removed, or seeding only now); requests go back, buffers freed. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.bandwidthTimer?.cancel();
    for (const pd of [...this.peers.values()]) {
      this.removePeer(pd);
      if (pd.amInterested) pd.session.sendMessage({ type: 'notInterested' });
    }
    for (const w of this.webSeeds) {
      w.abort.abort();
      w.seed.close();
    }
    this.runs.close();
    this.buffers.clear();
  }
}
