// deadline: 20s
/** The DHT's pure parts: per-address query rate limit, announce schedule, state file codec. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { QueryRateLimit } from '../../src/dht/query-rate-limit';
import { ANNOUNCE_INTERVAL_MS, AnnounceSchedule, DOWNLOADING_INTERVAL_MS, RETRY_MS } from '../../src/dht/announce-schedule';
import { decodeDhtState, encodeDhtState } from '../../src/dht/dht-state';
import { parseHostPort, plainIPv4 } from '../../src/util/host-port';

test('rate limit: a burst of twice the rate, then the rate; each address apart', () => {
  const l = new QueryRateLimit(10);
  let allowed = 0;
  for (let i = 0; i < 100; i++) if (l.allow('10.0.0.1', 0)) allowed++;
  assert.is(allowed, 20);
  assert.ok(l.allow('10.0.0.2', 0), 'another address has its own bucket');
  assert.not.ok(l.allow('10.0.0.1', 50), 'half a token after 50 ms');
  assert.ok(l.allow('10.0.0.1', 150));
  // one second later: ten more
  allowed = 0;
  for (let i = 0; i < 100; i++) if (l.allow('10.0.0.1', 1150)) allowed++;
  assert.is(allowed, 10);
});

test('rate limit: 0 means no limit; the address table stays bounded', () => {
  assert.ok(Array.from({ length: 1000 }, () => new QueryRateLimit(0).allow('a', 0)).every(Boolean));
  const l = new QueryRateLimit(1, 100);
  for (let i = 0; i < 1000; i++) l.allow(`10.0.${i >> 8}.${i & 255}`, i);
  assert.is(l.size, 100);
});

test('schedule: a new torrent is due at once, then every 15 minutes; a round that reached no node is retried in a minute', () => {
  const s = new AnnounceSchedule();
  const t = [{ infoHashHex: 'a'.repeat(40), private: false }];
  assert.equal(s.due(t, 0), ['a'.repeat(40)]);
  s.started('a'.repeat(40), 0);
  assert.equal(s.due(t, 1000), [], 'not twice while running');
  s.ended('a'.repeat(40), 0, 1000);
  assert.is(s.announcedCount(), 0);
  assert.equal(s.due(t, 1000 + RETRY_MS - 1), []);
  assert.equal(s.due(t, 1000 + RETRY_MS), ['a'.repeat(40)]);
  // the table's first node: a failed round is retried at once
  s.retryNow(2000);
  assert.equal(s.due(t, 2000), ['a'.repeat(40)]);
  s.started('a'.repeat(40), 2 * RETRY_MS);
  s.ended('a'.repeat(40), 8, 2 * RETRY_MS);
  assert.is(s.announcedCount(), 1);
  assert.equal(s.due(t, 2 * RETRY_MS + ANNOUNCE_INTERVAL_MS - 1), []);
  assert.equal(s.due(t, 2 * RETRY_MS + ANNOUNCE_INTERVAL_MS), ['a'.repeat(40)]);
  // removed from the seeder: forgotten
  assert.equal(s.due([], 0), []);
  assert.is(s.announcedCount(), 0);
});

test('schedule: a torrent still downloading (mirror mode) is looked up again every 2 minutes, then every 15 once complete', () => {
  const s = new AnnounceSchedule();
  const h = 'd'.repeat(40);
  const t = [{ infoHashHex: h, private: false }];
  s.started(h, 0);
  s.ended(h, 5, 0, true);
  assert.equal(s.due(t, DOWNLOADING_INTERVAL_MS - 1), []);
  assert.equal(s.due(t, DOWNLOADING_INTERVAL_MS), [h]);
  s.started(h, DOWNLOADING_INTERVAL_MS);
  s.ended(h, 5, DOWNLOADING_INTERVAL_MS, false);
  assert.equal(s.due(t, 2 * DOWNLOADING_INTERVAL_MS), []);
  assert.equal(s.due(t, DOWNLOADING_INTERVAL_MS + ANNOUNCE_INTERVAL_MS), [h]);
  // reaching nobody is retried in a minute either way
  s.started(h, 0);
  s.ended(h, 0, 0, true);
  assert.equal(s.due(t, RETRY_MS), [h]);
});

test('schedule: BEP 27, a private torrent is never due', () => {
  const s = new AnnounceSchedule();
  const torrents = [
    { infoHashHex: 'b'.repeat(40), private: true },
    { infoHashHex: 'c'.repeat(40), private: false },
  ];
  for (let now = 0; now < 10 * ANNOUNCE_INTERVAL_MS; now += RETRY_MS) {
    const due = s.due(torrents, now);
    assert.not.ok(due.includes('b'.repeat(40)), `at ${now}`);
    for (const h of due) {
      s.started(h, now);
      s.ended(h, 3, now);
    }
  }
});

test('state file: round trip; bad files and bad entries are refused or skipped; at most maxNodes', () => {
  const state = { nodeId: 'ab'.repeat(20), nodes: [{ host: '10.0.0.1', port: 6881 }, { host: '10.0.0.2', port: 6882 }] };
  assert.equal(decodeDhtState(Buffer.from(encodeDhtState(state)).toString(), 10), state);
  assert.equal(decodeDhtState(Buffer.from(encodeDhtState(state)).toString(), 1).valueOf(), { nodeId: state.nodeId, nodes: [state.nodes[0]] });
  assert.ok('error' in decodeDhtState('{', 10));
  assert.ok('error' in decodeDhtState('{"version":2}', 10));
  assert.ok('error' in decodeDhtState('{"version":1,"nodeId":"xyz","nodes":[]}', 10));
  const mixed = JSON.stringify({ version: 1, nodeId: 'cd'.repeat(20), nodes: [{ host: 'example.org', port: 1 }, { host: '10.0.0.3', port: 0 }, null, { host: '10.0.0.4', port: 6881 }] });
  assert.equal(decodeDhtState(mixed, 10), { nodeId: 'cd'.repeat(20), nodes: [{ host: '10.0.0.4', port: 6881 }] });
});

test('bootstrap entries: host:port with an IPv4 address or a host name', () => {
  assert.equal(parseHostPort('10.0.0.1:6881'), { host: '10.0.0.1', port: 6881 });
  assert.equal(parseHostPort('node-b.mesh:6881'), { host: 'node-b.mesh', port: 6881 });
  for (const bad of ['10.0.0.1', '10.0.0.1:0', '10.0.0.1:65536', '[::1]:6881', '300.1.1.1:1', ':1', 'a b:1']) assert.is(parseHostPort(bad), undefined, bad);
  assert.is(plainIPv4('::ffff:10.1.2.3'), '10.1.2.3');
  assert.is(plainIPv4('fe80::1'), undefined);
});

test.run();
