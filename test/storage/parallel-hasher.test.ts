// deadline: 30s
// `create`'s hasher (whole pieces, the main thread and N-1 worker threads) against the
// streaming one (piece-hasher.ts) and against SHA-1 of the concatenated bytes: the same
// digests and the same problems, across file boundaries, empty files, padding and damaged
// files. Workers are used here whatever the size of the data (minBytesForWorkers 0).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashFiles, type StreamFile } from '../../src/storage/piece-hasher';
import { hashFilesParallel, type DigestPiece } from '../../src/storage/parallel-hasher';
import { HashWorker } from '../../src/storage/hash-worker';
import { deadline, tempDir } from '../helpers';

function expected(data: Buffer, pieceLength: number): string[] {
  const out: string[] = [];
  for (let at = 0; at < data.length; at += pieceLength) out.push(createHash('sha1').update(data.subarray(at, at + pieceLength)).digest('hex'));
  return out;
}

async function parallel(files: StreamFile[], pieceLength: number, lanes: number, digest?: DigestPiece) {
  const pieces: (string | undefined)[] = [];
  const seen = new Set<number>();
  let lastDone = -1;
  let total = -1;
  const problems = await hashFilesParallel(files, {
    pieceLength,
    lanes,
    minBytesForWorkers: 0,
    ...(digest ? { digest } : {}),
    onPiece: (i, d) => {
      assert.not.ok(seen.has(i), `piece ${i} reported once`);
      seen.add(i);
      pieces[i] = d?.toString('hex');
    },
    onProgress: (done, t) => {
      assert.ok(done > lastDone, 'progress goes forward');
      lastDone = done;
      total = t;
    },
  });
  return { pieces, problems, lastDone, total, reported: seen.size };
}

async function sequential(files: StreamFile[], pieceLength: number) {
  const pieces: (string | undefined)[] = [];
  const problems = await hashFiles(files, { pieceLength, onPiece: (i, d) => (pieces[i] = d?.toString('hex')) });
  return { pieces, problems };
}

test(
  'pieces across file boundaries, empty files and padding: SHA-1 of the stream, whatever the lanes',
  deadline(20000, async () => {
    const dir = tempDir();
    try {
      const sizes = [0, 1, 16383, 16385, 70000, 3, 0, 40000, 5000, 0];
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
      for (const pl of [16384, 32768, 1 << 20]) {
        const want = expected(all, pl);
        for (const lanes of [1, 2, 3, 64]) {
          const r = await parallel(files, pl, lanes);
          assert.equal(r.problems, [], `piece length ${pl}, ${lanes} lanes`);
          assert.equal(r.pieces, want, `piece length ${pl}, ${lanes} lanes`);
          assert.is(r.reported, want.length);
          assert.is(r.lastDone, all.length);
          assert.is(r.total, all.length);
        }
      }
      // an empty file that is gone is named, and spoils no piece
      const gone = [...files];
      gone[0] = { path: join(dir.path, 'gone'), length: 0 };
      const r = await parallel(gone, 16384, 2);
      assert.equal(r.problems, [{ file: 0, kind: 'missing' }]);
      assert.equal(r.pieces, expected(all, 16384));
    } finally {
      dir.remove();
    }
  }),
);

test(
  'missing, short, long, a folder, a file cut to nothing: the problems and bad pieces the streaming hasher finds',
  deadline(20000, async () => {
    const dir = tempDir();
    try {
      const pl = 16384;
      const p = (n: string) => join(dir.path, n);
      const a = randomBytes(pl * 2);
      const c = randomBytes(pl + 100);
      const d = randomBytes(pl * 2 - 100);
      const f = randomBytes(10);
      writeFileSync(p('a'), a);
      writeFileSync(p('c'), c.subarray(0, 50));
      writeFileSync(p('d'), Buffer.concat([d, Buffer.from('extra')]));
      mkdirSync(p('e'));
      writeFileSync(p('f'), f);
      writeFileSync(p('sparse'), '');
      truncateSync(p('sparse'), pl * 3);
      const files = [
        { path: p('a'), length: a.length },
        { path: p('b'), length: pl },
        { path: p('c'), length: c.length },
        { path: p('d'), length: d.length },
        { path: p('e'), length: pl },
        { path: p('f'), length: f.length },
        { path: p('sparse'), length: pl * 3 },
      ];
      const ref = await sequential(files, pl);
      assert.equal(ref.problems, [
        { file: 1, kind: 'missing' },
        { file: 2, kind: 'short', size: 50 },
        { file: 3, kind: 'long', size: d.length + 5 },
        { file: 4, kind: 'not-a-file' },
      ]);
      for (const lanes of [1, 2, 5]) {
        const r = await parallel(files, pl, lanes);
        assert.equal(r.problems, ref.problems, `${lanes} lanes`);
        assert.equal(r.pieces, ref.pieces, `${lanes} lanes`);
        assert.ok(r.pieces.slice(2, 5).every((x) => x === undefined) && r.pieces[5] !== undefined && r.pieces[6] === undefined);
      }
    } finally {
      dir.remove();
    }
  }),
);

