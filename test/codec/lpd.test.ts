// deadline: 20s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  LPD_GROUP_V4,
  LPD_GROUP_V6,
  LPD_MAX_INFOHASHES,
  LPD_SEND_MAX_BYTES,
  formatSearch,
  makeCookie,
  parseSearch,
  type LpdDropReason,
} from '../../src/codec/lpd';
import { FIXTURES, HASH } from './lpd-fixtures';

const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');
const H2 = '5a8e2f0c11d3b4e6f7a8091a2b3c4d5e6f708192';

// ---- what each receiver accepts, modelled on its source (see src/codec/lpd.ts) ----
// Each returns the (port, first infohash) the receiver would act on, or null.
type Seen = { port: number; hash: string } | null;

/** Transmission 3: reads 200 bytes; `\r\n\r\n\r\n` must end them; case-sensitive `\r\nName: ` lookups; first Infohash. */
function transmission3(b: Uint8Array): Seen {
  const s = text(b.subarray(0, 200));
  const m = /^BT-SEARCH \* HTTP\/(\d+)\.(\d+)\r\n/.exec(s);
  if (!m || Number(m[1]) !== 1) return null;
  const end = s.indexOf('\r\n\r\n\r\n');
  if (end < 0 || end + 6 !== s.length) return null;
  const param = (name: string) => {
    const at = s.indexOf(`\r\n${name}: `);
    return at < 0 ? null : s.slice(at + name.length + 4, s.indexOf('\r\n', at + 2));
  };
  const port = param('Port');
  const hash = param('Infohash');
  if (port === null || hash === null || !/^\d+$/.test(port) || Number(port) > 65535) return null;
  return { port: Number(port), hash: hash.toLowerCase() };
}
/** Transmission 4: up to 1400 bytes; HTTP/1.x with x >= 1; case-sensitive `Port: `, `Infohash: `. */
function transmission4(b: Uint8Array): Seen {
  if (b.length > 1400) return null;
  const s = text(b);
  const m = /BT-SEARCH \* HTTP\/(\d+)\.(\d+)\r\n/.exec(s);
  if (!m || Number(m[1]) !== 1 || Number(m[2]) < 1) return null;
  const p = /Port: (\d+)\r\n/.exec(s);
  const h = /Infohash: ([^\r]*)\r\n/.exec(s);
  if (!p || !h || Number(p[1]) > 65535) return null;
  return { port: Number(p[1]), hash: h[1]!.toLowerCase() };
}
/** aria2: reads 200 bytes as an HTTP request; header names in any case; first infohash. */
function aria2(b: Uint8Array): Seen {
  const s = text(b.subarray(0, 200));
  const end = s.indexOf('\r\n\r\n');
  if (end < 0 || !s.startsWith('BT-SEARCH ')) return null;
  const headers = s.slice(s.indexOf('\r\n') + 2, end).split('\r\n');
  const get = (n: string) => headers.find((l) => l.toLowerCase().startsWith(`${n}:`))?.slice(n.length + 1).trim();
  const port = get('port');
  const hash = get('infohash');
  if (!port || !hash || hash.length !== 40) return null;
  return { port: Number(port), hash: hash.toLowerCase() };
}
/** webtorrent: line 1 exactly `BT-SEARCH * HTTP/1.1`, `Host: <group>:6771` on line 2, `Port: ` on line 3. */
function webtorrent(b: Uint8Array): Seen {
  const lines = text(b).split('\r\n');
  if (lines[0] !== 'BT-SEARCH * HTTP/1.1') return null;
  const host = lines[1]?.split('Host: ')[1];
  if (!host || !/^(239.192.152.143|\[ff15::efc0:988f]):6771$/.test(host)) return null;
  const port = lines[2]?.split('Port: ')[1];
  if (!port || !/^\d+$/.test(port)) return null;
  const hashes = lines.filter((l) => l.includes('Infohash: ')).map((l) => l.split('Infohash: ')[1]!).filter((h) => /^[0-9a-fA-F]{40}$/.test(h));
  return hashes.length ? { port: Number(port), hash: hashes[0]!.toLowerCase() } : null;
}
/** libtorrent: an HTTP request with method bt-search; `port` in 1..65534; 40-character infohashes. */
function libtorrent(b: Uint8Array): Seen {
  const s = text(b.subarray(0, 1500));
  const end = s.indexOf('\r\n\r\n');
  if (end < 0 || s.slice(0, s.indexOf(' ')).toLowerCase() !== 'bt-search') return null;
  const headers = s.slice(s.indexOf('\r\n') + 2, end).split('\r\n');
  const get = (n: string) => headers.filter((l) => l.toLowerCase().startsWith(`${n}:`)).map((l) => l.slice(n.length + 1).trim());
  const port = Number.parseInt(get('port')[0] ?? '', 10);
  if (!(port > 0 && port < 65535)) return null;
  const hash = get('infohash').find((h) => h.length === 40);
  return hash ? { port, hash: hash.toLowerCase() } : null;
}
const RECEIVERS = { transmission3, transmission4, aria2, webtorrent, libtorrent };

