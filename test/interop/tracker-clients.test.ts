// deadline: 180s
/**
 * Real clients against our tracker on loopback: libtorrent over HTTP and UDP (BEP 15), aria2
 * over HTTP, a download completes between them with the tracker as the only source of peers
 * (DHT, LPD, PEX off), and libtorrent's scrapes (HTTP and UDP) match the tracker's counts.
 * aria2 over UDP needs its DHT on, so it is tested in a namespace (tracker-transmission.test.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deadline, requirePrograms, tempDir, waitFor } from '../helpers';
import { TrackerService } from '../../src/tracker/tracker-service';
import { systemClock } from '../../src/util/clock';
import { memoryLogger, trackerSettings } from '../tracker/fixtures';
import { aria2Args, LT_SCRIPT, ltEvents, makePayload, PY, randomPort, start, type Proc } from './tracker-interop';

const HAVE = requirePrograms('aria2c', 'mktorrent', PY);
/** Every process started, killed after the last test even when a deadline cut a test short. */
const ALL: Proc[] = [];
test.after(async () => {
  await Promise.all(ALL.map((p) => p.kill()));
});

async function withSetup(fn: (ctx: { tracker: TrackerService; dir: string; procs: Proc[] }) => Promise<void>) {
  const dir = tempDir('meshseed-interop-');
  const log = memoryLogger();
  // an hour's interval: no client re-announces during a test, so the counts asserted are those
  // of the announces the test causes, however slow the machine
  const tracker = new TrackerService({ log, clock: systemClock }, trackerSettings(dir.path, { 'tracker.address': ['127.0.0.1'], 'tracker.interval': 3600 }));
  const procs: Proc[] = [];
  const push = procs.push.bind(procs);
  procs.push = (...ps: Proc[]) => (ALL.push(...ps), push(...ps));
  try {
    await tracker.start();
    await fn({ tracker, dir: dir.path, procs });
  } catch (err) {
    for (const p of procs) console.error(`--- ${p.child.spawnargs.slice(0, 2).join(' ')}\n${p.output()}`);
    console.error(log.lines.join('\n'));
    throw err;
  } finally {
    await Promise.all(procs.map((p) => p.kill()));
    await tracker.close();
    dir.remove();
  }
}

/** Asks libtorrent (a paused torrent: it never announces) to scrape; returns its reply. */
async function ltScrape(torrent: string, dir: string, procs: Proc[]) {
  const p = start(PY, [LT_SCRIPT, '--torrent', torrent, '--save', join(dir, 'scrape'), '--listen', `127.0.0.1:${randomPort()}`, '--mode', 'scrape', '--timeout', '20']);
  procs.push(p);
  assert.is(await p.exited, 0, p.output());
  const r = ltEvents(p).find((e) => e.event === 'scrape_reply')!;
  return { complete: r.complete as number, incomplete: r.incomplete as number };
}

