// deadline: 20s
/** The piece picker in tables: rarest first, random first pieces, started pieces first, endgame, web seeds, blame. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_ENDGAME_REQUESTERS, PiecePicker, RANDOM_FIRST_PIECES } from '../../src/seeder/piece-picker';

const B = 16 * 1024;
/** A repeatable [0, 1) sequence. */
function seeded(seed = 1): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}
const all = () => true;
const only = (...pieces: number[]) => (i: number) => pieces.includes(i);

function picker(pieces: number, opts: { pieceLength?: number; length?: number; maxPartial?: number; seed?: number; isSnubbed?: (requester: number) => boolean } = {}): PiecePicker {
  const pieceLength = opts.pieceLength ?? 2 * B;
  return new PiecePicker({
    pieceCount: pieces,
    pieceLength,
    length: opts.length ?? pieces * pieceLength,
    maxPartial: opts.maxPartial ?? 100,
    random: seeded(opts.seed),
    isSnubbed: opts.isSnubbed,
  });
}

test('block sizes: 16 KiB blocks, a short last block of the last piece', () => {
  const p = picker(3, { pieceLength: 40 * 1024, length: 40 * 1024 * 2 + 5000 });
  assert.equal([p.pieceSize(0), p.pieceSize(2)], [40 * 1024, 5000]);
  assert.equal([p.blockCount(0), p.blockCount(2)], [3, 1]);
  assert.equal([p.blockLength(0, 0), p.blockLength(0, 2), p.blockLength(2, 0)], [B, 8 * 1024, 5000]);
});

test('only pieces the peer has; never one we have', () => {
  const p = picker(4);
  p.pieceVerified(1);
  const got = p.pick(1, only(1, 2), 10);
  assert.equal(got, [
    { index: 2, begin: 0, length: B },
    { index: 2, begin: B, length: B },
  ]);
  assert.equal(p.pick(1, only(1), 10), []);
});

test('the first pieces are random among those the peer has, then rarest first', () => {
  const firsts = new Set<number>();
  for (let seed = 1; seed <= 20; seed++) {
    const p = picker(50, { seed });
    firsts.add(p.pick(1, all, 1)[0]!.index);
  }
  assert.ok(firsts.size > 5, `random first piece: ${[...firsts].join(',')}`);

  const p = picker(10, { seed: 3 });
  for (let i = 0; i < RANDOM_FIRST_PIECES; i++) p.pieceVerified(i);
  // availability: piece 7 is the rarest the peer has (1), others 2 or 3
  for (let i = 0; i < 10; i++) for (let k = 0; k < (i === 7 ? 1 : i % 2 ? 2 : 3); k++) p.peerHas(i);
  assert.is(p.pick(1, all, 1)[0]!.index, 7);
  // a seed raises every piece alike, so rarest stays rarest
  p.peerHasAll();
  assert.is(p.availabilityOf(7), 2);
  assert.equal(p.pick(2, only(), 10), [], 'nothing asked of a peer with nothing');
});

test('rarest first: table of availabilities → the piece chosen', () => {
  const rows: { avail: number[]; peerHas: number[]; want: number[] }[] = [
    { avail: [3, 1, 2, 5], peerHas: [0, 1, 2, 3], want: [1] },
    { avail: [3, 1, 2, 5], peerHas: [0, 2, 3], want: [2] },
    { avail: [0, 4, 4, 4], peerHas: [1, 2, 3], want: [1, 2, 3] }, // a tie: any of them
  ];
  for (const r of rows) {
    const p = picker(r.avail.length + RANDOM_FIRST_PIECES);
    for (let i = 0; i < RANDOM_FIRST_PIECES; i++) p.pieceVerified(r.avail.length + i);
    r.avail.forEach((a, i) => {
      for (let k = 0; k < a; k++) p.peerHas(i);
    });
    const got = p.pick(1, only(...r.peerHas), 1)[0]!.index;
    assert.ok(r.want.includes(got), `avail ${r.avail} has ${r.peerHas}: got ${got}, want one of ${r.want}`);
  }
});

