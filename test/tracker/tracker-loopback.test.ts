// deadline: 60s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer, type AddressInfo } from 'node:net';
import { deadline, tempDir, waitFor } from '../helpers';
import { TrackerService } from '../../src/tracker/tracker-service';
import { HttpFront } from '../../src/tracker/http-front';
import { ManualClock } from '../../src/util/clock';
import { SLOT_MS } from '../../src/tracker/connection-id';
import {
  decodeUdpResponse,
  encodeAnnounceRequest,
  encodeConnectRequest,
  encodeScrapeRequest,
} from '../../src/codec/tracker-udp';
import { percentEncode } from '../../src/codec/tracker-http';
import { announceTarget, bdict, httpGet, makeTorrent, memoryLogger, peerId, rawHttp, trackerSettings, udpClient } from './fixtures';
import type { Settings } from '../../src/config/settings';

const HASH = Buffer.alloc(20, 0x11);

async function withTracker(over: Partial<Settings>, fn: (t: TrackerService, ctx: { clock: ManualClock; log: ReturnType<typeof memoryLogger>; dir: string }) => Promise<void>) {
  const dir = tempDir('meshseed-tracker-');
  const clock = new ManualClock();
  clock.advance(10 * SLOT_MS);
  const log = memoryLogger();
  const t = new TrackerService({ log, clock }, trackerSettings(dir.path, over));
  try {
    await t.start();
    await fn(t, { clock, log, dir: dir.path });
  } finally {
    await t.close();
    dir.remove();
  }
}

test(
  'HTTP announce and scrape over loopback: compact peers, peers6, dictionary peers, failure reason',
  deadline(15000, () =>
    withTracker({}, async (t) => {
      const a = bdict((await httpGet(t.port, announceTarget({ infoHash: HASH, peerId: peerId(1), port: 6881, left: 10, extra: '&compact=1' }))).body);
      assert.is(a.get('interval'), 120);
      assert.is(a.get('min interval'), 60);
      assert.is((a.get('peers') as Uint8Array).length, 0);
      // a second client over IPv6 (a seeder that just finished) sees the first in `peers`
      const b = bdict((await httpGet(t.port, announceTarget({ infoHash: HASH, peerId: peerId(2), port: 6882, left: 0, extra: '&compact=1&event=completed' }), '::1')).body);
      assert.equal([...(b.get('peers') as Uint8Array)], [127, 0, 0, 1, 0x1a, 0xe1]);
      assert.is(b.get('incomplete'), 1);
      assert.is(b.get('complete'), 1);
      // and the first sees the second in `peers6`
      const c = bdict((await httpGet(t.port, announceTarget({ infoHash: HASH, peerId: peerId(1), port: 6881, left: 10, extra: '&compact=1' }))).body);
      const p6 = c.get('peers6') as Uint8Array;
      assert.is(p6.length, 18);
      assert.is(p6[15], 1);
      // dictionary model
      const d = bdict((await httpGet(t.port, announceTarget({ infoHash: HASH, peerId: peerId(3), port: 6883, left: 10 }))).body);
      const peers = d.get('peers') as Map<string, unknown>[];
      assert.is(peers.length, 2);
      const ips = peers.map((p) => Buffer.from(p.get('ip') as Uint8Array).toString()).sort();
      assert.equal(ips, ['127.0.0.1', '::1']);
      assert.ok(peers.every((p) => (p.get('peer id') as Uint8Array).length === 20));
      // scrape
      const s = bdict((await httpGet(t.port, `/scrape?info_hash=${percentEncode(HASH)}&info_hash=${percentEncode(Buffer.alloc(20, 9))}`)).body);
      const files = s.get('files') as Map<string, Map<string, number>>;
      const f = files.get(HASH.toString('latin1'))!;
      assert.equal([f.get('complete'), f.get('incomplete'), f.get('downloaded')], [1, 2, 1]);
      assert.is(files.get(Buffer.alloc(20, 9).toString('latin1'))!.get('complete'), 0);
      // failure reason, status 200
      const bad = await httpGet(t.port, '/announce?info_hash=abc');
      assert.is(bad.status, 200);
      assert.match(bdict(bad.body).get('failure reason')!.toString(), /info_hash is 3 bytes/);
      assert.is((await httpGet(t.port, '/nothing')).status, 404);
    }),
  ),
);

