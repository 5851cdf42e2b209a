// deadline: 30s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashFiles, type StreamFile } from '../../src/storage/piece-hasher';
import { splitPieces } from '../../src/storage/hash-threads';
import { deadline, tempDir } from '../helpers';

/** Reference: SHA-1 of each piece of the concatenated bytes. */
function expected(data: Buffer, pieceLength: number): string[] {
  const out: string[] = [];
  for (let at = 0; at < data.length; at += pieceLength) out.push(createHash('sha1').update(data.subarray(at, at + pieceLength)).digest('hex'));
  return out;
}

async function run(files: StreamFile[], pieceLength: number, chunkSize?: number) {
  const pieces: (string | undefined)[] = [];
  let lastDone = -1;
  const problems = await hashFiles(files, {
    pieceLength,
    ...(chunkSize ? { chunkSize } : {}),
    onPiece: (i, d) => {
      assert.is(i, pieces.length, 'pieces come in order');
      pieces.push(d?.toString('hex'));
    },
    onProgress: (done) => {
      assert.ok(done >= lastDone, 'progress never goes back');
      lastDone = done;
    },
  });
  return { pieces, problems, lastDone };
}

test(
  'pieces span file boundaries; chunk size does not change the result',
  deadline(20000, async () => {
    const dir = tempDir();
    try {
      const sizes = [0, 1, 16383, 16385, 70000, 3, 0, 40000];
      const parts = sizes.map((n) => randomBytes(n));
      const files = parts.map((p, i) => {
        const path = join(dir.path, `f${i}`);
        writeFileSync(path, p);
        return { path, length: p.length };
      });
      const all = Buffer.concat(parts);
      for (const pl of [16384, 32768, 1 << 20]) {
        for (const chunk of [16384, 65536, undefined]) {
          const r = await run(files, pl, chunk);
          assert.equal(r.problems, []);
          assert.equal(r.pieces, expected(all, pl), `piece length ${pl}, chunk ${chunk}`);
          assert.is(r.lastDone, all.length);
        }
      }
    } finally {
      dir.remove();
    }
  }),
);

test(
  'missing, short, long and folder-instead-of-file: problems named, touched pieces undefined, others good',
  deadline(20000, async () => {
    const dir = tempDir();
    try {
      const pl = 16384;
      const a = randomBytes(pl * 2); // pieces 0-1
      const b = randomBytes(pl); // piece 2 (will be missing)
      const c = randomBytes(pl + 100); // piece 3 and part of 4 (will be short)
      const d = randomBytes(pl * 2 - 100); // rest of 4, piece 5 (will be long)
      const e = randomBytes(pl); // piece 6 (a folder on disk)
      const f = randomBytes(10); // piece 7
      const p = (n: string) => join(dir.path, n);
      writeFileSync(p('a'), a);
      writeFileSync(p('c'), c.subarray(0, 50));
      writeFileSync(p('d'), Buffer.concat([d, Buffer.from('extra')]));
      mkdirSync(p('e'));
      writeFileSync(p('f'), f);
      const files = [
        { path: p('a'), length: a.length },
        { path: p('b'), length: b.length },
        { path: p('c'), length: c.length },
        { path: p('d'), length: d.length },
        { path: p('e'), length: e.length },
        { path: p('f'), length: f.length },
      ];
      const r = await run(files, pl);
      assert.equal(r.problems, [
        { file: 1, kind: 'missing' },
        { file: 2, kind: 'short', size: 50 },
        { file: 3, kind: 'long', size: d.length + 5 },
        { file: 4, kind: 'not-a-file' },
      ]);
      const want = expected(Buffer.concat([a, b, c, d, e, f]), pl);
      assert.is(r.pieces.length, 8);
      assert.equal(r.pieces.slice(0, 2), want.slice(0, 2));
      assert.equal(r.pieces.slice(2, 5), [undefined, undefined, undefined]);
      assert.is(r.pieces[5], want[5]); // file d is whole up to its length
      assert.is(r.pieces[6], undefined);
      assert.is(r.pieces[7], want[7]);
      assert.is(r.lastDone, want.length > 0 ? a.length + b.length + c.length + d.length + e.length + f.length : 0);
    } finally {
      dir.remove();
    }
  }),
);

test(
  'padding files hash as zeros without being read',
  deadline(10000, async () => {
    const dir = tempDir();
    try {
      const a = randomBytes(100);
      writeFileSync(join(dir.path, 'a'), a);
      const r = await run(
        [
          { path: join(dir.path, 'a'), length: 100 },
          { path: join(dir.path, 'no-such-pad'), length: 16284, padding: true },
        ],
        16384,
      );
      assert.equal(r.problems, []);
      assert.equal(r.pieces, expected(Buffer.concat([a, Buffer.alloc(16284)]), 16384));
    } finally {
      dir.remove();
    }
  }),
);