test(
  'at most `lanes` pieces are hashed at a time, and every lane is used',
  deadline(20000, async () => {
    const dir = tempDir();
    try {
      const data = randomBytes(40 * 16384 + 77);
      const path = join(dir.path, 'data');
      writeFileSync(path, data);
      for (const lanes of [1, 3]) {
        let inFlight = 0;
        let most = 0;
        // a digest that holds each piece until the next turn of the event loop
        const digest: DigestPiece = (bytes) => {
          const copy = Buffer.from(bytes); // as Web Crypto does, at the call
          most = Math.max(most, ++inFlight);
          return new Promise((resolve) =>
            setImmediate(() => {
              inFlight--;
              const d = createHash('sha1').update(copy).digest();
              resolve(d.buffer.slice(d.byteOffset, d.byteOffset + 20));
            }),
          );
        };
        const r = await parallel([{ path, length: data.length }], 16384, lanes, digest);
        assert.equal(r.pieces, expected(data, 16384));
        assert.is(most, lanes, `${lanes} lanes: most pieces in flight`);
      }
      const err = await hashFilesParallel([{ path, length: data.length }], { pieceLength: 16384, lanes: 0, onPiece: () => undefined }).catch((e: Error) => e);
      assert.instance(err, RangeError);
    } finally {
      dir.remove();
    }
  }),
);

test(
  'a failed digest: the hasher settles only once every lane has stopped (no lane still reading its files, nor hashing)',
  deadline(20000, async () => {
    const dir = tempDir();
    try {
      const data = randomBytes(40 * 16384);
      const path = join(dir.path, 'data');
      writeFileSync(path, data);
      let calls = 0;
      let released = false;
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let lateCalls = 0;
      let settled = false;
      // the first piece handed over waits at the gate; the second fails and opens the gate at the next turn of the loop (after every microtask)
      const digest: DigestPiece = (bytes) => {
        if (settled) lateCalls++;
        const n = ++calls;
        const copy = Buffer.from(bytes);
        if (n === 2) {
          setImmediate(() => ((released = true), release()));
          throw new Error('digest failed');
        }
        return gate.then(() => {
          const d = createHash('sha1').update(copy).digest();
          return d.buffer.slice(d.byteOffset, d.byteOffset + 20);
        });
      };
      const err = await hashFilesParallel([{ path, length: data.length }], { pieceLength: 16384, lanes: 2, digest, onPiece: () => undefined }).catch((e: Error) => e);
      settled = true;
      assert.instance(err, Error);
      assert.is((err as Error).message, 'digest failed');
      assert.ok(released, 'the lane waiting on its digest had finished before the hasher settled');
      assert.is(lateCalls, 0);
    } finally {
      dir.remove();
    }
  }),
);

test(
  'a hash worker: SHA-1 of a shared slot, one piece per slot at a time, and pieces still waiting fail when it is closed',
  deadline(20000, async () => {
    const worker = new HashWorker(2, 1000);
    try {
      const a = randomBytes(1000);
      const b = randomBytes(777);
      worker.slots[0]!.set(a);
      worker.slots[1]!.set(b);
      const [da, db] = await Promise.all([worker.digest(0, 1000), worker.digest(1, 777)]);
      assert.is(Buffer.from(da).toString('hex'), createHash('sha1').update(a).digest('hex'));
      assert.is(Buffer.from(db).toString('hex'), createHash('sha1').update(b).digest('hex'));
      const first = worker.digest(0, 10);
      const busy = await worker.digest(0, 10).catch((e: Error) => e);
      assert.instance(busy, Error);
      assert.match((busy as Error).message, /being hashed/);
      assert.is(Buffer.from(await first).toString('hex'), createHash('sha1').update(a.subarray(0, 10)).digest('hex'));
      const waiting = worker.digest(1, 777);
      worker.close();
      const err = await waiting.then(
        () => undefined,
        (e: Error) => e,
      );
      // closed before it answered, or answered first: never left pending
      if (err) assert.match(err.message, /closed/);
      assert.match(((await worker.digest(0, 1).catch((e: Error) => e)) as Error).message, /closed/);
    } finally {
      worker.close();
    }
  }),
);

test.run();
