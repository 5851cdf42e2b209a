/**
 * Read-ahead cache shared by every torrent: aligned chunks of a torrent's data, least
 * recently used dropped first, bounded in bytes. Peers fetch a piece block by block in
 * order, so one 256 KiB read serves sixteen 16 KiB requests: sixteen times fewer trips
 * through the thread pool, and a block already in the cache is served without waiting.
 * Memory is bounded by `maxBytes` whatever the number of torrents and peers.
 */
import { BufferPool } from '../util/buffer-pool.js';

/** Reason: a common piece size; blocks (16 KiB, aligned) never straddle two chunks. */
export const CHUNK_SIZE = 256 * 1024;
/** Reason: two chunks for each of four unchoked peers, small next to a 64 MiB heap (4 MiB measured no faster). */
export const DEFAULT_CACHE_BYTES = 2 * 1024 * 1024;
/** Seconds of a limited upload rate the cache holds. Reason: with the shipped 256 KiB/s, 4 s is one chunk per upload slot (1 MiB, 1 MiB less at the peaks of bench/router.mjs). */
export const CACHE_SECONDS = 4;

/**
 * The cache's size for an upload limit (bytes/s, 0: none): unlimited, DEFAULT_CACHE_BYTES;
 * limited, CACHE_SECONDS of the rate, at least one chunk per upload slot (each unchoked peer
 * reads its piece in order: its chunk serves sixteen requests), at most DEFAULT_CACHE_BYTES.
 */
export function readCacheBytes(uploadRate: number, uploadSlots: number): number {
  if (uploadRate <= 0) return DEFAULT_CACHE_BYTES;
  return Math.min(DEFAULT_CACHE_BYTES, Math.max(uploadSlots * CHUNK_SIZE, uploadRate * CACHE_SECONDS));
}

/** Evicted chunk buffers kept for reuse under a bound: half the chunks it holds, at least 2. */
const spareChunks = (maxBytes: number): number => Math.max(2, Math.floor(maxBytes / CHUNK_SIZE / 2));

export class ReadCache {
  private readonly chunks = new Map<string, Buffer>();
  private readonly loading = new Map<string, Promise<Buffer | undefined>>();
  private bytes = 0;
  /**
   * Full-size chunk buffers evicted from the cache, reused for the next reads. Safe: a
   * reader copies out of a chunk in the same microtask run that resolved its load, and an
   * eviction only happens when a later load completes (an I/O callback, after that run) or
   * the bound changes (a reload: a task of its own).
   */
  readonly buffers: BufferPool;

  constructor(private maxBytes = DEFAULT_CACHE_BYTES) {
    this.buffers = new BufferPool(CHUNK_SIZE, spareChunks(maxBytes));
  }

  get size(): number {
    return this.bytes;
  }

  /** A new bound (the upload limit changed): least recently used chunks go until it is met, and the spare buffers kept follow it. */
  resize(maxBytes: number): void {
    this.maxBytes = maxBytes;
    this.evict();
    this.buffers.setMaxFree(spareChunks(maxBytes));
  }

  get(owner: number, chunk: number): Buffer | undefined {
    const key = `${owner}:${chunk}`;
    const b = this.chunks.get(key);
    if (b) {
      this.chunks.delete(key);
      this.chunks.set(key, b);
    }
    return b;
  }

  /** The chunk, loading it once however many callers want it at the same time. */
  load(owner: number, chunk: number, read: () => Promise<Buffer | undefined>): Promise<Buffer | undefined> {
    const hit = this.get(owner, chunk);
    if (hit) return Promise.resolve(hit);
    const key = `${owner}:${chunk}`;
    let p = this.loading.get(key);
    if (!p) {
      p = read()
        .then((b) => {
          if (b && this.loading.get(key) === p) this.put(key, b);
          return b;
        })
        .finally(() => {
          if (this.loading.get(key) === p) this.loading.delete(key);
        });
      this.loading.set(key, p);
    }
    return p;
  }

  private put(key: string, b: Buffer): void {
    if (b.length > this.maxBytes) return;
    this.chunks.set(key, b);
    this.bytes += b.length;
    this.evict();
  }

  private evict(): void {
    for (const [k, v] of this.chunks) {
      if (this.bytes <= this.maxBytes) break;
      this.chunks.delete(k);
      this.bytes -= v.length;
      this.buffers.release(v);
    }
  }

  /** Forgets chunks `first`…`last` of `owner` (bytes there were just written). */
  dropRange(owner: number, first: number, last: number): void {
    for (let c = first; c <= last; c++) {
      const key = `${owner}:${c}`;
      const v = this.chunks.get(key);
      if (v) {
        this.chunks.delete(key);
        this.bytes -= v.length;
      }
      this.loading.delete(key);
    }
  }

  /** Forgets every chunk of `owner` (its files changed or it was removed). */
  drop(owner: number): void {
    const prefix = `${owner}:`;
    for (const [k, v] of this.chunks) {
      if (!k.startsWith(prefix)) continue;
      this.chunks.delete(k);
      this.bytes -= v.length;
    }
    for (const k of this.loading.keys()) if (k.startsWith(prefix)) this.loading.delete(k);
  }
}