// ---- formatSearch ----

test('formatSearch writes Host, Port, one Infohash, cookie and two empty lines, byte for byte', () => {
  const b = formatSearch({ host: LPD_GROUP_V4, port: 6881, infoHashHex: HASH.toUpperCase(), cookie: '1a2b3c4d' });
  assert.is(
    text(b),
    `BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\nInfohash: ${HASH}\r\ncookie: 1a2b3c4d\r\n\r\n\r\n`,
  );
  const b6 = formatSearch({ host: LPD_GROUP_V6, port: 6881, infoHashHex: HASH, cookie: '1a2b3c4d' });
  assert.ok(text(b6).startsWith('BT-SEARCH * HTTP/1.1\r\nHost: [ff15::efc0:988f]:6771\r\nPort: 6881\r\n'));
});

test('our datagram is well under the 200 bytes the strictest receivers read, at its largest', () => {
  const b = formatSearch({ host: LPD_GROUP_V6, port: 65534, infoHashHex: HASH, cookie: 'x'.repeat(32) });
  assert.ok(b.length <= 163 && b.length < LPD_SEND_MAX_BYTES, `${b.length} bytes`);
  // what we actually send: an 8-hex-digit cookie
  const ours = formatSearch({ host: LPD_GROUP_V6, port: 65534, infoHashHex: HASH, cookie: makeCookie(() => new Uint8Array(4)) });
  assert.is(ours.length, 139);
});

test('every receiver style accepts our datagram and sees our port and infohash', () => {
  for (const host of [LPD_GROUP_V4, LPD_GROUP_V6] as const) {
    for (const port of [1, 6881, 51413, 65534]) {
      const b = formatSearch({ host, port, infoHashHex: HASH, cookie: 'c0ffee01' });
      for (const [name, accepts] of Object.entries(RECEIVERS)) {
        assert.equal(accepts(b), { port, hash: HASH }, `${name} on ${host} port ${port}`);
      }
      const parsed = parseSearch(b);
      assert.ok(parsed.ok);
      if (parsed.ok) assert.equal(parsed.search.infoHashes, [HASH]);
    }
  }
});

