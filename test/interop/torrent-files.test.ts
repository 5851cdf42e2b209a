// deadline: 120s
/**
 * Interop with the real torrent tools from Debian's packages: mktorrent 1.1 (same info hash
 * for the same data and piece length), transmission-show and libtorrent (python3-libtorrent)
 * reading our torrents, and us reading torrents made by mktorrent and transmission-create.
 * Tracker URLs are loopback or .invalid only; nothing touches the network.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode, encode, type BDict } from '../../src/codec/bencode';
import { parseMetainfo } from '../../src/codec/metainfo';
import { deadline, meshseed, requirePrograms, run, tempDir } from '../helpers';

const PY = '/usr/bin/python3';
const enabled = requirePrograms('mktorrent', 'transmission-show', 'transmission-create', PY);

/** Test data: one odd-sized file, and a folder with nesting, an empty file, UTF-8 and byte-order traps. */
function makeData(root: string): { file: string; folder: string } {
  const file = join(root, 'single.bin');
  writeFileSync(file, randomBytes(3 * 65536 + 12345));
  const folder = join(root, 'Folder é');
  for (const sub of ['a', 'B', 'a/deeper']) mkdirSync(join(folder, sub), { recursive: true });
  const put = (p: string, n: number) => writeFileSync(join(folder, p), randomBytes(n));
  put('a-c', 1000);
  put('a/b', 40000);
  put('a/deeper/x.bin', 100000);
  put('B/z', 7);
  put('empty', 0);
  put('Ä.txt', 33333);
  put('zz', 65536);
  return { file, folder };
}

/** The top-level dict of a torrent, without the keys that name the tool or the time. */
function comparable(bytes: Uint8Array): Buffer {
  const top = decode(bytes).value as BDict;
  top.delete('created by');
  top.delete('creation date');
  return Buffer.from(encode(top as never));
}

const showField = (out: string, field: string) => new RegExp(`^\\s*${field}: (.*)$`, 'm').exec(out)?.[1]?.trim();

