// deadline: 10s
/**
 * Mesh discovery's wiring with test doubles for the tracker and the seeder: which facts the
 * introducer is given (private, allowed, seeding), LPD-heard peers as a lookup source, new
 * leechers announced to the tracker handed to the seeder at once. No sockets.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../../src/util/clock';
import { defaultSettings, type Settings } from '../../src/config/settings';
import { MeshDiscovery } from '../../src/lpd/mesh-discovery';
import type { AnnouncedPeer, TrackerSwarms } from '../../src/parts';
import { FakeRegistry, FakeSeeder, captureLog, hashOf, torrent } from './fakes';
import { deadline, waitFor } from '../helpers';

class FakeTracker extends FakeRegistry implements TrackerSwarms {
  swarm: { address: string; port: number; seed: boolean }[] = [];
  privates = new Set<string>();
  isPrivate(h: string) {
    return this.privates.has(h);
  }
  listeners: ((p: AnnouncedPeer) => void)[] = [];
  peersOf() {
    return this.swarm;
  }
  onPeerAnnounced(l: (p: AnnouncedPeer) => void) {
    this.listeners.push(l);
  }
  announce(p: AnnouncedPeer) {
    for (const l of this.listeners) l(p);
  }
}

const PRIVATE = hashOf(1);
const SEEDED = hashOf(2);
const OTHER = hashOf(3);

function setup(settings: Partial<Settings> = {}) {
  const clock = new ManualClock();
  const seeder = new FakeSeeder();
  seeder.list = [torrent(PRIVATE, true), torrent(SEEDED)];
  const tracker = new FakeTracker();
  const { log } = captureLog();
  const d = new MeshDiscovery({ log, clock, tracker, seeder }, { ...defaultSettings(), ...settings });
  return { d, seeder, tracker };
}

test(
  'a private torrent is never introduced; a torrent the seeder has is left to the seeder; allow-list mode asks the tracker',
  deadline(5000, async () => {
    const { d } = setup();
    await d.start();
    d.heard(PRIVATE, '10.61.2.20', 6881, 'eth0');
    d.heard(SEEDED, '10.61.2.20', 6881, 'eth0');
    assert.equal(d.status().refused, { private: 1, seeding: 1 });
    await d.close();

    const allow = setup({ 'tracker.mode': 'allowlist' });
    await allow.d.start();
    // private as the tracker's allowed_dir says, though allowed
    allow.tracker.known.add(hashOf(7));
    allow.tracker.privates.add(hashOf(7));
    allow.d.heard(hashOf(7), '10.61.2.20', 6881, 'eth0');
    assert.equal(allow.d.status().refused, { private: 1 });
    allow.d.heard(OTHER, '10.61.2.20', 6881, 'eth0');
    assert.equal(allow.d.status().refused, { private: 1, 'not allowed': 1 });
    allow.tracker.known.add(OTHER);
    allow.d.heard(OTHER, '10.61.2.20', 6881, 'eth0');
    await waitFor('the lookup found nobody', 2000, () => allow.d.status().refused['no peers'] === 1);
    await allow.d.close();

  }),
);

test(
  'peers heard by LPD are a lookup source for clients on other interfaces; the tracker swarm comes first',
  deadline(5000, async () => {
    const { d, tracker } = setup();
    d.heard(OTHER, '10.61.1.20', 6881, 'br-a');
    assert.equal((await d.lookup.peersFor(OTHER, { interface: 'br-b' })).map((p) => p.address), ['10.61.1.20']);
    assert.equal(await d.lookup.peersFor(OTHER, { interface: 'br-a' }), [], 'not to its own segment');
    tracker.swarm = [{ address: '10.61.1.10', port: 6881, seed: true }];
    assert.equal((await d.lookup.peersFor(OTHER, { interface: 'br-b' })).map((p) => [p.address, p.source]), [
      ['10.61.1.10', 'tracker'],
      ['10.61.1.20', 'lpd'],
    ]);
  }),
);

test('a new leecher announced to the tracker is handed to the seeder at once; seeders and port-1 lookups are not', () => {
  const { seeder, tracker } = setup();
  tracker.announce({ infoHashHex: SEEDED, address: '10.61.2.30', port: 51413, seeder: false });
  tracker.announce({ infoHashHex: SEEDED, address: '10.61.2.31', port: 6881, seeder: true });
  tracker.announce({ infoHashHex: SEEDED, address: '10.61.2.10', port: 1, seeder: false });
  assert.equal(seeder.candidates, [{ infoHashHex: SEEDED, address: '10.61.2.30', port: 51413, source: 'announced' }]);
});

test.run();