test('choosing a piece does not pass over every piece: a seed\'s whole torrent is picked in about n log n looks, not n²', () => {
  const n = 4096;
  const p = picker(n, { maxPartial: n });
  p.peerHasAll();
  let looks = 0;
  const has = () => (looks++, true);
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    const [b] = p.pick(1, has, 1);
    seen.add(b!.index);
    p.pick(1, has, 1); // the piece's second block
  }
  assert.is(seen.size, n, 'every piece, once');
  assert.ok(looks < 20 * n, `${looks} looks for ${n} pieces`);
});

test('started pieces are finished first, by any peer that has them', () => {
  const p = picker(10, { pieceLength: 4 * B });
  const a = p.pick(1, all, 2);
  assert.is(a.length, 2);
  const started = a[0]!.index;
  assert.ok(a.every((b) => b.index === started));
  // another peer gets the rest of that piece before anything new
  const b = p.pick(2, all, 3);
  assert.equal(
    b.map((x) => [x.index, x.begin]),
    [
      [started, 2 * B],
      [started, 3 * B],
      [b[2]!.index, 0],
    ],
  );
  assert.is.not(b[2]!.index, started);
});

test('the pool of partial pieces bounds how many pieces are started', () => {
  const p = picker(10, { maxPartial: 2 });
  assert.is(p.pick(1, all, 100).length, 4, 'two pieces of two blocks');
  assert.is(p.partialCount, 2);
  assert.equal(p.pick(2, all, 100), [], 'no new piece while the pool is full, and no endgame');
  assert.not.ok(p.endgame);
});

test('new pieces per pick bounded by the buffers the caller can reserve; a piece left with no request goes back to unstarted', () => {
  const p = picker(10);
  // table: buffers free → pieces started by a pick of up to 20 blocks (2 blocks a piece)
  for (const [spare, started] of [[0, 0], [1, 1], [3, 3]] as const) {
    const q = picker(10);
    const got = q.pick(1, all, 20, spare);
    assert.is(new Set(got.map((b) => b.index)).size, started, `spare ${spare}`);
    assert.is(q.partialCount, started);
  }
  // free blocks of started pieces come first and need no new buffer
  const first = p.pick(1, all, 1, 1);
  assert.is(first.length, 1);
  assert.equal(p.pick(1, all, 5, 0), [{ index: first[0]!.index, begin: B, length: B }]);
  // started and nothing asked or received: unstarted again; otherwise it stays
  const q = picker(4);
  const [a] = q.pick(1, all, 1, 1);
  assert.ok(q.started(a!.index));
  q.unstart(a!.index);
  assert.ok(q.started(a!.index), 'a block still requested: stays started');
  q.dropped(1, a!.index, a!.begin);
  q.unstart(a!.index);
  assert.not.ok(q.started(a!.index));
  assert.is(q.partialCount, 0);
});

test('a block arrives: fresh once, others asked for it are cancelled, the piece completes', () => {
  const p = picker(RANDOM_FIRST_PIECES + 1);
  for (let i = 1; i <= RANDOM_FIRST_PIECES; i++) p.pieceVerified(i);
  assert.equal(p.pick(1, all, 10).length, 2);
  assert.ok(p.endgame, 'every missing block requested');
  // endgame: peer 2 may ask for the same blocks
  assert.equal(p.pick(2, all, 10).map((b) => b.begin), [0, B]);
  assert.equal(p.pick(3, all, 10).length, MAX_ENDGAME_REQUESTERS > 2 ? 2 : 0, 'at most MAX_ENDGAME_REQUESTERS per block');
  assert.equal(p.received(2, 0, 0), { fresh: true, cancel: [1], pieceComplete: false });
  assert.equal(p.received(1, 0, 0), { fresh: false, cancel: [], pieceComplete: false });
  assert.equal(p.received(1, 0, B), { fresh: true, cancel: [2], pieceComplete: true });
  assert.not.ok(p.wants(0), 'being checked');
  assert.equal(p.contributors(0), [2, 1]);
  p.pieceVerified(0);
  assert.ok(p.complete);
});

