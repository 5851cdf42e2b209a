// deadline: 20s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decodeAnnounceInto,
  decodeAnnounceParams,
  emptyAnnounceRequest,
  decodeScrapeParams,
  compactAnnounceLength,
  encodeAnnounceResponse,
  encodeFailure,
  encodeScrapeResponse,
  parseRequestTarget,
  percentDecode,
  percentEncode,
  writeCompactAnnounce,
} from '../../src/codec/tracker-http';
import { decode, encode, isDict, latin1 } from '../../src/codec/bencode';

const b = (s: string) => Buffer.from(s, 'latin1');
const HASH = Buffer.from('0123456789abcdef0123456789abcdef01234567', 'hex');
const PEER = Buffer.from('-TR3000-abcdefghijkl');

function announce(query: string) {
  const t = parseRequestTarget(b(`/announce?${query}`));
  assert.ok(t.ok, JSON.stringify(t));
  if (!t.ok) throw new Error();
  return decodeAnnounceParams(t.value.params);
}
const base = `info_hash=${percentEncode(HASH)}&peer_id=${percentEncode(PEER)}&port=6881&uploaded=1&downloaded=2&left=3`;

test('percent-decoding keeps raw bytes, + stays +, and refuses broken escapes', () => {
  assert.equal([...percentDecode(b('%00%ff%FFa+'), 0, 11, 10)!], [0, 255, 255, 0x61, 0x2b]);
  assert.is(percentDecode(b('%0'), 0, 2, 10), undefined);
  assert.is(percentDecode(b('%zz'), 0, 3, 10), undefined);
  assert.is(percentDecode(b('abc'), 0, 3, 2), undefined, 'bounded');
  const all = new Uint8Array(256).map((_, i) => i);
  assert.equal(percentDecode(b(percentEncode(all)), 0, percentEncode(all).length, 256), all);
});

test('announce: every field, as real clients send them', () => {
  const r = announce(`${base}&event=started&compact=1&no_peer_id=1&numwant=80&key=abc&ip=10.0.0.9`);
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(Buffer.from(r.value.infoHash), HASH);
  assert.equal(Buffer.from(r.value.peerId), PEER);
  assert.is(r.value.port, 6881);
  assert.is(r.value.uploaded, 1);
  assert.is(r.value.downloaded, 2);
  assert.is(r.value.left, 3);
  assert.is(r.value.event, 'started');
  assert.ok(r.value.compact);
  assert.ok(r.value.noPeerId);
  assert.is(r.value.numwant, 80);
  assert.is(r.value.ip, '10.0.0.9');
});

test('announce: defaults and events', () => {
  const r = announce(base);
  assert.ok(r.ok && r.value.event === 'none' && !r.value.compact && r.value.numwant === undefined);
  for (const [e, want] of [['paused', 'paused'], ['completed', 'completed'], ['stopped', 'stopped'], ['empty', 'none']]) {
    const x = announce(`${base}&event=${e}`);
    assert.ok(x.ok && x.value.event === want, e);
  }
  const neg = announce(`${base}&numwant=-1`);
  assert.ok(neg.ok && neg.value.numwant === undefined, 'numwant=-1 means the default');
  const zero = announce(`${base}&numwant=0`);
  assert.ok(zero.ok && zero.value.numwant === 0);
  const semi = parseRequestTarget(b(`/announce?${base.replace(/&/g, ';')}`));
  assert.ok(semi.ok && decodeAnnounceParams(semi.value.params).ok, 'semicolon separators');
  const gaps = parseRequestTarget(b(`/announce?&&${base.replace(/&/g, '&&;')}&`));
  assert.ok(gaps.ok, 'empty parameters are skipped');
  if (gaps.ok) assert.equal(gaps.value.params.entries(), (parseRequestTarget(b(`/announce?${base}`)) as { ok: true; value: { params: { entries(): unknown } } }).value.params.entries());
  const one = parseRequestTarget(b('/announce?x'));
  assert.ok(one.ok && one.value.params.length === 1 && one.value.params.valueLength(0) === 0);
  const none = parseRequestTarget(b('/announce?'));
  assert.ok(none.ok && none.value.params.length === 0);
  const first = announce(`${base}&port=7000`);
  assert.ok(first.ok && first.value.port === 6881, 'first of duplicate parameters wins');
  const noLeft = announce(base.replace('&left=3', ''));
  assert.ok(noLeft.ok && noLeft.value.left === undefined);
  // Transmission's magnet before its metadata: left = 2^64-1, a leecher of unknown size
  const magnetLeft = announce(base.replace('left=3', 'left=18446744073709551615'));
  assert.ok(magnetLeft.ok && magnetLeft.value.left === undefined);
});

