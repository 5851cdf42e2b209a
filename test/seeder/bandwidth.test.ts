// deadline: 20s
/** Token buckets driven by a simulated clock: the rate holds over simulated time, at every level. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MIN_CAPACITY, RateMeter, TokenBucket } from '../../src/seeder/bandwidth';

const BLOCK = 16 * 1024;

/** Sends blocks through `leaves` round-robin whenever allowed, for `ms` of simulated time in 1 ms steps. */
function simulate(leaves: TokenBucket[], ms: number, start = 0): number[] {
  const sent = leaves.map(() => 0);
  for (let now = start; now < start + ms; now++) {
    for (let i = 0; i < leaves.length; i++) {
      while (leaves[i]!.canSend(now)) {
        leaves[i]!.consume(BLOCK, now);
        sent[i]! += BLOCK;
      }
    }
  }
  return sent;
}

test('a global limit holds over 60 simulated seconds', () => {
  const rate = 256 * 1024;
  const global = new TokenBucket(0, rate);
  const peer = new TokenBucket(0, 0, new TokenBucket(0, 0, global));
  const [sent] = simulate([peer], 60_000);
  const expected = rate * 60;
  // at most the burst (a tenth of a second, at least a block) and one block of debt more
  assert.ok(sent! <= expected + Math.max(MIN_CAPACITY, rate * 0.1) + BLOCK, `${sent} > ${expected}`);
  assert.ok(sent! >= expected - BLOCK, `${sent} < ${expected}`);
});

test('torrent limits under a global limit: each torrent gets its own cap, the sum the global cap', () => {
  const global = new TokenBucket(0, 1000 * 1024);
  const t1 = new TokenBucket(0, 100 * 1024, global);
  const t2 = new TokenBucket(0, 0, global); // only the global limit
  const sent = simulate([new TokenBucket(0, 0, t1), new TokenBucket(0, 0, t2)], 30_000);
  const within = (x: number, want: number) => Math.abs(x - want) <= want * 0.01 + 3 * BLOCK;
  assert.ok(within(sent[0]!, 100 * 1024 * 30), `torrent 1 sent ${sent[0]}`);
  assert.ok(within(sent[0]! + sent[1]!, 1000 * 1024 * 30), `together ${sent[0]! + sent[1]!}`);
});

test('0 means unlimited at every level', () => {
  const leaf = new TokenBucket(0, 0, new TokenBucket(0, 0, new TokenBucket(0, 0)));
  for (let i = 0; i < 1000; i++) {
    assert.ok(leaf.canSend(0));
    leaf.consume(BLOCK, 0);
  }
  assert.is(leaf.waitMs(0), 0);
});

test('waitMs says when a blocked sender may send again', () => {
  const rate = 100 * 1024;
  const b = new TokenBucket(0, rate);
  while (b.canSend(0)) b.consume(BLOCK, 0);
  const wait = b.waitMs(0);
  assert.ok(wait > 0);
  assert.not.ok(b.canSend(wait - 1));
  assert.ok(b.canSend(wait));
});

test('changing the rate takes effect at once (reload)', () => {
  const b = new TokenBucket(0, 1024 * 1024);
  simulate([b], 1000);
  b.setRate(64 * 1024, 1000);
  const [sent] = simulate([b], 10_000, 1000);
  assert.ok(sent! <= 64 * 1024 * 10 + 2 * BLOCK + MIN_CAPACITY, `${sent}`);
  b.setRate(0, 11_000);
  assert.ok(b.canSend(11_000));
});

test('rate meter: bytes per second over its window', () => {
  const m = new RateMeter(5000);
  for (let s = 0; s <= 10; s++) m.sample(s * 1000, s * 50_000);
  assert.is(m.rate(), 50_000);
});

test.run();
