// deadline: 20s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTorrent } from '../../src/torrent/build';
import { parseMetainfo } from '../../src/codec/metainfo';
import { checkData, fileStatuses, PIECE_BAD, PIECE_GOOD, PIECE_UNAVAILABLE } from '../../src/storage/check-data';
import { dataFilesIn, locateData } from '../../src/storage/data-files';
import { deadline, tempDir } from '../helpers';

const PL = 16384;

/** A torrent over the given files (contents known), its data written under dir/<name>. */
function setup(dir: string, contents: Record<string, Buffer>) {
  const names = Object.keys(contents);
  const all = Buffer.concat(names.map((n) => contents[n]!));
  const pieces = Buffer.concat(Array.from({ length: Math.ceil(all.length / PL) }, (_, i) => createHash('sha1').update(all.subarray(i * PL, (i + 1) * PL)).digest()));
  const m = parseMetainfo(
    buildTorrent({ name: 'set', pieceLength: PL, pieces, files: names.map((n) => ({ path: n.split('/'), length: contents[n]!.length })), announceTiers: [], webSeeds: [], private: false, createdBy: 't' }),
  );
  for (const n of names) {
    const p = join(dir, 'set', ...n.split('/'));
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, contents[n]!);
  }
  return m;
}

test(
  'piece states and file statuses: damaged, missing, too long, unverified neighbour',
  deadline(10000, async () => {
    const dir = tempDir();
    try {
      const a = randomBytes(PL * 2);
      const b = randomBytes(PL / 2); // shares piece 2 with c
      const c = randomBytes(PL / 2 + PL); // piece 2 (second half) and piece 3
      const d = randomBytes(PL);
      const m = setup(dir.path, { a, 'x/b': b, 'x/c': c, d });
      const ok = await checkData(m, dataFilesIn(m, dir.path).files);
      assert.ok(ok.complete);
      assert.equal([...ok.pieces], [PIECE_GOOD, PIECE_GOOD, PIECE_GOOD, PIECE_GOOD, PIECE_GOOD]);
      assert.equal(fileStatuses(m, ok), []);

      const damaged = Buffer.from(a);
      damaged[PL + 1] ^= 1;
      writeFileSync(join(dir.path, 'set', 'a'), damaged);
      const { rmSync } = await import('node:fs');
      rmSync(join(dir.path, 'set', 'x', 'b'));
      writeFileSync(join(dir.path, 'set', 'd'), Buffer.concat([d, Buffer.from('!')]));
      const bad = await checkData(m, dataFilesIn(m, dir.path).files);
      assert.not.ok(bad.complete);
      assert.equal([...bad.pieces], [PIECE_GOOD, PIECE_BAD, PIECE_UNAVAILABLE, PIECE_GOOD, PIECE_GOOD]);
      assert.is(bad.goodPieces, 3);
      assert.is(bad.goodBytes, 3 * PL);
      assert.equal(fileStatuses(m, bad), [
        { file: 0, status: { kind: 'damaged', badPieces: 1, pieces: 2 } },
        { file: 1, status: { kind: 'missing' } },
        { file: 2, status: { kind: 'unverified', unavailablePieces: 1, pieces: 2 } },
        { file: 3, status: { kind: 'long', size: PL + 1 } },
      ]);
    } finally {
      dir.remove();
    }
  }),
);

test(
  'locateData: the parent folder, the data folder itself, and a folder with neither',
  deadline(10000, async () => {
    const dir = tempDir();
    try {
      const m = setup(dir.path, { a: randomBytes(100), 'x/b': randomBytes(100) });
      assert.is(locateData(m, dir.path).root, join(dir.path, 'set'));
      assert.is(locateData(m, join(dir.path, 'set')).root, join(dir.path, 'set'));
      mkdirSync(join(dir.path, 'other'));
      assert.is(locateData(m, join(dir.path, 'other')).root, join(dir.path, 'other', 'set')); // nothing there: reported missing
      assert.throws(() => locateData(m, join(dir.path, 'set', 'a')), /not a folder/);
      assert.throws(() => locateData(m, join(dir.path, 'nope')), /no such file or folder/);
    } finally {
      dir.remove();
    }
  }),
);

test.run();