test('the receiver models hold the limits they are modelled on', () => {
  // first infohash only: in a two-hash datagram Transmission 3 and aria2 see the first
  const two = bytes(`BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\nInfohash: ${H2}\r\nInfohash: ${HASH}\r\n\r\n\r\n`);
  assert.ok(two.length <= 200);
  assert.equal(transmission3(two)?.hash, H2);
  assert.equal(aria2(two)?.hash, H2);
  // Transmission 4's three-hash datagram is over 200 bytes: both drop it whole; we read all three
  const multi = bytes(FIXTURES.find((f) => f.client === 'Transmission 4')!.text);
  assert.ok(multi.length > 200, `${multi.length} bytes`);
  assert.is(transmission3(multi), null);
  assert.is(aria2(multi), null);
  const r = parseSearch(multi);
  assert.is(r.ok && r.search.infoHashes.length, 3);
  // first 200 bytes: padding the datagram past 200 hides the end from Transmission 3
  const long = bytes(`BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\nX-Pad: ${'p'.repeat(150)}\r\nInfohash: ${HASH}\r\n\r\n\r\n`);
  assert.is(transmission3(long), null);
  assert.is(aria2(long), null);
  assert.ok(parseSearch(long).ok, 'we read up to 1400 bytes');
  // Host on line 2, Port on line 3: swapping them loses webtorrent only
  const swapped = bytes(`BT-SEARCH * HTTP/1.1\r\nPort: 6881\r\nHost: 239.192.152.143:6771\r\nInfohash: ${HASH}\r\n\r\n\r\n`);
  assert.is(webtorrent(swapped), null);
  assert.ok(transmission3(swapped) && libtorrent(swapped));
  // lower-case header names: Transmission 3 and 4 look them up case-sensitively
  const lower = bytes(`BT-SEARCH * HTTP/1.1\r\nhost: 239.192.152.143:6771\r\nport: 6881\r\ninfohash: ${HASH}\r\n\r\n\r\n`);
  assert.is(transmission3(lower), null);
  assert.is(transmission4(lower), null);
  assert.ok(libtorrent(lower) && parseSearch(lower).ok);
  // one empty line instead of two: Transmission 3 drops it
  const oneBlank = bytes(`BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\nInfohash: ${HASH}\r\n\r\n`);
  assert.is(transmission3(oneBlank), null);
  // port 65535: libtorrent drops it, so formatSearch refuses it
  assert.throws(() => formatSearch({ host: LPD_GROUP_V4, port: 65535, infoHashHex: HASH, cookie: 'a' }), /1\.\.65534/);
});

test('formatSearch refuses arguments some receiver would reject', () => {
  const ok = { host: LPD_GROUP_V4, port: 6881, infoHashHex: HASH, cookie: 'abc' } as const;
  for (const bad of [
    { ...ok, port: 0 },
    { ...ok, port: 6881.5 },
    { ...ok, infoHashHex: HASH.slice(1) },
    { ...ok, infoHashHex: 'g'.repeat(40) },
    { ...ok, cookie: '' },
    { ...ok, cookie: 'has space' },
    { ...ok, cookie: 'x'.repeat(33) },
    { ...ok, cookie: 'a\r\nInfohash: x' },
    { ...ok, host: '10.0.0.1' as typeof LPD_GROUP_V4 },
  ]) {
    assert.throws(() => formatSearch(bad), undefined, JSON.stringify(bad));
  }
});

// ---- parseSearch: what real clients send ----

for (const f of FIXTURES) {
  test(`parses ${f.client}'s datagram (${f.origin})`, () => {
    const r = parseSearch(bytes(f.text));
    assert.ok(r.ok, JSON.stringify(r));
    if (!r.ok) return;
    assert.is(r.search.port, f.expect.port);
    assert.equal(r.search.infoHashes, f.expect.infoHashes);
    assert.is(r.search.cookie, f.expect.cookie);
    assert.is(r.search.host, f.expect.host);
    assert.is(r.search.version, '1.1');
  });
}

// ---- parseSearch: liberal in what it accepts ----