/** transmission-show: hash, file paths, tracker tiers. */
async function transmissionShow(torrent: string) {
  const r = await run('transmission-show', [torrent]);
  assert.is(r.code, 0, r.stderr);
  const hash = showField(r.stdout, 'Hash');
  const trackersBlock = /\nTRACKERS\n\n([\s\S]*?)\n\n(?:[A-Z]+\n|$)/.exec(r.stdout)?.[1] ?? '';
  const tiers: string[][] = [];
  for (const line of trackersBlock.split('\n').map((l) => l.trim())) {
    if (/^Tier #\d+$/.test(line)) tiers.push([]);
    else if (line) tiers[tiers.length - 1]!.push(line);
  }
  const filesBlock = r.stdout.slice(r.stdout.indexOf('\nFILES\n') + 7);
  const files = filesBlock
    .split('\n')
    .map((l) => /^\s+(.*) \([^()]*\)$/.exec(l)?.[1])
    .filter((x): x is string => !!x);
  return { hash, tiers, files, stdout: r.stdout };
}

/** libtorrent 2.0 through python3-libtorrent: v1 hash, files with sizes, tiers, web seeds, private. */
async function libtorrentShow(torrent: string) {
  const script = `
import json, sys, libtorrent as lt
ti = lt.torrent_info(sys.argv[1])
fs = ti.files()
tiers = {}
for t in ti.trackers():
    tiers.setdefault(t.tier, []).append(t.url)
print(json.dumps({
  "hash": str(ti.info_hashes().v1),
  "name": ti.name(),
  "files": [[fs.file_path(i).replace("\\\\", "/"), fs.file_size(i)] for i in range(fs.num_files())],
  "tiers": [sorted(tiers[k]) for k in sorted(tiers)],
  "webSeeds": [w["url"] for w in ti.web_seeds()],
  "private": ti.priv(),
  "pieceLength": ti.piece_length(),
  "pieces": ti.num_pieces(),
}))
`;
  const r = await run(PY, ['-c', script, torrent]);
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { hash: string; name: string; files: [string, number][]; tiers: string[][]; webSeeds: string[]; private: boolean; pieceLength: number; pieces: number };
}

const TRACKERS = ['-a', 'http://127.0.0.1:6969/announce,udp://127.0.0.1:6969', '-a', 'http://tracker.invalid/announce'];

if (enabled) {
  test(
    'our info hash equals mktorrent 1.1 for a file and a folder at several piece lengths; the files agree byte for byte but for "created by"',
    deadline(90000, async () => {
      const dir = tempDir();
      try {
        const { file, folder } = makeData(dir.path);
        for (const target of [file, folder]) {
          for (const exponent of ['15', '16', '18', '20']) {
            for (const extra of [[], ['-p', '-s', 'MESH', '-c', 'comment here', '-w', 'http://ws.invalid/data/']]) {
              const theirs = join(dir.path, 'theirs.torrent');
              const ours = join(dir.path, 'ours.torrent');
              const m = await run('mktorrent', ['-t', '1', '-d', '-l', exponent, ...TRACKERS, ...extra, '-o', theirs, target]);
              assert.is(m.code, 0, m.stdout + m.stderr);
              const o = await meshseed(['create', '-q', '-f', '-d', '-l', exponent, ...TRACKERS, ...extra, '-o', ours, target]);
              assert.is(o.code, 0, o.stderr);
              const a = parseMetainfo(readFileSync(theirs));
              const b = parseMetainfo(readFileSync(ours));
              const what = `${target} -l ${exponent} ${extra.join(' ')}`;
              assert.is(b.infoHashHex, a.infoHashHex, what);
              assert.equal(Buffer.from(b.infoBytes), Buffer.from(a.infoBytes), what);
              assert.equal(comparable(readFileSync(ours)), comparable(readFileSync(theirs)), what);
              const { unlinkSync } = await import('node:fs');
              unlinkSync(theirs);
            }
          }
        }
      } finally {
        dir.remove();
      }
    }),
  );

  test(
    'transmission-show and libtorrent read our torrents: same hash, files and trackers',
    deadline(60000, async () => {
      const dir = tempDir();
      try {
        const { file, folder } = makeData(dir.path);
        for (const target of [file, folder]) {
          const ours = join(dir.path, 'ours.torrent');
          const o = await meshseed(['create', '-q', '-f', '-l', '16', '-p', ...TRACKERS, '-w', 'http://ws.invalid/a/', '-w', 'http://ws.invalid/b/', '-o', ours, target]);
          assert.is(o.code, 0, o.stderr);
          const j = JSON.parse((await meshseed(['show', '--json', ours])).stdout);
          const paths: string[] = j.files.map((f: { path: string }) => (j.singleFile ? f.path : `${j.name}/${f.path}`));

          const t = await transmissionShow(ours);
          assert.is(t.hash, j.infoHash);
          assert.equal(t.tiers, j.trackers);
          assert.equal(t.files, paths);
          assert.match(t.stdout, /Privacy: Private torrent/);

          const l = await libtorrentShow(ours);
          assert.is(l.hash, j.infoHash);
          assert.is(l.name, j.name);
          assert.equal(
            l.files,
            paths.map((p, i) => [p, j.files[i].length]),
          );
          assert.equal(l.tiers, j.trackers.map((tier: string[]) => [...tier].sort()));
          assert.equal(l.webSeeds, j.webSeeds);
          assert.is(l.private, true);
          assert.is(l.pieceLength, j.pieceLength);
          assert.is(l.pieces, j.pieceCount);
        }
      } finally {
        dir.remove();
      }
    }),
  );

  test(
    'we read torrents made by mktorrent and transmission-create, and verify the data against them',
    deadline(60000, async () => {
      const dir = tempDir();
      try {
        const { file, folder } = makeData(dir.path);
        for (const target of [file, folder]) {
          const made = [
            ['mktorrent', ['-t', '1', ...TRACKERS, '-w', 'http://ws.invalid/one/', '-o', join(dir.path, 'mk.torrent'), target], join(dir.path, 'mk.torrent')],
            ['transmission-create', ['-t', 'http://127.0.0.1:6969/announce', '-t', 'udp://127.0.0.1:6969', '-s', '32', '-c', 'from transmission', '-o', join(dir.path, 'tc.torrent'), target], join(dir.path, 'tc.torrent')],
          ] as const;
          for (const [program, args, out] of made) {
            const { rmSync } = await import('node:fs');
            rmSync(out, { force: true });
            const r = await run(program, [...args]);
            assert.is(r.code, 0, r.stdout + r.stderr);
            const t = await transmissionShow(out);
            const s = await meshseed(['show', '--json', out]);
            assert.is(s.code, 0, s.stderr);
            const j = JSON.parse(s.stdout);
            assert.is(j.infoHash, t.hash, program);
            assert.equal(j.trackers, t.tiers, program);
            const paths: string[] = j.files.map((f: { path: string }) => (j.singleFile ? f.path : `${j.name}/${f.path}`));
            // transmission-show lists files sorted by name, whatever their order in the torrent;
            // transmission-create leaves out empty files
            assert.equal([...paths].sort(), [...t.files].sort(), program);
            if (program === 'mktorrent') assert.equal(j.webSeeds, ['http://ws.invalid/one/']); // a string in the file
            else assert.is(j.comment, 'from transmission');
            const v = await meshseed(['verify', '-q', out, dir.path]);
            assert.is(v.code, 0, `${program}: ${v.stdout}${v.stderr}`);
          }
        }
      } finally {
        dir.remove();
      }
    }),
  );
}

test.run();
