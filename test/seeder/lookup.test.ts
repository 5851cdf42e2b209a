// deadline: 10s
/** The mesh lookup on a manual clock, with recording transports: sources in order, cache, sharing, rate limit. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../../src/util/clock';
import { createLogger } from '../../src/util/log';
import {
  LOOKUP_BURST,
  LOOKUP_CACHE_MS,
  LOOKUP_DHT_TIMEOUT_MS,
  LOOKUP_EMPTY_CACHE_MS,
  LOOKUP_REFILL_MS,
  LPD_HEARD_TTL_MS,
  MeshLookupService,
  type MeshLookupDeps,
} from '../../src/seeder/lookup';
import type { AnnounceTransport } from '../../src/seeder/announce-transport';
import { TrackerError } from '../../src/seeder/announce-transport';
import type { AnnounceReply, AnnounceRequest } from '../../src/codec/announce-client';

const X = 'ab'.repeat(20);
const TRACKER = 'http://10.61.1.10:6969/announce';

class RecordingTransport implements AnnounceTransport {
  calls: { url: string; req: AnnounceRequest }[] = [];
  // opentracker lists the requester itself (port 1 here): left out
  reply: (url: URL) => Promise<AnnounceReply> = async () => ({ peers: [{ address: '10.61.1.10', port: 6881 }, { address: '10.61.2.10', port: 1 }] });
  announce(url: URL, req: AnnounceRequest): Promise<AnnounceReply> {
    this.calls.push({ url: url.href, req });
    return req.event === 'stopped' ? Promise.resolve({ peers: [] }) : this.reply(url);
  }
  get lookups() {
    return this.calls.filter((c) => c.req.event !== 'stopped');
  }
}

function setup(over: Partial<MeshLookupDeps> = {}, trackers = [TRACKER]) {
  const clock = new ManualClock();
  const http = new RecordingTransport();
  const lookup = new MeshLookupService(
    { clock, log: createLogger('error'), transports: { 'http:': http }, peerId: new Uint8Array(20).fill(7), port: () => 1, ...over },
    { trackers },
  );
  return { clock, http, lookup };
}
const text = (ps: { address: string; port: number }[]) => ps.map((p) => `${p.address}:${p.port}`);

test('local sources in order (seeder, tracker, LPD on another interface); the mesh trackers only when they give nothing', async () => {
  const { http, lookup } = setup({
    seederPeers: () => [{ address: '10.0.0.1', port: 1 }],
    trackerPeers: () => [
      { address: '10.0.0.2', port: 2, seed: true },
      { address: '10.0.0.1', port: 1, seed: false },
    ],
  });
  lookup.heardByLpd(X, '10.0.0.3', 3, 'br-a');
  lookup.heardByLpd(X, '10.0.0.4', 4, 'br-b');
  lookup.heardByLpd('cd'.repeat(20), '10.0.0.5', 5, 'br-a');
  const got = await lookup.peersFor(X, { interface: 'br-b' });
  assert.equal(text(got), ['10.0.0.1:1', '10.0.0.2:2', '10.0.0.3:3']);
  assert.equal(got.map((p) => p.source), ['seeder', 'tracker', 'lpd']);
  assert.is(got[1]!.seed, true);
  assert.is(http.calls.length, 0, 'no remote lookup while local sources answer');
});

test('the mesh DHT: asked with the trackers when local sources give nothing, never while they answer; a failing DHT costs the trackers nothing', async () => {
  const asked: [string, number][] = [];
  let dht: (h: string) => Promise<{ address: string; port: number }[]> = async () => [
    { address: '10.61.3.20', port: 6881 },
    { address: '10.61.1.10', port: 6881 },
  ];
  const { http, lookup } = setup({
    dhtPeers: (h, ms) => {
      asked.push([h, ms]);
      return dht(h);
    },
  });
  const got = await lookup.peersFor(X);
  // the tracker's 10.61.1.10:6881 and the DHT's same peer count once
  assert.equal(text(got), ['10.61.1.10:6881', '10.61.3.20:6881']);
  assert.equal(got.map((p) => p.source), ['mesh-tracker', 'dht']);
  assert.equal(asked, [[X, LOOKUP_DHT_TIMEOUT_MS]]);
  assert.is(http.lookups.length, 1);

  dht = async () => {
    throw new Error('socket closed');
  };
  lookup.update({ trackers: [TRACKER] });
  assert.equal(text(await lookup.peersFor(X)), ['10.61.1.10:6881']);

  const local = setup({ seederPeers: () => [{ address: '10.0.0.1', port: 1 }], dhtPeers: async (h, ms) => (asked.push([h, ms]), []) });
  await local.lookup.peersFor(X);
  assert.is(asked.length, 2, 'no DHT lookup while a local source answers');
});

test('when local sources give only the asker, the mesh trackers are asked: left > 0, numwant 50, then stopped at once', async () => {
  const { http, lookup } = setup({ trackerPeers: () => [{ address: '10.61.2.20', port: 6881, seed: false }] });
  const got = await lookup.peersFor(X, { except: ['10.61.2.20'] });
  assert.equal(text(got), ['10.61.1.10:6881']);
  assert.is(got[0]!.source, 'mesh-tracker');
  assert.equal(
    http.calls.map((c) => [c.url, c.req.event, c.req.left > 0, c.req.numwant, c.req.port]),
    [
      [TRACKER, 'started', true, 50, 1],
      [TRACKER, 'stopped', true, 0, 1],
    ],
  );
  assert.equal(Buffer.from(http.calls[0]!.req.infoHash).toString('hex'), X);
  assert.is(http.calls[0]!.req.key, http.calls[1]!.req.key, 'the stop is the same peer');
});

test('remote answers are cached per torrent for 60 s (an empty one 15 s)', async () => {
  const { clock, http, lookup } = setup();
  await lookup.peersFor(X);
  await lookup.peersFor(X);
  clock.advance(LOOKUP_CACHE_MS - 1);
  await lookup.peersFor(X);
  assert.is(http.lookups.length, 1);
  clock.advance(1);
  await lookup.peersFor(X);
  assert.is(http.lookups.length, 2);
  http.reply = async () => ({ peers: [] });
  const other = 'ef'.repeat(20);
  await lookup.peersFor(other);
  clock.advance(LOOKUP_EMPTY_CACHE_MS - 1);
  await lookup.peersFor(other);
  assert.is(http.lookups.length, 3);
  clock.advance(1);
  await lookup.peersFor(other);
  assert.is(http.lookups.length, 4);
  assert.is(lookup.counters.cacheHits, 3);
});

test('lookups of one torrent in flight are shared', async () => {
  const { http, lookup } = setup();
  let release!: () => void;
  http.reply = () => new Promise((r) => (release = () => r({ peers: [{ address: '10.61.1.10', port: 6881 }] })));
  const a = lookup.peersFor(X);
  const b = lookup.peersFor(X);
  await Promise.resolve();
  release();
  assert.equal(text(await a), text(await b));
  assert.is(http.lookups.length, 1);
});

test('each tracker is rate-limited: a burst, then one per refill period', async () => {
  const { clock, http, lookup } = setup();
  http.reply = async () => ({ peers: [] });
  const hash = (i: number) => i.toString(16).padStart(40, '0');
  for (let i = 0; i < LOOKUP_BURST + 5; i++) await lookup.peersFor(hash(i));
  assert.is(http.lookups.length, LOOKUP_BURST);
  assert.is(lookup.counters.rateLimited, 5);
  clock.advance(LOOKUP_REFILL_MS);
  await lookup.peersFor(hash(100));
  await lookup.peersFor(hash(101));
  assert.is(http.lookups.length, LOOKUP_BURST + 1);
});

test('a failing tracker gives nothing and is counted; the others still answer; URLs of unknown schemes are skipped', async () => {
  const { http, lookup } = setup({}, ['http://10.9.9.9:6969/announce', TRACKER, 'wss://example.invalid/announce']);
  http.reply = async (url) => {
    if (url.hostname === '10.9.9.9') throw new TrackerError('no reply within 5 s');
    return { peers: [{ address: '10.61.1.10', port: 6881 }] };
  };
  assert.equal(text(await lookup.peersFor(X)), ['10.61.1.10:6881']);
  assert.is(lookup.counters.remoteFailures, 1);
  assert.is(lookup.counters.remoteAnswers, 1);
});

test('peers heard by LPD expire', async () => {
  const { clock, lookup } = setup({}, []);
  lookup.heardByLpd(X, '10.0.0.3', 3, 'br-a');
  assert.is((await lookup.peersFor(X)).length, 1);
  clock.advance(LPD_HEARD_TTL_MS + 1);
  assert.is((await lookup.peersFor(X)).length, 0);
});

test.run();
