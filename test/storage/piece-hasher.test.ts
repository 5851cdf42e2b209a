// deadline: 30s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashFiles, type StreamFile } from '../../src/storage/piece-hasher';
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

test.run();
