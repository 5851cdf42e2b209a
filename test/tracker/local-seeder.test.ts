// deadline: 10s
/**
 * The node's own seeder counts as a seeder in its own tracker from its first `left=0`
 * announce, recognised by its peer id AND by coming from this host (the connection's source
 * is its own destination). A stranger using the same peer id (every peer learns it in the
 * handshake), or a loopback client with another id, still has to show it has data.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { TrackerService } from '../../src/tracker/tracker-service';
import { hashKey } from '../../src/tracker/swarm-store';
import { ManualClock } from '../../src/util/clock';
import { tempDir } from '../helpers';
import { memoryLogger, trackerSettings } from './fixtures';

const pct = (b: Uint8Array) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('');
const target = (h: Uint8Array, id: Uint8Array, port: number) =>
  Buffer.from(`/announce?info_hash=${pct(h)}&peer_id=${pct(id)}&port=${port}&uploaded=0&downloaded=0&left=0&compact=1`, 'latin1');
const v4 = (a: string) => Uint8Array.from(a.split('.').map(Number));

test('own seeder: counted at once from this host; its id from elsewhere, or another id on loopback, is not', () => {
  const dir = tempDir('meshseed-own-seed-');
  try {
    const t = new TrackerService({ log: memoryLogger(), clock: new ManualClock() }, trackerSettings(dir.path, { 'tracker.allowed_dir': '' }));
    const own = Buffer.concat([Buffer.from('-MS0100-'), randomBytes(12)]);
    t.core.localSeederPeerId = own;
    const counts = (h: Uint8Array) => {
      const c = t.core.store.countsByKey(hashKey(h));
      return [c.complete, c.incomplete];
    };
    const loop = v4('127.0.0.1');
    const mesh = v4('10.61.1.10');

    const h1 = randomBytes(20);
    t.core.http(0, target(h1, own, 6881), loop, () => loop);
    assert.equal(counts(h1), [1, 0], 'own seeder over loopback');

    const h2 = randomBytes(20);
    t.core.http(0, target(h2, own, 6881), mesh, () => mesh);
    assert.equal(counts(h2), [1, 0], 'own seeder on the address the tracker listens on');

    const h3 = randomBytes(20);
    t.core.http(0, target(h3, own, 6881), v4('10.61.1.20'), () => mesh);
    assert.equal(counts(h3), [0, 1], 'the same peer id from another host proves nothing');

    const h4 = randomBytes(20);
    t.core.http(0, target(h4, randomBytes(20), 6882), loop, () => loop);
    assert.equal(counts(h4), [0, 1], 'a loopback client with another id (aria2 before its metadata) is not vouched for');

    t.core.localSeederPeerId = undefined;
    const h5 = randomBytes(20);
    t.core.http(0, target(h5, own, 6881), loop, () => loop);
    assert.equal(counts(h5), [0, 1], 'no seeder on this node: no one is vouched for');
  } finally {
    dir.remove();
  }
});

test.run();
