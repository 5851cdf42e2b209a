// deadline: 60s
// WebSeed against small hostile HTTP servers on loopback (raw TCP, so heads can be anything):
// no range support on a big body, wrong Content-Range, too-long and short bodies, stalls,
// redirect loops and schemes, 5xx backoff on a fake clock, malformed heads, drop and abort.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { MAX_WEB_SEEDS, nextRunLength, WebSeed, WebSeedError, webSeedsFor, webSeedSummary, WEB_SEED_LIMITS, type WebSeedOptions } from '../../src/seeder/web-seed';
import type { WebSeedProblem } from '../../src/codec/web-seed-url';
import { ManualClock } from '../../src/util/clock';
import { createLogger } from '../../src/util/log';
import { deadline, waitFor } from '../helpers';

interface RawRequest {
  path: string;
  range: string | undefined;
  head: string;
}
type Handler = (req: RawRequest, socket: net.Socket, server: RawServer) => void;

interface RawServer {
  url: string;
  requests: RawRequest[];
  connections: number;
  /** Bytes written by `stream` calls, for the "we did not read it all" checks. */
  streamed: number;
  handle: Handler;
  close(): Promise<void>;
}

/** A keep-alive HTTP/1.1 server that parses only the request line and Range; `handle` writes raw bytes. */
async function rawServer(handle: Handler, host = '127.0.0.1'): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  const state: RawServer = {
    url: '',
    requests: [],
    connections: 0,
    streamed: 0,
    handle,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  const server = net.createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const path = head.split(' ')[1] ?? '';
        const range = /^range: *(.*)$/im.exec(head)?.[1];
        const req = { path, range, head };
        state.requests.push(req);
        state.handle(req, socket, state);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  state.url = `http://${host.includes(':') ? `[${host}]` : host}:${(server.address() as net.AddressInfo).port}/`;
  return state;
}

/** The bytes of a test file: byte i of file `name` is a function of both. */
const content = (name: string, length: number) => Buffer.from(Array.from({ length }, (_, i) => (i * 7 + name.charCodeAt(0)) & 0xff));

/** Answers ranges of `files` (name → bytes) correctly, as a good mirror does. */
const goodMirror =
  (files: Record<string, Buffer>): Handler =>
  (req, socket) => {
    const name = decodeURIComponent(req.path.split('/').pop()!);
    const data = files[name];
    const m = /bytes=(\d+)-(\d+)/.exec(req.range ?? '');
    if (!data || !m) return void socket.write('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    const [first, last] = [Number(m[1]), Number(m[2])];
    socket.write(`HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${first}-${last}/${data.length}\r\nContent-Length: ${last - first + 1}\r\n\r\n`);
    socket.write(data.subarray(first, last + 1));
  };

/** Writes `total` bytes as fast as the socket drains, counting them, until done or closed. */
function stream(socket: net.Socket, server: RawServer, total: number): void {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let left = total;
  const pump = () => {
    while (left > 0 && !socket.destroyed) {
      const n = Math.min(left, chunk.length);
      left -= n;
      server.streamed += n;
      if (!socket.write(chunk.subarray(0, n))) return void socket.once('drain', pump);
    }
  };
  pump();
}

const FILE_A = content('a', 3000);
const FILE_B = content('b', 5000);
const multi = (url: string): WebSeedOptions => ({
  url,
  name: 'dir',
  singleFile: false,
  files: [
    { path: ['a'], length: FILE_A.length, offset: 0 },
    { path: ['b'], length: FILE_B.length, offset: FILE_A.length },
  ],
});
const single = (url: string, length = 1000): WebSeedOptions => ({ url, name: 'f', singleFile: true, files: [{ path: ['f'], length, offset: 0 }] });

function seed(opts: WebSeedOptions, clock = new ManualClock(), lines: string[] = []) {
  const logger = createLogger('debug', (l) => lines.push(l));
  return { ws: new WebSeed({ clock, logger, random: () => 0 }, opts), clock, lines };
}

async function rejects(p: Promise<unknown>, problem: WebSeedProblem, message?: RegExp): Promise<WebSeedError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, WebSeedError, String(e));
    const err = e as WebSeedError;
    assert.is(err.problem, problem, err.message);
    assert.is(err.code, 'EWEBSEED');
    if (message) assert.match(err.message, message);
    return err;
  }
  throw new assert.Assertion({ message: `expected a '${problem}' failure`, operator: 'rejects', generated: false, actual: 'resolved', expects: 'rejected' } as never);
}

test(
  'a good mirror: reads across files, one range request per file, one kept-alive connection',
  deadline(10_000, async () => {
    const server = await rawServer(goodMirror({ a: FILE_A, b: FILE_B }));
    const { ws } = seed(multi(server.url.slice(0, -1))); // no trailing slash: one is added
    const all = Buffer.concat([FILE_A, FILE_B]);
    assert.equal(await ws.read(2990, 20), all.subarray(2990, 3010));
    assert.equal(server.requests.map((r) => [r.path, r.range]), [
      ['/dir/a', 'bytes=2990-2999'],
      ['/dir/b', 'bytes=0-9'],
    ]);
    for (let o = 0; o < all.length; o += 1024) assert.equal(await ws.read(o, Math.min(1024, all.length - o)), all.subarray(o, o + 1024));
    assert.ok(server.connections <= WEB_SEED_LIMITS.maxSockets, `${server.connections} connections for ${server.requests.length} requests`);
    assert.equal(ws.status(), { url: server.url.slice(0, -1), state: 'ok', failures: 0, retryInS: null, error: null, downloaded: 20 + all.length });
    assert.is(webSeedSummary([ws.status()]), 'web 1/1 ok');
    ws.close();
    await server.close();
  }),
);

