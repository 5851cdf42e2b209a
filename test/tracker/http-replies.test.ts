// deadline: 30s
// The HTTP front puts every reply without headers of its own together in one buffer it keeps
// and reuses once the kernel took the reply: many connections answered at once must each get
// their own reply, whole, never bytes of another's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deadline, tempDir } from '../helpers';
import { TrackerService } from '../../src/tracker/tracker-service';
import { HttpFront } from '../../src/tracker/http-front';
import { ManualClock } from '../../src/util/clock';
import { SLOT_MS } from '../../src/tracker/connection-id';
import { percentEncode } from '../../src/codec/tracker-http';
import { announceTarget, bdict, memoryLogger, peerId, rawHttp, trackerSettings } from './fixtures';

const TORRENTS = 40;
const hashOf = (i: number) => Buffer.alloc(20, i + 1);
/** Torrent i has this many seeders before the concurrent round. */
const seedersOf = (i: number) => (i % 7) + 1;

/** Status line, Content-Length and body of a raw reply; fails on a length that does not match. */
function split(raw: Buffer): { status: number; body: Buffer } {
  const end = raw.indexOf('\r\n\r\n');
  assert.ok(end > 0, `a reply head: ${raw.toString('latin1')}`);
  const head = raw.subarray(0, end).toString('latin1');
  const length = Number(/\r\nContent-Length: (\d+)\r\n/.exec(head)?.[1]);
  const body = raw.subarray(end + 4);
  assert.is(body.length, length, `Content-Length ${length} and the body received`);
  return { status: Number(head.split(' ')[1]), body };
}

/** A tracker on its own folder, rate limit off, for `body(port)`; closed and removed after. */
async function withTracker(extra: Parameters<typeof trackerSettings>[1], body: (port: number) => Promise<void>): Promise<void> {
  const dir = tempDir('meshseed-replies-');
  const clock = new ManualClock();
  clock.advance(10 * SLOT_MS);
  const t = new TrackerService({ log: memoryLogger(), clock }, trackerSettings(dir.path, { 'tracker.rate_limit': 0, ...extra }));
  try {
    await t.start();
    await body(t.port);
  } finally {
    await t.close();
    dir.remove();
  }
}

test(
  'replies to many connections at once: each whole and its own (the front reuses one reply buffer)',
  deadline(25_000, async () => {
    await withTracker({ 'tracker.address': ['127.0.0.1'] }, async (port) => {
    let n = 0;
    for (let i = 0; i < TORRENTS; i++)
      for (let k = 0; k < seedersOf(i); k++) {
        const raw = await rawHttp(port, `GET ${announceTarget({ infoHash: hashOf(i), peerId: peerId(++n), port: 7000 + n, left: 0, extra: '&event=completed' })} HTTP/1.1\r\n\r\n`);
        assert.is(split(raw).status, 200);
      }
    // at once: an announce by a new leecher per torrent, a HEAD of the same, a bad request
    const rounds = await Promise.all(
      Array.from({ length: TORRENTS }, async (_, i) => {
        const target = announceTarget({ infoHash: hashOf(i), peerId: peerId(1000 + i), port: 9000 + i, left: 5 });
        const [get, head, bad] = await Promise.all([
          rawHttp(port, `GET ${target}&compact=1&numwant=50 HTTP/1.1\r\n\r\n`),
          rawHttp(port, `HEAD ${target} HTTP/1.1\r\n\r\n`),
          rawHttp(port, `GET ${target} HTTP/2.0\r\n\r\n`),
        ]);
        return { i, get, head, bad };
      }),
    );
    for (const { i, get, head, bad } of rounds) {
      const reply = split(get);
      assert.is(reply.status, 200);
      const d = bdict(reply.body);
      assert.is(d.get('failure reason'), undefined, `torrent ${i}: ${reply.body.toString('latin1')}`);
      assert.is(d.get('complete'), seedersOf(i), `torrent ${i}: its own seeders`);
      assert.is((d.get('peers') as Uint8Array).length, 6 * seedersOf(i), `torrent ${i}: its own peers`);
      const h = head.toString('latin1');
      assert.ok(h.startsWith('HTTP/1.1 200 OK\r\n') && h.endsWith('\r\n\r\n'), `HEAD: the head alone: ${JSON.stringify(h)}`);
      const b = split(bad);
      assert.is(b.status, 505);
      assert.is(b.body.toString('latin1'), 'only HTTP/1.0 and HTTP/1.1\n');
    }
    });
  }),
);

