// deadline: 90s
/**
 * A real libtorrent (python3-libtorrent) takes an introduction: a client with no tracker,
 * no DHT and no LPD, listening on 127.0.0.2, is introduced by the Introducer to a meshseed
 * seeder on 127.0.0.1, connects to it and completes the download. The only way it can learn
 * the seeder is the one ut_pex message. (Loopback addresses differ so that the rule "never
 * give H itself" does not remove the seeder.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../../src/util/clock';
import { createLogger } from '../../src/util/log';
import { defaultSettings } from '../../src/config/settings';
import { Introducer } from '../../src/lpd/introducer';
import { ROOT, deadline, randomPort, requirePrograms, tempDir, waitFor } from '../helpers';
import { makeData, makeTorrent, startDaemon, treeDigest } from './seed-helpers';

const PY = '/usr/bin/python3';
const LT_CLIENT = join(ROOT, 'test', 'mesh', 'lt-client.py');

test(
  'libtorrent connects to the peer it is introduced to, and downloads from it',
  deadline(80_000, async () => {
    if (!requirePrograms(PY, 'mktorrent')) return;
    const tmp = tempDir('meshseed-introduce-lt-');
    for (const d of ['torrents', 'data', 'state', 'dl']) mkdirSync(join(tmp.path, d));
    const src = makeData(join(tmp.path, 'data'), 'intro', [2_000_003, 17]);
    const t = await makeTorrent(join(tmp.path, 'data'), 'intro', join(tmp.path, 'torrents', 'intro.torrent'));
    const daemon = await startDaemon(tmp.path, ['--seeder-upload-rate', '0']);
    const port = randomPort();
    const client = spawn(PY, [LT_CLIENT, '--torrent', t.file, '--save', join(tmp.path, 'dl'), '--listen', `127.0.0.2:${port}`, '--no-trackers', '--timeout', '60']);
    let out = '';
    client.stdout.on('data', (d) => (out += d));
    client.stderr.on('data', (d) => (out += d));
    const events = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string; t: number; ip?: string; port?: number });
    const introducer = new Introducer(
      {
        clock: systemClock,
        log: createLogger('error'),
        lookup: { peersFor: async () => [{ address: '127.0.0.1', port: daemon.port, seed: true, source: 'tracker' }] },
        isOwnAddress: () => false,
        isPrivate: () => false,
        isAllowed: () => true,
        isSeeding: () => false,
      },
      defaultSettings(),
    );
    await introducer.start();
    try {
      await waitFor('libtorrent started', 20_000, () => events().some((e) => e.event === 'started'));
      // libtorrent's socket is open once the session exists; an early attempt is refused and counted, so repeat until sent
      const t0 = events().find((e) => e.event === 'started')!.t;
      await waitFor('the introduction sent', 20_000, () => {
        if (introducer.status().sent === 1) return true;
        if (introducer.status().active === 0) introducer.heard(t.infoHash, '127.0.0.2', port, 'lo');
        return false;
      }, 200);
      const seed = await waitFor('libtorrent connected to the introduced seeder', 20_000, () =>
        events().find((e) => e.event === 'peer' && e.ip === '127.0.0.1' && e.port === daemon.port),
      );
      await waitFor('libtorrent finished', 40_000, () => events().some((e) => e.event === 'finished') || client.exitCode !== null);
      assert.ok(events().some((e) => e.event === 'finished'), `libtorrent did not finish:\n${out}\n${daemon.log().slice(-3000)}`);
      assert.equal(treeDigest(join(tmp.path, 'dl', 'intro')), treeDigest(src));
      assert.not.ok(events().some((e) => e.event === 'tracker_reply'), 'no tracker was used');
      console.log(`libtorrent: introduced, connected to the seeder ${(seed!.t - t0).toFixed(3)} s after its start`);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- libtorrent:\n${out}\n--- introducer: ${JSON.stringify(introducer.status())}`);
    } finally {
      await introducer.close();
      client.kill('SIGKILL');
      await daemon.stop();
      tmp.remove();
    }
  }),
);

test.run();
