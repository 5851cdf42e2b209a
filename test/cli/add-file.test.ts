// deadline: 60s
/**
 * `meshseed add ./x.torrent` copies a checked .torrent into torrent_dir (no daemon needed),
 * refusing duplicates by info hash whatever their file name; `add` of a magnet whose torrent
 * is there already says so instead of writing a .magnet the daemon would delete.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deadline, meshseed, tempDir } from '../helpers';
import { makeTorrent } from '../tracker/fixtures';
import { addTarget } from '../../src/catalog/add-target';

test(
  'add FILE: copied into torrent_dir (atomic, checked), a second copy by info hash refused, bad files refused with a clear error',
  deadline(30_000, async () => {
    const dir = tempDir('meshseed-add-file-');
    try {
      const torrents = join(dir.path, 'torrents');
      const cfg = join(dir.path, 'meshseed');
      writeFileSync(cfg, `config meshseed 'main'\n  option state_dir '${join(dir.path, 'state')}'\nconfig seeder 'seeder'\n  option torrent_dir '${torrents}'\n`);
      const t = makeTorrent('image.bin');
      const src = join(dir.path, 'downloads', 'some name.torrent');
      mkdirSync(join(dir.path, 'downloads'));
      writeFileSync(src, t.bytes);

      const first = await meshseed(['add', '--config', cfg, src]);
      assert.is(first.code, 0, first.stderr);
      assert.is(first.stdout.trim(), `image.bin.torrent copied into ${torrents} (${t.hex}, 1 file(s), 100000 bytes)`);
      assert.equal(readdirSync(torrents), ['image.bin.torrent'], 'no temporary file left');
      assert.equal(readFileSync(join(torrents, 'image.bin.torrent')), Buffer.from(t.bytes));

      // the same torrent under another name in the folder: still refused, by info hash
      writeFileSync(join(torrents, 'renamed.torrent'), t.bytes);
      unlinkSync(join(torrents, 'image.bin.torrent'));
      const again = await meshseed(['add', '--config', cfg, src]);
      assert.is(again.code, 0, again.stderr);
      assert.is(again.stdout.trim(), `${t.hex} (image.bin) is already in ${torrents}, as renamed.torrent`);
      assert.equal(readdirSync(torrents), ['renamed.torrent']);

      // another torrent whose name is taken by a different torrent: a name of its own
      const other = makeTorrent('image.bin', 5000);
      writeFileSync(join(torrents, 'image.bin.torrent'), t.bytes);
      const otherFile = join(dir.path, 'other.torrent');
      writeFileSync(otherFile, other.bytes);
      const third = await meshseed(['add', '--config', cfg, otherFile]);
      assert.is(third.code, 0, third.stderr);
      assert.match(third.stdout, new RegExp(`^image\\.bin-${other.hex.slice(0, 8)}\\.torrent copied into`));

      const garbage = join(dir.path, 'garbage.torrent');
      writeFileSync(garbage, 'not bencode at all');
      const bad = await meshseed(['add', '--config', cfg, garbage]);
      assert.is(bad.code, 1);
      assert.match(bad.stderr, new RegExp(`${garbage}: `));
      const missing = await meshseed(['add', '--config', cfg, join(dir.path, 'nope.torrent')]);
      assert.is(missing.code, 1);
      assert.match(missing.stderr, /cannot read .*nope\.torrent: ENOENT/);
      const folder = await meshseed(['add', '--config', cfg, join(dir.path, 'downloads')]);
      assert.is(folder.code, 1);
      assert.match(folder.stderr, /downloads: not a file/);
      assert.is(readdirSync(torrents).length, 3, 'nothing written for the refused ones');
    } finally {
      dir.remove();
    }
  }),
);

test(
  'add of a magnet or info hash already there: "already in" (no .magnet written); a pending magnet is not written twice',
  deadline(10_000, async () => {
    const dir = tempDir('meshseed-add-magnet-');
    try {
      const t = makeTorrent('seeded.iso');
      const file = join(dir.path, 'seeded.iso.torrent');
      const deps = { torrentDir: dir.path, knownFile: (h: string) => (h === t.hex ? file : undefined) };
      assert.is(await addTarget(`magnet:?xt=urn:btih:${t.hex}&dn=seeded.iso`, deps), `${t.hex} is already in ${dir.path}, as seeded.iso.torrent`);
      assert.is(await addTarget(t.hex.toUpperCase(), deps), `${t.hex} is already in ${dir.path}, as seeded.iso.torrent`);
      assert.equal(readdirSync(dir.path), []);
      const other = 'ab'.repeat(20);
      assert.match(await addTarget(other, deps), new RegExp(`^${other}\\.magnet written in`));
      assert.is(await addTarget(`magnet:?xt=urn:btih:${other}`, deps), `${other}.magnet is already in ${dir.path}: its metadata is being fetched (meshseed status shows it)`);
      assert.equal(readdirSync(dir.path), [`${other}.magnet`]);
    } finally {
      dir.remove();
    }
  }),
);

test.run();
