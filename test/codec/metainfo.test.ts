// deadline: 30s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { encode, RawBencode } from '../../src/codec/bencode';
import { parseMetainfo, pieceSize } from '../../src/codec/metainfo';
import { HOSTILE_TORRENTS, b, PL, hashes, multiInfo, singleInfo, torrent } from '../fixtures/hostile-torrents';

const sha1 = (x: Uint8Array) => createHash('sha1').update(x).digest('hex');

test('single-file torrent: fields, info hash of the info bytes, piece sizes', () => {
  const info = singleInfo();
  const bytes = torrent(info, { comment: 'hi', 'created by': 'test 1', 'creation date': 1700000000 });
  const m = parseMetainfo(bytes);
  assert.is(m.name, 'data.bin');
  assert.ok(m.singleFile);
  assert.is(m.length, 40000);
  assert.is(m.pieceLength, PL);
  assert.is(m.pieceCount, 3);
  assert.equal(m.files, [{ path: ['data.bin'], length: 40000, offset: 0, padding: false }]);
  assert.is(m.infoHashHex, sha1(encode(info)));
  assert.equal(m.announceTiers, [['http://127.0.0.1:6969/announce']]);
  assert.is(m.comment, 'hi');
  assert.is(m.createdBy, 'test 1');
  assert.is(m.creationDate, 1700000000);
  assert.is(m.private, false);
  assert.equal(m.urlList, []);
  assert.is(pieceSize(m, 0), PL);
  assert.is(pieceSize(m, 2), 40000 - 2 * PL);
});

test('multi-file torrent: files in order with offsets', () => {
  const m = parseMetainfo(torrent(multiInfo()));
  assert.not.ok(m.singleFile);
  assert.is(m.length, 20015);
  assert.equal(
    m.files.map((f) => [f.path.join('/'), f.length, f.offset]),
    [
      ['a.txt', 10, 0],
      ['sub/b.bin', 20000, 10],
      ['sub/c', 5, 20010],
    ],
  );
});

test('announce-list tiers win over announce, empty tiers and URLs dropped', () => {
  const m = parseMetainfo(
    torrent(singleInfo(), {
      announce: 'http://127.0.0.1:1/announce',
      'announce-list': [['http://127.0.0.1:2/announce', 'udp://127.0.0.1:3'], [], ['', 'http://t.invalid/announce']],
    }),
  );
  assert.equal(m.announceTiers, [['http://127.0.0.1:2/announce', 'udp://127.0.0.1:3'], ['http://t.invalid/announce']]);
  assert.is(m.announce, 'http://127.0.0.1:1/announce');
});

test('no trackers at all is a valid (trackerless) torrent', () => {
  const m = parseMetainfo(encode({ info: singleInfo() }));
  assert.equal(m.announceTiers, []);
});

test('url-list as a string (mktorrent, one web seed) and as a list', () => {
  assert.equal(parseMetainfo(torrent(singleInfo(), { 'url-list': 'http://ws.invalid/a' })).urlList, ['http://ws.invalid/a']);
  assert.equal(parseMetainfo(torrent(singleInfo(), { 'url-list': ['http://ws.invalid/a', 'http://ws.invalid/b'] })).urlList, [
    'http://ws.invalid/a',
    'http://ws.invalid/b',
  ]);
  assert.equal(parseMetainfo(torrent(singleInfo(), { 'url-list': '' })).urlList, []);
});

test('private flag, source, and a private=0 that is not private', () => {
  const p = parseMetainfo(torrent(singleInfo({ private: 1, source: 'SRC' })));
  assert.ok(p.private);
  assert.is(p.source, 'SRC');
  assert.not.ok(parseMetainfo(torrent(singleInfo({ private: 0 }))).private);
  assert.ok(parseMetainfo(torrent(singleInfo({ private: 2 }))).private, 'non-zero is private, as libtorrent and Transmission read it');
});

test('hybrid v1+v2 torrent is read for its v1 part', () => {
  const info = multiInfo({ 'meta version': 2, 'file tree': new Map([['a.txt', new Map([['', new Map([['length', 10]])]])]]) });
  const m = parseMetainfo(torrent(info));
  assert.ok(m.hybrid);
  assert.is(m.files.length, 3);
  assert.is(m.infoHashHex, sha1(encode(info)));
});

test('BEP 47 padding files are marked', () => {
  const m = parseMetainfo(
    torrent(
      multiInfo({
        pieces: hashes(2),
        files: [
          { length: 10, path: ['a'] },
          { length: PL - 10, path: ['.pad', String(PL - 10)], attr: 'p' },
          { length: 100, path: ['b'] },
        ],
      }),
    ),
  );
  assert.equal(
    m.files.map((f) => f.padding),
    [false, true, false],
  );
});

test('name.utf-8 and path.utf-8 are preferred when the plain ones are not UTF-8', () => {
  const m = parseMetainfo(
    torrent(
      multiInfo({
        name: b('caf\xe9'),
        'name.utf-8': 'café',
        files: [{ length: 20015, path: [b('\xe9t\xe9')], 'path.utf-8': ['été'] }],
      }),
    ),
  );
  assert.is(m.name, 'café');
  assert.equal(m.files[0]!.path, ['été']);
});

test('an unsorted info dict loads, its info hash is of the original bytes, the problem is reported', () => {
  const rawInfo = b('d4:name1:x6:lengthi5e12:piece lengthi16384e6:pieces20:' + '\0'.repeat(20) + 'e');
  const bytes = encode({ announce: 'http://127.0.0.1:1/announce', info: new RawBencode(rawInfo) });
  const m = parseMetainfo(bytes);
  assert.is(m.infoHashHex, sha1(rawInfo));
  assert.equal(m.keyProblems, ['info.length: key out of order']);
});

for (const [name, bytes, re] of HOSTILE_TORRENTS) {
  test(`hostile: ${name}`, () => {
    let message = 'no error';
    let code = '';
    try {
      parseMetainfo(bytes);
    } catch (e) {
      message = (e as Error).message;
      code = (e as { code?: string }).code ?? '';
    }
    assert.match(message, re);
    assert.is(code, 'EMETAINFO');
    assert.not.match(message, /\n/);
  });
}

test('a second info dict cannot lend its bytes to the info hash of the first', () => {
  const first = 'd6:lengthi10e4:name1:a12:piece lengthi16384e6:pieces20:' + '\0'.repeat(20) + 'e';
  const m = parseMetainfo(b('d4:info' + first + '4:infod6:lengthi1eee'));
  assert.is(m.infoHashHex, sha1(b(first)));
  assert.is(m.length, 10);
});

test('a torrent larger than the bound is refused before parsing', () => {
  const big = new Uint8Array((64 << 20) + 1);
  assert.throws(() => parseMetainfo(big), /larger than 64 MiB/);
});

test.run();
