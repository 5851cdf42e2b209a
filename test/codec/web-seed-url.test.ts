// deadline: 20s
// Table tests of the pure BEP 19 rules: file URLs, range planning, response-head checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkRangeHead,
  encodeUrlComponent,
  parseContentRange,
  parseWebSeedUrl,
  planRanges,
  resolveRedirect,
  webSeedFileUrl,
  WebSeedError,
  type WebSeedFile,
} from '../../src/codec/web-seed-url';

test('single-file: the URL is the file, unless it ends in / (then the name, percent-encoded, is appended)', () => {
  const rows: [string, string, string][] = [
    ['http://m.example/iso/image.iso', 'other-name.iso', 'http://m.example/iso/image.iso'],
    ['http://m.example/iso/', 'image.iso', 'http://m.example/iso/image.iso'],
    ['http://m.example/', 'a b.iso', 'http://m.example/a%20b.iso'],
    ['http://m.example/', 'héllo wörld.txt', 'http://m.example/h%C3%A9llo%20w%C3%B6rld.txt'],
    ['http://m.example/', 'what#is?this%20.txt', 'http://m.example/what%23is%3Fthis%2520.txt'],
    ['http://m.example/', "a+b&c=d;e,f!'()*~_-.txt", "http://m.example/a%2Bb%26c%3Dd%3Be%2Cf%21%27%28%29%2A~_-.txt"],
    ['https://m.example:8443/x/', '日本.bin', 'https://m.example:8443/x/%E6%97%A5%E6%9C%AC.bin'],
  ];
  for (const [base, name, want] of rows) assert.is(webSeedFileUrl(base, name, true, [name]), want, `${base} + ${name}`);
});

test('multi-file: name and every path component appended, a missing / added', () => {
  const rows: [string, string, string[], string][] = [
    ['http://m.example/pub/', 'Album', ['cd 1', '01 - intro.flac'], 'http://m.example/pub/Album/cd%201/01%20-%20intro.flac'],
    ['http://m.example/pub', 'Album', ['a.txt'], 'http://m.example/pub/Album/a.txt'],
    ['http://m.example', 'D', ['x'], 'http://m.example/D/x'],
    ['http://m.example/', 'naïve dir', ['sub#1', 'q?.txt'], 'http://m.example/na%C3%AFve%20dir/sub%231/q%3F.txt'],
    ['http://m.example/', '100%', ['50% off'], 'http://m.example/100%25/50%25%20off'],
  ];
  for (const [base, name, path, want] of rows) assert.is(webSeedFileUrl(base, name, false, path), want, `${base} ${name} ${path.join('/')}`);
});

test('components that would move the path are refused; built URLs parse back to the same path', () => {
  for (const c of ['', '.', '..']) {
    assert.throws(() => webSeedFileUrl('http://m/', 'd', false, [c]), (e: unknown) => e instanceof WebSeedError && e.problem === 'bad-request');
  }
  assert.throws(() => webSeedFileUrl('http://m/', '..', true, ['..']), (e: unknown) => e instanceof WebSeedError);
  // WHATWG URL would turn a %2e%2e segment into `..`: we never write one (dots stay literal and `..` is refused)
  const u = parseWebSeedUrl(webSeedFileUrl('http://m/base/', 'dir', false, ['..x', 'sp ace']));
  assert.ok(u.ok && u.url.pathname === '/base/dir/..x/sp%20ace');
  assert.is(encodeUrlComponent('/'), '%2F');
  assert.is(encodeUrlComponent('\\'), '%5C');
});

test('url-list entries: http and https only, no credentials', () => {
  assert.ok(parseWebSeedUrl('http://10.0.0.1:8080/x').ok);
  assert.ok(parseWebSeedUrl('https://[fd00::1]/x/').ok);
  for (const bad of ['ftp://m/x', 'file:///etc/passwd', 'javascript:alert(1)', 'not a url', '', 'http://user:pw@m/x', 'data:,hi']) {
    const r = parseWebSeedUrl(bad);
    assert.ok(!r.ok, bad);
    if (!r.ok) assert.ok(r.reason.length > 0 && r.reason.length < 200);
  }
});

