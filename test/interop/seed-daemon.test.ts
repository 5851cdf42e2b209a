// deadline: 120s
/**
 * The whole daemon: its tracker, its seeder and the announcer together. The torrent's own
 * (internet) tracker is a closed loopback port; the seeder announces itself to the daemon's
 * own tracker, and aria2c, given that tracker, finds the seeder there and downloads the
 * files byte for byte. `meshseed status --json` then shows the torrent seeding and the
 * bytes it uploaded.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { deadline, meshseed, requirePrograms, run, tempDir, waitFor } from '../helpers';
import { aria2Leech, makeData, makeTorrent, randomPort, startDaemon, treeDigest } from './seed-helpers';

/** A port that refuses connections: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test(
  'aria2c finds meshseed through the daemon\'s own tracker when the internet tracker is down, and status shows it',
  deadline(110_000, async () => {
    if (!requirePrograms('aria2c', 'mktorrent')) return;
    const tmp = tempDir('meshseed-seed-daemon-');
    try {
      const base = tmp.path;
      for (const d of ['torrents', 'data', 'state', 'dl']) mkdirSync(join(base, d));
      const src = makeData(join(base, 'data'), 'mesh-set');
      const dead = await closedPort();
      const t = await makeTorrent(join(base, 'data'), 'mesh-set', join(base, 'torrents', 'mesh-set.torrent'), `http://127.0.0.1:${dead}/announce`);
      const trackerPort = randomPort();
      const daemon = await startDaemon(base, ['--seeder-upload-rate', '0'], { trackerPort });
      try {
        // the client knows only the in-mesh tracker (the same torrent: same info hash)
        const forClient = await makeTorrent(join(base, 'data'), 'mesh-set', join(base, 'client.torrent'), `http://127.0.0.1:${trackerPort}/announce`);
        assert.is(forClient.infoHash, t.infoHash);
        const r = await run(
          'aria2c',
          aria2Leech(join(base, 'dl'), forClient.file, 60),
          { timeoutMs: 80_000 },
        );
        assert.is(r.code, 0, `aria2c failed:\n${r.stdout}\n${r.stderr}\n${daemon.log()}`);
        assert.equal(treeDigest(join(base, 'dl', 'mesh-set')), treeDigest(src));
        const status = await waitFor('status to show the upload', 10_000, async () => {
          const s = await meshseed(['status', '--json', '--state-dir', join(base, 'state')]);
          if (s.code !== 0) return undefined;
          const v = JSON.parse(s.stdout) as { torrents: { infoHash: string; state: string; uploaded: number }[] };
          const row = v.torrents.find((x) => x.infoHash === t.infoHash);
          return row && row.uploaded > 0 ? row : undefined;
        }, 200);
        assert.is(status!.state, 'seeding');
        assert.ok(status!.uploaded >= 3_000_017, `uploaded ${status!.uploaded}`);
      } finally {
        await daemon.stop();
      }
    } finally {
      tmp.remove();
    }
  }),
);

test.run();
