// deadline: 20s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { base32ToHex, buildMagnet, parseMagnet, MAX_MAGNET_LENGTH, MAX_MAGNET_URLS } from '../../src/codec/magnet';
import { MeshseedError } from '../../src/errors';

const HEX = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a';
// the same 20 bytes in RFC 4648 base32
const B32 = 'YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK';

test('base32 info hash decodes to the same bytes as hex', () => {
  assert.is(base32ToHex(B32), HEX);
  assert.is(base32ToHex(B32.toLowerCase()), HEX);
  assert.is(base32ToHex('A'.repeat(31)), undefined);
  assert.is(base32ToHex('1'.repeat(32)), undefined);
});

const ok: [string, string, Partial<ReturnType<typeof parseMagnet>>][] = [
  ['bare hex', `magnet:?xt=urn:btih:${HEX}`, { infoHashHex: HEX, trackers: [], webSeeds: [], peers: [] }],
  ['upper-case hex', `magnet:?xt=urn:btih:${HEX.toUpperCase()}`, { infoHashHex: HEX }],
  ['base32', `magnet:?xt=urn:btih:${B32}`, { infoHashHex: HEX }],
  ['dn with + and %20', `magnet:?xt=urn:btih:${HEX}&dn=OpenWrt+24.10%20image`, { name: 'OpenWrt 24.10 image' }],
  ['UTF-8 dn', `magnet:?xt=urn:btih:${HEX}&dn=%C3%A9t%C3%A9`, { name: 'été' }],
  [
    'tr repeated, duplicates dropped, bad schemes dropped',
    `magnet:?xt=urn:btih:${HEX}&tr=http%3A%2F%2F10.0.0.1%3A6969%2Fannounce&tr=udp://10.0.0.1:6969&tr=http%3A%2F%2F10.0.0.1%3A6969%2Fannounce&tr=javascript:alert(1)&tr=file:///etc/passwd`,
    { trackers: ['http://10.0.0.1:6969/announce', 'udp://10.0.0.1:6969'] },
  ],
  ['ws', `magnet:?xt=urn:btih:${HEX}&ws=http%3A%2F%2F10.0.0.2%2Ffiles%2F`, { webSeeds: ['http://10.0.0.2/files/'] }],
  ['xl', `magnet:?xt=urn:btih:${HEX}&xl=12345`, { length: 12345 }],
  ['xl not a number is ignored', `magnet:?xt=urn:btih:${HEX}&xl=-5`, { length: undefined }],
  ['x.pe v4 and v6', `magnet:?xt=urn:btih:${HEX}&x.pe=10.0.0.3:6881&x.pe=%5Bfd00%3A%3A1%5D%3A6882&x.pe=nope`, { peers: [{ host: '10.0.0.3', port: 6881 }, { host: 'fd00::1', port: 6882 }] }],
  ['v2 btmh beside v1 btih', `magnet:?xt=urn:btmh:1220${'ab'.repeat(32)}&xt=urn:btih:${HEX}`, { infoHashHex: HEX }],
  ['numbered xt', `magnet:?xt.1=urn:btih:${HEX}`, { infoHashHex: HEX }],
  ['unknown keys ignored, empty parts skipped', `magnet:?&&as=x&kt=y&xt=urn:btih:${HEX}&`, { infoHashHex: HEX }],
  ['scheme in any case', `MAGNET:?xt=urn:btih:${HEX}`, { infoHashHex: HEX }],
];
for (const [name, input, want] of ok)
  test(`parse: ${name}`, () => {
    const m = parseMagnet(input);
    for (const [k, v] of Object.entries(want)) assert.equal((m as unknown as Record<string, unknown>)[k], v, k);
  });

const refused: [string, string, RegExp][] = [
  ['not a magnet', `http://x/?xt=urn:btih:${HEX}`, /magnet:\?/],
  ['no xt', 'magnet:?dn=x', /no 'xt/],
  ['short hash', 'magnet:?xt=urn:btih:abcd', /neither 40 hex/],
  ['two different hashes', `magnet:?xt=urn:btih:${HEX}&xt=urn:btih:${'0'.repeat(40)}`, /two different/],
  ['bad escape', `magnet:?xt=urn:btih:${HEX}&dn=%E0%A4%A`, /percent-escape/],
  ['too long', `magnet:?xt=urn:btih:${HEX}&dn=${'a'.repeat(MAX_MAGNET_LENGTH)}`, /longer than/],
];
for (const [name, input, re] of refused)
  test(`refused: ${name}`, () => {
    try {
      parseMagnet(input);
      assert.unreachable('parsed');
    } catch (e) {
      assert.instance(e, MeshseedError);
      assert.is((e as MeshseedError).code, 'EMAGNET');
      assert.match((e as Error).message, re);
    }
  });

test('trackers are capped', () => {
  const trs = Array.from({ length: 200 }, (_, i) => `tr=http://10.0.0.1:${1000 + i}/announce`).join('&');
  assert.is(parseMagnet(`magnet:?xt=urn:btih:${HEX}&${trs}`).trackers.length, MAX_MAGNET_URLS);
});

test('build then parse gives the same magnet back; values are escaped', () => {
  const m = {
    infoHashHex: HEX,
    name: 'a & b <script>/é?=',
    length: 42,
    trackers: ['http://10.0.0.1:6969/announce?x=1&y=2', 'udp://[fd00::1]:6969'],
    webSeeds: ['http://10.0.0.2/a%20b/'],
    peers: [{ host: 'fd00::1', port: 6881 }, { host: '10.0.0.3', port: 6882 }],
  };
  const s = buildMagnet(m);
  assert.ok(s.startsWith(`magnet:?xt=urn:btih:${HEX}&dn=`));
  assert.not.match(s, /[<> ]/);
  assert.is(s.split('&').length, 1 + 1 + 1 + 2 + 1 + 2);
  assert.equal(parseMagnet(s), m);
});

test.run();
