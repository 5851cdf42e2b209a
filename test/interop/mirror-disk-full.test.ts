// deadline: 120s
/**
 * Disk full in mirror mode: data_dir is a small tmpfs, mounted in a mount namespace the test
 * creates for the daemon (gone with it). With too little room for the torrent plus
 * seeder.min_free_mb the daemon says `waiting: disk full` and keeps running; once the tmpfs
 * is made bigger the download resumes by itself and completes byte for byte.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE, ROOT, deadline, meshseed, randomPort, requirePrograms, tempDir, waitFor } from '../helpers';
import { makeData, makeTorrent, treeDigest } from './seed-helpers';

const PY = '/usr/bin/python3';

test(
  'a full disk: waiting: disk full, no crash, the download resumes when space appears',
  deadline(100_000, async () => {
    if (!requirePrograms(PY, 'mktorrent', 'unshare', 'nsenter')) return;
    if (process.getuid?.() !== 0) return void console.log('  skipped: needs root for a mount namespace');
    const tmp = tempDir('meshseed-mirror-full-');
    const base = tmp.path;
    for (const d of ['torrents', 'data', 'state', 'src']) mkdirSync(join(base, d));
    const src = makeData(join(base, 'src'), 'full', [6_000_017, 100_000, 3]);
    const t = await makeTorrent(join(base, 'src'), 'full', join(base, 'torrents', 'full.torrent'));
    const port = randomPort();
    const data = join(base, 'data');
    // 4 MiB of tmpfs: less than the torrent (6 MiB) plus min_free_mb (2 MiB)
    const daemon = spawn('unshare', [
      '-m', '--propagation', 'private', 'sh', '-c',
      `mount -t tmpfs -o size=4m meshseed-test "$1" && shift && exec "$@"`, 'sh', data,
      process.execPath, BUNDLE, 'daemon', '--tracker-enabled', '0', '--lpd-enabled', '0', '--dht-enabled', '0',
      '--state-dir', join(base, 'state'), '--seeder-torrent-dir', join(base, 'torrents'), '--seeder-data-dir', data,
      '--seeder-listen-port', String(port), '--seeder-min-free-mb', '2', '--log-level', 'debug',
    ]);
    let log = '';
    daemon.stdout.on('data', (d) => (log += d));
    daemon.stderr.on('data', (d) => (log += d));
    let dead = false;
    daemon.on('exit', () => (dead = true));
    const seeder = spawn(PY, [join(ROOT, 'test', 'interop', 'lt-seeder.py'), '--torrent', t.file, '--data', join(base, 'src'), '--port', String(randomPort()), '--peer', `127.0.0.1:${port}`]);
    try {
      await waitFor('waiting: disk full', 20_000, () => dead || /full: waiting: disk full \(needs 8 MiB, 4 MiB free; seeder\.min_free_mb=2 kept free\)/.test(log));
      assert.not.ok(dead, `the daemon died:\n${log}`);
      const status = await meshseed(['status', '--json', '--state-dir', join(base, 'state')]);
      const torrent = JSON.parse(status.stdout).services.seeder.torrents[0];
      assert.is(torrent.state, 'waiting');
      assert.match(torrent.message, /^waiting: disk full \(needs 8 MiB/);
      // room appears (the operator freed space, or plugged a bigger disk)
      const r = spawnSync('nsenter', ['-t', String(daemon.pid), '-m', 'mount', '-o', 'remount,size=64m', data], { encoding: 'utf8' });
      assert.is(r.status, 0, `remount: ${r.stderr}`);
      await waitFor('the download to complete', 40_000, () => dead || /full: download complete/.test(log));
      assert.not.ok(dead, `the daemon died:\n${log}`);
      // read the data from inside the namespace (the tmpfs is only there)
      const copy = join(base, 'copy');
      const cp = spawnSync('nsenter', ['-t', String(daemon.pid), '-m', 'cp', '-r', join(data, 'full'), copy], { encoding: 'utf8' });
      assert.is(cp.status, 0, cp.stderr);
      assert.equal(treeDigest(copy), treeDigest(src));
    } finally {
      seeder.kill('SIGKILL');
      daemon.kill('SIGTERM');
      await waitFor('the daemon to stop', 10_000, () => dead).catch(() => daemon.kill('SIGKILL'));
      tmp.remove();
    }
  }),
);

test.run();