test('redirects: relative Locations resolve, other schemes are refused', () => {
  const from = new URL('http://m.example/a/b/file.iso');
  const rows: [string | undefined, string | null][] = [
    ['http://other.example/x.iso', 'http://other.example/x.iso'],
    ['https://m.example/file.iso', 'https://m.example/file.iso'],
    ['/mirror/file.iso', 'http://m.example/mirror/file.iso'],
    ['../c/file.iso', 'http://m.example/a/c/file.iso'],
    ['//cdn.example/f', 'http://cdn.example/f'],
    ['file:///etc/shadow', null],
    ['ftp://m.example/f', null],
    ['gopher://x/', null],
    ['http://[bad', null],
    [undefined, null],
    ['', null],
  ];
  for (const [loc, want] of rows) {
    const r = resolveRedirect(loc, from);
    if (want === null) assert.ok(!r.ok, String(loc));
    else assert.ok(r.ok && r.url.href === want, `${loc} -> ${r.ok ? r.url.href : r.reason}`);
  }
});

const files: WebSeedFile[] = [
  { path: ['a'], length: 10, offset: 0 },
  { path: ['empty'], length: 0, offset: 10 },
  { path: ['b'], length: 5, offset: 10 },
  { path: ['.pad', '3'], length: 3, offset: 15, padding: true },
  { path: ['c'], length: 100, offset: 18 },
];

test('range planning: one request per file touched, across boundaries, skipping empty and padding files', () => {
  assert.equal(planRanges(files, 0, 10), [{ file: 0, first: 0, last: 9, at: 0 }]);
  assert.equal(planRanges(files, 3, 4), [{ file: 0, first: 3, last: 6, at: 0 }]);
  assert.equal(planRanges(files, 8, 4), [
    { file: 0, first: 8, last: 9, at: 0 },
    { file: 2, first: 0, last: 1, at: 2 },
  ]);
  assert.equal(planRanges(files, 0, 118), [
    { file: 0, first: 0, last: 9, at: 0 },
    { file: 2, first: 0, last: 4, at: 10 },
    { file: 4, first: 0, last: 99, at: 18 },
  ]);
  assert.equal(planRanges(files, 15, 3), [], 'padding only: nothing to fetch');
  assert.equal(planRanges(files, 16, 4), [{ file: 4, first: 0, last: 1, at: 2 }]);
  assert.equal(planRanges(files, 117, 1), [{ file: 4, first: 99, last: 99, at: 0 }]);
  assert.equal(planRanges(files, 40, 0), []);
});

test('range planning: ranges outside the torrent are refused', () => {
  for (const [o, l] of [[-1, 2], [0, 119], [118, 1], [1.5, 2], [0, NaN], [2 ** 60, 1]]) {
    assert.throws(() => planRanges(files, o!, l!), (e: unknown) => e instanceof WebSeedError && e.problem === 'bad-request', `${o}+${l}`);
  }
});

test('range planning: every byte of every read lands once, at its place (exhaustive on a small torrent)', () => {
  const total = 118;
  for (let o = 0; o < total; o++) {
    for (let l = 0; o + l <= total; l++) {
      const seen = new Array(l).fill(0);
      for (const r of planRanges(files, o, l)) {
        const f = files[r.file]!;
        assert.ok(r.first >= 0 && r.last < f.length && r.first <= r.last);
        for (let i = r.first; i <= r.last; i++) {
          const pos = r.at + (i - r.first);
          assert.is(f.offset + i, o + pos);
          seen[pos]++;
        }
      }
      for (let p = 0; p < l; p++) {
        const inPad = o + p >= 15 && o + p < 18;
        assert.is(seen[p], inPad ? 0 : 1);
      }
    }
  }
});

test('Content-Range parsing', () => {
  assert.equal(parseContentRange('bytes 0-9/100'), { first: 0, last: 9, total: 100 });
  assert.equal(parseContentRange('bytes 5-5/*'), { first: 5, last: 5, total: null });
  assert.equal(parseContentRange('BYTES  1-2/3 '), { first: 1, last: 2, total: 3 });
  for (const bad of ['', 'bytes', 'bytes 9-0/100', 'bytes 0-100/100', 'bytes -1-5/10', 'bytes 0-9', 'items 0-9/10', 'bytes 0-9/10,bytes 0-1/10', 'bytes 0x1-2/3', 'bytes 1-2/3/4', `bytes 0-${'9'.repeat(40)}/1`, 'bytes */100']) {
    assert.is(parseContentRange(bad), undefined, bad);
  }
});

