// deadline: 150s
/**
 * aria2c downloads a multi-file torrent from meshseed as the only seed, found through
 * Debian's opentracker on loopback; the files are byte-for-byte identical.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { deadline, requirePrograms, run, tempDir } from '../helpers';
import { aria2Leech, announceSeed, makeData, makeTorrent, startDaemon, startOpentracker, treeDigest } from './seed-helpers';

test(
  'aria2c downloads a multi-file torrent from meshseed, byte for byte',
  deadline(140_000, async () => {
    if (!requirePrograms('aria2c', 'opentracker', 'mktorrent')) return;
    const tmp = tempDir('meshseed-seed-aria2-');
    const cleanups: (() => unknown)[] = [];
    try {
      const base = tmp.path;
      for (const d of ['torrents', 'data', 'state', 'dl']) mkdirSync(join(base, d));
      const src = makeData(join(base, 'data'), 'mesh-files');
      // the hash does not depend on the announce URL: make it once to whitelist it
      const probe = await makeTorrent(join(base, 'data'), 'mesh-files', join(base, 'probe.torrent'));
      const tracker = await startOpentracker(join(base, 'ot'), [probe.infoHash]);
      cleanups.push(() => tracker.stop());
      const t = await makeTorrent(join(base, 'data'), 'mesh-files', join(base, 'torrents', 'mesh-files.torrent'), tracker.announceUrl);
      assert.is(t.infoHash, probe.infoHash);
      const daemon = await startDaemon(base, ['--seeder-upload-rate', '0']);
      cleanups.push(() => daemon.stop());
      await announceSeed(tracker.announceUrl, t.infoHash, daemon.port);

      const r = await run(
        'aria2c',
        aria2Leech(join(base, 'dl'), t.file, 90),
        { timeoutMs: 100_000 },
      );
      assert.is(r.code, 0, `aria2c failed:\n${r.stdout}\n${r.stderr}\n${daemon.log()}`);
      assert.equal(treeDigest(join(base, 'dl', 'mesh-files')), treeDigest(src));
      // aria2 opens with MSE offering plaintext too: no failed first attempt
      assert.match(daemon.log(), /peer 127\.0\.0\.1:\d+ \(.*\) accepted over MSE, plaintext/);
      assert.not.match(daemon.log(), /closed: not a BitTorrent handshake/);
    } finally {
      for (const c of cleanups.reverse()) await c();
      tmp.remove();
    }
  }),
);

test.run();