test(
  'a run of pieces across files: one request per file, each piece handed over once all its bytes are there',
  deadline(10_000, async () => {
    const server = await rawServer(goodMirror({ a: FILE_A, b: FILE_B }));
    // reads of 1 MiB at most: below what the reads' measured rate (on the test clock) asks
    const { ws, clock } = seed({ ...multi(server.url), limits: { readBytes: 1 << 20 } });
    const all = Buffer.concat([FILE_A, FILE_B]);
    // pieces of 1024 bytes: pieces 2..5 are bytes 2048..6143, across the a/b boundary (3000)
    const into = [0, 1, 2, 3].map(() => Buffer.alloc(1024, 0xee));
    const handed: number[] = [];
    await ws.readPieces(2048, 4096, 1024, into, (i) => {
      handed.push(i);
      assert.equal(into[i], all.subarray(2048 + i * 1024, 2048 + (i + 1) * 1024), `piece ${i} whole when handed over`);
    });
    assert.equal([...handed].sort(), [0, 1, 2, 3]);
    assert.equal(server.requests.map((r) => [r.path, r.range]), [
      ['/dir/a', 'bytes=2048-2999'],
      ['/dir/b', 'bytes=0-3143'],
    ]);
    // a short last piece; buffers too small are refused before any request
    const last = [Buffer.alloc(1024), Buffer.alloc(1024)];
    await ws.readPieces(6144, all.length - 6144, 1024, last, () => undefined);
    assert.equal(Buffer.concat(last).subarray(0, all.length - 6144), all.subarray(6144));
    const before = server.requests.length;
    await rejects(ws.readPieces(0, 2048, 1024, [Buffer.alloc(1024), Buffer.alloc(1000)], () => undefined), 'bad-request', /no buffer of 1024 bytes for piece 1/);
    assert.is(server.requests.length, before);
    // reads in flight and their size: one piece until a read has measured the seed, then about readMs of its rate
    const fresh = seed(single(server.url + 'f'), clock).ws;
    assert.is(fresh.piecesPerRead(1024), 1);
    assert.is(fresh.readSlots(clock.now()), WEB_SEED_LIMITS.readsInFlight);
    assert.is(ws.piecesPerRead(1 << 30), 1);
    assert.is(ws.piecesPerRead(1024), (1 << 20) / 1024, 'reads that took no time on the test clock: the largest run');
    fresh.close();
    ws.close();
    await server.close();
  }),
);

test('the next run: cut to the room for started pieces; with another read in flight, one cut below half waits', () => {
  const rows: [number, number, boolean, number][] = [
    // wanted, room, another read in flight, pieces
    [4, 10, false, 4],
    [4, 10, true, 4],
    [4, 3, true, 3],
    [4, 2, true, 2],
    [4, 1, true, 0],
    [4, 1, false, 1],
    [4, 0, false, 0],
    [1, 1, true, 1],
    [1, 0, true, 0],
  ];
  for (const [wanted, room, busy, want] of rows) assert.is(nextRunLength(wanted, room, busy), want, `${wanted} ${room} ${busy}`);
});

test(
  'a run cut short: the pieces that came whole are handed over, the rest are not, and the seed backs off',
  deadline(10_000, async () => {
    const data = content('f', 4096);
    // the body stops after 2.5 pieces of 1024 bytes and the connection closes
    const server = await rawServer((_req, socket) => {
      socket.write(`HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4095/4096\r\nContent-Length: 4096\r\n\r\n`);
      socket.end(data.subarray(0, 2560));
    });
    const { ws } = seed(single(server.url + 'f', 4096));
    const into = [0, 1, 2, 3].map(() => Buffer.alloc(1024));
    const handed: number[] = [];
    await rejects(ws.readPieces(0, 4096, 1024, into, (i) => handed.push(i)), 'network', /after 2560 of 4096 bytes/);
    assert.equal(handed, [0, 1]);
    assert.equal(Buffer.concat(into.slice(0, 2)), data.subarray(0, 2048));
    assert.is(ws.status().state, 'backoff');
    assert.is(ws.status().downloaded, 2048);
    assert.is(ws.readSlots(0), 0);
    assert.is(ws.piecesPerRead(1024), 1, 'a failure forgets the measured rate');
    ws.close();
    await server.close();
  }),
);

