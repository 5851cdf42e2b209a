// deadline: 30s
/** Clock-driven tests of LPD announcing, receiving and bridging: no sockets, no sleeps. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../../src/util/clock';
import { defaultSettings, type Settings } from '../../src/config/settings';
import { LpdService } from '../../src/lpd/lpd-service';
import { ACCEPT_BURST, ACCEPT_RATE_PER_SEC, ANNOUNCE_INTERVAL_MS } from '../../src/lpd/lpd-interface';
import { selectEndpoints } from '../../src/lpd/endpoints';
import { lpdSummary } from '../../src/lpd/lpd-summary';
import { formatSearch, LPD_GROUP_V4, parseSearch } from '../../src/codec/lpd';
import { FakeNet, FakeRegistry, FakeSeeder, captureLog, flush, hashOf, torrent, v4, v6, type Sent } from './fakes';
import { deadline } from '../helpers';

const COOKIE_BYTES = new Uint8Array([0xc0, 0x0c, 0x1e, 0x5e]); // our cookie: c00c1e5e
const MIN = 60_000;

function setup(opts: { settings?: Partial<Settings>; nics?: Record<string, ReturnType<typeof v4>[]> } = {}) {
  const clock = new ManualClock();
  const net = new FakeNet(clock);
  const seeder = new FakeSeeder();
  const registry = new FakeRegistry();
  const { log, lines } = captureLog();
  const settings = { ...defaultSettings(), 'lpd.ipv6': false, ...opts.settings } as Settings;
  const nics = { nics: opts.nics ?? { 'br-lan': [v4('10.1.0.1')], eth0: [v4('192.0.2.10')] } };
  const service = new LpdService(
    { log, clock, seeder, registry, open: net.opener, networkInterfaces: () => nics.nics, randomBytes: () => COOKIE_BYTES },
    settings,
  );
  return { clock, net, seeder, registry, service, lines, nics, settings };
}

const hashSent = (s: Sent) => /Infohash: ([0-9a-f]{40})/.exec(s.text)![1]!;
const search = (h: string | string[], port = 7000, cookie?: string) =>
  new Uint8Array(
    Buffer.from(
      `BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: ${port}\r\n${[h].flat().map((x) => `Infohash: ${x}\r\n`).join('')}${cookie ? `cookie: ${cookie}\r\n` : ''}\r\n\r\n`,
      'latin1',
    ),
  );

test(
  'a torrent is first announced within 5 s of being added, then every 5 minutes',
  deadline(5000, async () => {
    const { clock, net, seeder, service } = setup();
    await service.start();
    clock.advance(10 * MIN); // nothing to announce yet
    assert.is(net.sent.length, 0);
    const t0 = clock.now();
    seeder.set([torrent(hashOf(1))]);
    clock.advance(5000);
    assert.is(net.sent.length, 1, 'announced within 5 s');
    assert.ok(net.sent[0]!.at - t0 <= 5000);
    assert.is(net.sent[0]!.endpoint, 'br-lan/4/10.1.0.1');
    clock.advance(31 * MIN);
    const times = net.sent.map((s) => s.at - net.sent[0]!.at);
    assert.equal(times, [0, 5, 10, 15, 20, 25, 30].map((m) => m * MIN), 'every 5 minutes');
    // exactly what the codec writes, with our cookie
    assert.is(net.sent[0]!.text, Buffer.from(formatSearch({ host: LPD_GROUP_V4, port: 6881, infoHashHex: hashOf(1), cookie: 'c00c1e5e' })).toString('latin1'));
    await service.close();
  }),
);

test(
  'never more than one datagram per second per interface; 300 torrents still each go every 5 minutes',
  deadline(5000, async () => {
    const { clock, net, seeder, service } = setup({ nics: { 'br-lan': [v4('10.1.0.1')], 'br-mesh': [v4('10.2.0.1')] } });
    await service.start();
    seeder.set(Array.from({ length: 300 }, (_, i) => torrent(hashOf(i + 1))));
    clock.advance(30 * MIN);
    for (const ep of ['br-lan/4/10.1.0.1', 'br-mesh/4/10.2.0.1']) {
      const mine = net.sent.filter((s) => s.endpoint === ep);
      for (let i = 1; i < mine.length; i++) assert.ok(mine[i]!.at - mine[i - 1]!.at >= 1000, `${ep}: gap at ${i}`);
      // every torrent announced 6 times in 30 minutes (at 1/s, 300 torrents fill the 5 minutes)
      const counts = new Map<string, number>();
      for (const s of mine) counts.set(hashSent(s), (counts.get(hashSent(s)) ?? 0) + 1);
      assert.is(counts.size, 300, ep);
      for (const [h, n] of counts) assert.ok(n >= 5 && n <= 6, `${ep} ${h}: ${n}`);
    }
    await service.close();
  }),
);

test(
  'a few torrents added together are all first announced within 5 s',
  deadline(5000, async () => {
    const { clock, net, seeder, service } = setup();
    await service.start();
    seeder.set([1, 2, 3, 4, 5].map((n) => torrent(hashOf(n))));
    clock.advance(5000);
    assert.equal(net.sent.map(hashSent).sort(), [1, 2, 3, 4, 5].map(hashOf));
    await service.close();
  }),
);

test(
  'private torrents are never announced; removed torrents no more',
  deadline(5000, async () => {
    const { clock, net, seeder, service } = setup();
    await service.start();
    seeder.set([torrent(hashOf(1), true), torrent(hashOf(2))]);
    clock.advance(12 * MIN);
    assert.ok(net.sent.length >= 3);
    assert.ok(net.sent.every((s) => hashSent(s) === hashOf(2)), 'only the public torrent');
    seeder.set([torrent(hashOf(1), true)]);
    const before = net.sent.length;
    clock.advance(30 * MIN);
    assert.is(net.sent.length, before, 'removed torrent not announced again');
    await service.close();
  }),
);

test(
  'nothing is announced until the seeder has a listen port',
  deadline(5000, async () => {
    const { clock, net, seeder, service } = setup();
    seeder.port = undefined;
    seeder.list = [torrent(hashOf(1))];
    await service.start();
    clock.advance(MIN);
    assert.is(net.sent.length, 0);
    seeder.port = 6882;
    clock.advance(2000);
    assert.is(net.sent.length, 1);
    assert.match(net.sent[0]!.text, /\r\nPort: 6882\r\n/);
    await service.close();
  }),
);

test(
  'our own cookie is dropped; a search from another peer reaches the tracker and the seeder',
  deadline(5000, async () => {
    const { net, seeder, registry, service } = setup();
    seeder.list = [torrent(hashOf(1))];
    registry.known.add(hashOf(1));
    await service.start();
    net.multicast(4, search(hashOf(1), 7000, 'c00c1e5e'), { address: '10.1.0.7', port: 6771 });
    assert.is(registry.registered.length, 0);
    assert.is(service.status().dropped['own-cookie'], 1);
    net.multicast(4, search(hashOf(1).toUpperCase(), 7000, 'theirs'), { address: '10.1.0.7', port: 6771 });
    assert.equal(registry.registered, [{ infoHashHex: hashOf(1), address: '10.1.0.7', port: 7000 }]);
    assert.equal(seeder.candidates, [{ infoHashHex: hashOf(1), address: '10.1.0.7', port: 7000, source: 'lpd' }]);
    const st = service.status();
    assert.is(st.received, 2);
    assert.is(st.accepted, 1);
    assert.is(st.peersRegisteredInTracker, 1);
    assert.is(st.peersOfferedToSeeder, 1);
    await service.close();
  }),
);

test(
  'the bridge: tracker-only torrents, several hashes, switches, refusals, private and link-local',
  deadline(5000, async () => {
    const { net, seeder, registry, service, settings } = setup({
      settings: { 'lpd.ipv6': true },
      nics: { 'br-lan': [v4('10.1.0.1'), v6('fe80::1'), v6('fd00:1::1')] },
    });
    seeder.list = [torrent(hashOf(2)), torrent(hashOf(3), true)];
    registry.known.add(hashOf(1)).add(hashOf(3));
    await service.start();
    // hash 1: tracker only; hash 2: seeder only; hash 3: private (no LPD peers); hash 4: unknown
    net.multicast(4, search([1, 2, 3, 4].map(hashOf)), { address: '10.1.0.9', port: 40000 });
    assert.equal(registry.registered, [{ infoHashHex: hashOf(1), address: '10.1.0.9', port: 7000 }]);
    assert.equal(seeder.candidates.map((c) => c.infoHashHex), [hashOf(2)]);
    assert.is(service.status().unknownTorrents, 1);
    // link-local IPv6: offered to the seeder with its scope, not registered in the tracker
    seeder.list = [torrent(hashOf(1))];
    seeder.set(seeder.list);
    net.multicast(6, search(hashOf(1)), { address: 'fe80::9%br-lan', port: 6771 });
    assert.is(registry.registered.length, 1);
    assert.is(service.status().linkLocalNotRegistered, 1);
    assert.equal(seeder.candidates.at(-1), { infoHashHex: hashOf(1), address: 'fe80::9%br-lan', port: 7000, source: 'lpd' });
    // a global IPv6 sender is registered
    net.multicast(6, search(hashOf(1)), { address: 'fd00:1::9', port: 6771 });
    assert.equal(registry.registered.at(-1), { infoHashHex: hashOf(1), address: 'fd00:1::9', port: 7000 });
    // refused by the tracker (caps): counted
    registry.refuse = true;
    net.multicast(4, search(hashOf(1)), { address: '10.1.0.10', port: 6771 });
    assert.is(service.status().peersRefusedByTracker, 1);
    registry.refuse = false;
    // both switches off
    await service.reload({ ...settings, 'lpd.ipv6': true, 'lpd.bridge_to_tracker': false, 'lpd.bridge_to_seeder': false });
    const [r, c] = [registry.registered.length, seeder.candidates.length];
    net.multicast(4, search(hashOf(1)), { address: '10.1.0.11', port: 6771 });
    assert.is(registry.registered.length, r);
    assert.is(seeder.candidates.length, c);
    await service.close();
  }),
);

test(
  'mesh discovery hears every public torrent announced, with the sender, its port and the interface; never a private one',
  deadline(5000, async () => {
    const clock = new ManualClock();
    const net = new FakeNet(clock);
    const seeder = new FakeSeeder();
    seeder.list = [torrent(hashOf(3), true)];
    const heard: string[] = [];
    const service = new LpdService(
      {
        log: captureLog().log,
        clock,
        seeder,
        open: net.opener,
        networkInterfaces: () => ({ 'br-lan': [v4('10.1.0.1')] }),
        randomBytes: () => COOKIE_BYTES,
        onHeard: (h, address, port, ifname) => heard.push(`${h.slice(-1)} ${address} ${port} ${ifname}`),
      },
      { ...defaultSettings(), 'lpd.ipv6': false },
    );
    await service.start();
    net.multicast(4, search([1, 3, 4].map(hashOf)), { address: '10.1.0.9', port: 40000 });
    net.multicast(4, search(hashOf(5), 7000, 'c00c1e5e'), { address: '10.1.0.1', port: 6771 }); // our own
    assert.equal(heard, ['1 10.1.0.9 7000 br-lan', '4 10.1.0.9 7000 br-lan']);
    await service.close();
  }),
);

test(
  `accepts at most ${ACCEPT_BURST} at once and ${ACCEPT_RATE_PER_SEC} per second after, counting the rest`,
  deadline(5000, async () => {
    const { clock, net, registry, service } = setup();
    registry.known.add(hashOf(1));
    await service.start();
    const from = { address: '10.1.0.7', port: 6771 };
    for (let i = 0; i < 200; i++) net.multicast(4, search(hashOf(1), 1000 + i), from);
    assert.is(registry.registered.length, ACCEPT_BURST);
    assert.is(service.status().dropped['rate-limited'], 200 - ACCEPT_BURST);
    for (let s = 0; s < 10; s++) {
      clock.advance(1000);
      for (let i = 0; i < 100; i++) net.multicast(4, search(hashOf(1)), from);
    }
    assert.is(registry.registered.length, ACCEPT_BURST + 10 * ACCEPT_RATE_PER_SEC);
    const st = service.status();
    assert.is(st.received, 1200);
    assert.is(st.accepted + (st.dropped['rate-limited'] ?? 0), 1200);
    await service.close();
  }),
);

test(
  'malformed datagrams are dropped and counted by reason, never thrown',
  deadline(5000, async () => {
    const { net, service } = setup();
    await service.start();
    const from = { address: '10.1.0.7', port: 6771 };
    net.multicast(4, new Uint8Array(Buffer.from('M-SEARCH * HTTP/1.1\r\n\r\n')), from);
    net.multicast(4, new Uint8Array(2000), from);
    net.multicast(4, new Uint8Array(Buffer.from('BT-SEARCH * HTTP/1.1\r\nInfohash: 00\r\n\r\n')), from);
    assert.equal(service.status().dropped, { 'not-bt-search': 1, 'too-large': 1, 'no-port': 1 });
    await service.close();
  }),
);

test(
  'with two interfaces each datagram is handled once, by the interface whose subnet holds the sender',
  deadline(5000, async () => {
    const { net, registry, service } = setup({ nics: { 'br-lan': [v4('10.1.0.1')], 'br-mesh': [v4('10.2.0.1', 16)] } });
    registry.known.add(hashOf(1));
    await service.start();
    net.multicast(4, search(hashOf(1)), { address: '10.2.33.4', port: 6771 });
    net.multicast(4, search(hashOf(1)), { address: '10.1.0.5', port: 6771 });
    net.multicast(4, search(hashOf(1)), { address: '172.16.0.5', port: 6771 }); // on no subnet of ours
    assert.is(registry.registered.length, 3, 'one registration per datagram');
    const st = service.status();
    const by = Object.fromEntries(st.interfaces.map((i) => [i.ifname, i.received]));
    assert.equal(by, { 'br-lan': 2, 'br-mesh': 1 });
    await service.close();
  }),
);

test(
  'an IPv6 prefix renumbered keeps the socket and attributes senders to the new prefix',
  deadline(5000, async () => {
    const { net, registry, service, nics } = setup({
      settings: { 'lpd.ipv6': true },
      nics: { 'br-lan': [v6('fd00:1::1')], 'br-mesh': [v6('fd00:2::1')] },
    });
    registry.known.add(hashOf(1));
    await service.start();
    const opened = [...net.open.values()].map((o) => o.endpoint);
    nics.nics = { 'br-lan': [v6('fd00:1::1')], 'br-mesh': [v6('fd00:3::1')] };
    await service.reload(service['settings']);
    assert.equal([...net.open.values()].map((o) => o.endpoint), opened, 'same sockets');
    net.multicast(6, search(hashOf(1)), { address: 'fd00:3::9', port: 6771 });
    const by = Object.fromEntries(service.status().interfaces.map((i) => [i.ifname, i.received]));
    assert.equal(by, { 'br-lan': 0, 'br-mesh': 1 });
    await service.close();
  }),
);

test(
  'default interfaces: only LAN/mesh bridges with addresses; none means idle, said once; never eth0',
  deadline(5000, async () => {
    const { clock, net, seeder, service, lines, nics } = setup({ nics: { eth0: [v4('192.0.2.10')], lo: [v4('127.0.0.1', 8)] } });
    seeder.list = [torrent(hashOf(1))];
    await service.start();
    clock.advance(5 * MIN); // ten interface checks
    assert.is(net.open.size, 0);
    assert.is(net.sent.length, 0);
    assert.is(lines.filter((l) => l.includes('LPD is idle')).length, 1, lines.join('\n'));
    // br-lan comes up: found by the periodic check, announced within the check period + 5 s
    nics.nics = { ...nics.nics, 'br-lan': [v4('10.1.0.1')] };
    clock.advance(30_000);
    await flush();
    clock.advance(5000);
    assert.equal([...net.open.keys()], ['br-lan/4/10.1.0.1']);
    assert.is(net.sent.length, 1);
    await service.close();
  }),
);

test(
  'interfaces that vanish, fail or change address are closed without a crash and reopened when back',
  deadline(5000, async () => {
    const { clock, net, seeder, service, nics, lines } = setup({ nics: { 'br-lan': [v4('10.1.0.1')] } });
    seeder.list = [torrent(hashOf(1))];
    await service.start();
    clock.advance(2000);
    assert.is(net.sent.length, 1);
    // the bridge is deleted: the next check closes it
    nics.nics = {};
    clock.advance(30_000);
    await flush();
    assert.is(net.open.size, 0);
    clock.advance(10 * MIN);
    assert.is(net.sent.length, 1);
    // back with another address: a new endpoint, announced again soon
    nics.nics = { 'br-lan': [v4('10.1.0.2')] };
    await service.reload(service['settings']); // SIGHUP from procd's interface trigger
    assert.equal([...net.open.keys()], ['br-lan/4/10.1.0.2']);
    clock.advance(2000);
    assert.is(net.sent.length, 2);
    // send fails with ENODEV (gone between checks): closed, reopened by a later check
    net.failSend.set('br-lan/4/10.1.0.2', 'ENODEV');
    clock.advance(5 * MIN);
    await flush();
    assert.is(net.open.size, 0);
    assert.is(service.status().sendErrors, 1);
    assert.ok(lines.some((l) => /socket failed: send ENODEV/.test(l)), lines.join('\n'));
    net.failSend.clear();
    clock.advance(30_000);
    await flush();
    assert.is(net.open.size, 1);
    // a socket error event (the kernel says the device went away)
    net.open.get('br-lan/4/10.1.0.2')!.fail(Object.assign(new Error('EADDRNOTAVAIL'), { code: 'EADDRNOTAVAIL' }));
    assert.is(net.open.size, 0);
    // open fails (bind refused): logged once, retried on every check
    net.failOpen.set('br-lan/4/10.1.0.2', 'EADDRINUSE');
    clock.advance(3 * 30_000);
    await flush();
    assert.is(lines.filter((l) => l.includes('cannot open LPD socket')).length, 1);
    net.failOpen.clear();
    clock.advance(30_000);
    await flush();
    assert.is(net.open.size, 1);
    clock.advance(2000);
    await flush();
    // counters survive endpoints coming and going
    assert.is(service.status().sent, 3, JSON.stringify([net.sent, service.status()]));
    assert.is(service.status().sendErrors, 1);
    await service.close();
    assert.is(net.open.size, 0);
  }),
);

test(
  'lpd.enabled 0 opens nothing; a reload switches it on and off',
  deadline(5000, async () => {
    const { net, service, settings } = setup({ settings: { 'lpd.enabled': false } });
    await service.start();
    assert.is(net.open.size, 0);
    await service.reload({ ...settings, 'lpd.enabled': true });
    assert.is(net.open.size, 1);
    await service.reload({ ...settings, 'lpd.enabled': false });
    assert.is(net.open.size, 0);
  }),
);

test(
  'no LAN bridge: LPD says idle and why (status, summary, part state), not "on 0 interfaces"; off when disabled',
  deadline(5000, async () => {
    const { service, nics } = setup({ nics: { eth0: [v4('192.0.2.10')] } });
    await service.start();
    const why = 'no LAN/mesh bridge interface (br-lan, br-mesh) has an address';
    assert.equal(service.idle(), { state: 'idle', reason: why });
    assert.is(service.status().idle, why);
    assert.is(lpdSummary(service.status()), `LPD: idle (${why})`);
    nics.nics = { 'br-lan': [v4('10.1.0.1')] };
    await service.refresh();
    assert.is(service.idle(), undefined);
    assert.is(service.status().idle, undefined);
    assert.match(lpdSummary(service.status())!, /^LPD on 1 interface\(s\)/);
    await service.close();
    const off = setup({ settings: { 'lpd.enabled': false } });
    await off.service.start();
    assert.equal(off.service.idle(), { state: 'off', reason: 'lpd.enabled is 0' });
    assert.is(lpdSummary(off.service.status()), 'LPD: off');
  }),
);

test('selectEndpoints: configured list, IPv6 by scope, absent names', () => {
  const listing = { 'br-lan': [v4('10.1.0.1'), v6('fe80::1')], wlan0: [v6('fe80::2')], eth0: [v4('192.0.2.1')] };
  const d = selectEndpoints([], listing, true);
  assert.equal(d.endpoints.map((e) => [e.key, e.multicastInterface]), [
    ['br-lan/4/10.1.0.1', '10.1.0.1'],
    ['br-lan/6', '::%br-lan'],
  ]);
  assert.equal(d.absent, ['br-mesh']);
  const c = selectEndpoints(['wlan0', 'nope'], listing, true);
  assert.equal(c.endpoints.map((e) => e.key), ['wlan0/6']);
  assert.equal(c.absent, ['nope']);
  assert.equal(selectEndpoints(['wlan0'], listing, false).endpoints, []);
});

test('every datagram we send parses back to what we meant', async () => {
  const { clock, net, seeder, service } = setup();
  await service.start();
  seeder.set([torrent(hashOf(42))]);
  clock.advance(2000);
  const r = parseSearch(new Uint8Array(Buffer.from(net.sent[0]!.text, 'latin1')));
  assert.ok(r.ok && r.search.port === 6881 && r.search.infoHashes[0] === hashOf(42) && r.search.cookie === 'c00c1e5e');
  assert.is(ANNOUNCE_INTERVAL_MS, 5 * MIN);
  await service.close();
});

test.run();