const accepted: [string, string, { port: number; infoHashes: string[]; version?: string; cookie?: string }][] = [
  ['HTTP/1.0', `BT-SEARCH * HTTP/1.0\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\nInfohash: ${HASH}\r\n\r\n\r\n`, { port: 6881, infoHashes: [HASH], version: '1.0' }],
  ['header names in any case', `bt-search * HTTP/1.1\r\nHOST: 239.192.152.143:6771\r\nport: 1\r\nINFOHASH: ${HASH}\r\nCookie: zz\r\n\r\n`, { port: 1, infoHashes: [HASH], cookie: 'zz' }],
  ['no Host, no cookie, one empty line', `BT-SEARCH * HTTP/1.1\r\nPort: 65535\r\nInfohash: ${HASH}\r\n\r\n`, { port: 65535, infoHashes: [HASH] }],
  ['bare LF line ends', `BT-SEARCH * HTTP/1.1\nPort: 6881\nInfohash: ${HASH}\n\n`, { port: 6881, infoHashes: [HASH] }],
  ['spaces around values', `BT-SEARCH * HTTP/1.1\r\nPort:   6881  \r\nInfohash:\t${HASH}\r\n\r\n`, { port: 6881, infoHashes: [HASH] }],
  ['mixed-case hex normalised, duplicates merged', `BT-SEARCH * HTTP/1.1\r\nPort: 6881\r\nInfohash: ${HASH.toUpperCase()}\r\nInfohash: ${HASH}\r\nInfohash: ${H2.toUpperCase()}\r\n\r\n`, { port: 6881, infoHashes: [HASH, H2] }],
  ['an invalid infohash next to a valid one is skipped', `BT-SEARCH * HTTP/1.1\r\nPort: 6881\r\nInfohash: abc\r\nInfohash: ${H2}\r\n\r\n`, { port: 6881, infoHashes: [H2] }],
  ['unknown headers ignored, first Port wins', `BT-SEARCH * HTTP/1.1\r\nX-Thing: 1\r\nPort: 6881\r\nPort: 7000\r\nInfohash: ${HASH}\r\n\r\n`, { port: 6881, infoHashes: [HASH] }],
  ['bytes after the empty lines ignored', `BT-SEARCH * HTTP/1.1\r\nPort: 6881\r\nInfohash: ${HASH}\r\n\r\n\r\ngarbage\x00\xff`, { port: 6881, infoHashes: [HASH] }],
  ['26 infohashes (as many as fit in 1400 bytes)', `BT-SEARCH * HTTP/1.1\r\nPort: 6881\r\n${Array.from({ length: 26 }, (_, i) => `Infohash: ${i.toString(16).padStart(40, '0')}\r\n`).join('')}\r\n`, { port: 6881, infoHashes: Array.from({ length: 26 }, (_, i) => i.toString(16).padStart(40, '0')) }],
  [`${LPD_MAX_INFOHASHES} short Infohash lines, one valid`, `BT-SEARCH * HTTP/1.1\r\nPort: 6881\r\n${'Infohash: x\r\n'.repeat(LPD_MAX_INFOHASHES - 1)}Infohash: ${HASH}\r\n\r\n`, { port: 6881, infoHashes: [HASH] }],
];
for (const [name, input, want] of accepted) {
  test(`accepts: ${name}`, () => {
    const r = parseSearch(bytes(input));
    assert.ok(r.ok, JSON.stringify(r));
    if (!r.ok) return;
    assert.is(r.search.port, want.port);
    assert.equal(r.search.infoHashes, want.infoHashes);
    if (want.version) assert.is(r.search.version, want.version);
    if ('cookie' in want) assert.is(r.search.cookie, want.cookie);
  });
}

test('accepts a 1400-byte datagram and drops a 1401-byte one', () => {
  const base = `BT-SEARCH * HTTP/1.1\r\nPort: 6881\r\nInfohash: ${HASH}\r\n\r\n`;
  const at = (n: number) => bytes(base + 'x'.repeat(n - base.length));
  assert.ok(parseSearch(at(1400)).ok);
  assert.equal(parseSearch(at(1401)), { ok: false, reason: 'too-large' });
});

// ---- parseSearch: dropped, with a reason ----