test('dropped requests (reject, choke, timeout, peer gone) free their blocks for others', () => {
  const p = picker(RANDOM_FIRST_PIECES + 1);
  for (let i = 1; i <= RANDOM_FIRST_PIECES; i++) p.pieceVerified(i);
  p.pick(1, all, 10);
  p.dropped(1, 0, B);
  assert.not.ok(p.endgame);
  // the freed block first, then (endgame again) a second copy of block 0
  assert.equal(p.pick(2, all, 10), [
    { index: 0, begin: B, length: B },
    { index: 0, begin: 0, length: B },
  ]);
  // dropping a block one does not hold changes nothing
  p.dropped(1, 0, B);
  assert.equal(p.pick(3, all, 10), [{ index: 0, begin: B, length: B }], 'block 0 has its two requesters');
});

test('a failed piece is wanted again, and its contributors are known', () => {
  const p = picker(RANDOM_FIRST_PIECES + 1);
  for (let i = 1; i <= RANDOM_FIRST_PIECES; i++) p.pieceVerified(i);
  p.pick(7, all, 1);
  p.pick(8, all, 1);
  p.received(7, 0, 0);
  assert.ok(p.received(8, 0, B).pieceComplete);
  assert.equal(p.contributors(0), [7, 8]);
  p.pieceFailed(0);
  assert.ok(p.wants(0));
  assert.is(p.pick(9, all, 10).length, 2);
});

test('allowed-fast: a choked peer gets only the pieces the caller lets through', () => {
  const p = picker(8);
  const allowedFast = new Set([5]);
  const got = p.pick(1, (i) => allowedFast.has(i), 10);
  assert.ok(got.every((b) => b.index === 5));
});

test('web seeds take whole unstarted pieces; a failure gives the piece back', () => {
  const p = picker(6, { maxPartial: 3 });
  const [w] = p.pickRun(100, 1);
  assert.ok(w !== undefined);
  // peers do not get blocks of the web seed's piece
  const peer = p.pick(1, all, 100);
  assert.ok(peer.every((b) => b.index !== w));
  // nor is a block of it wanted from a peer that sends one unasked (its bytes are the web seed's to write)
  assert.not.ok(p.wantsBlock(w, 0));
  assert.ok(p.wantsBlock(peer[0]!.index, peer[0]!.begin));
  p.droppedPiece(100, w);
  assert.ok(p.wants(w));
  const again = p.pick(1, only(w), 100);
  assert.equal(again.map((b) => b.index), [w, w]);
  // whole piece arrives block by block
  assert.equal(p.pickRun(100, 1), [], 'pool full (3 partial pieces)');
});

test('web seed runs: consecutive pieces from the start of the longest gap, bounded by maxPieces and the pool', () => {
  // pieces had (h), started by a peer (s) or free (.), and the runs asked for in turn
  const rows: [string, number, number, number[][]][] = [
    // layout, maxPieces, maxPartial, runs
    ['........', 3, 100, [[0, 1, 2], [3, 4, 5], [6, 7], []]],
    ['h..hh....h', 8, 100, [[5, 6, 7, 8], [1, 2], []]],
    ['.s...s..', 2, 100, [[2, 3], [6, 7], [0], [4], []]],
    ['........', 8, 3, [[0, 1, 2], []]],
    ['hhhh', 4, 100, [[]]],
  ];
  for (const [layout, maxPieces, maxPartial, runs] of rows) {
    const p = picker(layout.length, { maxPartial });
    [...layout].forEach((c, i) => c === 'h' && p.pieceVerified(i));
    [...layout].forEach((c, i) => c === 's' && p.pick(1, only(i), 1));
    for (const want of runs) assert.equal(p.pickRun(100, maxPieces), want, `${layout} max ${maxPieces}`);
  }
});

test('web seed runs: every block of a run belongs to the web seed; a run given back is free again', () => {
  const p = picker(4);
  assert.equal(p.pickRun(100, 2), [0, 1]);
  assert.equal(p.pick(1, all, 100).map((b) => b.index), [2, 2, 3, 3]);
  assert.ok(p.received(100, 0, 0).fresh && p.received(100, 0, B).pieceComplete);
  assert.equal(p.contributors(0), [100, 100]);
  p.droppedPiece(100, 1);
  assert.equal(p.pickRun(100, 4), [1]);
});

