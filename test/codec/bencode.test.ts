import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RawBencode, decode, encode, isDict } from '../../src/codec/bencode';

const b = (s: string) => Buffer.from(s, 'latin1');
const dec = (s: string) => decode(b(s)).value;
const errorOf = (s: string | Uint8Array, opts = {}) => {
  try {
    decode(typeof s === 'string' ? b(s) : s, opts);
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

test('decodes integers, strings, lists, dicts', () => {
  assert.is(dec('i42e'), 42);
  assert.is(dec('i-7e'), -7);
  assert.is(dec('i0e'), 0);
  assert.equal(Buffer.from(dec('4:spam') as Uint8Array).toString(), 'spam');
  assert.is((dec('0:') as Uint8Array).length, 0);
  const l = dec('li1ei2ee') as number[];
  assert.equal(l, [1, 2]);
  const d = dec('d3:cow3:moo4:spami7ee');
  assert.ok(isDict(d));
  assert.is((d as Map<string, unknown>).get('spam'), 7);
});

const rejected: [string, string | Uint8Array, RegExp][] = [
  ['empty input', '', /empty input/],
  ['trailing bytes', 'i1ei2e', /3 trailing bytes at byte 3/],
  ['truncated string', '5:abc', /runs past the end/],
  ['truncated list', 'li1e', /truncated/],
  ['truncated dict', 'd3:foo', /truncated/],
  ['unterminated integer', 'i12', /truncated/],
  ['leading zero', 'i012e', /leading zero/],
  ['leading zero in length', '03:abc', /leading zero/],
  ['negative zero', 'i-0e', /negative zero/],
  ['float', 'i1.5e', /invalid character/],
  ['empty integer', 'ie', /empty number/],
  ['plus sign', 'i+1e', /invalid character/],
  ['huge integer', 'i99999999999999999999e', /too large/],
  ['non-string key', 'di1ei2ee', /dict key is not a string/],
  ['__proto__ key', 'd9:__proto__d5:polluti1eee', /__proto__/],
  ['garbage', 'x', /unexpected byte 0x78/],
  ['negative length', '-1:a', /unexpected byte/],
];
for (const [name, input, re] of rejected) {
  test(`rejects ${name}`, () => {
    assert.match(errorOf(input), re);
  });
}

test('bounds nesting depth and value count', () => {
  assert.match(errorOf('l'.repeat(40) + 'e'.repeat(40)), /nesting deeper than 32/);
  assert.is(errorOf('l'.repeat(10) + 'e'.repeat(10), { maxDepth: 10 }), 'no error');
  assert.match(errorOf('l'.repeat(11) + 'e'.repeat(11), { maxDepth: 10 }), /nesting deeper than 10/);
  assert.match(errorOf('l' + 'i1e'.repeat(100) + 'e', { maxValues: 50 }), /more than 50 values/);
  // a deep nest far past any stack: bounded, not a RangeError
  assert.match(errorOf('l'.repeat(200000)), /nesting deeper/);
});

test('a __proto__ key never reaches Object.prototype', () => {
  errorOf('d9:__proto__d5:polluti1eee');
  assert.is(({} as Record<string, unknown>).pollut, undefined);
});

test('reports unsorted and duplicate keys with their path, keeps the first value', () => {
  const r = decode(b('d4:infod1:bi1e1:ai2e1:ai3eee'));
  assert.equal(r.keyProblems, ['info.a: key out of order', 'info.a: duplicate key']);
  const info = (r.value as Map<string, Map<string, unknown>>).get('info')!;
  assert.is(info.get('a'), 2);
});

test('records spans of top-level values', () => {
  const input = 'd1:ai1e4:infod1:xi5eee';
  const r = decode(b(input));
  const [s, e] = r.topLevelSpans.get('info')!;
  assert.is(input.slice(s, e), 'd1:xi5ee');
});

test('a duplicate top-level key keeps the span of the value kept (the first)', () => {
  const input = 'd4:infod1:xi1ee4:infod1:xi2eee';
  const r = decode(b(input));
  const [s, e] = r.topLevelSpans.get('info')!;
  assert.is(input.slice(s, e), 'd1:xi1ee');
  assert.is(((r.value as Map<string, Map<string, number>>).get('info')!).get('x'), 1);
});

test('binary keys survive as latin1', () => {
  const key = Buffer.from([0xff, 0x00, 0x80]);
  const input = Buffer.concat([b('d3:'), key, b('i1ee')]);
  const d = decode(input).value as Map<string, unknown>;
  assert.is(d.get(key.toString('latin1')), 1);
});

test('encodes with keys sorted by raw bytes, text keys as UTF-8', () => {
  const m = new Map<string, number>([
    [Buffer.from([0xc3]).toString('latin1'), 1],
    ['b', 2],
    [Buffer.from([0x01]).toString('latin1'), 3],
  ]);
  assert.equal(Buffer.from(encode(m)), Buffer.concat([b('d1:\x01i3e1:bi2e1:\xc3i1ee')]));
  // JS string order would put "é" (U+00E9, UTF-8 c3 a9) after "z"; bytes agree here, and
  // for astral vs BMP-private-use (UTF-16 order differs from UTF-8 order) bytes win:
  const astral = '\u{1F600}'; // f0 9f 98 80
  const pua = '\uE000'; // ee 80 80
  const out = Buffer.from(encode({ [astral]: 1, [pua]: 2 })).toString('latin1');
  assert.ok(out.indexOf(Buffer.from(pua).toString('latin1')) < out.indexOf(Buffer.from(astral).toString('latin1')));
});

test('round trip and raw pass-through', () => {
  const input = b('d8:announce3:url4:infod6:lengthi5e4:name1:xee');
  const d = decode(input).value as Map<string, unknown>;
  assert.equal(Buffer.from(encode(d as never)), input);
  const raw = new RawBencode(b('d1:zi1e1:ai2ee')); // unsorted on purpose: kept byte for byte
  const out = Buffer.from(encode({ announce: 'u', info: raw })).toString('latin1');
  assert.is(out, 'd8:announce1:u4:infod1:zi1e1:ai2eee');
});

test('a string that looks like a raw marker is written as the string it is', () => {
  const fake = '\u0000meshseed-raw-bencode-0\u0000';
  const out = Buffer.from(encode({ comment: fake, info: new RawBencode(b('d1:ai1ee')) })).toString('latin1');
  assert.is(out, `d7:comment${fake.length}:${fake}4:infod1:ai1eee`);
});

test('refuses to encode non-integers', () => {
  assert.throws(() => encode({ a: 1.5 }), /non-integer/);
});

test.run();
