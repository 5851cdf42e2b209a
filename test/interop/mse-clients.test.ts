// deadline: 480s
/**
 * Outgoing MSE and dial retry against real clients (issue 10): meshseed dials, with its
 * default `seeder.outgoing_encryption` (plaintext_first), peers that refuse plain text.
 *   - Transmission set to "required" (`encryption: 2`, only inside a network namespace) as the
 *     only seeder: it hangs up on our plain handshake, meshseed dials again over MSE,
 *     Transmission selects RC4, and the torrent arrives byte for byte;
 *   - libtorrent with pe_forced and RC4 only, as the only seeder (the stream is RC4 after the
 *     handshake), then as a leecher that meshseed's seeder dials (seeder side, outgoing);
 *   - a seeder that is not listening when meshseed first dials it, started later, is reached
 *     by the back-off retry (`seeder.dial_retry` 1 s) with no new announce;
 *   - a magnet's metadata (BEP 9) fetched from a pe_forced libtorrent: the second dial is MSE.
 * The daemon's log says how each connection went ("connected over MSE, RC4"). Times are
 * printed, never asserted (a shared machine).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, deadline, randomPort, requirePrograms, run, tempDir, waitFor } from '../helpers';
import { writeTransmissionConfig } from './transmission';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseMetainfo } from '../../src/codec/metainfo';
import { METADATA_FETCH_DEFAULTS, MetadataFetch } from '../../src/seeder/metadata-fetch';
import { systemClock } from '../../src/util/clock';
import { announceSeed, makeData, makeTorrent, startDaemon, startOpentracker, treeDigest } from './seed-helpers';
import { SIZES, inTransmissionNamespace, mirrorFrom, spawnSeeder } from './mirror-helpers';

const PY = '/usr/bin/python3';
const LT_SEEDER = join(ROOT, 'test', 'interop', 'lt-seeder.py');
const LT_DOWNLOAD = join(ROOT, 'test', 'interop', 'lt-download.py');

/** The daemon's line for an outgoing connection that ended up over MSE with RC4. */
const rc4Dial = (address: string) => new RegExp(`peer ${address.replace(/\./g, '\\.')}:\\d+ \\([^)]*\\) connected over MSE, RC4`);

test(
  'Transmission with encryption required, the only seeder: meshseed retries over MSE, gets RC4, downloads byte for byte',
  deadline(200_000, async () => {
    if (!requirePrograms('transmission-cli', 'opentracker', 'mktorrent', 'ip')) return;
    const r = await inTransmissionNamespace('msmse', (ips, exec) =>
      mirrorFrom('tr-required', {
        host: ips.trackerIp,
        prefix: exec,
        startSeeder: (torrent, srcDir, base) => {
          writeTransmissionConfig(join(base, 'trconf'), ips.clientIp, { encryption: 2 });
          // -er: encryption required (the same as settings.json says; the flag would override it)
          const tr = spawnSeeder(exec, 'transmission-cli', ['-g', join(base, 'trconf'), '-w', srcDir, '-p', String(randomPort()), '-er', torrent]);
          return { ...tr, ready: () => tr.log().includes('Seeding') };
        },
      }).then((m) => ({ ...m, clientIp: ips.clientIp })),
    );
    // the plain dial was refused, the MSE one taken with RC4
    assert.match(r.log, new RegExp(`peer ${r.clientIp.replace(/\./g, '\\.')}:\\d+ hung up before its handshake .*; dialling it again over MSE`));
    assert.match(r.log, rc4Dial(r.clientIp));
    const refusedAt = r.at(/hung up before its handshake/);
    const mseAt = r.at(rc4Dial(r.clientIp));
    console.log(
      `  Transmission (required): after the download started, the plain dial refused at ${refusedAt} ms, the MSE one up at ${mseAt} ms, the first block at ${(r.firstBlockS * 1000).toFixed(0)} ms (Transmission unchokes at its 10 s rechoke)`,
    );
  }),
);

test(
  'libtorrent with pe_forced and RC4 only, the only seeder: meshseed downloads through RC4',
  deadline(120_000, async () => {
    if (!requirePrograms(PY, 'opentracker', 'mktorrent')) return;
    const r = await mirrorFrom('lt-rc4', {
      startSeeder: (torrent, srcDir) => {
        const lt = spawnSeeder([], PY, [LT_SEEDER, '--torrent', torrent, '--data', srcDir, '--port', String(randomPort()), '--host', '127.0.0.2', '--announce', '--enc', 'forced-rc4']);
        return { ...lt, ready: () => lt.log().includes('ready') };
      },
    });
    assert.match(r.log, rc4Dial('127.0.0.2'));
    console.log(`  libtorrent (pe_forced, RC4): first block ${r.firstBlockS.toFixed(2)} s after the download started`);
  }),
);