test('a reply the kernel did not take whole keeps its bytes: the next replies are put together elsewhere', () => {
  // The pending write is what Node does when the kernel takes part of a reply (a socket send
  // buffer full): it keeps the Buffer until the rest is sent. Over loopback a fresh socket takes
  // a reply of the front's buffer size whole, so the case is driven through the front's send.
  const front = new HttpFront({ handle: () => ({ status: 200, contentType: 'text/plain', body: Buffer.alloc(0) }), refuse: () => {} }, { maxConnections: 4, headTimeoutMs: 1000 });
  type Fake = { written: Buffer[]; writableLength: number; destroyed: boolean; ended: boolean; write(b: Buffer): void; end(): void; destroy(): void };
  const socket = (pending: number): Fake => ({
    written: [],
    writableLength: 0,
    destroyed: false,
    ended: false,
    write(b) {
      this.written.push(b);
      this.writableLength = pending;
    },
    end() {
      this.ended = true;
    },
    destroy() {
      this.destroyed = true;
    },
  });
  const send = (s: Fake, body: string) =>
    (front as unknown as { send(s: Fake, r: object, headOnly: boolean): void }).send(s, { status: 200, contentType: 'text/plain', body: Buffer.from(body) }, false);
  const slow = socket(10);
  send(slow, 'first reply');
  assert.ok(slow.ended && !slow.destroyed, 'ended gracefully, not destroyed');
  const kept = slow.written[0]!;
  const want = Buffer.from(kept).toString('latin1');
  assert.ok(want.endsWith('\r\n\r\nfirst reply'));
  for (let i = 0; i < 3; i++) {
    const fast = socket(0);
    send(fast, `later reply ${i}`);
    assert.ok(fast.destroyed, 'a reply taken whole: closed at once');
    assert.ok(fast.written[0]!.buffer !== kept.buffer, 'not in the pending reply\'s buffer');
  }
  assert.is(kept.toString('latin1'), want, 'the pending reply is unchanged');
});

test(
  'large replies (numwant 200, dictionary peers, a 74-hash scrape) beside pages, over IPv4 and IPv6 at once: each whole and right',
  deadline(25_000, async () => {
    await withTracker({}, async (port) => {
    const hostOf = (n: number) => (n % 2 === 0 ? '127.0.0.1' : '::1');
    // one swarm of 220 peers (half of them IPv6), 74 swarms of one peer each
    const big = Buffer.alloc(20, 0xee);
    for (let n = 1; n <= 220; n++)
      await rawHttp(port, `GET ${announceTarget({ infoHash: big, peerId: peerId(n), port: 7000 + n, left: n % 3 === 0 ? 0 : 5 })} HTTP/1.1\r\n\r\n`, hostOf(n));
    const SCRAPED = 74; // the most info_hash parameters a scrape takes
    for (let i = 0; i < SCRAPED; i++) await rawHttp(port, `GET ${announceTarget({ infoHash: hashOf(i), peerId: peerId(5000 + i), port: 6000, left: 5 })} HTTP/1.1\r\n\r\n`);
    const scrape = `/scrape?${Array.from({ length: SCRAPED }, (_, i) => `info_hash=${percentEncode(hashOf(i))}`).join('&')}`;
    const peersIn = (d: Map<string, unknown>) => ((d.get('peers') as Uint8Array).length / 6) + ((d.get('peers6') as Uint8Array | undefined)?.length ?? 0) / 18;
    const kinds: ((host: string, k: number) => Promise<void>)[] = [
      async (host, k) => {
        const d = bdict(split(await rawHttp(port, `GET ${announceTarget({ infoHash: big, peerId: peerId(9000 + k), port: 9000 + k, left: 5 })}&numwant=200 HTTP/1.1\r\n\r\n`, host)).body);
        assert.is(d.get('failure reason'), undefined);
        assert.is((d.get('peers') as unknown[]).length, 200, 'dictionary peers');
      },
      async (host, k) => {
        const d = bdict(split(await rawHttp(port, `GET ${announceTarget({ infoHash: big, peerId: peerId(9000 + k), port: 9000 + k, left: 5 })}&numwant=200&compact=1 HTTP/1.1\r\n\r\n`, host)).body);
        assert.is(peersIn(d), 200, 'compact peers');
      },
      async (host) => {
        const files = bdict(split(await rawHttp(port, `GET ${scrape} HTTP/1.1\r\n\r\n`, host)).body).get('files') as Map<string, Map<string, number>>;
        assert.is(files.size, SCRAPED);
        for (let i = 0; i < SCRAPED; i++) assert.is(files.get(hashOf(i).toString('latin1'))?.get('incomplete'), 1, `scraped torrent ${i}`);
      },
      async (host) => {
        const h = (await rawHttp(port, `HEAD ${scrape} HTTP/1.1\r\n\r\n`, host)).toString('latin1');
        assert.ok(h.startsWith('HTTP/1.1 200 OK\r\n') && h.endsWith('\r\n\r\n'), `HEAD: the head alone: ${JSON.stringify(h.slice(0, 80))}`);
      },
      async (host) => assert.is(split(await rawHttp(port, `GET / HTTP/1.1\r\nHost: x\r\n\r\n`, host)).status, 200),
      async (host) => assert.is(split(await rawHttp(port, `GET /stats HTTP/1.1\r\nHost: x\r\n\r\n`, host)).status, 200),
    ];
    for (let round = 0; round < 3; round++) await Promise.all(Array.from({ length: 36 }, (_, k) => kinds[k % kinds.length]!(hostOf(k >> 1), k)));
    });
  }),
);

test.run();