test('a whole torrent picked by two peers completes with each block received once', () => {
  const p = picker(40, { pieceLength: 3 * B, length: 40 * 3 * B - 100, maxPartial: 4, seed: 9 });
  let received = 0;
  for (let round = 0; round < 1000 && !p.complete; round++) {
    for (const peer of [1, 2]) {
      for (const b of p.pick(peer, all, 3)) {
        const r = p.received(peer, b.index, b.begin);
        if (r.fresh) received++;
        if (r.pieceComplete) p.pieceVerified(b.index);
      }
    }
  }
  assert.ok(p.complete);
  assert.is(received, 40 * 3);
});

test('orphans: started pieces no one is asked for and no connected peer has (web seeds may restart them)', () => {
  const p = picker(4);
  p.peerHas(0);
  p.peerHas(1);
  const got = p.pick(1, only(0, 1), 4);
  assert.equal(got.map((b) => b.index), [0, 0, 1, 1]);
  p.received(1, 0, 0);
  p.dropped(1, 0, B);
  assert.equal(p.orphans(), [], 'the peer that has them is still connected');
  p.peerLost(0);
  p.peerLost(1);
  assert.equal(p.orphans(), [0], 'piece 1 is still asked for');
  p.dropped(1, 1, 0);
  p.dropped(1, 1, B);
  assert.equal(p.orphans(), [0, 1]);
  assert.equal(p.pickRun(100, 2), [2, 3]);
  assert.equal(p.orphans(), [0, 1], "a web seed's run is no orphan");
});

test('snubbed requesters: a block only they were asked for is picked by others before endgame, counts for no one in endgame, and its piece may be an orphan', () => {
  // who is snubbed: the caller's state, which the picker asks
  const snubbed = new Set<number>();
  const isSnubbed = (r: number) => snubbed.has(r);
  const p = picker(4, { isSnubbed });
  p.peerHasAll();
  const first = p.pick(1, all, 1);
  assert.equal(first.length, 1);
  const { index, begin } = first[0]!;
  // not snubbed: the block is requester 1's, others get other blocks
  assert.not.ok(p.pick(2, only(index), 4).some((b) => b.index === index && b.begin === begin));
  snubbed.add(1);
  // snubbed: requester 2 is asked for it too, long before endgame
  assert.not.ok(p.endgame);
  assert.equal(p.pick(2, only(index), 4), [{ index, begin, length: B }]);
  assert.equal(p.pick(3, only(index), 4), [], 'requester 2 is not snubbed: the block is its');
  const r = p.received(2, index, begin);
  assert.equal([...r.cancel], [1], 'the snubbed requester is told to cancel');
  snubbed.delete(1);

  // endgame: two snubbed requesters on a block leave room for a third
  const q = picker(1, { pieceLength: B, length: B, isSnubbed });
  q.peerHasAll();
  assert.is(q.pick(1, all, 1).length, 1);
  assert.ok(q.endgame);
  assert.is(q.pick(2, all, 1).length, 1);
  assert.equal(q.pick(3, all, 1), [], `${MAX_ENDGAME_REQUESTERS} requesters at most`);
  snubbed.add(1);
  snubbed.add(2);
  assert.equal(q.pick(3, all, 1), [{ index: 0, begin: 0, length: B }]);

  // orphans: a started piece only a snubbed requester is asked of, that no one else has
  snubbed.clear();
  const o = picker(2, { isSnubbed });
  o.peerHasAll();
  const got = o.pick(1, only(0), 2);
  o.received(1, 0, got[0]!.begin);
  o.dropped(1, 0, got[1]!.begin);
  assert.is(o.pick(1, only(0), 1).length, 1);
  assert.equal(o.orphans(() => false), [], 'asked of a requester that is not snubbed');
  snubbed.add(1);
  assert.equal(o.orphans(() => false), [0]);
  assert.equal(o.orphans(() => true), [], 'someone else could finish it');
});

test.run();