test(
  'UDP: connect, announce, scrape over IPv4 and IPv6; IPv6 sender gets 18-byte peers',
  deadline(15000, () =>
    withTracker({}, async (t, { clock }) => {
      const c4 = udpClient(4);
      const c6 = udpClient(6);
      try {
        await c4.send(encodeConnectRequest(1), t.port);
        const conn4 = decodeUdpResponse((await c4.until(1))[0]!);
        assert.ok(conn4?.action === 'connect' && conn4.transactionId === 1);
        const cid4 = conn4!.action === 'connect' ? conn4!.connectionId : new Uint8Array(8);
        await c4.send(encodeAnnounceRequest({ connectionId: cid4, transactionId: 2, infoHash: HASH, peerId: peerId(1), left: 5, port: 7001, event: 'started' }), t.port);
        const a4 = decodeUdpResponse((await c4.until(2))[1]!);
        assert.ok(a4?.action === 'announce' && a4.interval === 120 && a4.leechers === 1 && a4.peers.length === 0);

        await c6.send(encodeConnectRequest(3), t.port);
        const conn6 = decodeUdpResponse((await c6.until(1))[0]!);
        const cid6 = conn6!.action === 'connect' ? conn6!.connectionId : new Uint8Array(8);
        // another IPv6 peer through HTTP, so the UDP IPv6 sender has one to get
        await httpGet(t.port, announceTarget({ infoHash: HASH, peerId: peerId(5), port: 7005, left: 5, extra: '&compact=1' }), '::1');
        await c6.send(encodeAnnounceRequest({ connectionId: cid6, transactionId: 4, infoHash: HASH, peerId: peerId(2), left: 0, port: 7002, event: 'completed' }), t.port);
        const a6 = decodeUdpResponse((await c6.until(2))[1]!);
        assert.ok(a6?.action === 'announce');
        if (a6?.action !== 'announce') return;
        assert.is(a6.peers.length, 18, 'one IPv6 peer, 18 bytes');
        assert.is(a6.peers[15], 1);
        assert.is((a6.peers[16]! << 8) | a6.peers[17]!, 7005);
        assert.is(a6.seeders, 1);

        // the id is still good a few minutes later, but not after two slots
        clock.advance(SLOT_MS);
        await c4.send(encodeScrapeRequest(cid4, 5, [HASH, Buffer.alloc(20)]), t.port);
        const s = decodeUdpResponse((await c4.until(3))[2]!);
        assert.equal(s, { action: 'scrape', transactionId: 5, entries: [{ seeders: 1, completed: 1, leechers: 2 }, { seeders: 0, completed: 0, leechers: 0 }] });
        clock.advance(2 * SLOT_MS);
        await c4.send(encodeScrapeRequest(cid4, 6, [HASH]), t.port);
        await c4.send(encodeConnectRequest(7), t.port);
        const after = await c4.until(4);
        assert.is(decodeUdpResponse(after[3]!)?.transactionId, 7, 'the expired id got no reply');
        assert.is(after.length, 4);
        assert.ok((t.core.counters.refusals['bad connection id'] ?? 0) >= 1);
      } finally {
        c4.close();
        c6.close();
      }
    }),
  ),
);

