// deadline: 20s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { choosePieceLength } from '../../src/torrent/piece-length';
import { buildTorrent, parseTiers, parseWebSeeds, type TorrentSpec } from '../../src/torrent/build';
import { rewriteTrackers } from '../../src/torrent/reannounce';
import { formatMetainfo, metainfoJson } from '../../src/torrent/describe';
import { parseMetainfo } from '../../src/codec/metainfo';
import { encode, RawBencode } from '../../src/codec/bencode';
import { Progress } from '../../src/util/progress';

const MIB = 1 << 20;

test('automatic piece length: mktorrent thresholds, 2^15 to 2^24', () => {
  const cases: [number, number][] = [
    [1, 15],
    [50 * MIB, 15],
    [50 * MIB + 1, 16],
    [100 * MIB, 16],
    [200 * MIB, 17],
    [400 * MIB, 18],
    [400 * MIB + 1, 19],
    [512 * MIB, 19],
    [1600 * MIB, 20],
    [3200 * MIB, 21],
    [6400 * MIB, 22],
    [12800 * MIB, 23],
    [12800 * MIB + 1, 24],
    [2 ** 50, 24],
  ];
  for (const [size, exponent] of cases) assert.is(choosePieceLength(size), 2 ** exponent, `size ${size}`);
});

const spec = (over: Partial<TorrentSpec> = {}): TorrentSpec => ({
  name: 'x.bin',
  pieceLength: 16384,
  pieces: new Uint8Array(20),
  length: 5,
  announceTiers: [],
  webSeeds: [],
  private: false,
  createdBy: 'meshseed test',
  ...over,
});
const text = (u: Uint8Array) => Buffer.from(u).toString('latin1');

test('build: the keys mktorrent 1.1 writes, private and source only when set', () => {
  const plain = text(buildTorrent(spec({ announceTiers: [['http://127.0.0.1:1/announce']], creationDate: 1700000000 })));
  assert.is(
    plain,
    'd8:announce27:http://127.0.0.1:1/announce10:created by13:meshseed test13:creation datei1700000000e4:infod6:lengthi5e4:name5:x.bin12:piece lengthi16384e6:pieces20:' +
      '\0'.repeat(20) +
      'ee',
  );
  const all = parseMetainfo(
    buildTorrent(
      spec({
        announceTiers: [['http://127.0.0.1:1/announce', 'udp://127.0.0.1:2'], ['http://t.invalid/announce']],
        webSeeds: ['http://ws.invalid/'],
        private: true,
        source: 'SRC',
        comment: 'hello',
      }),
    ),
  );
  assert.ok(all.private);
  assert.is(all.source, 'SRC');
  assert.is(all.comment, 'hello');
  assert.is(all.announce, 'http://127.0.0.1:1/announce');
  assert.equal(all.announceTiers, [['http://127.0.0.1:1/announce', 'udp://127.0.0.1:2'], ['http://t.invalid/announce']]);
  assert.equal(all.urlList, ['http://ws.invalid/']);
  assert.is(all.creationDate, undefined);
  const raw = text(buildTorrent(spec({ webSeeds: ['http://a.invalid/'] })));
  assert.match(raw, /8:url-list17:http:\/\/a\.invalid\/e$/); // one web seed: a string, as mktorrent
  assert.not.match(raw, /announce|private|source/);
  assert.match(text(buildTorrent(spec({ webSeeds: ['http://a.invalid/', 'http://b.invalid/'] }))), /8:url-listl17:/);
});

test('build: multi-file info with paths as lists', () => {
  const m = parseMetainfo(
    buildTorrent(
      spec({
        length: undefined,
        files: [
          { path: ['a'], length: 2 },
          { path: ['d', 'b'], length: 3 },
        ],
      }),
    ),
  );
  assert.equal(
    m.files.map((f) => f.path),
    [['a'], ['d', 'b']],
  );
});

