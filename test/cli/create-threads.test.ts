// deadline: 180s
// `meshseed create -t N` (as mktorrent's -t): N hashing threads give the torrent one thread
// gives, and mktorrent's, byte for byte in the info dict, pieces spanning files included.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deadline, meshseed, requirePrograms, run, tempDir } from '../helpers';

const infoHash = async (torrent: string) => {
  const r = await meshseed(['show', '--json', torrent]);
  assert.is(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { infoHash: string }).infoHash;
};

test(
  'create -t 1, 2, 3 and mktorrent -t 2: one info hash, for a folder whose pieces span files',
  deadline(60000, async () => {
    if (!requirePrograms('mktorrent')) return;
    const dir = tempDir();
    try {
      const d = join(dir.path, 'pub');
      mkdirSync(join(d, 'sub'), { recursive: true });
      // 2^15-byte pieces: 41 of them, several across file boundaries, an empty file among them
      const sizes: [string, number][] = [['a', 100000], ['b', 0], ['c', 33000], ['sub/d', 1], ['sub/e', 1200000 - 133001]];
      for (const [p, n] of sizes) writeFileSync(join(d, p), randomBytes(n));
      const hashes: string[] = [];
      for (const t of ['1', '2', '3']) {
        const out = join(dir.path, `t${t}.torrent`);
        const r = await meshseed(['create', '-q', '-d', '-l', '15', '-t', t, '-o', out, d]);
        assert.is(r.code, 0, r.stderr);
        hashes.push(await infoHash(out));
      }
      const theirs = join(dir.path, 'mktorrent.torrent');
      const m = await run('mktorrent', ['-t', '2', '-d', '-l', '15', '-o', theirs, d]);
      assert.is(m.code, 0, m.stderr);
      hashes.push(await infoHash(theirs));
      assert.equal(new Set(hashes).size, 1, hashes.join(' '));
      // more threads than pieces: one per piece at most
      const small = join(dir.path, 'small.bin');
      writeFileSync(small, randomBytes(70000));
      const r = await meshseed(['create', '-q', '-d', '-l', '15', '-t', '8', '-o', join(dir.path, 'small.torrent'), small]);
      assert.is(r.code, 0, r.stderr);
      const m2 = await run('mktorrent', ['-d', '-l', '15', '-o', join(dir.path, 'small-mk.torrent'), small]);
      assert.is(m2.code, 0, m2.stderr);
      assert.is(await infoHash(join(dir.path, 'small.torrent')), await infoHash(join(dir.path, 'small-mk.torrent')));
    } finally {
      dir.remove();
    }
  }),
);

test(
  'create -t 2 and -t 3 on 40 MiB (worker threads hash beside the main thread): mktorrent\'s info hash',
  deadline(80000, async () => {
    if (!requirePrograms('mktorrent')) return;
    const dir = tempDir();
    try {
      // past MIN_BYTES_FOR_WORKERS (32 MiB): the threads past the first are workers; two files, a piece across them
      const d = join(dir.path, 'big');
      mkdirSync(d);
      writeFileSync(join(d, 'a'), randomBytes(8 * 1024 * 1024 + 12345));
      writeFileSync(join(d, 'b'), randomBytes(32 * 1024 * 1024));
      const theirs = join(dir.path, 'mktorrent.torrent');
      const m = await run('mktorrent', ['-t', '2', '-d', '-l', '18', '-o', theirs, d]);
      assert.is(m.code, 0, m.stderr);
      const want = await infoHash(theirs);
      for (const t of ['2', '3']) {
        const out = join(dir.path, `t${t}.torrent`);
        const r = await meshseed(['create', '-q', '-d', '-l', '18', '-t', t, '-o', out, d]);
        assert.is(r.code, 0, r.stderr);
        assert.is(await infoHash(out), want, `-t ${t}`);
      }
    } finally {
      dir.remove();
    }
  }),
);

test(
  'create -t refuses what is not 1 to 64, with usage status 2',
  deadline(20000, async () => {
    const dir = tempDir();
    try {
      const f = join(dir.path, 'x.bin');
      writeFileSync(f, 'x');
      for (const t of ['0', '65', 'two', '-1', '1.5']) {
        const r = await meshseed(['create', '-q', '-t', t, '-o', join(dir.path, 'x.torrent'), f]);
        assert.is(r.code, 2, `-t ${t}: ${r.stderr}`);
        assert.match(r.stderr, /hashing threads|option/);
      }
    } finally {
      dir.remove();
    }
  }),
);

test.run();
