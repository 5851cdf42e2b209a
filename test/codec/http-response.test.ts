// deadline: 20s
// Table tests of the pure HTTP/1.1 response reader: heads, body framing, chunked coding.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bodyFraming, ChunkedDecoder, findHeadEnd, MAX_HEADER_LINES, parseResponseHead } from '../../src/codec/http-response';

const b = (s: string) => Buffer.from(s, 'latin1');

test('heads: status, headers (lower-case, repeats as arrays), length; CRLF or bare LF', () => {
  const raw = 'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/10\r\nX-A: 1\r\nx-a:  2 \r\nEmpty:\r\n\r\nBODY';
  const p = parseResponseHead(b(raw), 16384);
  assert.ok(p.kind === 'head', JSON.stringify(p));
  if (p.kind !== 'head') return;
  assert.is(p.head.status, 206);
  assert.is(p.head.minor, 1);
  assert.is(p.head.length, raw.indexOf('BODY'));
  assert.equal({ ...p.head.headers }, { 'content-range': 'bytes 0-9/10', 'x-a': ['1', '2'], empty: '' });
  const lfRaw = 'HTTP/1.0 200\nContent-Length: 3\n\nabc';
  const lf = parseResponseHead(b(lfRaw), 100);
  assert.ok(lf.kind === 'head' && lf.head.minor === 0 && lf.head.status === 200 && lf.head.length === lfRaw.length - 3, JSON.stringify(lf));
  assert.is(findHeadEnd(b('a\r\n\r\nb')), 5);
  assert.is(findHeadEnd(b('a\n\nb')), 3);
  assert.is(findHeadEnd(b('a\r\nb\r\n')), -1);
});

test('heads: incomplete until the blank line, bounded before it comes', () => {
  for (const part of ['', 'H', 'HTTP/1.', 'HTTP/1.1 206 OK\r\n', 'HTTP/1.1 206 OK\r\nA: b\r\n', 'HTTP/1.1 206 OK\r\nA: b\r\n\r']) {
    assert.equal(parseResponseHead(b(part), 1000), { kind: 'incomplete' }, JSON.stringify(part));
  }
  const long = parseResponseHead(b('HTTP/1.1 200 OK\r\nX: ' + 'a'.repeat(2000)), 1000);
  assert.ok(long.kind === 'error' && /over 1000 bytes/.test(long.reason));
  const complete = parseResponseHead(b('HTTP/1.1 200 OK\r\nX: ' + 'a'.repeat(2000) + '\r\n\r\n'), 1000);
  assert.ok(complete.kind === 'error', 'a complete head over the bound is refused too');
  const many = parseResponseHead(b('HTTP/1.1 200 OK\r\n' + 'A: b\r\n'.repeat(MAX_HEADER_LINES + 1) + '\r\n'), 100_000);
  assert.ok(many.kind === 'error' && /header lines/.test(many.reason));
  const enough = parseResponseHead(b('HTTP/1.1 200 OK\r\n' + 'A: b\r\n'.repeat(MAX_HEADER_LINES) + '\r\n'), 100_000);
  assert.is(enough.kind, 'head');
});

test('heads: malformed ones are refused with a short printable reason (fuzz-style table)', () => {
  const rows: [string, RegExp][] = [
    ['GARBAGE\r\n\r\n', /not an HTTP\/1.x answer/],
    ['\u0000\u0001\u0002', /not an HTTP\/1.x answer/],
    ['HTTP/2 200\r\n\r\n', /not an HTTP\/1.x answer|status line/],
    ['HTTP/1.2 200 OK\r\n\r\n', /status line/],
    ['HTTP/1.1 20 OK\r\n\r\n', /status line/],
    ['HTTP/1.1 2000 OK\r\n\r\n', /status line/],
    ['HTTP/1.1  200 OK\r\n\r\n', /status line/],
    ['HTTP/1.1 200 O\u0000K\r\n\r\n', /status line/],
    ['HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n', /malformed header line 'No colon here'/],
    ['HTTP/1.1 200 OK\r\n: empty name\r\n\r\n', /malformed header line/],
    ['HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n', /malformed header line/],
    ['HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n', /line folding/],
    ['HTTP/1.1 200 OK\r\nA: b\u0000c\r\n\r\n', /control character in header A/],
    ['HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n', /control character/],
  ];
  for (const [raw, reason] of rows) {
    const p = parseResponseHead(b(raw), 1000);
    assert.ok(p.kind === 'error', JSON.stringify(raw));
    if (p.kind === 'error') {
      assert.match(p.reason, reason, JSON.stringify(raw));
      assert.ok(/^[\x20-\x7e]+$/.test(p.reason) && p.reason.length < 200, p.reason);
    }
  }
  // every prefix of every row, and random bytes: no throw
  let seed = 1;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let i = 0; i < 2000; i++) {
    const len = Math.floor(rnd() * 200);
    const bytes = Buffer.from(Array.from({ length: len }, () => Math.floor(rnd() * 256)));
    if (i % 2) b('HTTP/1.1 206 X\r\n').copy(bytes);
    const p = parseResponseHead(bytes, 150);
    assert.ok(['incomplete', 'head', 'error'].includes(p.kind));
  }
});

const framing = (minor: number, status: number, headers: Record<string, string | string[]>) => bodyFraming({ minor, status, headers });

