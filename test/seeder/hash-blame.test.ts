// deadline: 10s
/** Who is blamed for a failed piece: strikes per address, bans at BAN_STRIKES, web seeds never struck here. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BAN_STRIKES, HashBlame } from '../../src/seeder/hash-blame';

const B = 16 * 1024;
/** A piece of `blocks` blocks, block b filled with `fill[b]`. */
const piece = (...fill: number[]) => Buffer.concat(fill.map((f) => Buffer.alloc(B, f)));
const addresses: Record<number, string> = { 1: '10.0.0.1', 2: '10.0.0.2', 3: '10.0.0.3' };
const blame = () => new HashBlame((id) => addresses[id]);

test(`a sole sender of a whole failed piece is struck at once; banned at ${BAN_STRIKES} strikes, once`, () => {
  const b = blame();
  assert.equal(b.failed(0, piece(9, 9), [1, 1]), []);
  assert.equal(b.failed(1, piece(9, 9), [1, 1]), [{ address: '10.0.0.1', strikes: 2 }]);
  assert.ok(b.banned.has('10.0.0.1'));
  assert.equal(b.failed(2, piece(9, 9), [1, 1]), [], 'a banned address is not banned again');
});

test('a shared failed piece strikes no one until it passes; then only the sender of a block that differs', () => {
  const b = blame();
  // peer 2 sent the bad second block
  assert.equal(b.failed(5, piece(1, 66), [1, 2]), []);
  assert.equal(b.passed(5, piece(1, 2)), []);
  assert.equal(b.banned.size, 0);
  // again: its second strike bans it; peer 1, whose block was right both times, stays
  assert.equal(b.failed(6, piece(1, 66), [1, 2]), []);
  assert.equal(b.passed(6, piece(1, 2)), [{ address: '10.0.0.2', strikes: 2 }]);
  assert.equal([...b.banned], ['10.0.0.2']);
});

test('a passed piece is forgotten: passing again strikes no one', () => {
  const b = blame();
  b.failed(3, piece(1, 66), [1, 2]);
  b.passed(3, piece(1, 2));
  b.failed(4, piece(1, 66), [1, 2]);
  assert.equal(b.passed(3, piece(1, 2)), []);
  assert.equal(b.banned.size, 0);
});

test('a web seed (no address) is never struck', () => {
  const b = blame();
  assert.equal(b.failed(0, piece(7, 7), [99, 99]), []);
  assert.equal(b.failed(1, piece(7, 7), [99, 99]), []);
  assert.equal(b.failed(2, piece(7, 66), [99, 3]), []);
  assert.equal(b.passed(2, piece(7, 7)), []);
  assert.equal(b.banned.size, 0);
});

test('the copies kept of a piece that keeps failing are bounded: the oldest are forgotten', () => {
  const b = blame();
  // peer 2 has one strike already: a second would ban it
  b.failed(0, piece(5, 5), [2, 2]);
  // an early failed copy of piece 8 whose bad block came from peer 2, then five from peer 3
  b.failed(8, piece(1, 66), [1, 2]);
  for (let i = 0; i < 5; i++) b.failed(8, piece(1, 66), [1, 3]);
  // only the latest four copies are kept: peer 2's is forgotten, so passing strikes peer 3 alone
  assert.equal(b.passed(8, piece(1, 2)), []);
  assert.equal(b.banned.size, 0);
});

test.run();