test(
  '200 instead of 206 on a huge body: the body is abandoned at once and the seed backs off',
  deadline(20_000, async () => {
    const GiB = 1 << 30;
    let closed = false;
    const server = await rawServer((_req, socket, s) => {
      socket.on('close', () => (closed = true));
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${GiB}\r\n\r\n`);
      stream(socket, s, GiB);
    });
    const { ws, lines } = seed(single(server.url + 'big.iso', GiB));
    await rejects(ws.read(0, 16384), 'range-ignored', /does not support ranges/);
    await waitFor('the server to see the connection closed', 10_000, () => closed);
    console.log(`server wrote ${(server.streamed / 2 ** 20).toFixed(1)} MiB of a 1024 MiB body before the client closed`);
    assert.ok(server.streamed < 64 * 2 ** 20, `${server.streamed} bytes streamed`);
    const st = ws.status();
    assert.is(st.state, 'backoff');
    assert.is(st.retryInS, 30);
    assert.is(st.failures, 1);
    assert.match(st.error!, /HTTP 200/);
    assert.is(ws.ready(0), false);
    assert.ok(lines.some((l) => /^warn: web seed .*big\.iso: .*HTTP 200.*retry in 30 s$/.test(l)), lines.join('\n'));
    assert.is(webSeedSummary([st]), 'web 0/1 ok');
    ws.close();
    await server.close();
  }),
);

test(
  'wrong Content-Range, too-long body, short body: refused, each a failure',
  deadline(10_000, async () => {
    const cases: [string, Handler, WebSeedProblem, RegExp][] = [
      ['other bytes', (_r, s) => s.write('HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 1-100/1000\r\nContent-Length: 100\r\n\r\n' + 'x'.repeat(100)), 'bad-content-range', /1-100 for a request of 0-99/],
      ['other file length', (_r, s) => s.write('HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-99/999\r\nContent-Length: 100\r\n\r\n' + 'x'.repeat(100)), 'bad-content-range', /999 bytes on the server/],
      ['no Content-Range', (_r, s) => s.write('HTTP/1.1 206 Partial Content\r\nContent-Length: 100\r\n\r\n' + 'x'.repeat(100)), 'bad-content-range', /without Content-Range/],
      [
        'too long, chunked',
        (_r, s, srv) => {
          s.write('HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-99/1000\r\nTransfer-Encoding: chunked\r\n\r\n');
          const chunk = 'y'.repeat(4096);
          for (let i = 0; i < 64; i++) s.write(`1000\r\n${chunk}\r\n`);
          srv.streamed += 64 * 4096;
        },
        'bad-length',
        /more than the 100 bytes asked/,
      ],
      ['too long, until close', (_r, s) => s.end('HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-99/1000\r\nConnection: close\r\n\r\n' + 'z'.repeat(5000)), 'bad-length', /more than the 100 bytes/],
      ['Content-Length too big', (_r, s) => s.write('HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-99/1000\r\nContent-Length: 1000\r\n\r\n'), 'bad-length', /Content-Length 1000 for a range of 100/],
      ['short, then close', (_r, s) => s.end('HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-99/1000\r\nContent-Length: 100\r\n\r\n' + 'x'.repeat(40)), 'network', /after 40 of 100 bytes/],
      ['short, until close', (_r, s) => s.end('HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-99/1000\r\nConnection: close\r\n\r\n' + 'x'.repeat(40)), 'bad-length', /ended after 40 of 100 bytes/],
      ['gzip', (_r, s) => s.write('HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-99/1000\r\nContent-Length: 100\r\nContent-Encoding: gzip\r\n\r\n' + 'x'.repeat(100)), 'bad-length', /Content-Encoding 'gzip'/],
      ['404', (_r, s) => s.write('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'), 'http-status', /HTTP 404/],
      ['416', (_r, s) => s.write('HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */10\r\nContent-Length: 0\r\n\r\n'), 'http-status', /not satisfiable/],
    ];
    for (const [what, handler, problem, message] of cases) {
      const server = await rawServer(handler);
      const { ws } = seed(single(server.url + 'f'));
      const err = await rejects(ws.read(0, 100), problem, message);
      assert.ok(err.message.includes('127.0.0.1'), `${what}: the message says where: ${err.message}`);
      assert.is(ws.status().state, 'backoff', what);
      assert.is(ws.status().failures, 1, what);
      ws.close();
      await server.close();
    }
  }),
);

test(
  'a stalled server times out: no head, and a body that stops (fake clock)',
  deadline(10_000, async () => {
    for (const [what, handler, message] of [
      ['no answer', () => undefined, /no answer within 30 s/],
      ['body stops', (_r: RawRequest, s: net.Socket) => s.write('HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-99/1000\r\nContent-Length: 100\r\n\r\nxxxx'), /no data for 30 s/],
    ] as [string, Handler, RegExp][]) {
      const server = await rawServer(handler);
      const { ws, clock } = seed(single(server.url + 'f'));
      const p = ws.read(0, 100);
      await waitFor('the request', 5000, () => server.requests.length === 1);
      if (what === 'body stops') await new Promise((r) => setImmediate(r));
      clock.advance(29_999);
      assert.is(ws.status().state, 'idle', 'not yet');
      clock.advance(1);
      await rejects(p, 'timeout', message);
      assert.is(ws.status().state, 'backoff');
      ws.close();
      await server.close();
    }
  }),
);

test(
  'an HTTPS server that never finishes the handshake: connect timeout',
  deadline(10_000, async () => {
    const server = await rawServer(() => undefined);
    let accepted = false;
    const url = server.url.replace('http:', 'https:');
    const { ws, clock } = seed(single(url + 'f'));
    const p = ws.read(0, 100);
    await waitFor('the connection', 5000, () => (accepted = server.connections === 1));
    assert.ok(accepted);
    clock.advance(WEB_SEED_LIMITS.connectTimeoutMs);
    await rejects(p, 'timeout', /no connection within 10 s/);
    ws.close();
    await server.close();
  }),
);

test(
  'redirects: up to 5 are followed (relative too); a loop and a redirect to file: are refused',
  deadline(10_000, async () => {
    const data = content('f', 1000);
    const good = goodMirror({ f: data });
    const server = await rawServer((req, socket, s) => {
      const hop = /^\/hop(\d+)\//.exec(req.path);
      if (req.path.startsWith('/loop')) return void socket.write(`HTTP/1.1 302 Found\r\nLocation: /loop${s.requests.length}/f\r\nContent-Length: 0\r\n\r\n`);
      if (req.path.startsWith('/file')) return void socket.write('HTTP/1.1 301 Moved\r\nLocation: file:///etc/passwd\r\nContent-Length: 0\r\n\r\n');
      if (req.path.startsWith('/noloc')) return void socket.write('HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n');
      if (hop && Number(hop[1]) < 5) return void socket.write(`HTTP/1.1 307 Temporary\r\nLocation: ../hop${Number(hop[1]) + 1}/f\r\nContent-Length: 5\r\n\r\nhello`);
      good(req, socket, s);
    });
    // exactly 5 redirects: /hop0 → ... → /hop5, which answers
    const five = seed(single(server.url + 'hop0/f', 1000)).ws;
    assert.equal(await five.read(100, 50), data.subarray(100, 150));
    assert.equal(server.requests.map((r) => r.path), ['/hop0/f', '/hop1/f', '/hop2/f', '/hop3/f', '/hop4/f', '/hop5/f']);
    assert.ok(server.requests.every((r) => r.range === 'bytes=100-149'), 'the range is asked again after each redirect');
    five.close();

    server.requests.length = 0;
    const loop = seed(single(server.url + 'loop/f', 1000)).ws;
    await rejects(loop.read(0, 10), 'redirect', /more than 5 redirects/);
    assert.is(server.requests.length, 6, 'the first request and 5 redirects, then it stops');
    assert.is(loop.status().state, 'backoff');
    loop.close();

    const file = seed(single(server.url + 'file/f', 1000)).ws;
    await rejects(file.read(0, 10), 'bad-url', /'file:' URL refused/);
    file.close();
    const noloc = seed(single(server.url + 'noloc/f', 1000)).ws;
    await rejects(noloc.read(0, 10), 'redirect', /without a Location/);
    noloc.close();
    await server.close();
  }),
);

test(
  '500: exponential backoff on a fake clock, 30 s doubling to 1 h; no request while backing off; a success resets it',
  deadline(20_000, async () => {
    let broken = true;
    const data = content('f', 1000);
    const good = goodMirror({ f: data });
    const server = await rawServer((req, socket, s) => (broken ? socket.write('HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n') : good(req, socket, s)));
    const { ws, clock } = seed(single(server.url + 'f'));
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      assert.ok(ws.ready(clock.now()));
      await rejects(ws.read(0, 10), 'http-status', /HTTP 500/);
      const st = ws.status();
      assert.is(st.failures, i + 1);
      seen.push(st.retryInS!);
      const asked = server.requests.length;
      await rejects(ws.read(0, 10), 'unavailable', /backing off/);
      assert.is(server.requests.length, asked, 'no request while backing off');
      clock.advance(st.retryInS! * 1000 - 1);
      assert.is(ws.ready(clock.now()), false);
      clock.advance(1);
    }
    assert.equal(seen, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    assert.is(ws.status().state, 'idle', 'free to retry');
    broken = false;
    assert.equal(await ws.read(0, 10), data.subarray(0, 10));
    assert.equal(ws.status(), { url: server.url + 'f', state: 'ok', failures: 0, retryInS: null, error: null, downloaded: 10 });
    ws.close();
    await server.close();
  }),
);

test(
  'jitter shortens a backoff by at most 20 %; parallel reads that fail together count once',
  deadline(10_000, async () => {
    const server = await rawServer((_r, s) => s.write('HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n'));
    const lines: string[] = [];
    const ws = new WebSeed({ clock: new ManualClock(), logger: createLogger('info', (l) => lines.push(l)), random: () => 0.999 }, single(server.url + 'f'));
    const all = await Promise.allSettled([ws.read(0, 10), ws.read(10, 10), ws.read(20, 10)]);
    assert.ok(all.every((r) => r.status === 'rejected'));
    assert.is(ws.status().failures, 1);
    assert.is(ws.status().retryInS, 25); // 30 s shortened by 0.999 × 20 %: 24.006 s, shown rounded up
    assert.is(lines.filter((l) => l.startsWith('warn')).length, 1, 'one log line per failure');
    ws.close();
    await server.close();
  }),
);

test(
  'malformed response heads (fuzz-style table): every one is a clear WebSeedError, nothing crashes',
  deadline(30_000, async () => {
    const heads: [string, string | Buffer][] = [
      ['garbage status line', 'HELLO WORLD\r\n\r\n'],
      ['HTTP/0.9 style body only', 'just bytes, no head at all'],
      ['empty reply', ''],
      ['status not a number', 'HTTP/1.1 2x6 Partial\r\n\r\n'],
      ['status out of range', 'HTTP/1.1 99999 Huh\r\nContent-Length: 0\r\n\r\n'],
      ['header without colon', 'HTTP/1.1 206 Partial Content\r\nContent-Range bytes 0-9/10\r\n\r\n'],
      ['NUL in a header', 'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/10\u0000\r\nContent-Length: 10\r\n\r\n0123456789'],
      ['two different Content-Lengths', 'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/1000\r\nContent-Length: 10\r\nContent-Length: 11\r\n\r\n0123456789'],
      ['Content-Length not a number', 'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/1000\r\nContent-Length: ten\r\n\r\n'],
      ['negative Content-Length', 'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/1000\r\nContent-Length: -10\r\n\r\n'],
      ['broken chunked encoding', 'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/1000\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n0123456789\r\n'],
      ['Content-Range for nothing', 'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 9-0/1000\r\nContent-Length: 10\r\n\r\n0123456789'],
      ['Content-Range in another unit', 'HTTP/1.1 206 Partial Content\r\nContent-Range: items 0-9/1000\r\nContent-Length: 10\r\n\r\n0123456789'],
      ['two Content-Ranges', 'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/1000\r\nContent-Range: bytes 0-9/1000\r\nContent-Length: 10\r\n\r\n0123456789'],
      ['multipart/byteranges', 'HTTP/1.1 206 Partial Content\r\nContent-Type: multipart/byteranges; boundary=X\r\nContent-Length: 10\r\n\r\n0123456789'],
      ['head over 16 KiB', `HTTP/1.1 206 Partial Content\r\nX-Padding: ${'p'.repeat(20_000)}\r\nContent-Range: bytes 0-9/1000\r\nContent-Length: 10\r\n\r\n0123456789`],
      ['thousands of headers', `HTTP/1.1 206 Partial Content\r\n${'X-A: b\r\n'.repeat(5000)}Content-Range: bytes 0-9/1000\r\nContent-Length: 10\r\n\r\n0123456789`],
      ['binary noise', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 17) & 0xff))],
      ['1xx forever', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n'],
      ['redirect with a broken Location', 'HTTP/1.1 302 Found\r\nLocation: http://[::1\r\nContent-Length: 0\r\n\r\n'],
    ];
    const server = await rawServer(() => undefined);
    for (const [what, bytes] of heads) {
      server.handle = (_r, s) => void s.end(bytes);
      const { ws } = seed(single(server.url + 'f'));
      const p = ws.read(0, 10); // the server closes after its bytes: every case ends without a timeout
      try {
        await p;
        assert.unreachable(`${what}: accepted`);
      } catch (e) {
        assert.instance(e, WebSeedError, `${what}: ${String(e)}`);
        const msg = (e as Error).message;
        assert.ok(msg.length > 10 && msg.length < 300 && !msg.includes('\n'), `${what}: ${msg}`);
        console.log(`${what.padEnd(32)} ${(e as WebSeedError).problem.padEnd(18)} ${msg}`);
      }
      assert.is(ws.status().state, 'backoff', what);
      ws.close();
    }
    await server.close();
  }),
);

test(
  'drop(): an in-flight read fails, later reads are refused, status says dropped',
  deadline(10_000, async () => {
    const server = await rawServer(() => undefined); // never answers
    const { ws, lines } = seed(single(server.url + 'f'));
    const p = ws.read(0, 10);
    await waitFor('the request', 5000, () => server.requests.length === 1);
    ws.drop('piece 3 failed the hash check');
    await rejects(p, 'dropped');
    await rejects(ws.read(0, 10), 'dropped', /piece 3 failed the hash/);
    assert.equal(ws.status(), { url: server.url + 'f', state: 'dropped', failures: 0, retryInS: null, error: 'piece 3 failed the hash check', downloaded: 0 });
    assert.is(ws.ready(1e12), false);
    assert.ok(lines.some((l) => l.startsWith('warn: web seed') && l.includes('dropped')));
    assert.is(webSeedSummary([ws.status(), { ...ws.status(), state: 'ok' }]), 'web 1/2 ok');
    await server.close();
  }),
);

test(
  "the caller's abort: the read rejects with its reason and the seed is not blamed",
  deadline(10_000, async () => {
    const server = await rawServer(() => undefined);
    const { ws } = seed(single(server.url + 'f'));
    const ctrl = new AbortController();
    const p = ws.read(0, 10, ctrl.signal);
    await waitFor('the request', 5000, () => server.requests.length === 1);
    const reason = new Error('endgame: another peer sent it');
    ctrl.abort(reason);
    try {
      await p;
      assert.unreachable();
    } catch (e) {
      assert.is(e, reason);
    }
    assert.is(ws.status().state, 'idle');
    assert.is(ws.status().failures, 0);
    ws.close();
    await server.close();
  }),
);

test('bad url-list entries and bad reads are refused without a request', async () => {
  for (const url of ['ftp://m/x', 'file:///etc/passwd', 'not a url']) {
    const { ws } = seed(single(url));
    const st = ws.status();
    assert.is(st.state, 'dropped');
    assert.ok(st.error && st.error.length > 5, url);
    await rejects(ws.read(0, 10), 'dropped');
    ws.close();
  }
  const { ws } = seed(single('http://127.0.0.1:9/f'));
  await rejects(ws.read(990, 20), 'bad-request', /outside the torrent/);
  await rejects(ws.read(0, 65 << 20), 'bad-request', /over the/);
  assert.is(ws.status().state, 'idle', "the caller's mistake is not the seed's failure");
  ws.close();
});

test(
  'a refused connection backs off',
  deadline(10_000, async () => {
    const server = await rawServer(() => undefined);
    const url = server.url + 'f';
    await server.close();
    const { ws } = seed(single(url));
    await rejects(ws.read(0, 10), 'network', /connection refused/);
    assert.is(ws.status().state, 'backoff');
    ws.close();
  }),
);

test('webSeedsFor: one seed per distinct url-list entry, at most MAX_WEB_SEEDS', () => {
  const lines: string[] = [];
  const deps = { clock: new ManualClock(), logger: createLogger('info', (l) => lines.push(l)) };
  const m = { name: 'd', singleFile: false, files: multi('http://x/').files };
  const two = webSeedsFor(deps, { ...m, urlList: ['http://a/', 'http://b/', 'http://a/'] });
  assert.equal(two.map((w) => w.status().url), ['http://a/', 'http://b/']);
  const many = webSeedsFor(deps, { ...m, urlList: Array.from({ length: 100 }, (_, i) => `http://m${i}/`) });
  assert.is(many.length, MAX_WEB_SEEDS);
  assert.ok(lines.some((l) => /lists 100 web seeds: using the first 8/.test(l)));
  for (const w of [...two, ...many]) w.close();
});

test(
  'keep-alive: chunked answers reuse the connection; a server that closes a kept-alive connection as we reuse it costs one retry, not a failure',
  deadline(10_000, async () => {
    const data = content('f', 1000);
    const chunked: Handler = (req, socket) => {
      const m = /bytes=(\d+)-(\d+)/.exec(req.range ?? '')!;
      const [first, last] = [Number(m[1]), Number(m[2])];
      const body = data.subarray(first, last + 1);
      socket.write(`HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${first}-${last}/1000\r\nTransfer-Encoding: chunked\r\n\r\n`);
      socket.write(`${(3).toString(16)}\r\n`);
      socket.write(Buffer.concat([body.subarray(0, 3), Buffer.from(`\r\n${(body.length - 3).toString(16)};x=y\r\n`), body.subarray(3), Buffer.from('\r\n0\r\n\r\n')]));
    };
    const server = await rawServer(chunked);
    const { ws } = seed(single(server.url + 'f'));
    for (let o = 0; o < 1000; o += 100) assert.equal(await ws.read(o, 100), data.subarray(o, o + 100));
    assert.is(server.connections, 1, 'one connection for ten chunked answers');

    // the second request on each connection is met by a close, as when a keep-alive timeout races our request
    const perSocket = new Map<net.Socket, number>();
    server.handle = (req, socket, s) => {
      const n = (perSocket.get(socket) ?? 0) + 1;
      perSocket.set(socket, n);
      if (n === 2) return void socket.destroy();
      chunked(req, socket, s);
    };
    const before = server.connections;
    assert.equal(await ws.read(0, 10), data.subarray(0, 10));
    assert.equal(await ws.read(10, 10), data.subarray(10, 20));
    assert.equal(await ws.read(20, 10), data.subarray(20, 30));
    assert.ok(server.connections > before, 'a new connection after the stale one');
    assert.is(ws.status().state, 'ok');
    assert.is(ws.status().failures, 0);
    ws.close();
    await server.close();
  }),
);

test(
  'parallel reads share at most maxSockets connections; bytes after a framed answer close that connection only',
  deadline(10_000, async () => {
    const server = await rawServer(goodMirror({ a: FILE_A, b: FILE_B }));
    const { ws } = seed(multi(server.url));
    const all = Buffer.concat([FILE_A, FILE_B]);
    const reads = Array.from({ length: 16 }, (_, i) => ws.read(i * 500, 500));
    const got = await Promise.all(reads);
    got.forEach((g, i) => assert.equal(g, all.subarray(i * 500, i * 500 + 500)));
    assert.ok(server.connections <= WEB_SEED_LIMITS.maxSockets, `${server.connections} connections`);
    // an answer followed by junk: the answer counts, the connection is not reused
    const good = server.handle;
    server.handle = (req, socket, s) => {
      good(req, socket, s);
      socket.write('JUNK AFTER THE BODY');
      server.handle = good;
    };
    const into = Buffer.alloc(600, 0xee);
    const r = await ws.read(100, 500, undefined, into);
    assert.equal(r, all.subarray(100, 600));
    assert.is(r.buffer, into.buffer, 'filled the given buffer');
    assert.equal(await ws.read(0, 100), all.subarray(0, 100));
    assert.is(ws.status().state, 'ok');
    ws.close();
    await server.close();
  }),
);

test(
  'a run takes each piece buffer as its bytes arrive; with none free the socket stops reading (no timeout) and goes on once one is',
  deadline(20_000, async () => {
    const PIECE = 256 * 1024;
    const big = Buffer.alloc(64 * PIECE);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >>> 13)) & 0xff;
    let serverSocket: net.Socket | undefined;
    const server = await rawServer((req, socket) => {
      serverSocket = socket;
      goodMirror({ f: big })(req, socket, server);
    });
    const { ws, clock } = seed(single(server.url + 'f', big.length));
    // two buffers for the whole run: a piece gives its buffer back a turn after it is handed over
    const pool: Buffer[] = [Buffer.alloc(PIECE), Buffer.alloc(PIECE)];
    const owner = new Map<number, Buffer>();
    let waiters: (() => void)[] = [];
    let waits = 0;
    let serverHeldBack = false;
    const handed: number[] = [];
    const read = ws.readPieces(
      0,
      big.length,
      PIECE,
      {
        get: (i) => {
          const b = pool.pop();
          if (b) owner.set(i, b);
          return b;
        },
        whenFree: (retry) => {
          waits++;
          // the bytes not read wait at the server (TCP holds them back), not in our memory
          if (serverSocket && serverSocket.writableLength > 0) serverHeldBack = true;
          // waiting on our own memory is no silence of the server: no timeout
          clock.advance(WEB_SEED_LIMITS.idleTimeoutMs + 1000);
          waiters.push(retry);
        },
      },
      (i) => {
        handed.push(i);
        const b = owner.get(i)!;
        assert.ok(b.equals(big.subarray(i * PIECE, (i + 1) * PIECE)), `piece ${i} whole and right when handed over`);
        owner.delete(i);
        setImmediate(() => {
          pool.push(b);
          const w = waiters;
          waiters = [];
          for (const retry of w) retry();
        });
      },
    );
    await read;
    assert.equal(handed, Array.from({ length: 64 }, (_, i) => i), 'every piece once, in order');
    assert.ok(waits > 0, 'the read waited for a buffer');
    assert.ok(serverHeldBack, 'the server held bytes back while the reader waited');
    assert.is(ws.status().state, 'ok');
    assert.is(ws.status().failures, 0);
    assert.equal(server.requests.map((r) => r.range), [`bytes=0-${big.length - 1}`]);
    ws.close();
    await server.close();
  }),
);

test(
  'bytes read before any piece buffer is free, to the end of their range, are placed before the read resolves: every piece handed over and counted',
  deadline(10_000, async () => {
    // a run of 4 pieces of 2000 bytes over files a (3000 bytes) and b (5000): one range
    // request each, on one connection, so b's request reaches the server only once a's whole
    // body is in. Each answer is one write (head and body): one socket read, its body bytes
    // in the shared read buffer, with no piece buffer free for them until b's request arrives.
    const PIECE = 2000;
    const all = Buffer.concat([FILE_A, FILE_B]);
    let released = false;
    let waiters: (() => void)[] = [];
    const server = await rawServer((req, socket) => {
      if (server.requests.length === 2 && !released) {
        released = true;
        const w = waiters;
        waiters = [];
        for (const retry of w) retry();
      }
      const name = decodeURIComponent(req.path.split('/').pop()!);
      const data = name === 'a' ? FILE_A : FILE_B;
      const [first, last] = /bytes=(\d+)-(\d+)/.exec(req.range ?? '')!.slice(1).map(Number) as [number, number];
      socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${first}-${last}/${data.length}\r\nContent-Length: ${last - first + 1}\r\n\r\n`), data.subarray(first, last + 1)]));
    });
    const { ws } = seed({ ...multi(server.url), limits: { maxSockets: 1 } });
    const bufs = new Map<number, Buffer>();
    const handed: number[] = [];
    let resolved = false;
    await ws
      .readPieces(
        0,
        all.length,
        PIECE,
        {
          get: (i) => {
            if (!released) return undefined;
            if (!bufs.has(i)) bufs.set(i, Buffer.alloc(PIECE, 0xee));
            return bufs.get(i);
          },
          whenFree: (retry) => void (released ? setImmediate(retry) : waiters.push(retry)),
        },
        (i) => {
          assert.not.ok(resolved, `piece ${i} handed over after the read resolved`);
          assert.ok(bufs.get(i)!.equals(all.subarray(i * PIECE, (i + 1) * PIECE)), `piece ${i} whole and right when handed over`);
          handed.push(i);
        },
      )
      .then(() => (resolved = true));
    assert.equal(server.requests.map((r) => [r.path, r.range]), [
      ['/dir/a', 'bytes=0-2999'],
      ['/dir/b', 'bytes=0-4999'],
    ]);
    assert.equal([...handed].sort(), [0, 1, 2, 3], 'every piece handed over before the read resolved');
    assert.is(ws.status().downloaded, all.length, 'every byte received counted as delivered');
    assert.is(ws.status().state, 'ok');
    ws.close();
    await server.close();
  }),
);

test('padding files read as zeros, also into a used buffer', async () => {
  const server = await rawServer(goodMirror({ a: FILE_A, b: FILE_B }));
  const opts = multi(server.url);
  opts.files = [
    { path: ['a'], length: FILE_A.length, offset: 0 },
    { path: ['.pad', '96'], length: 96, offset: FILE_A.length, padding: true },
    { path: ['b'], length: FILE_B.length, offset: FILE_A.length + 96 },
  ];
  const { ws } = seed(opts);
  const want = Buffer.concat([FILE_A, Buffer.alloc(96), FILE_B]);
  assert.equal(await ws.read(2900, 400), want.subarray(2900, 3300));
  assert.equal(await ws.read(2900, 400, undefined, Buffer.alloc(400, 0xff)), want.subarray(2900, 3300));
  assert.equal(await ws.read(3010, 50, undefined, Buffer.alloc(64, 0xff)), Buffer.alloc(50));
  assert.is(server.requests.filter((r) => r.path.includes('pad')).length, 0, 'padding is never asked for');
  ws.close();
  await server.close();
});

test(
  'a head and body that arrive a few bytes at a time',
  deadline(10_000, async () => {
    const data = content('f', 1000);
    const server = await rawServer((req, socket) => {
      const m = /bytes=(\d+)-(\d+)/.exec(req.range ?? '')!;
      const [first, last] = [Number(m[1]), Number(m[2])];
      const bytes = Buffer.concat([
        Buffer.from(`HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${first}-${last}/1000\r\nContent-Length: ${last - first + 1}\r\n\r\n`),
        data.subarray(first, last + 1),
      ]);
      socket.setNoDelay(true);
      let i = 0;
      const drip = () => {
        if (i >= bytes.length || socket.destroyed) return;
        socket.write(bytes.subarray(i, i + 3));
        i += 3;
        setImmediate(drip);
      };
      drip();
    });
    const { ws } = seed(single(server.url + 'f'));
    assert.equal(await ws.read(500, 100), data.subarray(500, 600));
    assert.equal(await ws.read(0, 20), data.subarray(0, 20));
    ws.close();
    await server.close();
  }),
);

test(
  'time spent waiting for a free connection does not count against a request (fake clock)',
  deadline(10_000, async () => {
    const held: (() => void)[] = [];
    const good = goodMirror({ a: FILE_A, b: FILE_B });
    const server = await rawServer((req, socket, s) => void held.push(() => good(req, socket, s)));
    const clock = new ManualClock();
    const ws = new WebSeed({ clock, logger: createLogger('error', () => undefined), random: () => 0 }, { ...multi(server.url), limits: { maxSockets: 1 } });
    const p = ws.read(2000, 2000); // two files, one connection: the second request waits for the first
    await waitFor('the first request', 5000, () => held.length === 1);
    clock.advance(25_000);
    held.shift()!();
    await waitFor('the second request', 5000, () => held.length === 1);
    clock.advance(25_000); // 50 s after the read began, 25 s after the second request was sent
    held.shift()!();
    assert.equal(await p, Buffer.concat([FILE_A, FILE_B]).subarray(2000, 4000));
    assert.is(server.connections, 1);
    ws.close();
    await server.close();
  }),
);

test(
  'IPv6 literals, and host names through the injected lookup (Host header as in the URL)',
  deadline(10_000, async () => {
    const data = content('f', 1000);
    const v6 = await rawServer(goodMirror({ f: data }), '::1');
    const a = seed(single(v6.url + 'f')).ws;
    assert.equal(await a.read(10, 10), data.subarray(10, 20));
    assert.match(v6.requests[0]!.head, /\r\nhost: \[::1\]:\d+\r\n/i);
    a.close();
    await v6.close();

    const v4 = await rawServer(goodMirror({ f: data }));
    const port = new URL(v4.url).port;
    const asked: string[] = [];
    const lookup = async (host: string) => (asked.push(host), { address: '127.0.0.1', family: 4 as const });
    const b = new WebSeed({ clock: new ManualClock(), logger: createLogger('error', () => undefined), lookup }, single(`http://mirror.mesh.test:${port}/f`));
    assert.equal(await b.read(0, 10), data.subarray(0, 10));
    assert.equal(asked, ['mirror.mesh.test']);
    assert.match(v4.requests[0]!.head, new RegExp(`\\r\\nhost: mirror\\.mesh\\.test:${port}\\r\\n`, 'i'));
    b.close();
    const failing = new WebSeed(
      { clock: new ManualClock(), logger: createLogger('error', () => undefined), lookup: async () => Promise.reject(Object.assign(new Error('no such host'), { code: 'ENOTFOUND' })) },
      single(`http://gone.mesh.test:${port}/f`),
    );
    await rejects(failing.read(0, 10), 'network', /cannot resolve the host/);
    failing.close();
    await v4.close();
  }),
);

test.run();
