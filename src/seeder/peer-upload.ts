/**
 * The serving side of one peer connection (BEP 3 requests, BEP 6 rejects): the queue of the
 * peer's requests and the blocks read for it.
 *   - requests are bounded by the piece and the 16 KiB block, queued up to `reqq`; with the
 *     fast extension every request gets exactly one answer (piece or reject), a choke rejects
 *     the queued ones, a cancel is answered with a reject; the overflow of reqq is rejected
 *     (fast) or disconnects;
 *   - at most MAX_BLOCKS_IN_FLIGHT blocks read or buffered per peer (socket backpressure),
 *     each block paid for in the token-bucket tree first.
 * The session (peer-session.ts) owns the connection and calls in; PeerWireError thrown here
 * closes it.
 */
import { pieceSize } from '../codec/metainfo.js';
import { BLOCK_SIZE, PIECE_HEADER_LENGTH, PeerWireError, encodePieceHeader, type Message } from '../codec/peer-wire.js';
import { BufferPool } from '../util/buffer-pool.js';
import type { Clock } from '../util/clock.js';
import type { TokenBucket } from './bandwidth.js';
import type { SessionTorrent } from './peer-session.js';

/** Reason: libtorrent's default is 500, Transmission's 512; 250 keeps a slow router's queue short and still fills a fast link. */
export const REQQ = 250;
/** "No more than a few blocks buffered per unchoked peer": 4 × 16 KiB read or waiting in the socket. */
export const MAX_BLOCKS_IN_FLIGHT = 4;
/** Invalid requests tolerated (each rejected) before we disconnect. */
export const MAX_INVALID_REQUESTS = 20;

/** Piece messages of a full block, reused once the socket has taken them (at most 512 KiB kept). */
const blockBuffers = new BufferPool(PIECE_HEADER_LENGTH + BLOCK_SIZE, 32);

export interface BlockRequest {
  index: number;
  begin: number;
  length: number;
}

/** What the upload queue needs of its session. */
export interface UploadHost {
  readonly clock: Clock;
  readonly torrent: SessionTorrent | undefined;
  readonly peerFast: boolean;
  readonly amChoking: boolean;
  readonly active: boolean;
  readonly bucket: TokenBucket | undefined;
  send(bytes: Uint8Array, done?: () => void): boolean;
  sendMessage(m: Message): void;
  /** Bytes queued in the socket. */
  buffered(): number;
  close(reason: string): void;
  waitBandwidth(ms: number): void;
  uploaded(bytes: number): void;
}

export class UploadQueue {
  private readonly requests: BlockRequest[] = [];
  private inFlight = 0;
  private waitingBandwidth = false;
  private invalidRequests = 0;
  uploadedBytes = 0;

  constructor(private readonly host: UploadHost) {}

  get length(): number {
    return this.requests.length;
  }
  get blocksInFlight(): number {
    return this.inFlight;
  }

  clear(): void {
    this.requests.length = 0;
  }

  onRequest(r: BlockRequest): void {
    const t = this.host.torrent!;
    // BEP 3: clients "close connections which request an amount greater than" 16 KiB.
    if (r.length > BLOCK_SIZE) throw new PeerWireError(`request of ${r.length} bytes, more than ${BLOCK_SIZE}`);
    const inBounds = r.index < t.meta.pieceCount && r.length > 0 && r.begin + r.length <= pieceSize(t.meta, r.index);
    if (!inBounds) {
      if (!this.host.peerFast || ++this.invalidRequests > MAX_INVALID_REQUESTS)
        throw new PeerWireError(`request past the end of piece ${r.index} (begin ${r.begin}, length ${r.length})`);
      return this.reject(r);
    }
    // BEP 3: requests while choked are discarded; BEP 6 answers them with a reject.
    if (this.host.amChoking || !t.available(r.index)) return this.reject(r);
    if (this.requests.length >= REQQ) {
      if (!this.host.peerFast) throw new PeerWireError(`more than reqq=${REQQ} requests queued`);
      return this.reject(r);
    }
    this.requests.push({ index: r.index, begin: r.begin, length: r.length });
    this.pump();
  }

  onCancel(m: BlockRequest): void {
    const i = this.requests.findIndex((r) => r.index === m.index && r.begin === m.begin && r.length === m.length);
    if (i < 0) return;
    this.requests.splice(i, 1);
    // BEP 6: with the fast extension a cancelled request still gets its one answer.
    if (this.host.peerFast) this.host.sendMessage({ type: 'reject', index: m.index, begin: m.begin, length: m.length });
  }

  /** We choked the peer. BEP 6: a choke no longer implies the queued requests are dropped: reject each one. */
  choked(): void {
    for (const r of this.requests) this.reject(r);
    this.requests.length = 0;
  }

  private reject(r: BlockRequest): void {
    if (this.host.peerFast) this.host.sendMessage({ type: 'reject', index: r.index, begin: r.begin, length: r.length });
  }

  /** Serves queued requests within the bandwidth budget and the per-peer buffer bound. */
  pump(): void {
    const h = this.host;
    const t = h.torrent;
    if (!t || !h.active || this.waitingBandwidth) return;
    const bucket = h.bucket ?? t.bucket;
    while (!h.amChoking && this.requests.length > 0 && this.inFlight + Math.ceil(h.buffered() / BLOCK_SIZE) < MAX_BLOCKS_IN_FLIGHT) {
      const now = h.clock.now();
      if (!bucket.canSend(now)) {
        this.waitingBandwidth = true;
        h.waitBandwidth(bucket.waitMs(now));
        return;
      }
      const r = this.requests.shift()!;
      bucket.consume(r.length + PIECE_HEADER_LENGTH, now);
      const msg = r.length === BLOCK_SIZE ? blockBuffers.get() : Buffer.allocUnsafe(PIECE_HEADER_LENGTH + r.length);
      encodePieceHeader(r.index, r.begin, r.length, msg);
      if (t.readBlockCached?.(r.index, r.begin, msg.subarray(PIECE_HEADER_LENGTH))) {
        this.sendBlock(r, msg);
        continue;
      }
      this.inFlight++;
      t.readBlock(r.index, r.begin, msg.subarray(PIECE_HEADER_LENGTH)).then(
        (ok) => this.blockRead(r, msg, ok),
        () => this.blockRead(r, msg, false),
      );
    }
  }

  /** A bandwidth wait is over. */
  bandwidthAvailable(): void {
    this.waitingBandwidth = false;
    this.pump();
  }

  private blockRead(r: BlockRequest, msg: Buffer, ok: boolean): void {
    try {
      this.inFlight--;
      if (!this.host.active) return blockBuffers.release(msg);
      if (ok) this.sendBlock(r, msg);
      else {
        blockBuffers.release(msg);
        this.reject(r); // a piece that fails or cannot be read is never sent
      }
      this.pump();
    } catch (err) {
      this.host.close(`internal error: ${(err as Error).message}`);
    }
  }

  private sendBlock(r: BlockRequest, msg: Buffer): void {
    this.host.send(msg, () => blockBuffers.release(msg));
    this.uploadedBytes += r.length;
    this.host.uploaded(r.length);
  }
}
