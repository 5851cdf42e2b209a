/**
 * The memory of a download (mirror mode): one buffer per piece whose blocks are asked for or
 * arriving (reserved when a peer is asked for the piece's first blocks, `spare`; a web seed's
 * when its bytes arrive), reused from the pool, and its SHA-1 (BEP 3: "the SHA1 hash of the
 * piece") computed as the blocks arrive in order, so a complete piece is checked at once,
 * with no copy and no pass over its bytes at the end.
 *
 *   - `hard` buffers: the most there may be, and so the most pieces peers are asked for at
 *     once (a write that lags holds the download back instead of growing memory);
 *   - `soft` buffers in use (`full`): a web seed's read takes no new one until one is
 *     released, so peers keep the room between the two.
 * The buffers come from the pool every download shares (piece-pool.ts), whose byte budget
 * bounds all downloads together the same way; released ones go back to it.
 * A web seed's bytes are hashed as each socket read lands in the piece (`hashTo`), while
 * they are in the CPU's cache. Bytes not hashed on arrival (a block out of order) are hashed
 * at the end in HASH_STEP slices with a turn of the event loop between them, so a big piece
 * never blocks the loop. With a hash thread running (hash-thread.ts, started by a fast
 * download), a piece none of whose bytes were hashed on arrival (a web seed's) is hashed
 * there instead: its buffer moves to the thread and back, no copy.
 */
import { createHash, type Hash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { BLOCK_SIZE } from '../codec/peer-wire.js';
import { PiecePool } from './piece-pool.js';
import type { PieceHasher } from './hash-thread.js';

/** Reason: 1 MiB of SHA-1 is about 2 ms on a router's core; the loop turns between slices. */
export const HASH_STEP = 1 << 20;

interface PieceBuffer {
  buf: Buffer;
  size: number;
  hash: Hash;
  /** Bytes hashed from the start of the piece. */
  hashed: number;
  /** Per block: its bytes are in `buf`. */
  got: Uint8Array;
  /** `buf` is on the hash thread (detached here). */
  away: boolean;
}

export class PieceBuffers {
  private readonly pieces = new Map<number, PieceBuffer>();

  constructor(
    private readonly pieceLength: number,
    private readonly pieceSize: (index: number) => number,
    readonly limits: { soft: number; hard: number },
    /** Shared by every download (default: one of its own, no budget beyond `limits`). */
    private readonly pool = new PiecePool({ soft: Infinity, hard: Infinity }),
    /** Hashes whole pieces off the main thread while it is `ready` (none: all on this one). */
    private readonly hasher?: PieceHasher,
  ) {}

  get inUse(): number {
    return this.pieces.size;
  }

  /** `soft` buffers in use (or the pool's soft budget, while this download holds one): a web seed's read opens no new one until one is released. */
  get full(): boolean {
    return this.pieces.size >= this.limits.soft || (this.pool.full && this.pieces.size > 0);
  }

  /** Buffers `open` would make now, within `hard` and the pool's budget (peers' pieces reserve theirs before their blocks are asked for). */
  get spare(): number {
    return Math.max(0, Math.min(this.limits.hard - this.pieces.size, this.pool.spare(this.pieceLength, this.pieces.size)));
  }

  has(index: number): boolean {
    return this.pieces.has(index);
  }

  /** The piece's buffer, made if needed; undefined when `hard` buffers are in use. */
  open(index: number): Buffer | undefined {
    const p = this.pieces.get(index);
    if (p) return p.buf;
    if (this.pieces.size >= this.limits.hard) return undefined;
    const buf = this.pool.take(this.pieceLength, this.pieces.size);
    if (!buf) return undefined;
    const size = this.pieceSize(index);
    this.pieces.set(index, { buf, size, hash: createHash('sha1'), hashed: 0, got: new Uint8Array(Math.ceil(size / BLOCK_SIZE)), away: false });
    return buf;
  }

  /** The first `size` bytes of the piece's buffer (its data once complete). */
  data(index: number): Buffer {
    const p = this.pieces.get(index)!;
    return p.buf.subarray(0, p.size);
  }

  /** Block at `begin` is in the buffer; hash what now follows the hashed part (`hashNow` false: leave it to `digest`). */
  filled(index: number, begin: number, hashNow = true): void {
    const p = this.pieces.get(index);
    if (!p) return;
    p.got[begin / BLOCK_SIZE] = 1;
    if (!hashNow) return;
    let b = p.hashed / BLOCK_SIZE;
    if (b !== begin / BLOCK_SIZE) return;
    const start = p.hashed;
    while (b < p.got.length && p.got[b] === 1) b++;
    // (a block that closes a long gap: at most HASH_STEP now, the rest in `digest`)
    const end = Math.min(b * BLOCK_SIZE, p.size, start + HASH_STEP);
    p.hash.update(p.buf.subarray(start, end));
    p.hashed = end;
  }

  /** Bytes [0, end) of the piece are in its buffer (a web seed's, as they arrive): hash what follows the hashed part (none while the hash thread is ready: the whole piece goes there). */
  hashTo(index: number, end: number): void {
    const p = this.pieces.get(index);
    if (!p || end <= p.hashed || (p.hashed === 0 && this.hasher?.ready)) return;
    p.hash.update(p.buf.subarray(p.hashed, end));
    p.hashed = end;
  }

  /**
   * SHA-1 of the complete piece: on the hash thread when none of it is hashed yet and the
   * thread is ready (rejects with a HashThreadError if the thread fails: the piece is gone from
   * here, its bytes lost, not wrong); else the bytes not hashed yet in HASH_STEP slices, a
   * turn of the loop between them. Take `data(index)` after it: the buffer may be another.
   */
  async digest(index: number): Promise<Buffer> {
    const p = this.pieces.get(index)!;
    const h = this.hasher;
    if (p.hashed === 0 && h?.ready && h.canTake(p.buf)) {
      p.away = true;
      try {
        const r = await h.digest(p.buf, p.size);
        // (released meanwhile: the pool counted it out then, the buffer is left to the GC)
        p.away = false;
        p.buf = r.buf;
        return r.digest;
      } catch (err) {
        if (this.pieces.get(index) === p) {
          this.pieces.delete(index);
          this.pool.forget(this.pieceLength);
        }
        throw err;
      }
    }
    for (let slice = 0; p.hashed < p.size; slice++) {
      if (slice > 0) await nextTurn();
      const end = Math.min(p.size, p.hashed + HASH_STEP);
      p.hash.update(p.buf.subarray(p.hashed, end));
      p.hashed = end;
    }
    return p.hash.digest();
  }

  /** The piece is checked (and written) or given up: its buffer goes back to the pool. */
  release(index: number): void {
    const p = this.pieces.get(index);
    if (!p) return;
    this.pieces.delete(index);
    // (on the hash thread: it leaves the count; what comes back is left to the GC)
    if (p.away) this.pool.forget(this.pieceLength);
    else this.pool.give(p.buf);
  }

  /** The download stops: its buffers leave the pool's count, not reused (a write may still hold one); with no other download, the pool lets its free ones go. */
  clear(): void {
    for (let n = this.pieces.size; n > 0; n--) this.pool.forget(this.pieceLength);
    this.pieces.clear();
    this.pool.trim();
  }
}