test('tiers and web seeds from flags: -a per tier, commas inside; bad URLs refused', () => {
  assert.equal(parseTiers(['http://127.0.0.1:1/announce,udp://127.0.0.1:2', 'https://t.invalid/a']), [
    ['http://127.0.0.1:1/announce', 'udp://127.0.0.1:2'],
    ['https://t.invalid/a'],
  ]);
  assert.throws(() => parseTiers(['tracker.invalid:80']), /tracker 'tracker\.invalid:80' must start with http:\/\/, https:\/\/, udp:\/\//);
  assert.throws(() => parseTiers(['not a url']), /is not a URL/);
  assert.equal(parseWebSeeds(['http://a.invalid/,http://b.invalid/', 'ftp://c.invalid/']), ['http://a.invalid/', 'http://b.invalid/', 'ftp://c.invalid/']);
  assert.throws(() => parseWebSeeds(['udp://x.invalid/']), /web seed/);
});

test('reannounce: replace, append, prepend; info bytes (even unsorted) untouched', () => {
  const info = Buffer.from('d6:lengthi5e4:name1:x12:piece lengthi16384e6:pieces20:' + '\0'.repeat(20) + 'e', 'latin1');
  const unsorted = Buffer.from('d4:name1:x6:lengthi5e12:piece lengthi16384e6:pieces20:' + '\0'.repeat(20) + 'e', 'latin1');
  for (const infoBytes of [info, unsorted]) {
    const orig = encode({
      announce: 'http://127.0.0.1:1/announce',
      'announce-list': [['http://127.0.0.1:1/announce'], ['http://127.0.0.1:2/announce']],
      comment: 'keep me',
      info: new RawBencode(infoBytes),
    });
    const before = parseMetainfo(orig);
    const replaced = parseMetainfo(rewriteTrackers(orig, ['http://10.0.0.1:6969/announce'], 'replace'));
    assert.equal(replaced.announceTiers, [['http://10.0.0.1:6969/announce']]);
    assert.is(replaced.announce, 'http://10.0.0.1:6969/announce');
    assert.is(replaced.comment, 'keep me');
    assert.is(replaced.infoHashHex, before.infoHashHex);
    assert.equal(Buffer.from(replaced.infoBytes), infoBytes);
    const appended = parseMetainfo(rewriteTrackers(orig, ['http://10.0.0.1:6969/announce', 'http://127.0.0.1:2/announce'], 'append'));
    assert.equal(appended.announceTiers, [['http://127.0.0.1:1/announce'], ['http://127.0.0.1:2/announce'], ['http://10.0.0.1:6969/announce']]);
    assert.is(appended.infoHashHex, before.infoHashHex);
    const prepended = parseMetainfo(rewriteTrackers(orig, ['udp://10.0.0.1:6969'], 'prepend'));
    assert.equal(prepended.announceTiers[0], ['udp://10.0.0.1:6969']);
    assert.is(prepended.announce, 'udp://10.0.0.1:6969');
    // nothing new: unchanged tiers
    assert.equal(parseMetainfo(rewriteTrackers(orig, ['http://127.0.0.1:2/announce'], 'append')).announceTiers, before.announceTiers);
  }
  // a torrent with only `announce`: --tier keeps it as the first tier
  const simple = encode({ announce: 'http://127.0.0.1:1/announce', info: new RawBencode(info) });
  assert.equal(parseMetainfo(rewriteTrackers(simple, ['http://127.0.0.1:3/announce'], 'append')).announceTiers, [['http://127.0.0.1:1/announce'], ['http://127.0.0.1:3/announce']]);
  assert.throws(() => rewriteTrackers(Buffer.from('d4:infoi1ee'), ['http://x.invalid/'], 'replace'), /missing info dict/);
});

test('show --json: every documented field, stable names', () => {
  const m = parseMetainfo(buildTorrent(spec({ announceTiers: [['http://127.0.0.1:1/announce']], creationDate: 5, comment: 'c' })));
  const j = metainfoJson(m);
  assert.equal(Object.keys(j), [
    'name',
    'infoHash',
    'length',
    'pieceLength',
    'pieceCount',
    'singleFile',
    'private',
    'files',
    'trackers',
    'webSeeds',
    'creationDate',
    'comment',
    'createdBy',
    'source',
    'hybrid',
    'warnings',
  ]);
  assert.equal(j.files, [{ path: 'x.bin', length: 5, offset: 0, padding: false }]);
  assert.is(j.source, null);
  assert.is(j.creationDate, 5);
});

test('show: control characters from a torrent are escaped, never sent to the terminal', () => {
  const m = parseMetainfo(buildTorrent(spec({ name: 'evil\x1b[31m.bin', comment: 'a\x07b\nc' })));
  const out = formatMetainfo(m);
  assert.not.match(out, /[\x00-\x09\x0b-\x1f\x7f]/);
  assert.match(out, /name: +evil\\x1b\[31m\.bin/);
  assert.match(out, /comment: +a\\x07b\\x0ac/);
});

test('progress: plain lines at each tenth, a bar redrawn on a terminal, nothing when quiet', () => {
  let t = 0;
  const lines: string[] = [];
  const raw: string[] = [];
  const sink = (tty: boolean, quiet = false) => ({ tty, quiet, line: (s: string) => lines.push(s), raw: (s: string) => raw.push(s), now: () => t });
  const plain = new Progress(sink(false), 'hashing');
  for (let done = 0; done <= 1000; done += 50) plain.update(done, 1000);
  assert.is(lines.length, 11); // 0%, 10%, ..., 100%
  assert.is(lines[10], 'hashing: 100% (1000 B of 1000 B)');
  lines.length = 0;
  const slow = new Progress(sink(false), 'hashing');
  slow.update(1, 1000);
  t += 31_000;
  slow.update(2, 1000); // same tenth, but 30 s later: a line to show it is alive
  assert.is(lines.length, 2);
  const bar = new Progress(sink(true), 'hashing');
  t += 1000;
  bar.update(500, 1000);
  bar.update(600, 1000); // within 100 ms: not redrawn
  t += 200;
  bar.update(1000, 1000);
  bar.finish();
  assert.is(raw.length, 3);
  assert.match(raw[0]!, /^\rhashing \[#{15}\.{15}\]  50%/);
  assert.is(raw[2], '\n');
  lines.length = 0;
  const quiet = new Progress(sink(false, true), 'x');
  quiet.update(1, 1);
  quiet.finish();
  assert.is(lines.length, 0);
});

test.run();