const dropped: [string, string, LpdDropReason][] = [
  ['empty datagram', '', 'not-bt-search'],
  ['an SSDP search', 'M-SEARCH * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\n\r\n', 'not-bt-search'],
  ['no target', `BT-SEARCH HTTP/1.1\r\nPort: 6881\r\nInfohash: ${HASH}\r\n\r\n`, 'not-bt-search'],
  ['HTTP/2.0', `BT-SEARCH * HTTP/2.0\r\nPort: 6881\r\nInfohash: ${HASH}\r\n\r\n`, 'bad-version'],
  ['no empty line (cut short)', `BT-SEARCH * HTTP/1.1\r\nPort: 6881\r\nInfohash: ${HASH}\r\n`, 'unterminated'],
  ['a line without a colon', `BT-SEARCH * HTTP/1.1\r\nPort 6881\r\nInfohash: ${HASH}\r\n\r\n`, 'bad-header'],
  ['a header name with a space', `BT-SEARCH * HTTP/1.1\r\nIn fohash: x\r\nPort: 6881\r\n\r\n`, 'bad-header'],
  ['no Port', `BT-SEARCH * HTTP/1.1\r\nInfohash: ${HASH}\r\n\r\n`, 'no-port'],
  ['port 0', `BT-SEARCH * HTTP/1.1\r\nPort: 0\r\nInfohash: ${HASH}\r\n\r\n`, 'bad-port'],
  ['port 65536', `BT-SEARCH * HTTP/1.1\r\nPort: 65536\r\nInfohash: ${HASH}\r\n\r\n`, 'bad-port'],
  ['negative port', `BT-SEARCH * HTTP/1.1\r\nPort: -1\r\nInfohash: ${HASH}\r\n\r\n`, 'bad-port'],
  ['port with junk', `BT-SEARCH * HTTP/1.1\r\nPort: 6881abc\r\nInfohash: ${HASH}\r\n\r\n`, 'bad-port'],
  ['port with many digits', `BT-SEARCH * HTTP/1.1\r\nPort: 0000006881\r\nInfohash: ${HASH}\r\n\r\n`, 'bad-port'],
  ['no Infohash', 'BT-SEARCH * HTTP/1.1\r\nPort: 6881\r\n\r\n', 'no-infohash'],
  ['a 39-digit infohash', `BT-SEARCH * HTTP/1.1\r\nPort: 6881\r\nInfohash: ${HASH.slice(1)}\r\n\r\n`, 'bad-infohash'],
  ['a base32 infohash', 'BT-SEARCH * HTTP/1.1\r\nPort: 6881\r\nInfohash: ABCDEFGHIJKLMNOPQRSTUVWXYZ234567\r\n\r\n', 'bad-infohash'],
  ['non-hex digits', `BT-SEARCH * HTTP/1.1\r\nPort: 6881\r\nInfohash: ${'z'.repeat(40)}\r\n\r\n`, 'bad-infohash'],
  [`${LPD_MAX_INFOHASHES + 1} infohash lines`, `BT-SEARCH * HTTP/1.1\r\nPort: 6881\r\n${'Infohash: x\r\n'.repeat(LPD_MAX_INFOHASHES + 1)}\r\n`, 'too-many-infohashes'],
];
for (const [name, input, reason] of dropped) {
  test(`drops: ${name} (${reason})`, () => {
    assert.equal(parseSearch(bytes(input)), { ok: false, reason });
  });
}

test('parseSearch never throws on random bytes', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  const prefix = bytes('BT-SEARCH * HTTP/1.1\r\n');
  for (let i = 0; i < 3000; i++) {
    const n = rnd() * 6;
    const b = new Uint8Array(n + (i % 2 ? prefix.length : 0));
    if (i % 2) b.set(prefix);
    for (let j = i % 2 ? prefix.length : 0; j < b.length; j++) b[j] = i % 3 ? rnd() : '\r\n:Port Infohash 0123456789abcdef'.charCodeAt(rnd() % 32);
    const r = parseSearch(b);
    assert.type(r.ok, 'boolean');
  }
});

test('makeCookie is 8 hex digits from 4 random bytes', () => {
  assert.is(makeCookie(() => new Uint8Array([0xde, 0xad, 0x00, 0x0f])), 'dead000f');
});

test.run();
