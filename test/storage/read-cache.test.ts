// deadline: 10s
/** The read cache: its size for an upload limit, and a new bound evicting the least recently used chunks. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CHUNK_SIZE, DEFAULT_CACHE_BYTES, ReadCache, readCacheBytes } from '../../src/storage/read-cache';

const KiB = 1024;
const MiB = 1024 * KiB;

test('the cache is sized for the upload limit: one chunk per slot at least, 2 MiB at most or unlimited', () => {
  const table: [rate: number, slots: number, bytes: number][] = [
    [0, 4, DEFAULT_CACHE_BYTES], // unlimited
    [256 * KiB, 4, 1 * MiB], // the shipped limit and slots: 4 s of it, one chunk per slot
    [64 * KiB, 4, 4 * CHUNK_SIZE], // slower: still one chunk per slot
    [64 * KiB, 6, 6 * CHUNK_SIZE],
    [384 * KiB, 4, 1.5 * MiB],
    [10 * MiB, 4, DEFAULT_CACHE_BYTES], // fast: the most
    [128 * KiB, 50, DEFAULT_CACHE_BYTES], // many slots: the most
  ];
  for (const [rate, slots, bytes] of table) assert.is(readCacheBytes(rate, slots), bytes, `${rate} B/s, ${slots} slots`);
});

test('a smaller bound evicts the least recently used chunks, their buffers kept for reuse', async () => {
  const cache = new ReadCache(4 * CHUNK_SIZE);
  for (let c = 0; c < 4; c++) await cache.load(1, c, async () => Buffer.alloc(CHUNK_SIZE, c));
  assert.is(cache.size, 4 * CHUNK_SIZE);
  cache.get(1, 0); // chunk 0 used last: kept
  cache.resize(2 * CHUNK_SIZE);
  assert.is(cache.size, 2 * CHUNK_SIZE);
  assert.ok(cache.get(1, 0), 'the chunk used last stays');
  assert.ok(cache.get(1, 3), 'the chunk loaded last stays');
  assert.is(cache.get(1, 1), undefined);
  assert.is(cache.get(1, 2), undefined);
  assert.is(cache.buffers.freeCount, 2, 'the evicted buffers are reused by the next reads');
  // from 2 MiB to 1 MiB: four chunks evicted, but only the smaller bound's spares kept
  const big = new ReadCache(8 * CHUNK_SIZE);
  for (let c = 0; c < 8; c++) await big.load(1, c, async () => Buffer.alloc(CHUNK_SIZE, c));
  big.resize(4 * CHUNK_SIZE);
  assert.is(big.size, 4 * CHUNK_SIZE);
  assert.is(big.buffers.freeCount, 2, 'spare buffers past the new bound are let go');
  // a larger bound evicts nothing, and loads fill it
  cache.resize(3 * CHUNK_SIZE);
  await cache.load(1, 5, async () => Buffer.alloc(CHUNK_SIZE, 5));
  assert.is(cache.size, 3 * CHUNK_SIZE);
});

test.run();