test('parameters are read in place: escaped names and digits, values copied only when read', () => {
  const escaped = announce(
    `info%5Fhash=${percentEncode(HASH)}&peer_id=${percentEncode(PEER)}&%70ort=%36881&left=%30&numwant=%2D1&compact=%31&event=%73tarted`,
  );
  assert.ok(escaped.ok, JSON.stringify(escaped));
  if (!escaped.ok) return;
  assert.equal(Buffer.from(escaped.value.infoHash), HASH);
  assert.is(escaped.value.port, 6881);
  assert.is(escaped.value.left, 0);
  assert.is(escaped.value.numwant, undefined);
  assert.ok(escaped.value.compact);
  assert.is(escaped.value.event, 'started');
  const t = parseRequestTarget(b(`/announce?${base}&key=%00k`));
  assert.ok(t.ok);
  if (!t.ok) return;
  const p = t.value.params;
  assert.is(p.length, 7);
  const at = p.indexesOf(['key', 'nope', 'port'], new Int16Array(3));
  assert.is(at[0], 6);
  assert.is(at[1], -1);
  assert.equal([...p.value(6)], [0, 0x6b]);
  assert.is(p.decimal(at[2]!), 6881);
  // the copy is the reader's own: changing it leaves the request alone
  const h = p.value(0);
  h[0] = 0xee;
  assert.equal(Buffer.from(p.value(0)), HASH);
  // several names in one walk: the first of duplicates, escaped names, near misses
  const many = parseRequestTarget(b('/announce?portx=1&%70ort=2&port=3&i%70=4&key&ke=5'));
  assert.ok(many.ok);
  if (!many.ok) return;
  assert.equal([...many.value.params.indexesOf(['port', 'ip', 'key', 'nope', 'ke'], new Int16Array(5))], [1, 3, 4, -1, 5]);
});

test('an announce decoded into a kept request: every field written again, arrays written in place', () => {
  const into = emptyAnnounceRequest();
  const { infoHash, peerId } = into;
  const first = parseRequestTarget(b(`/announce?${base}&numwant=5&ip=10.0.0.1&key=k&compact=1&no_peer_id=1&event=started`));
  const second = parseRequestTarget(b(`/announce?info_hash=${percentEncode(Buffer.alloc(20, 7))}&peer_id=${percentEncode(PEER)}&port=1`));
  assert.ok(first.ok && second.ok);
  if (!first.ok || !second.ok) return;
  assert.is(decodeAnnounceInto(first.value.params, into), undefined);
  assert.equal(Buffer.from(into.infoHash), HASH);
  assert.equal([into.numwant, into.ip, latin1(into.key!), into.compact, into.noPeerId, into.event], [5, '10.0.0.1', 'k', true, true, 'started']);
  assert.is(decodeAnnounceInto(second.value.params, into), undefined);
  assert.ok(into.infoHash === infoHash && into.peerId === peerId, 'the same arrays');
  assert.equal(Buffer.from(into.infoHash), Buffer.alloc(20, 7));
  assert.equal(
    [into.port, into.uploaded, into.downloaded, into.left, into.numwant, into.ip, into.key, into.compact, into.noPeerId, into.event],
    [1, 0, 0, undefined, undefined, undefined, undefined, false, false, 'none'],
  );
  const bad = parseRequestTarget(b(`/announce?info_hash=${percentEncode(HASH)}&port=1`));
  assert.ok(bad.ok);
  if (bad.ok) assert.is(decodeAnnounceInto(bad.value.params, into), 'missing peer_id');
});

