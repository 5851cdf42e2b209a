// deadline: 30s
/** TorrentStorage on real files in a temp folder: full check, resume data, doubt, safe reads. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, symlinkSync, truncateSync, utimesSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from '../../src/codec/bencode';
import { parseMetainfo, type Metainfo } from '../../src/codec/metainfo';
import { FilePool } from '../../src/storage/file-pool';
import { segmentsOf } from '../../src/storage/piece-map';
import { ReadCache } from '../../src/storage/read-cache';
import { PIECE_DOUBT, PIECE_FAILED, PIECE_MISSING, PIECE_VERIFIED, TorrentStorage } from '../../src/storage/torrent-storage';
import { createLogger } from '../../src/util/log';
import { deadline, tempDir } from '../helpers';

const PIECE = 16 * 1024;
const SIZES = [40_000, 10, 30_000]; // pieces straddle files
const TOTAL = SIZES.reduce((a, b) => a + b);

function setup() {
  const tmp = tempDir('meshseed-storage-');
  const dataDir = join(tmp.path, 'data');
  const root = join(dataDir, 'set');
  mkdirSync(join(root, 'sub'), { recursive: true });
  const all = randomBytes(TOTAL);
  const names = ['a', join('sub', 'b'), 'c'];
  let at = 0;
  SIZES.forEach((n, i) => {
    writeFileSync(join(root, names[i]!), all.subarray(at, at + n));
    at += n;
  });
  const hashes: Buffer[] = [];
  for (let p = 0; p < TOTAL; p += PIECE) hashes.push(createHash('sha1').update(all.subarray(p, p + PIECE)).digest());
  const meta: Metainfo = parseMetainfo(
    encode({
      info: {
        name: 'set',
        'piece length': PIECE,
        pieces: Buffer.concat(hashes),
        files: SIZES.map((length, i) => ({ length, path: names[i]!.split('/') })),
      },
    }),
  );
  const logs: string[] = [];
  const make = () =>
    new TorrentStorage({ pool: new FilePool(2), cache: new ReadCache(64 * 1024), log: createLogger('debug', (l) => logs.push(l)), resumeDir: join(tmp.path, 'state', 'resume') }, meta, dataDir);
  return { tmp, root, all, meta, make, logs, file: (i: number) => join(root, names[i]!) };
}

const block = async (s: TorrentStorage, index: number, begin: number, length: number) => {
  const b = Buffer.alloc(length);
  return (await s.readBlock(index, begin, b)) ? b : undefined;
};

test('piece map: a range across files is split at file boundaries', () => {
  const { meta, tmp } = setup();
  assert.equal(segmentsOf(meta.files, PIECE * 2, PIECE), [
    { file: 0, offset: 32768, length: 40_000 - 32768 },
    { file: 1, offset: 0, length: 10 },
    { file: 2, offset: 0, length: PIECE - (40_000 - 32768) - 10 },
  ]);
  tmp.remove();
});

test(
  'first start: a full check, every piece verified, resume data written; reads return the right bytes',
  deadline(10_000, async () => {
    const { tmp, all, meta, make } = setup();
    const s = make();
    await s.start();
    assert.ok(s.complete);
    assert.is(s.countOf(PIECE_VERIFIED), meta.pieceCount);
    assert.ok(existsSync(s.resumeFile));
    const b = await block(s, 2, 1000, 16384 - 1000);
    assert.is(Buffer.compare(b!, all.subarray(2 * PIECE + 1000, 3 * PIECE)), 0);
    // never past the piece's end
    assert.is(await block(s, meta.pieceCount - 1, 0, PIECE), undefined);
    await s.close();
    tmp.remove();
  }),
);

test(
  'the first check reads through the read cache\'s chunk buffers and gives them back (no new buffers per torrent checked)',
  deadline(10_000, async () => {
    const { tmp, meta } = setup();
    const cache = new ReadCache(64 * 1024);
    const get = cache.buffers.get.bind(cache.buffers);
    let taken = 0;
    cache.buffers.get = () => (taken++, get());
    const s = new TorrentStorage({ pool: new FilePool(2), cache, log: createLogger('debug', () => {}), resumeDir: join(tmp.path, 'state', 'resume2') }, meta, join(tmp.path, 'data'));
    await s.start();
    assert.ok(s.complete, 'every piece verified');
    assert.is(taken, 2, 'two buffers taken from the cache for the check');
    assert.is(cache.buffers.freeCount, 2, 'both back');
    await s.close();
    tmp.remove();
  }),
);

test(
  'restart with resume data trusts unchanged files (no rehash), doubts changed ones and never sends a bad piece',
  deadline(10_000, async () => {
    const { tmp, make, file, logs } = setup();
    const when = 1_700_000_000; // whole seconds: set and read back exactly
    utimesSync(file(0), when, when);
    const s1 = make();
    await s1.start();
    await s1.close();
    // corrupt file a but keep its size and mtime: resume data is trusted, so the piece stays verified
    const bytes = readFileSync(file(0));
    bytes[5] ^= 0xff;
    writeFileSync(file(0), bytes);
    utimesSync(file(0), when, when);
    const s2 = make();
    await s2.start();
    assert.is(s2.stateOf(0), PIECE_VERIFIED, 'unchanged size and mtime: no rehash at boot');
    await s2.close();
    // now change the mtime: the pieces of file a are in doubt, not offered until hashed (a peer offered them earlier gets them hashed first)
    utimesSync(file(0), when, when + 5);
    const s3 = make();
    await s3.start();
    assert.is(s3.stateOf(0), PIECE_DOUBT);
    assert.is(s3.stateOf(3), PIECE_VERIFIED, 'a piece only in file c stays verified');
    assert.not.ok(s3.available(0), 'a piece in doubt is not offered');
    assert.not.ok(s3.complete, 'nor counted as ours');
    assert.ok(s3.left() >= PIECE, 'nor missing from left');
    assert.is(await block(s3, 0, 0, 100), undefined, 'the corrupt piece is never sent');
    assert.is(s3.stateOf(0), PIECE_FAILED);
    assert.not.ok(s3.available(0));
    assert.ok(await block(s3, 1, 0, 100), 'a good piece in doubt is verified and sent');
    assert.is(s3.stateOf(1), PIECE_VERIFIED);
    assert.ok(logs.some((l) => /piece 0 failed its hash check/.test(l)));
    await s3.close();
    tmp.remove();
  }),
);

test(
  'missing and short files: their pieces are not available, reported, and come back when the data appears',
  deadline(10_000, async () => {
    const { tmp, make, file, meta } = setup();
    const saved = readFileSync(file(2));
    rmSync(file(2));
    truncateSync(file(1), 3);
    const s = make();
    await s.start();
    assert.not.ok(s.complete);
    assert.equal(s.problems(), ['sub/b (3 of 10 bytes)', 'c (missing)']);
    assert.is(s.stateOf(0), PIECE_VERIFIED);
    assert.is(s.stateOf(2), PIECE_MISSING);
    assert.is(s.stateOf(meta.pieceCount - 1), PIECE_MISSING);
    assert.ok(s.left() > 30_000);
    const announced: number[] = [];
    s.onAvailable = (i) => announced.push(i);
    writeFileSync(file(2), saved);
    assert.ok(await s.rescan());
    assert.is(s.stateOf(meta.pieceCount - 1), PIECE_DOUBT, 'a file that appeared is in doubt');
    assert.equal(announced, [], 'not offered before it is hashed');
    await s.verifyDoubtful();
    assert.ok(announced.includes(meta.pieceCount - 1), 'pieces of a file that appeared are announced once hashed');
    assert.is(s.stateOf(2), PIECE_MISSING, 'still short: file b');
    await s.close();
    tmp.remove();
  }),
);

test(
  'a file that shrinks after the check: the read fails safely and the piece is no longer offered',
  deadline(10_000, async () => {
    const { tmp, make, file, meta } = setup();
    const s = make();
    await s.start();
    truncateSync(file(2), 100);
    assert.is(await block(s, meta.pieceCount - 1, 0, 100), undefined);
    assert.not.ok(s.available(meta.pieceCount - 1));
    await s.close();
    tmp.remove();
  }),
);

test(
  'file pool: never more descriptors than its size',
  deadline(10_000, async () => {
    const tmp = tempDir('meshseed-pool-');
    const pool = new FilePool(3);
    for (let i = 0; i < 10; i++) writeFileSync(join(tmp.path, `f${i}`), `file ${i}`);
    for (let round = 0; round < 3; round++)
      for (let i = 0; i < 10; i++) {
        const text = await pool.with(join(tmp.path, `f${i}`), async (h) => (await h.read(Buffer.alloc(6), 0, 6, 0)).buffer.toString());
        assert.is(text, `file ${i}`);
        assert.ok(pool.openCount <= 3);
      }
    await pool.close();
    tmp.remove();
  }),
);

test(
  'mirror writes: sparse files, servable at once, in the resume data only after sync; a restart trusts only synced pieces',
  deadline(20_000, async () => {
    const { tmp, root, all, meta, make } = setup();
    try {
      rmSync(root, { recursive: true });
      const s = make();
      await s.start();
      assert.is(s.countOf(PIECE_MISSING), meta.pieceCount);
      const piece = (i: number) => all.subarray(i * PIECE, Math.min(TOTAL, (i + 1) * PIECE));
      await s.writePiece(2, piece(2)); // straddles a, sub/b and c
      assert.is(s.stateOf(2), PIECE_VERIFIED);
      assert.equal(await block(s, 2, 0, PIECE), Buffer.from(piece(2)));
      // sparse: every file has its full length
      assert.equal(SIZES.map((_, i) => readFileSync(join(root, ['a', 'sub/b', 'c'][i]!)).length), SIZES);
      await s.save(); // written, not yet fsync'ed: not claimed
      const before = make();
      await before.start();
      assert.is.not(before.stateOf(2), PIECE_VERIFIED, 'an unsynced piece is never claimed');
      await before.close();
      await s.sync();
      await s.close();
      const after = make();
      await after.start();
      assert.is(after.stateOf(2), PIECE_VERIFIED, 'synced, then recorded');
      assert.is(after.stateOf(0), PIECE_DOUBT, 'a sparse, never-written piece is in doubt, not verified');
      await after.verifyDoubtful();
      assert.is(after.stateOf(0), PIECE_MISSING, 'a hole (zeros) is missing, not failed');
      assert.ok(after.problems().some((p) => /piece\(s\) not downloaded yet/.test(p)), after.problems().join('; '));
      assert.not.ok(after.problems().some((p) => /failed verification/.test(p)));
      await after.close();
    } finally {
      tmp.remove();
    }
  }),
);

test(
  'rescan: our own writes change nothing; a file copied in by hand is put in doubt, hashed, then offered',
  deadline(20_000, async () => {
    const { tmp, root, all, meta, make, file, logs } = setup();
    try {
      rmSync(root, { recursive: true });
      const s = make();
      await s.start();
      const announced: number[] = [];
      s.onAvailable = (i) => announced.push(i);
      await s.writePiece(0, all.subarray(0, PIECE)); // file a only
      await s.writePiece(1, all.subarray(PIECE, 2 * PIECE));
      await s.rescan();
      assert.is(s.countOf(PIECE_DOUBT), 0, 'our own writes put nothing in doubt');
      assert.ok(logs.some((l) => /file\(s\) changed by our own writes/.test(l)), logs.join('\n'));
      assert.equal([0, 1].map((i) => s.stateOf(i)), [PIECE_VERIFIED, PIECE_VERIFIED]);
      // file c copied in by hand: its pieces are hashed before they count
      writeFileSync(file(2), all.subarray(SIZES[0]! + SIZES[1]!));
      await s.writePiece(1, all.subarray(PIECE, 2 * PIECE)); // the download goes on meanwhile:
      await s.sync(); // its fsync and resume write must not take the copy for its own
      assert.ok(await s.rescan());
      assert.equal([3, 4].map((i) => s.stateOf(i)), [PIECE_DOUBT, PIECE_DOUBT]);
      assert.is(s.stateOf(2), PIECE_MISSING, 'file b is still absent');
      assert.ok(s.left() > meta.length - 2 * PIECE - 1, 'doubt is not counted as ours');
      await s.verifyDoubtful();
      assert.equal([3, 4].map((i) => s.stateOf(i)), [PIECE_VERIFIED, PIECE_VERIFIED]);
      assert.equal(announced.filter((i) => i >= 3), [3, 4], 'offered once hashed');
      // someone overwrites file a (which we wrote before the last look): its pieces are doubted again
      const bad = Buffer.from(all.subarray(0, SIZES[0]!));
      bad[7] ^= 0xff;
      writeFileSync(file(0), bad);
      assert.ok(await s.rescan());
      assert.is(s.stateOf(0), PIECE_DOUBT);
      await s.verifyDoubtful();
      assert.equal([0, 1].map((i) => s.stateOf(i)), [PIECE_FAILED, PIECE_VERIFIED]);
      await s.close();
    } finally {
      tmp.remove();
    }
  }),
);

test(
  'mirror writes never go through a symbolic link out of data_dir',
  deadline(20_000, async () => {
    const { tmp, root, all, make } = setup();
    try {
      rmSync(root, { recursive: true });
      const outside = join(tmp.path, 'outside');
      mkdirSync(outside);
      symlinkSync(outside, root);
      const s = make();
      await s.start();
      let err = '';
      await s.writePiece(0, all.subarray(0, PIECE)).catch((e: Error) => (err = e.message));
      assert.match(err, /symbolic link outside data_dir/);
      assert.not.ok(existsSync(join(outside, 'a')));
      await s.close();
    } finally {
      tmp.remove();
    }
  }),
);

test.run();