test(
  "a libtorrent leecher with pe_forced and RC4 only downloads from meshseed's seeder, which dials it",
  deadline(90_000, async () => {
    if (!requirePrograms(PY, 'mktorrent')) return;
    const tmp = tempDir('meshseed-mse-leech-');
    try {
      const base = tmp.path;
      for (const d of ['torrents', 'data', 'state', 'dl']) mkdirSync(join(base, d));
      const src = makeData(join(base, 'data'), 'lt-leech', SIZES);
      const trackerPort = randomPort();
      // the daemon's own tracker: a leecher that announces there is dialled at once. The
      // torrent names another (dead) tracker and announce_self is off, so meshseed never
      // announces there and libtorrent cannot dial it: every connection is meshseed's
      const t = await makeTorrent(join(base, 'data'), 'lt-leech', join(base, 'torrents', 'lt-leech.torrent'));
      const daemon = await startDaemon(base, ['--seeder-upload-rate', '0', '--seeder-announce-self', '0'], { trackerPort });
      try {
        const r = await run(PY, [LT_DOWNLOAD, '--torrent', t.file, '--save', join(base, 'dl'), '--tracker', `http://127.0.0.1:${trackerPort}/announce`, '--interface', '127.0.0.2', '--enc', 'forced-rc4', '--timeout', '60'], { timeoutMs: 70_000 });
        assert.is(r.code, 0, `libtorrent failed:\n${r.stdout.slice(-3000)}${r.stderr}\n--- meshseed:\n${daemon.log().slice(-4000)}`);
        assert.equal(treeDigest(join(base, 'dl', 'lt-leech')), treeDigest(src));
        assert.match(daemon.log(), rc4Dial('127.0.0.2'));
        assert.not.match(daemon.log(), /accepted/, 'every connection was ours');
        console.log(`  ${/complete .*/.exec(r.stdout)?.[0]}`);
      } finally {
        await daemon.stop();
      }
    } finally {
      tmp.remove();
    }
  }),
);

test(
  'a seeder not listening when first dialled, started later, is reached by the retry without a new announce',
  deadline(120_000, async () => {
    if (!requirePrograms(PY, 'opentracker', 'mktorrent')) return;
    const tmp = tempDir('meshseed-retry-');
    const cleanups: (() => unknown)[] = [];
    try {
      const base = tmp.path;
      for (const d of ['torrents', 'data', 'state', 'src']) mkdirSync(join(base, d));
      const src = makeData(join(base, 'src'), 'retry', SIZES);
      const probe = await makeTorrent(join(base, 'src'), 'retry', join(base, 'probe.torrent'));
      const tracker = await startOpentracker(join(base, 'ot'), [probe.infoHash]);
      cleanups.push(() => tracker.stop());
      const t = await makeTorrent(join(base, 'src'), 'retry', join(base, 'retry.torrent'), tracker.announceUrl);
      // a seeder at 127.0.0.2:port as far as the tracker knows; nothing listens there yet
      const port = randomPort();
      await announceSeed(tracker.announceUrl, t.infoHash, port, '127.0.0.2');
      copyFileSync(t.file, join(base, 'torrents', 'retry.torrent'));
      const daemon = await startDaemon(base, ['--seeder-upload-rate', '0', '--seeder-dial-retry', '1'], { waitSeeding: false });
      cleanups.push(() => daemon.stop());
      const refused = new RegExp(`peer 127\\.0\\.0\\.2:${port} unreachable; dialling it again in 1 s`);
      await waitFor('the first dial to be refused', 30_000, () => refused.test(daemon.log()));
      const child = spawn(PY, [LT_SEEDER, '--torrent', t.file, '--data', join(base, 'src'), '--port', String(port), '--host', '127.0.0.2']);
      cleanups.push(() => child.kill('SIGKILL'));
      let ltLog = '';
      child.stdout.on('data', (d) => (ltLog += d));
      child.stderr.on('data', (d) => (ltLog += d));
      await waitFor('the download to complete', 60_000, () => /retry: download complete/.test(daemon.log())).catch((e) => {
        throw new Error(`${(e as Error).message}\n--- libtorrent:\n${ltLog}\n--- meshseed:\n${daemon.log().slice(-5000)}`);
      });
      assert.equal(treeDigest(join(base, 'data', 'retry')), treeDigest(src));
      // one announce to the tracker before the download completed: the retry found the seeder
      const before = daemon.log().slice(0, daemon.log().indexOf('retry: download complete'));
      const announces = before.match(new RegExp(`${tracker.announceUrl.replace(/[.:/]/g, '\\$&')}: \\d+ peers`, 'g')) ?? [];
      assert.is(announces.length, 1, before.slice(-3000));
      const tries = before.match(new RegExp(`peer 127\\.0\\.0\\.2:${port} unreachable`, 'g'))!.length;
      console.log(`  reached after ${tries} refused dial(s); ${/download complete: .*/.exec(daemon.log())![0]}`);
    } finally {
      for (const c of cleanups.reverse()) await c();
      tmp.remove();
    }
  }),
);

test(
  "a magnet's metadata from a pe_forced libtorrent: refused in plain text, fetched over MSE",
  deadline(60_000, async () => {
    if (!requirePrograms(PY, 'mktorrent')) return;
    const tmp = tempDir('meshseed-mse-magnet-');
    const cleanups: (() => unknown)[] = [];
    try {
      const base = tmp.path;
      makeData(base, 'meta', [200_000, 7, 3]);
      const t = await makeTorrent(base, 'meta', join(base, 'meta.torrent'));
      const meta = parseMetainfo(readFileSync(t.file));
      const port = randomPort();
      const lt = spawnSeeder([], PY, [LT_SEEDER, '--torrent', t.file, '--data', base, '--port', String(port), '--host', '127.0.0.2', '--enc', 'forced']);
      cleanups.push(() => lt.stop());
      await waitFor('the libtorrent seeder', 30_000, () => lt.log().includes('ready'));
      const lines: string[] = [];
      const fetch = new MetadataFetch({ clock: systemClock, peerId: Buffer.concat([Buffer.from('-MS0000-'), randomBytes(12)]), debug: (l) => lines.push(l) }, METADATA_FETCH_DEFAULTS, meta.infoHash);
      cleanups.push(() => fetch.close());
      fetch.addPeers([{ address: '127.0.0.2', port }]);
      const info = await fetch.start();
      assert.is(createHash('sha1').update(info).digest('hex'), t.infoHash);
      assert.match(lines.join('\n'), /before its handshake; dialling it again over MSE/);
    } finally {
      for (const c of cleanups.reverse()) await c();
      tmp.remove();
    }
  }),
);

test.run();