test('body framing (RFC 9112 6.3): length, chunked, until close; keep-alive by version and Connection', () => {
  assert.equal(framing(1, 206, { 'content-length': '100' }), { kind: 'length', length: 100, keepAlive: true });
  assert.equal(framing(1, 206, { 'content-length': '100', connection: 'close' }), { kind: 'length', length: 100, keepAlive: false });
  assert.equal(framing(1, 206, { 'content-length': '100', connection: 'Keep-Alive, Close' }), { kind: 'length', length: 100, keepAlive: false });
  assert.equal(framing(0, 206, { 'content-length': '100' }), { kind: 'length', length: 100, keepAlive: false });
  assert.equal(framing(0, 206, { 'content-length': '100', connection: 'keep-alive' }), { kind: 'length', length: 100, keepAlive: true });
  assert.equal(framing(1, 206, { 'transfer-encoding': 'chunked' }), { kind: 'chunked', keepAlive: true });
  assert.equal(framing(1, 206, { 'transfer-encoding': 'Chunked' }), { kind: 'chunked', keepAlive: true });
  assert.equal(framing(1, 206, {}), { kind: 'close' });
  assert.equal(framing(1, 206, { 'content-length': ['7', '7'] }), { kind: 'length', length: 7, keepAlive: true });
  assert.equal(framing(1, 206, { 'content-length': '7, 7' }), { kind: 'length', length: 7, keepAlive: true });
  assert.equal(framing(1, 304, { 'content-length': '100' }), { kind: 'length', length: 0, keepAlive: true });
  assert.equal(framing(1, 204, {}), { kind: 'length', length: 0, keepAlive: true });
});

test('body framing: ambiguous ones are refused (no request smuggling games)', () => {
  const rows: [Record<string, string | string[]>, RegExp][] = [
    [{ 'content-length': ['7', '8'] }, /conflicting/],
    [{ 'content-length': '7, 8' }, /conflicting/],
    [{ 'content-length': '-1' }, /malformed Content-Length/],
    [{ 'content-length': '0x10' }, /malformed/],
    [{ 'content-length': '' }, /malformed/],
    [{ 'content-length': '1'.repeat(16) }, /malformed/],
    [{ 'transfer-encoding': 'gzip' }, /not supported/],
    [{ 'transfer-encoding': 'chunked, gzip' }, /not supported/],
    [{ 'transfer-encoding': 'gzip, chunked' }, /not supported/],
    [{ 'transfer-encoding': 'chunked', 'content-length': '5' }, /both/],
  ];
  for (const [headers, reason] of rows) {
    const f = framing(1, 206, headers);
    assert.ok(f.kind === 'error' && reason.test(f.reason), `${JSON.stringify(headers)}: ${JSON.stringify(f)}`);
  }
});

function decodeAll(input: Buffer, splitEvery: number): { data: Buffer; used: number; done: boolean } | { error: string } {
  const d = new ChunkedDecoder();
  const parts: Buffer[] = [];
  let used = 0;
  for (let i = 0; i < input.length && !d.done; i += splitEvery) {
    const piece = input.subarray(i, Math.min(input.length, i + splitEvery));
    // the piece sits inside a bigger buffer, as reads do in the shared read buffer
    const host = Buffer.concat([Buffer.from('PRE'), piece, Buffer.from('POST')]);
    const r = d.push(host, 3, 3 + piece.length, (buf, s, e) => parts.push(Buffer.from(buf.subarray(s, e))));
    if ('error' in r) return r;
    used += r.next - 3;
  }
  return { data: Buffer.concat(parts), used, done: d.done };
}

test('chunked coding: decoded in any split, extensions and trailers skipped, stops at the end', () => {
  const body = 'a'.repeat(26) + 'hello world' + '0123456789ABCDEF'.repeat(20);
  const encoded = `1a;name=value\r\n${'a'.repeat(26)}\r\nB\r\nhello world\r\n140 \r\n${'0123456789ABCDEF'.repeat(20)}\r\n0\r\nX-Trailer: 1\r\n\r\n`;
  for (const split of [1, 2, 3, 7, 64, 10_000]) {
    const r = decodeAll(b(encoded + 'NEXT RESPONSE'), split);
    assert.ok(!('error' in r), JSON.stringify(r));
    if ('error' in r) continue;
    assert.is(r.data.toString('latin1'), body, `split ${split}`);
    assert.ok(r.done);
    assert.is(r.used, encoded.length, `split ${split}: stops where the body ends`);
  }
  const lf = decodeAll(b('3\nabc\n0\n\n'), 100);
  assert.ok(!('error' in lf) && lf.data.toString() === 'abc' && lf.done);
  const partial = decodeAll(b('5\r\nab'), 100);
  assert.ok(!('error' in partial) && !partial.done && partial.data.toString() === 'ab');
});

test('chunked coding: malformed or unbounded input is refused', () => {
  const rows: [string, RegExp][] = [
    ['zz\r\n', /malformed chunk size 'zz'/],
    ['-1\r\n', /malformed chunk size/],
    ['\r\n', /malformed chunk size ''/],
    ['3\r\nabcd\r\n', /longer than its size/],
    ['1234567890abc\r\n', /malformed chunk size/],
    ['1' + ' '.repeat(2000), /too long/],
    ['0\r\n' + 'X: y\r\n'.repeat(5000), /trailers over/],
  ];
  for (const [raw, reason] of rows) {
    for (const split of [1, 5, 100_000]) {
      const r = decodeAll(b(raw), split);
      assert.ok('error' in r && reason.test(r.error), `${JSON.stringify(raw.slice(0, 30))} split ${split}: ${JSON.stringify(r).slice(0, 200)}`);
    }
  }
});

test.run();