test(
  'UDP: garbage and forged connection ids get no reply at all, and are counted',
  deadline(15000, () =>
    withTracker({}, async (t, { log }) => {
      const c = udpClient(4);
      try {
        const garbage = [Buffer.alloc(0), Buffer.alloc(3, 1), Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.alloc(4000, 0xff), Buffer.alloc(16, 0)];
        for (const g of garbage) await c.send(g, t.port);
        const forged = encodeAnnounceRequest({ connectionId: Buffer.from('0123456789abcdef', 'hex'), transactionId: 99, infoHash: HASH, peerId: peerId(1), left: 0, port: 1 });
        for (let i = 0; i < 20; i++) await c.send(forged, t.port);
        await c.send(encodeScrapeRequest(Buffer.alloc(8), 98, [HASH]), t.port);
        await c.send(encodeConnectRequest(42), t.port);
        const replies = await c.until(1);
        assert.is(replies.length, 1);
        assert.is(decodeUdpResponse(replies[0]!)?.transactionId, 42);
        assert.is(t.core.counters.refusals['malformed datagram'], 5);
        assert.is(t.core.counters.refusals['bad connection id'], 21);
        assert.is(t.core.store.peers, 0);
        assert.is(log.lines.filter((l) => /refusing: bad connection id/.test(l)).length, 1, 'one log line per class');
      } finally {
        c.close();
      }
    }),
  ),
);

test(
  'per-address rate limit: UDP drops, HTTP answers failure reason',
  deadline(15000, () =>
    withTracker({ 'tracker.rate_limit': 5 }, async (t) => {
      const c = udpClient(4);
      try {
        for (let i = 0; i < 30; i++) await c.send(encodeConnectRequest(i), t.port);
        await waitFor('rate-limited datagrams counted', 5000, () => (t.core.counters.refusals['rate limited'] ?? 0) + c.replies.length >= 30);
        assert.is(c.replies.length, 10, 'a burst of twice the rate, then drops (the clock does not move)');
        const r = bdict((await httpGet(t.port, announceTarget({ infoHash: HASH, peerId: peerId(1), port: 1, left: 0 }))).body);
        assert.match(String(r.get('failure reason')), /rate limited/);
      } finally {
        c.close();
      }
    }),
  ),
);

test(
  'hostile HTTP: huge head, too many headers, bad request line, other methods',
  deadline(15000, () =>
    withTracker({}, async (t) => {
      const huge = await rawHttp(t.port, `GET /announce?${'a'.repeat(20000)} HTTP/1.1\r\n\r\n`);
      assert.match(huge.toString('latin1'), /^HTTP\/1\.1 431/);
      const headers = await rawHttp(t.port, `GET / HTTP/1.1\r\n${'X-A: b\r\n'.repeat(100)}\r\n`);
      assert.match(headers.toString('latin1'), /^HTTP\/1\.1 431/);
      const endless = await rawHttp(t.port, Buffer.alloc(9000, 0x41));
      assert.match(endless.toString('latin1'), /^HTTP\/1\.1 431/);
      assert.match((await rawHttp(t.port, 'GARBAGE\r\n\r\n')).toString(), /^HTTP\/1\.1 400/);
      assert.match((await rawHttp(t.port, 'GET / HTTP/2.0\r\n\r\n')).toString(), /^HTTP\/1\.1 505/);
      assert.match((await rawHttp(t.port, 'POST /announce HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello')).toString(), /^HTTP\/1\.1 405/);
      const head = (await rawHttp(t.port, 'HEAD / HTTP/1.0\r\n\r\n')).toString();
      assert.match(head, /^HTTP\/1\.1 200/);
      assert.ok(head.endsWith('\r\n\r\n'), 'HEAD has no body');
      const lf = (await rawHttp(t.port, 'GET /stats.json HTTP/1.0\n\n')).toString();
      assert.match(lf, /^HTTP\/1\.1 200[^]*"torrents":0/);
      assert.ok((t.core.counters.refusals['request head too large'] ?? 0) >= 3);
    }),
  ),
);