const malformed: [string, string, RegExp][] = [
  ['no info_hash', `peer_id=${percentEncode(PEER)}&port=1`, /missing info_hash/],
  ['short info_hash', base.replace(percentEncode(HASH), percentEncode(HASH.subarray(0, 19))), /info_hash is 19 bytes/],
  ['long info_hash', base.replace(percentEncode(HASH), percentEncode(HASH) + 'a'), /info_hash is 21 bytes/],
  ['no peer_id', `info_hash=${percentEncode(HASH)}&port=1`, /missing peer_id/],
  ['short peer_id', base.replace(percentEncode(PEER), 'abc'), /peer_id is 3 bytes/],
  ['no port', base.replace('&port=6881', ''), /missing port/],
  ['port too big', base.replace('port=6881', 'port=65536'), /port is not/],
  ['port not a number', base.replace('port=6881', 'port=12a'), /port is not/],
  ['negative left', base.replace('left=3', 'left=-3'), /left is not/],
  ['huge uploaded', base.replace('uploaded=1', 'uploaded=123456789012345678901'), /uploaded is not/],
  ['unknown event', `${base}&event=exploded`, /unknown event 'exploded'/],
  ['numwant text', `${base}&numwant=lots`, /numwant is not/],
  ['numwant sign alone', `${base}&numwant=-`, /numwant is not/],
  ['numwant sign inside', `${base}&numwant=1-2`, /numwant is not/],
  ['event named like an object property', `${base}&event=constructor`, /unknown event 'constructor'/],
  ['empty port', base.replace('port=6881', 'port='), /port is not/],
];
for (const [name, query, re] of malformed)
  test(`announce refused: ${name}`, () => {
    const r = announce(query);
    assert.not.ok(r.ok);
    if (!r.ok) assert.match(r.failure, re);
  });

test('request target limits: length, parameters, raw bytes, escapes', () => {
  assert.not.ok(parseRequestTarget(b('/announce?x=' + 'a'.repeat(7000))).ok);
  assert.not.ok(parseRequestTarget(b('/announce?' + 'a=1&'.repeat(200))).ok);
  assert.not.ok(parseRequestTarget(b('/announce?a=\x01')).ok);
  assert.not.ok(parseRequestTarget(b('/announce?a=\xff')).ok);
  assert.not.ok(parseRequestTarget(b('/announce?a=%4')).ok);
  assert.not.ok(parseRequestTarget(b('/announce?key=' + 'k'.repeat(200))).ok, 'over-long value');
  assert.not.ok(parseRequestTarget(b('')).ok);
  const t = parseRequestTarget(b('/an%6eounce?&&a&b=&=c'));
  assert.ok(t.ok);
  if (t.ok) {
    assert.is(t.value.path, '/announce');
    assert.equal(t.value.params.entries().map(([n, v]) => [n, latin1(v)]), [['a', ''], ['b', ''], ['', 'c']]);
  }
});

test('scrape: several hashes, bounded, wrong sizes refused', () => {
  const q = (n: number) => Array.from({ length: n }, () => `info_hash=${percentEncode(HASH)}`).join('&');
  const t = parseRequestTarget(b(`/scrape?${q(3)}`));
  assert.ok(t.ok);
  if (!t.ok) return;
  const r = decodeScrapeParams(t.value.params);
  assert.ok(r.ok && r.value.length === 3);
  const scrape = (query: string) => {
    const p = parseRequestTarget(b(`/scrape?${query}`));
    if (!p.ok) throw new Error(p.failure);
    return decodeScrapeParams(p.value.params);
  };
  const none = scrape('');
  assert.ok(none.ok && none.value.length === 0);
  const bad = scrape(`info_hash=${percentEncode(HASH)}&info_hash=abcde`);
  assert.not.ok(bad.ok);
  const many = scrape(q(75));
  assert.not.ok(many.ok);
});

test('announce response: compact, peers6, sorted keys, byte-exact', () => {
  const peers4 = new Uint8Array([10, 0, 0, 1, 0x1a, 0xe1]);
  const out = Buffer.from(
    encodeAnnounceResponse({ interval: 120, minInterval: 60, complete: 1, incomplete: 2, downloaded: 3, peers4, peers6: new Uint8Array(0) }),
  ).toString('latin1');
  assert.is(out, 'd8:completei1e10:downloadedi3e10:incompletei2e8:intervali120e12:min intervali60e5:peers6:\x0a\x00\x00\x01\x1a\xe1e');
  const six = new Uint8Array(18);
  six[15] = 1;
  six[17] = 5;
  const d = decode(encodeAnnounceResponse({ interval: 1, minInterval: 1, complete: 0, incomplete: 0, downloaded: 0, peers6: six })).value;
  assert.ok(isDict(d));
  assert.equal([...(d as Map<string, Uint8Array>).get('peers6')!], [...six]);
  assert.is(((d as Map<string, Uint8Array>).get('peers') as Uint8Array).length, 0);
});

