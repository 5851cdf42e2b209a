// deadline: 30s
/**
 * Issue 13, items 3 and 4: read-ahead never turns a good piece bad; bytes from outside
 * data_dir are not served (symbolic links, unless seeder.follow_symlinks); a file swapped for
 * another of the same size and mtime is hashed again before it is served.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from '../../src/codec/bencode';
import { parseMetainfo } from '../../src/codec/metainfo';
import { FilePool } from '../../src/storage/file-pool';
import { ReadCache } from '../../src/storage/read-cache';
import { PIECE_DOUBT, PIECE_FAILED, PIECE_MISSING, PIECE_VERIFIED, TorrentStorage } from '../../src/storage/torrent-storage';
import { createLogger } from '../../src/util/log';
import { deadline, tempDir } from '../helpers';

const PIECE = 16 * 1024;
/** Whole seconds, so that a replacement file can be given exactly the same mtime. */
const T = 1_700_000_000;
const SIZE = 64 * 1024; // three files of four pieces each: one 256 KiB read-ahead chunk spans all three

function setup(follow = false) {
  const tmp = tempDir('meshseed-hardening-');
  const dataDir = join(tmp.path, 'data');
  const root = join(dataDir, 'set');
  mkdirSync(root, { recursive: true });
  const all = randomBytes(3 * SIZE);
  ['a', 'b', 'c'].forEach((n, i) => {
    writeFileSync(join(root, n), all.subarray(i * SIZE, (i + 1) * SIZE));
    utimesSync(join(root, n), T, T);
  });
  const hashes: Buffer[] = [];
  for (let p = 0; p < all.length; p += PIECE) hashes.push(createHash('sha1').update(all.subarray(p, p + PIECE)).digest());
  const meta = parseMetainfo(
    encode({ info: { name: 'set', 'piece length': PIECE, pieces: Buffer.concat(hashes), files: ['a', 'b', 'c'].map((n) => ({ length: SIZE, path: [n] })) } }),
  );
  const make = (followSymlinks = follow) =>
    new TorrentStorage(
      { pool: new FilePool(4), cache: new ReadCache(1 << 20), log: createLogger('error', () => {}), resumeDir: join(tmp.path, 'state', 'resume'), followSymlinks: () => followSymlinks },
      meta,
      dataDir,
    );
  return { tmp, dataDir, root, all, make };
}

const block = async (s: TorrentStorage, index: number) => {
  const b = Buffer.alloc(PIECE);
  return (await s.readBlock(index, 0, b)) ? b : undefined;
};
const states = (s: TorrentStorage) => Array.from({ length: 12 }, (_, i) => s.stateOf(i));
const V = PIECE_VERIFIED;
const M = PIECE_MISSING;

test(
  'item 3: with the last file deleted, pieces wholly in the others are still served and stay in the bitfield',
  deadline(10000, async () => {
    const { tmp, root, all, make } = setup();
    try {
      const s = make();
      await s.start();
      assert.equal(states(s), Array(12).fill(V));
      rmSync(join(root, 'c'));
      await s.rescan();
      assert.equal(states(s), [V, V, V, V, V, V, V, V, M, M, M, M]);
      for (const p of [0, 3, 4, 7]) assert.equal(await block(s, p), all.subarray(p * PIECE, (p + 1) * PIECE), `piece ${p}`);
      assert.equal(states(s), [V, V, V, V, V, V, V, V, M, M, M, M]);
      assert.is(await block(s, 8), undefined);
      // the same before the rescan noticed: the deleted file's pieces fail, the others not
      const t = make();
      writeFileSync(join(root, 'c'), all.subarray(2 * SIZE));
      await t.start();
      rmSync(join(root, 'a'));
      assert.is(await block(t, 0), undefined);
      assert.equal(await block(t, 4), all.subarray(4 * PIECE, 5 * PIECE));
      assert.equal(await block(t, 11), all.subarray(11 * PIECE, 12 * PIECE)); // c came back: hashed, then served
      assert.equal([...states(t).slice(4, 8), t.stateOf(11)], Array(5).fill(V));
      await s.close();
      await t.close();
    } finally {
      tmp.remove();
    }
  }),
);

test(
  'item 4a: a file that is a link out of data_dir is not served (even with the right bytes), unless follow_symlinks',
  deadline(10000, async () => {
    const { tmp, root, all, make } = setup();
    try {
      const secret = join(tmp.path, 'secret');
      writeFileSync(secret, all.subarray(0, SIZE)); // the right bytes, outside data_dir
      rmSync(join(root, 'a'));
      symlinkSync(secret, join(root, 'a'));
      const s = make(false);
      await s.start();
      assert.equal(states(s).slice(0, 4), [M, M, M, M]);
      assert.is(await block(s, 0), undefined);
      assert.match(s.problems().join('\n'), /^a \(not served: a symbolic link to .*secret, outside data_dir \(seeder\.follow_symlinks is 0\)\)$/m);
      await s.close();
      rmSync(join(tmp.path, 'state'), { recursive: true });
      const f = make(true);
      await f.start();
      assert.equal(await block(f, 0), all.subarray(0, PIECE));
      assert.equal(f.problems(), []);
      await f.close();
      // a link that stays inside data_dir is served by default
      rmSync(join(tmp.path, 'state'), { recursive: true });
      rmSync(join(root, 'a'));
      renameSync(secret, join(root, 'a-real'));
      symlinkSync('a-real', join(root, 'a'));
      const g = make(false);
      await g.start();
      assert.equal(await block(g, 1), all.subarray(PIECE, 2 * PIECE));
      await g.close();
    } finally {
      tmp.remove();
    }
  }),
);

test(
  'item 4b: a verified file replaced by a link to another file of the same size and mtime is hashed again, never served',
  deadline(10000, async () => {
    const { tmp, root, all, make } = setup();
    try {
      const s = make();
      await s.start();
      await s.close();
      const other = join(root, 'other');
      writeFileSync(other, randomBytes(SIZE));
      utimesSync(other, T, T);
      rmSync(join(root, 'b'));
      symlinkSync('other', join(root, 'b'));
      // after a restart, with the resume data of the real b
      const t = make();
      await t.start();
      assert.equal(states(t).slice(4, 8), [PIECE_DOUBT, PIECE_DOUBT, PIECE_DOUBT, PIECE_DOUBT]);
      assert.is(await block(t, 5), undefined);
      assert.is(t.stateOf(5), PIECE_FAILED);
      assert.equal(await block(t, 0), all.subarray(0, PIECE));
      await t.close();
    } finally {
      tmp.remove();
    }
  }),
);

test(
  'item 4b: a file swapped between the stat and the first read is refused at open',
  deadline(10000, async () => {
    const { tmp, root, all, make } = setup();
    try {
      const s = make();
      await s.start();
      const other = join(root, 'other');
      writeFileSync(other, randomBytes(SIZE));
      utimesSync(other, T, T);
      renameSync(other, join(root, 'a')); // same size and mtime, another inode; no rescan yet
      assert.is(await block(s, 0), undefined);
      assert.equal(await block(s, 4), all.subarray(4 * PIECE, 5 * PIECE));
      await s.close();
    } finally {
      tmp.remove();
    }
  }),
);

test.run();