const want = { first: 100, last: 199, fileLength: 1000 };
const head = (status: number, headers: Record<string, string | string[] | undefined>) => checkRangeHead({ status, headers }, want);

test('head checks: a 206 for exactly our range is read; 200 means ranges are not supported', () => {
  assert.equal(head(206, { 'content-range': 'bytes 100-199/1000', 'content-length': '100' }), { kind: 'body', length: 100 });
  assert.equal(head(206, { 'content-range': 'bytes 100-199/*' }), { kind: 'body', length: 100 }, 'chunked, unknown total');
  const v = head(200, { 'content-length': '1000' });
  assert.ok(v.kind === 'refused' && v.problem === 'range-ignored', JSON.stringify(v));
  for (const s of [301, 302, 303, 307, 308]) assert.equal(head(s, { location: '/x' }), { kind: 'redirect', location: '/x' });
  assert.equal(head(302, {}), { kind: 'redirect', location: undefined });
});

test('head checks: a malformed or mismatched head is refused with a clear reason (fuzz-style table)', () => {
  const rows: [number, Record<string, string | string[] | undefined>, string, RegExp][] = [
    [404, {}, 'http-status', /HTTP 404/],
    [500, {}, 'http-status', /HTTP 500/],
    [416, { 'content-range': 'bytes */50' }, 'http-status', /not satisfiable/],
    [204, {}, 'http-status', /HTTP 204/],
    [0, {}, 'http-status', /HTTP 0/],
    [999, {}, 'http-status', /HTTP 999/],
    [206, {}, 'bad-content-range', /without Content-Range/],
    [206, { 'content-range': 'bytes 0-99/1000' }, 'bad-content-range', /0-99 for a request of 100-199/],
    [206, { 'content-range': 'bytes 100-198/1000' }, 'bad-content-range', /100-198/],
    [206, { 'content-range': 'bytes 100-199/2000' }, 'bad-content-range', /2000 bytes on the server, 1000 in the torrent/],
    [206, { 'content-range': 'bytes 100-199' }, 'bad-content-range', /malformed/],
    [206, { 'content-range': 'garbage\u0000\u00ff' }, 'bad-content-range', /malformed Content-Range 'garbage\?\?'/],
    [206, { 'content-range': 'x'.repeat(10000) }, 'bad-content-range', /malformed/],
    [206, { 'content-range': ['bytes 100-199/1000', 'bytes 100-199/1000'] }, 'bad-content-range', /more than one/],
    [206, { 'content-range': 'bytes 100-199/1000', 'content-length': '99' }, 'bad-length', /Content-Length 99 for a range of 100/],
    [206, { 'content-range': 'bytes 100-199/1000', 'content-length': '1000' }, 'bad-length', /1000/],
    [206, { 'content-range': 'bytes 100-199/1000', 'content-length': '-100' }, 'bad-length', /Content-Length/],
    [206, { 'content-range': 'bytes 100-199/1000', 'content-length': '1e2' }, 'bad-length', /Content-Length/],
    [206, { 'content-range': 'bytes 100-199/1000', 'content-length': '' }, 'bad-length', /Content-Length/],
    [206, { 'content-range': 'bytes 100-199/1000', 'content-length': ['100', '100'] }, 'bad-length', /more than one/],
    [206, { 'content-range': 'bytes 100-199/1000', 'content-length': '99999999999999999999999' }, 'bad-length', /Content-Length/],
  ];
  for (const [status, headers, problem, reason] of rows) {
    const v = head(status, headers);
    assert.ok(v.kind === 'refused', `${status} ${JSON.stringify(headers)}`);
    if (v.kind !== 'refused') continue;
    assert.is(v.problem, problem, `${status} ${JSON.stringify(headers).slice(0, 80)}`);
    assert.match(v.reason, reason);
    assert.ok(v.reason.length < 200, 'reasons stay one short line');
  }
});

test.run();