test('a compact reply written into a larger buffer: its length, and the bytes encodeAnnounceResponse gives', () => {
  const six = new Uint8Array(36).fill(7);
  const cases = [
    { interval: 120, minInterval: 60, complete: 0, incomplete: 0, downloaded: 0 },
    { interval: 1800, minInterval: 900, complete: 12345, incomplete: 7, downloaded: 99, peers4: new Uint8Array(300).fill(3) },
    { interval: 5, minInterval: 2, complete: 1, incomplete: 1, downloaded: 1, peers4: new Uint8Array(6), peers6: six },
  ];
  for (const r of cases) {
    const want = Buffer.from(encodeAnnounceResponse(r));
    assert.is(compactAnnounceLength(r), want.length);
    const out = Buffer.alloc(want.length + 50, 0xee);
    const n = writeCompactAnnounce(r, out);
    assert.is(n, want.length);
    assert.ok(out.subarray(0, n).equals(want), `the same bytes: ${want.toString('latin1')}`);
    assert.is(out[n], 0xee, 'nothing written past the reply');
  }
});

test('the compact fast path writes exactly what the bencode adapter writes', () => {
  const rnd = (n: number) => new Uint8Array(n).map(() => Math.floor(Math.random() * 256));
  const counts = [0, 9, 10, 99, 123456789, 2 ** 40, -1, -10];
  for (const [k, [n4, n6]] of [[0, 0], [1, 0], [0, 1], [50, 3], [200, 200], [1, 1], [2, 0], [0, 6]].entries()) {
    const c = (j: number) => counts[(k + j) % counts.length]!;
    const r = { interval: c(0), minInterval: c(1), complete: c(2), incomplete: c(3), downloaded: c(4), peers4: rnd(6 * n4!), peers6: rnd(18 * n6!) };
    const generic = encode({
      complete: r.complete,
      downloaded: r.downloaded,
      incomplete: r.incomplete,
      interval: r.interval,
      'min interval': r.minInterval,
      peers: r.peers4,
      ...(n6 ? { peers6: r.peers6 } : {}),
    });
    assert.equal(Buffer.from(encodeAnnounceResponse(r)), Buffer.from(generic), `${n4} + ${n6} peers`);
  }
});

test('announce response: dictionary peers with and without peer id', () => {
  const peer = { ip: '10.0.0.1', port: 6881, peerId: PEER };
  const withId = Buffer.from(encodeAnnounceResponse({ interval: 1, minInterval: 1, complete: 0, incomplete: 1, downloaded: 0, dictPeers: [peer] })).toString('latin1');
  assert.match(withId, '5:peersld2:ip8:10.0.0.17:peer id20:-TR3000-abcdefghijkl4:porti6881eee');
  const noId = Buffer.from(
    encodeAnnounceResponse({ interval: 1, minInterval: 1, complete: 0, incomplete: 1, downloaded: 0, dictPeers: [peer], noPeerId: true }),
  ).toString('latin1');
  assert.match(noId, '5:peersld2:ip8:10.0.0.14:porti6881eee');
});

test('scrape response keyed by raw hash, sorted by bytes; failure reason', () => {
  const h1 = new Uint8Array(20).fill(0xff);
  const h2 = new Uint8Array(20).fill(0x01);
  const out = Buffer.from(
    encodeScrapeResponse([
      { infoHash: h1, complete: 1, downloaded: 2, incomplete: 3 },
      { infoHash: h2, complete: 4, downloaded: 5, incomplete: 6 },
    ]),
  ).toString('latin1');
  assert.is(out, `d5:filesd20:${latin1(h2)}d8:completei4e10:downloadedi5e10:incompletei6ee20:${latin1(h1)}d8:completei1e10:downloadedi2e10:incompletei3eeee`);
  assert.is(Buffer.from(encodeFailure('nope')).toString(), 'd14:failure reason4:nopee');
});

test.run();
