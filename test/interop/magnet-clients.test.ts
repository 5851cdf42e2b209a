// deadline: 280s
/**
 * A downloader's path: the magnet link copied from a node's catalog (its /catalog.json, as
 * the front page shows it) is all a client gets. meshseed alone (its tracker and its seeder,
 * no other peer, no DHT) must be enough for libtorrent, Transmission and aria2 to fetch the
 * metadata (BEP 9) and then the data, byte for byte. Everything runs inside a network
 * namespace the test creates (Transmission 3.00 never dials 127/8 peers from a tracker), each
 * program on its own 10.x address.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, deadline, requirePrograms, run, tempDir, waitFor } from '../helpers';
import { writeTransmissionConfig } from './transmission';
import { createNamespace, makeData, makeTorrent, randomPort, startDaemon, treeDigest } from './seed-helpers';
import { parseMagnet } from '../../src/codec/magnet';

const PY = '/usr/bin/python3';
const LT = join(ROOT, 'test', 'interop', 'lt-download.py');

test(
  "libtorrent, Transmission and aria2 complete the catalog's magnet link from meshseed's tracker and seeder alone",
  deadline(270_000, async () => {
    if (!requirePrograms(PY, 'transmission-cli', 'aria2c', 'mktorrent', 'ip', 'curl')) return;
    const tmp = tempDir('meshseed-magnet-clients-');
    const net = `10.${150 + (process.pid % 50)}.${(process.pid >> 6) % 250}`;
    const [nodeIp, ltIp, trIp, ariaIp] = [1, 2, 3, 4].map((i) => `${net}.${i}`);
    const ns = createNamespace(`msmagc${process.pid}`, [nodeIp!, ltIp!, trIp!, ariaIp!]);
    const cleanups: (() => unknown)[] = [];
    try {
      const base = tmp.path;
      for (const d of ['torrents', 'data', 'state', 'trconf']) mkdirSync(join(base, d));
      const src = makeData(join(base, 'data'), 'mesh-files', [2_000_017, 70_001, 3]);
      const trackerPort = randomPort();
      const announce = `http://${nodeIp}:${trackerPort}/announce`;
      const t = await makeTorrent(join(base, 'data'), 'mesh-files', join(base, 'torrents', 'mesh-files.torrent'), announce);
      const daemon = await startDaemon(base, ['--seeder-upload-rate', '0', '--tracker-allowed-dir', join(base, 'torrents')], { prefix: ns.exec, trackerPort });
      cleanups.push(() => daemon.stop());
      const cat = await run(ns.exec[0]!, [...ns.exec.slice(1), 'curl', '-sf', `http://${nodeIp}:${trackerPort}/catalog.json`], { timeoutMs: 10_000 });
      assert.is(cat.code, 0, cat.stderr);
      const magnet = (JSON.parse(cat.stdout).torrents as { info_hash: string; magnet: string }[]).find((x) => x.info_hash === t.infoHash)!.magnet;
      assert.equal(parseMagnet(magnet).trackers, [announce], 'the magnet names the node tracker the page was read from');
      console.log(`magnet: ${magnet}`);

      const results: string[] = [];
      // libtorrent: the magnet's tracker only
      {
        const dl = join(base, 'dl-lt');
        const started = Date.now();
        const r = await run(ns.exec[0]!, [...ns.exec.slice(1), PY, LT, '--magnet', magnet, '--trackers', '--interface', ltIp!, '--save', dl, '--timeout', '60'], { timeoutMs: 70_000 });
        assert.is(r.code, 0, `libtorrent failed:\n${r.stdout.slice(-3000)}${r.stderr}\n${daemon.log().slice(-3000)}`);
        assert.equal(treeDigest(join(dl, 'mesh-files')), treeDigest(src));
        results.push(`libtorrent ${Date.now() - started} ms`);
      }
      // Transmission
      {
        const dl = join(base, 'dl-tr');
        mkdirSync(dl);
        writeTransmissionConfig(join(base, 'trconf'), trIp!);
        const doneMarker = join(base, 'tr-done');
        const script = join(base, 'finished.sh');
        writeFileSync(script, `#!/bin/sh\ntouch '${doneMarker}'\n`);
        chmodSync(script, 0o755);
        const started = Date.now();
        const tr = spawn(ns.exec[0]!, [...ns.exec.slice(1), 'transmission-cli', '-g', join(base, 'trconf'), '-w', dl, '-p', String(randomPort()), '-f', script, magnet]);
        let trOut = '';
        tr.stdout.on('data', (d) => (trOut = (trOut + d).slice(-4000)));
        tr.stderr.on('data', (d) => (trOut = (trOut + d).slice(-4000)));
        cleanups.push(() => tr.kill('SIGKILL'));
        await waitFor('transmission to finish', 100_000, () => existsSync(doneMarker), 200).catch((e) => {
          throw new Error(`${(e as Error).message}\n--- transmission:\n${trOut}\n--- meshseed:\n${daemon.log().slice(-3000)}`);
        });
        tr.kill('SIGKILL');
        assert.equal(treeDigest(join(dl, 'mesh-files')), treeDigest(src));
        results.push(`Transmission ${Date.now() - started} ms`);
      }
      // aria2: it announces left=0 while it has no metadata yet; a tracker that hands seeders
      // no seeders leaves it waiting (issue 12, item 4)
      {
        const dl = join(base, 'dl-aria');
        const started = Date.now();
        const r = await run(
          ns.exec[0]!,
          [
            ...ns.exec.slice(1),
            'aria2c',
            `--dir=${dl}`,
            '--enable-dht=false',
            '--enable-dht6=false',
            '--bt-enable-lpd=false',
            '--enable-peer-exchange=false',
            '--seed-time=0',
            `--listen-port=${randomPort()}`,
            `--interface=${ariaIp}`,
            '--summary-interval=0',
            '--console-log-level=warn',
            '--bt-stop-timeout=60',
            magnet,
          ],
          { timeoutMs: 80_000 },
        );
        assert.is(r.code, 0, `aria2c failed:\n${r.stdout.slice(-3000)}${r.stderr}\n${daemon.log().slice(-3000)}`);
        assert.equal(treeDigest(join(dl, 'mesh-files')), treeDigest(src));
        results.push(`aria2 ${Date.now() - started} ms`);
      }
      console.log(`magnet to complete download: ${results.join(', ')}`);
    } finally {
      for (const c of cleanups.reverse()) await c();
      ns.remove();
      tmp.remove();
    }
  }),
);

test.run();
