// deadline: 20s
/** Piece buffers of a download: made at the first block, SHA-1 as blocks arrive, soft and hard caps. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { BLOCK_SIZE } from '../../src/codec/peer-wire';
import { HASH_STEP, PieceBuffers } from '../../src/seeder/piece-buffers';
import { PiecePool } from '../../src/seeder/piece-pool';

const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

/** Fills piece 0 of `data` block by block in `order`; `hashNow` as the engine passes it. */
async function digestAfter(data: Buffer, order: number[], hashNow = true): Promise<string> {
  const buffers = new PieceBuffers(data.length, () => data.length, { soft: 2, hard: 4 });
  const buf = buffers.open(0)!;
  for (const b of order) {
    data.copy(buf, b * BLOCK_SIZE, b * BLOCK_SIZE, Math.min(data.length, (b + 1) * BLOCK_SIZE));
    buffers.filled(0, b * BLOCK_SIZE, hashNow);
  }
  return (await buffers.digest(0)).toString('hex');
}

test('the digest is the SHA-1 of the piece whatever order its blocks came in', async () => {
  const data = randomBytes(5 * BLOCK_SIZE - 123); // a short last block
  const want = sha1(data);
  const orders = [
    [0, 1, 2, 3, 4],
    [4, 3, 2, 1, 0],
    [1, 0, 3, 2, 4],
    [0, 2, 4, 1, 3],
  ];
  for (const order of orders) assert.is(await digestAfter(Buffer.from(data), order), want, `order ${order}`);
  // a web seed's whole piece: nothing hashed on arrival, all of it in `digest`
  assert.is(await digestAfter(Buffer.from(data), [0, 1, 2, 3, 4], false), want);
});

test('a piece bigger than HASH_STEP is hashed in slices, with a turn of the event loop between them', async () => {
  const data = randomBytes(2 * HASH_STEP + 3 * BLOCK_SIZE);
  const blocks = Math.ceil(data.length / BLOCK_SIZE);
  // last block first: nothing is contiguous from the start until the end
  const order = [blocks - 1, ...Array.from({ length: blocks - 1 }, (_, i) => i)];
  const buffers = new PieceBuffers(data.length, () => data.length, { soft: 1, hard: 1 });
  const buf = buffers.open(0)!;
  for (const b of order.slice(0, -1)) {
    data.copy(buf, b * BLOCK_SIZE, b * BLOCK_SIZE, (b + 1) * BLOCK_SIZE);
    buffers.filled(0, b * BLOCK_SIZE, false);
  }
  const b = order[order.length - 1]!;
  data.copy(buf, b * BLOCK_SIZE, b * BLOCK_SIZE, (b + 1) * BLOCK_SIZE);
  buffers.filled(0, b * BLOCK_SIZE, false);
  // an immediate queued now runs before the digest is ready only if the loop turned in between
  let turned = false;
  setImmediate(() => (turned = true));
  const digest = await buffers.digest(0);
  assert.is(digest.toString('hex'), sha1(data));
  assert.ok(turned, 'the loop turned while hashing');
  // a piece within one slice is hashed without waiting for the loop
  let turnedSmall = false;
  const small = new PieceBuffers(BLOCK_SIZE, () => BLOCK_SIZE, { soft: 1, hard: 1 });
  small.open(0);
  small.filled(0, 0, false);
  setImmediate(() => (turnedSmall = true));
  await small.digest(0);
  assert.not.ok(turnedSmall);
  // arrival in order with hashNow: hashed as it came, in slices of at most HASH_STEP per block
  assert.is(await digestAfter(Buffer.from(data), Array.from({ length: blocks }, (_, i) => i)), sha1(data));
});

test('soft cap: full; hard cap: no more buffers; a released buffer is reused', () => {
  const L = 4 * BLOCK_SIZE;
  const buffers = new PieceBuffers(L, () => L, { soft: 2, hard: 3 });
  const a = buffers.open(0)!;
  assert.is(buffers.open(0), a, 'the same piece, the same buffer');
  assert.not.ok(buffers.full);
  buffers.open(1);
  assert.ok(buffers.full);
  assert.ok(buffers.open(2));
  assert.is(buffers.open(3), undefined, 'hard cap');
  assert.is(buffers.inUse, 3);
  buffers.release(0);
  assert.not.ok(buffers.has(0));
  assert.is(buffers.open(3), a, 'reused');
  buffers.release(9); // not there: nothing happens
  assert.is(buffers.inUse, 3);
});

test('the pool: soft and hard budgets in bytes, one buffer always for a download holding none, reuse by size within the hard budget, trim when idle', () => {
  const K = 1024;
  const pool = new PiecePool({ soft: 64 * K, hard: 96 * K });
  const a = pool.take(32 * K, 0)!;
  const b = pool.take(32 * K, 1)!;
  assert.ok(pool.full);
  assert.is(pool.spare(32 * K, 2), 1, 'one more below the hard budget');
  assert.is(pool.spare(64 * K, 2), 0);
  assert.is(pool.spare(64 * K, 0), 1, 'a download holding none always gets one');
  const c = pool.take(32 * K, 2)!;
  assert.is(pool.inUse, 96 * K);
  assert.is(pool.take(32 * K, 3), undefined, 'hard budget');
  const d = pool.take(16 * K, 0);
  assert.ok(d, 'a download holding none gets one past the hard budget');
  pool.give(d!);
  assert.is(pool.kept, 0, 'not kept: in use and free would pass the hard budget');
  pool.give(a);
  assert.is(pool.take(32 * K, 1), a, 'reused, same size');
  // free ones kept while all (in use and free) are within the hard budget
  for (const x of [a, b, c]) pool.give(x);
  assert.is(pool.inUse, 0);
  assert.is(pool.kept, 96 * K);
  // a new size: free ones of another size make room
  const big = pool.take(64 * K, 0)!;
  assert.is(pool.inUse + pool.kept, 96 * K);
  pool.give(big);
  const e = pool.take(16 * K, 0)!;
  pool.forget(e.length); // still written somewhere: never reused
  assert.is(pool.inUse, 0);
  pool.trim();
  assert.is(pool.kept, 0);
  assert.not.ok(pool.take(32 * K, 0) === a, 'trimmed: a new buffer');
});

test('downloads sharing a pool: full once the pool is (for one holding a buffer), spare counts the pool, clear gives the count back', () => {
  const L = 4 * BLOCK_SIZE;
  const pool = new PiecePool({ soft: 3 * L, hard: 4 * L });
  const one = new PieceBuffers(L, () => L, { soft: 8, hard: 16 }, pool);
  const two = new PieceBuffers(L, () => L, { soft: 8, hard: 16 }, pool);
  assert.is(one.spare, 4, 'the pool\'s hard budget');
  one.open(0);
  one.open(1);
  one.open(2);
  assert.ok(one.full, 'the pool is full');
  assert.is(one.spare, 1);
  assert.not.ok(two.full, 'one holding none may still start a piece');
  assert.is(two.spare, 1);
  assert.ok(one.open(3), 'up to the hard budget');
  assert.is(one.spare, 0);
  assert.is(two.spare, 1, 'one holding none always gets one');
  assert.is(one.open(4), undefined);
  assert.ok(two.open(0), 'the other download gets one');
  assert.is(two.open(1), undefined);
  assert.is(pool.inUse, 5 * L);
  one.release(0);
  one.clear();
  assert.is(pool.inUse, L);
  two.release(0);
  two.clear();
  assert.is(pool.inUse, 0);
  assert.is(pool.kept, 0, 'no download running: the free buffers let go');
});

test.run();
