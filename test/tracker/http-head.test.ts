// deadline: 10s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatResponse, MAX_HEAD_BYTES, MAX_HEADERS, parseHead } from '../../src/tracker/http-front';

const head = (s: string) => parseHead(Buffer.from(s, 'latin1'));

test('request heads: method, target and headers read without a string per line', () => {
  const r = head('GET /announce?a=1 HTTP/1.1\r\nHost: 10.0.0.1:6969\r\nIf-None-Match: "x"\r\nUser-Agent: t\r\n\r\n');
  assert.is(r.kind, 'request');
  if (r.kind !== 'request') return;
  assert.is(r.method, 'GET');
  assert.is(Buffer.from(r.target).toString('latin1'), '/announce?a=1');
  // the target is a view of the received bytes, not a copy
  const received = Buffer.from('GET /x HTTP/1.1\r\n\r\n', 'latin1');
  const view = parseHead(received);
  assert.ok(view.kind === 'request' && view.target.buffer === received.buffer && view.target.byteOffset === received.byteOffset + 4 && view.target.length === 2);
  assert.is(r.headers.host, '10.0.0.1:6969');
  assert.is(r.headers.ifNoneMatch, '"x"');
  const lf = head('HEAD / HTTP/1.0\nhOsT:  x  \n\n');
  assert.ok(lf.kind === 'request' && lf.method === 'HEAD' && lf.headers.host === 'x' && lf.headers.ifNoneMatch === undefined);
  const first = head('GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n');
  assert.ok(first.kind === 'request' && first.headers.host === 'a', 'the first Host counts');
  const none = head('GET / HTTP/1.1\r\n\r\n');
  assert.ok(none.kind === 'request' && none.headers.host === undefined);
});

const refused: [string, string, number][] = [
  ['POST', 'POST /announce HTTP/1.1\r\n\r\n', 405],
  ['lower-case method', 'get / HTTP/1.1\r\n\r\n', 405],
  ['HTTP/2', 'GET / HTTP/2.0\r\n\r\n', 505],
  ['HTTP/1.2', 'GET / HTTP/1.2\r\n\r\n', 505],
  ['no version', 'GET /\r\n\r\n', 400],
  ['no target', 'GET\r\n\r\n', 400],
  ['leading space', ' GET / HTTP/1.1\r\n\r\n', 400],
  ['space in the target', 'GET /a b HTTP/1.1\r\n\r\n', 400],
  ['space after the version', 'GET / HTTP/1.1 \r\n\r\n', 400],
  ['too many headers', `GET / HTTP/1.1\r\n${'X: y\r\n'.repeat(MAX_HEADERS + 1)}\r\n`, 431],
  ['head too large', `GET /${'a'.repeat(MAX_HEAD_BYTES)} HTTP/1.1\r\n\r\n`, 431],
];
for (const [name, text, status] of refused)
  test(`request heads refused: ${name}`, () => {
    const r = head(text);
    assert.is(r.kind, 'error');
    if (r.kind === 'error') assert.is(r.status, status);
  });

test('request heads: incomplete until the blank line, bounded before it', () => {
  assert.is(head('GET / HTTP/1.1\r\nHost: x\r\n').kind, 'incomplete');
  assert.is(head(`GET /${'a'.repeat(MAX_HEAD_BYTES)}`).kind, 'error');
});

test('replies: head from cached bytes, the length written as digits, body after it; HEAD without the body', () => {
  for (const n of [0, 1, 9, 10, 99, 100, 12345]) {
    const body = Buffer.alloc(n, 0x61);
    const want = `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${n}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n`;
    assert.is(formatResponse({ status: 200, contentType: 'text/plain', body }).toString('latin1'), want + body.toString('latin1'), `${n} bytes`);
    assert.is(formatResponse({ status: 200, contentType: 'text/plain', body }, true).toString('latin1'), want, `HEAD, ${n} bytes`);
  }
  const missing = formatResponse({ status: 404, contentType: 'text/html; charset=utf-8', body: Buffer.from('no') }).toString('latin1');
  assert.is(missing, 'HTTP/1.1 404 Not Found\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 2\r\nCache-Control: no-store\r\nConnection: close\r\n\r\nno');
  const own = formatResponse({ status: 200, contentType: 'application/x-bittorrent', body: Buffer.from('d'), headers: { ETag: '"e"' } }).toString('latin1');
  assert.is(own, 'HTTP/1.1 200 OK\r\nContent-Type: application/x-bittorrent\r\nETag: "e"\r\nContent-Length: 1\r\nCache-Control: no-store\r\nConnection: close\r\n\r\nd');
});

test.run();