test(
  'slow clients are dropped at the head deadline; beyond the bound a new request evicts the idlest connection',
  deadline(15000, async () => {
    const refused: string[] = [];
    const front = new HttpFront(
      { handle: () => ({ status: 200, contentType: 'text/plain', body: Buffer.from('ok') }), refuse: (c) => refused.push(c) },
      { maxConnections: 2, headTimeoutMs: 500 },
    );
    const port = await front.listen('127.0.0.1', 0);
    try {
      // slowloris: one byte every 100 ms, never finishing the head
      const s = connect({ host: '127.0.0.1', port });
      const trickle = setInterval(() => s.writable && s.write('X'), 100);
      let got = '';
      s.on('data', (d) => (got += d));
      await new Promise<void>((r) => s.on('close', () => r()));
      clearInterval(trickle);
      assert.is(got, '');
      assert.ok(refused.includes('slow client'));
      // two idle connections fill the bound; a third, a real request, takes the slot of the
      // one idle the longest (admission), and is answered
      refused.length = 0;
      const idle = [connect({ host: '127.0.0.1', port }), connect({ host: '127.0.0.1', port })];
      await Promise.all(idle.map((c) => new Promise((r) => c.on('connect', r))));
      await waitFor('both idle connections accepted', 5000, () => front.connections === 2);
      const third = await rawHttp(port, 'GET / HTTP/1.1\r\n\r\n');
      assert.match(third.toString(), /^HTTP\/1\.1 200/);
      assert.equal(refused, ['slow client']);
      idle.forEach((c) => c.destroy());
      await waitFor('idle connections gone', 5000, () => front.connections === 0);
      assert.match((await rawHttp(port, 'GET / HTTP/1.1\r\n\r\n')).toString(), /^HTTP\/1\.1 200/);
    } finally {
      await front.close();
    }
  }),
);