test(
  'a file truncated after being listed is short; a sparse file of the right size hashes',
  deadline(10000, async () => {
    const dir = tempDir();
    try {
      const path = join(dir.path, 'sparse');
      writeFileSync(path, '');
      truncateSync(path, 1 << 20);
      const r = await run([{ path, length: 1 << 20 }], 1 << 18);
      assert.equal(r.pieces, expected(Buffer.alloc(1 << 20), 1 << 18));
      const r2 = await run([{ path, length: (1 << 20) + 1 }], 1 << 18);
      assert.equal(r2.problems, [{ file: 0, kind: 'short', size: 1 << 20 }]);
      assert.is(r2.pieces.length, 5);
      assert.is(r2.pieces[4], undefined);
    } finally {
      dir.remove();
    }
  }),
);

/** Pieces [first, end) hashed alone: indices from `first`, in order, and the range's byte count as progress. */
async function runRange(files: StreamFile[], pieceLength: number, first: number, end: number, chunkSize?: number) {
  const pieces: (string | undefined)[] = [];
  let lastDone = 0;
  const problems = await hashFiles(files, {
    pieceLength,
    pieces: { first, end },
    ...(chunkSize ? { chunkSize } : {}),
    onPiece: (i, d) => {
      assert.is(i, first + pieces.length, 'pieces come in order from the first of the range');
      pieces.push(d?.toString('hex'));
    },
    onProgress: (done) => (lastDone = done),
  });
  return { pieces, problems, lastDone };
}

test(
  "a piece range (one hashing thread's share) gives the pieces of the whole, across file boundaries and padding",
  deadline(20000, async () => {
    const dir = tempDir();
    try {
      const sizes = [0, 1, 16383, 16385, 70000, 3, 0, 40000, 5000];
      const parts = sizes.map((n) => randomBytes(n));
      const files: StreamFile[] = parts.map((p, i) => {
        const path = join(dir.path, `f${i}`);
        if (i !== 6) writeFileSync(path, p);
        // file 6 is empty and padding: never read
        return { path, length: p.length, ...(i === 6 ? { padding: true } : {}) };
      });
      files.splice(4, 0, { path: join(dir.path, 'pad'), length: 1000, padding: true });
      parts.splice(4, 0, Buffer.alloc(1000));
      const all = Buffer.concat(parts);
      for (const pl of [16384, 32768]) {
        const want = expected(all, pl);
        const n = want.length;
        for (const cuts of [[0, n], [0, 1, n], [0, 2, 3, n], [0, n - 1, n], [0, 0, n], [1, 1]]) {
          for (let k = 0; k + 1 < cuts.length; k++) {
            const r = await runRange(files, pl, cuts[k]!, cuts[k + 1]!, 16384);
            assert.equal(r.problems, []);
            assert.equal(r.pieces, want.slice(cuts[k], cuts[k + 1]), `piece length ${pl}, pieces ${cuts[k]}..${cuts[k + 1]}`);
            assert.is(r.lastDone, Math.min(all.length, cuts[k + 1]! * pl) - Math.min(all.length, cuts[k]! * pl));
          }
        }
      }
      // a missing file is a problem only for the range that holds its bytes
      const gone = [...files];
      gone[5] = { path: join(dir.path, 'gone'), length: files[5]!.length };
      const pl = 16384;
      const n = expected(all, pl).length;
      const inRange = await runRange(gone, pl, 1, n, 16384);
      assert.equal(inRange.problems, [{ file: 5, kind: 'missing' }]);
      const before = await runRange(gone, pl, 0, 1, 16384);
      assert.equal(before.problems, []);
      for (const [a, b] of [
        [2, 1],
        [0, n + 1],
        [-1, 1],
      ] as const) {
        const err = await runRange(files, pl, a, b).then(() => undefined, (e: Error) => e);
        assert.instance(err, RangeError, `pieces ${a}..${b}`);
      }
    } finally {
      dir.remove();
    }
  }),
);

test('hashing threads share the pieces in contiguous, nearly equal, non-empty ranges', () => {
  assert.equal(splitPieces(10, 1), [{ first: 0, end: 10 }]);
  assert.equal(splitPieces(10, 3), [
    { first: 0, end: 3 },
    { first: 3, end: 6 },
    { first: 6, end: 10 },
  ]);
  // never more threads than pieces, never none
  assert.equal(splitPieces(2, 8), [
    { first: 0, end: 1 },
    { first: 1, end: 2 },
  ]);
  assert.equal(splitPieces(0, 4), [{ first: 0, end: 0 }]);
  for (const [n, t] of [
    [1024, 2],
    [1025, 7],
    [5, 5],
  ] as const) {
    const r = splitPieces(n, t);
    assert.is(r[0]!.first, 0);
    assert.is(r.at(-1)!.end, n);
    for (let k = 1; k < r.length; k++) assert.is(r[k]!.first, r[k - 1]!.end);
    const sizes = r.map((x) => x.end - x.first);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, sizes.join(' '));
  }
});

test.run();