if (HAVE) {
  test(
    'libtorrent seeds over UDP, aria2 downloads over HTTP (private torrent); libtorrent scrapes match over HTTP and UDP',
    deadline(60000, () =>
      withSetup(async ({ tracker, dir, procs }) => {
        const port = tracker.port;
        const p = await makePayload(dir, 'payload.bin', 3 << 20, {
          http: `http://127.0.0.1:${port}/announce`,
          udp: `udp://127.0.0.1:${port}/announce`,
        }, { private: true });
        const key = p.infoHash.toString('latin1');
        const seeder = start(PY, [LT_SCRIPT, '--torrent', p.torrents.udp!, '--save', p.seedDir, '--listen', `127.0.0.1:${randomPort()}`, '--mode', 'seed', '--timeout', '55']);
        procs.push(seeder);
        // left=0 with nothing uploaded yet: in the swarm, not yet counted as complete
        await waitFor('libtorrent announced as a seed over UDP', 20000, () => tracker.core.store.countsByKey(key).incomplete === 1);
        assert.ok(tracker.core.counters.udpAnnounces >= 1 && tracker.core.counters.udpConnects >= 1);

        const leechDir = join(dir, 'aria2');
        const leecher = start('aria2c', aria2Args({ dir: leechDir, port: randomPort(), torrent: p.torrents.http!, seed: false, address: '127.0.0.1' }));
        procs.push(leecher);
        assert.is(await leecher.exited, 0, leecher.output());
        assert.equal(readFileSync(join(leechDir, 'payload.bin')), readFileSync(p.file), 'aria2 got the same bytes');
        assert.ok(tracker.core.counters.httpAnnounces >= 2, 'aria2 announced over HTTP (started, completed)');
        assert.is(tracker.core.store.countsByKey(key).downloaded, 1, 'aria2 reported completed');
        await waitFor('aria2 left the swarm (stopped)', 10000, () => tracker.core.store.peers === 1);

        const want = tracker.core.store.countsByKey(key);
        for (const t of [p.torrents.http!, p.torrents.udp!]) assert.equal(await ltScrape(t, dir, procs), { complete: want.complete, incomplete: want.incomplete });
        assert.ok(tracker.core.counters.httpScrapes >= 1 && tracker.core.counters.udpScrapes >= 1);
      }),
    ),
  );

  test(
    'aria2 completes a magnet link from a libtorrent seed: the tracker hands a left=0 announce its seeders',
    deadline(40000, () =>
      withSetup(async ({ tracker, dir, procs }) => {
        const port = tracker.port;
        const announce = `http://127.0.0.1:${port}/announce`;
        const p = await makePayload(dir, 'magnet.bin', 1 << 20, { http: announce });
        const key = p.infoHash.toString('latin1');
        const seeder = start(PY, [LT_SCRIPT, '--torrent', p.torrents.http!, '--save', p.seedDir, '--listen', `127.0.0.1:${randomPort()}`, '--mode', 'seed', '--timeout', '55']);
        procs.push(seeder);
        await waitFor('libtorrent in the swarm', 20000, () => tracker.core.store.countsByKey(key).incomplete === 1);
        // aria2 announces left=0 until it has the metadata (BEP 9 from the seed it is given)
        const magnet = `magnet:?xt=urn:btih:${p.infoHash.toString('hex')}&dn=magnet.bin&tr=${encodeURIComponent(announce)}`;
        const leechDir = join(dir, 'aria2-magnet');
        const leecher = start('aria2c', aria2Args({ dir: leechDir, port: randomPort(), torrent: magnet, seed: false, address: '127.0.0.1' }));
        procs.push(leecher);
        assert.is(await leecher.exited, 0, leecher.output());
        assert.equal(readFileSync(join(leechDir, 'magnet.bin')), readFileSync(p.file), 'aria2 got the bytes through the magnet');
        assert.is(tracker.core.store.countsByKey(key).downloaded, 1, 'aria2 reported completed');
      }),
    ),
  );

  test(
    'aria2 seeds over HTTP, libtorrent downloads over UDP',
    deadline(60000, () =>
      withSetup(async ({ tracker, dir, procs }) => {
        const port = tracker.port;
        const p = await makePayload(dir, 'data.bin', 2 << 20, {
          http: `http://127.0.0.1:${port}/announce`,
          udp: `udp://127.0.0.1:${port}/announce`,
        });
        const key = p.infoHash.toString('latin1');
        const seeder = start('aria2c', aria2Args({ dir: p.seedDir, port: randomPort(), torrent: p.torrents.http!, seed: true, address: '127.0.0.1' }));
        procs.push(seeder);
        await waitFor('aria2 announced as a seed over HTTP', 20000, () => tracker.core.store.countsByKey(key).incomplete === 1);

        const leechDir = join(dir, 'lt');
        const leecher = start(PY, [LT_SCRIPT, '--torrent', p.torrents.udp!, '--save', leechDir, '--listen', `127.0.0.1:${randomPort()}`, '--mode', 'leech', '--timeout', '45']);
        procs.push(leecher);
        assert.is(await leecher.exited, 0, leecher.output());
        const events = ltEvents(leecher);
        assert.ok(events.some((e) => e.event === 'tracker_reply' && (e.peers as number) >= 1), 'the tracker gave libtorrent the seeder');
        assert.ok(!events.some((e) => e.event === 'tracker_error'), JSON.stringify(events));
        assert.equal(readFileSync(join(leechDir, 'data.bin')), readFileSync(p.file));
        assert.ok(tracker.core.counters.udpAnnounces >= 2);
        assert.is(tracker.core.store.countsByKey(key).downloaded, 1, 'libtorrent reported completed');
      }),
    ),
  );
}

test.run();