test(
  'allow-list: only listed torrents tracked; names on the stats page, escaped; rescanned on reload',
  deadline(20000, () =>
    withTracker({ 'tracker.mode': 'allowlist' }, async (t, { dir }) => {
      const tor = makeTorrent('<img src=x onerror="alert(1)"> & more.iso', 3 * 1024 * 1024);
      const listed = Buffer.alloc(20, 0x22);
      mkdirSync(`${dir}/torrents`, { recursive: true });
      writeFileSync(`${dir}/torrents/a.torrent`, tor.bytes);
      writeFileSync(`${dir}/torrents/broken.torrent`, 'd4:infoi1ee');
      const settings = trackerSettings(dir, { 'tracker.mode': 'allowlist', 'tracker.allowed_hash': [listed.toString('hex')] });
      settings['tracker.port'] = t.port; // same port: no rebind
      await t.reload(settings);
      const no = bdict((await httpGet(t.port, announceTarget({ infoHash: HASH, peerId: peerId(1), port: 1, left: 0 }))).body);
      assert.match(String(no.get('failure reason')), /not allowed/);
      const yes = bdict((await httpGet(t.port, announceTarget({ infoHash: tor.infoHash, peerId: peerId(1), port: 1, left: 0, extra: '&event=completed' }))).body);
      assert.is(yes.get('complete'), 1);
      const listedOk = bdict((await httpGet(t.port, announceTarget({ infoHash: listed, peerId: peerId(1), port: 1, left: 5 }))).body);
      assert.is(listedOk.get('incomplete'), 1);
      // UDP: an error reply (a well-formed request), not silence
      const c = udpClient(4);
      try {
        await c.send(encodeConnectRequest(1), t.port);
        const conn = decodeUdpResponse((await c.until(1))[0]!)!;
        const cid = conn.action === 'connect' ? conn.connectionId : new Uint8Array(8);
        await c.send(encodeAnnounceRequest({ connectionId: cid, transactionId: 2, infoHash: HASH, peerId: peerId(2), left: 0, port: 9 }), t.port);
        const e = decodeUdpResponse((await c.until(2))[1]!);
        assert.ok(e?.action === 'error' && /not allowed/.test(e.message));
      } finally {
        c.close();
      }
      const page = (await httpGet(t.port, '/stats')).body.toString();
      assert.match(page, /&#60;img src=x onerror=&#34;alert\(1\)&#34;&#62; &#38; more\.iso/);
      assert.not.match(page, /<img/);
      assert.match(page, /3\.0 MiB/);
      assert.match(page, new RegExp(tor.hex));
      assert.match(page, new RegExp(listed.toString('hex')));
      assert.match(page, /name="viewport"/);
      const json = JSON.parse((await httpGet(t.port, '/stats.json')).body.toString());
      assert.is(json.torrents, 2);
      assert.is(json.seeders, 1);
      assert.is(json.downloaded, 1);
      // the file goes away: its torrent is no longer allowed and loses its peers
      const { unlinkSync } = await import('node:fs');
      unlinkSync(`${dir}/torrents/a.torrent`);
      await t.reload(settings);
      assert.not.ok(t.knowsTorrent(tor.hex));
      assert.ok(t.knowsTorrent(listed.toString('hex')));
      assert.is(t.core.store.countsByKey(tor.infoHash.toString('latin1')).complete, 0);
    }),
  ),
);

test(
  'the allowed folder is rescanned on change without a reload (fs.watch or the periodic fallback)',
  deadline(20000, () =>
    withTracker({ 'tracker.mode': 'allowlist' }, async (t, { dir }) => {
      mkdirSync(`${dir}/torrents`, { recursive: true });
      const settings = trackerSettings(dir, { 'tracker.mode': 'allowlist' });
      settings['tracker.port'] = t.port;
      await t.reload(settings); // now the folder exists and is watched
      const tor = makeTorrent('late.iso');
      writeFileSync(`${dir}/torrents/late.torrent`, tor.bytes);
      await waitFor('the new torrent allowed', 10000, () => t.knowsTorrent(tor.hex));
    }),
  ),
);

test(
  'ip= is ignored unless allow_ip_param; then the peer is listed under it',
  deadline(10000, async () => {
    for (const allow of [false, true])
      await withTracker({ 'tracker.allow_ip_param': allow }, async (t) => {
        await httpGet(t.port, announceTarget({ infoHash: HASH, peerId: peerId(1), port: 7000, left: 5, extra: '&ip=10.9.9.9' }));
        const a = bdict((await httpGet(t.port, announceTarget({ infoHash: HASH, peerId: peerId(2), port: 7001, left: 5, extra: '&compact=1' }))).body);
        assert.equal([...(a.get('peers') as Uint8Array)], allow ? [10, 9, 9, 9, 0x1b, 0x58] : [127, 0, 0, 1, 0x1b, 0x58]);
      });
  }),
);

test(
  'reload: switching the tracker off closes its sockets, on again reopens them, swarms kept',
  deadline(10000, () =>
    withTracker({}, async (t, { dir }) => {
      await httpGet(t.port, announceTarget({ infoHash: HASH, peerId: peerId(1), port: 7000, left: 5 }));
      const port = t.port;
      const settings = trackerSettings(dir, { 'tracker.port': port, 'tracker.enabled': false });
      await t.reload(settings);
      const refused = await httpGet(port, '/').then(() => false, () => true);
      assert.ok(refused, 'nothing listens');
      await t.reload({ ...settings, 'tracker.enabled': true });
      const a = bdict((await httpGet(port, announceTarget({ infoHash: HASH, peerId: peerId(2), port: 7001, left: 5, extra: '&compact=1' }))).body);
      assert.is((a.get('peers') as Uint8Array).length, 6, 'the peer announced before is still there');
    }),
  ),
);

test(
  'TrackerRegistry: a full open tracker takes no LPD peer for a new torrent, still for a tracked one',
  deadline(10000, () =>
    withTracker({ 'tracker.max_torrents': 1 }, async (t) => {
      const first = HASH.toString('hex');
      const second = 'ab'.repeat(20);
      assert.ok(t.registerExternalPeer(first, '10.1.2.3', 6881));
      assert.not.ok(t.knowsTorrent(second), 'no room for a second torrent');
      assert.ok(t.knowsTorrent(first), 'the tracked one is still known');
    }),
  ),
);

test(
  'TrackerRegistry: an LPD peer is registered and handed out like an announced one',
  deadline(10000, () =>
    withTracker({}, async (t) => {
      const hex = HASH.toString('hex');
      assert.ok(t.knowsTorrent(hex), 'an open tracker takes any torrent it has room for');
      assert.ok(t.registerExternalPeer(hex, '10.1.2.3', 6881));
      assert.not.ok(t.registerExternalPeer(hex, 'not-an-address', 6881));
      assert.not.ok(t.registerExternalPeer(hex, '10.1.2.3', 0));
      assert.ok(t.knowsTorrent(hex));
      const a = bdict((await httpGet(t.port, announceTarget({ infoHash: HASH, peerId: peerId(1), port: 1, left: 5, extra: '&compact=1' }))).body);
      assert.equal([...(a.get('peers') as Uint8Array)], [10, 1, 2, 3, 0x1a, 0xe1]);
    }),
  ),
);

test(
  'close: "download totals saved" only when the state file was written',
  deadline(10000, async () => {
    const dir = tempDir('meshseed-tracker-');
    try {
      for (const [state, saved] of [[join(dir.path, 'ok'), true], [join(dir.path, 'a-file', 'state'), false]] as const) {
        writeFileSync(join(dir.path, 'a-file'), 'not a folder');
        const log = memoryLogger();
        const t = new TrackerService({ log, clock: new ManualClock() }, trackerSettings(state));
        await t.start();
        await t.close();
        const stopped = log.lines.find((l) => /stopped:/.test(l))!;
        assert.is(/download totals saved in/.test(stopped), saved, stopped);
        if (!saved) {
          assert.match(stopped, /download totals NOT saved/);
          assert.ok(log.lines.some((l) => /^error: .*cannot write state file/.test(l)), log.lines.join('\n'));
        }
      }
    } finally {
      dir.remove();
    }
    }),
  );

test(
  'the UDP socket asks for tracker.udp_receive_buffer (the 208 KiB default drops announce bursts)',
  deadline(10000, async () => {
    const granted = async (kib: number) => {
      let sizes: number[] = [];
      await withTracker({ 'tracker.udp_receive_buffer': kib, 'tracker.address': ['127.0.0.1'] }, async (t) => {
        sizes = (t.status() as { udpReceiveBuffer: number[] }).udpReceiveBuffer;
      });
      assert.is(sizes.length, 1);
      return sizes[0]!;
    };
    const system = await granted(0);
    const asked = await granted(1024);
    console.log(`UDP receive buffer: system ${system} bytes, asked 1 MiB, granted ${asked} bytes`);
    // Linux grants twice the request (bookkeeping), capped at 2 x net.core.rmem_max; the status
    // reports the request's size, not the doubled one
    assert.ok(asked >= Math.min(1 << 20, system), `granted ${asked}`);
    const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    if (rmemMax >= 1 << 20) assert.is(asked, 1 << 20, 'reported as asked (1 MiB), not as the kernel doubles it');
    assert.ok(asked !== system || system >= 1 << 20, 'the request changed the buffer');
  }),
);

test(
  'a tracker whose first start failed (port taken) starts on a retry, with its allow-list folder watched again',
  deadline(15000, async () => {
    const dir = tempDir('meshseed-tracker-');
    const blocker = createServer();
    try {
      await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
      const port = (blocker.address() as AddressInfo).port;
      const allowed = join(dir.path, 'allowed');
      mkdirSync(allowed);
      const log = memoryLogger();
      const t = new TrackerService(
        { log, clock: new ManualClock() },
        trackerSettings(dir.path, { 'tracker.port': port, 'tracker.address': ['127.0.0.1'], 'tracker.mode': 'allowlist', 'tracker.allowed_dir': allowed }),
      );
      let failed = false;
      try {
        await t.start();
      } catch (err) {
        failed = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
      }
      assert.ok(failed, 'the first start fails with EADDRINUSE');
      await new Promise((r) => blocker.close(r));
      await t.start();
      try {
        assert.is(t.port, port);
        // the folder watch works again (the periodic rescan is a minute away)
        const torrent = makeTorrent('late');
        writeFileSync(join(allowed, 'late.torrent'), torrent.bytes);
        await waitFor('the new torrent allowed', 8000, () => t.access.allows(torrent.infoHash.toString('latin1')));
      } finally {
        await t.close();
      }
    } finally {
      blocker.close();
      dir.remove();
    }
  }),
);

test.run();
