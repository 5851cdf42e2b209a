// deadline: 150s
/**
 * transmission-cli downloads a multi-file torrent from meshseed as the only seed. Only
 * inside a network namespace this test creates (and always removes): Transmission 3.00
 * never dials 127/8 peers given by a tracker, so meshseed, opentracker and Transmission each
 * get their own 10.x address on the namespace's loopback.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { deadline, requirePrograms, tempDir, waitFor } from '../helpers';
import { writeTransmissionConfig } from './transmission';
import { createNamespace, makeData, makeTorrent, randomPort, startDaemon, startOpentracker, treeDigest } from './seed-helpers';

test(
  'transmission-cli downloads a multi-file torrent from meshseed, byte for byte (in a namespace)',
  deadline(140_000, async () => {
    if (!requirePrograms('transmission-cli', 'opentracker', 'mktorrent', 'ip')) return;
    const tmp = tempDir('meshseed-seed-tr-');
    const net = `10.${200 + (process.pid % 50)}.${(process.pid >> 6) % 250}`;
    const seedIp = `${net}.1`;
    const trackerIp = `${net}.2`;
    const clientIp = `${net}.3`;
    const ns = createNamespace(`msseed${process.pid}`, [seedIp, trackerIp, clientIp]);
    const cleanups: (() => unknown)[] = [];
    try {
      const base = tmp.path;
      for (const d of ['torrents', 'data', 'state', 'dl', 'trconf']) mkdirSync(join(base, d));
      const src = makeData(join(base, 'data'), 'tr-files');
      const probe = await makeTorrent(join(base, 'data'), 'tr-files', join(base, 'probe.torrent'));
      const tracker = await startOpentracker(join(base, 'ot'), [probe.infoHash], trackerIp, ns.exec);
      cleanups.push(() => tracker.stop());
      const t = await makeTorrent(join(base, 'data'), 'tr-files', join(base, 'torrents', 'tr-files.torrent'), tracker.announceUrl);
      const daemon = await startDaemon(base, ['--seeder-upload-rate', '0'], { prefix: ns.exec });
      cleanups.push(() => daemon.stop());
      // announce the seed from its own address (the tracker takes the source address)
      const body = await new Promise<string>((resolve, reject) => {
        const c = spawn(ns.exec[0]!, [...ns.exec.slice(1), process.execPath, '-e', `
          const http = require('http');
          const hex = ${JSON.stringify(t.infoHash)}.replace(/../g, '%$&');
          http.get(${JSON.stringify(tracker.announceUrl)} + '?info_hash=' + hex + '&peer_id=-MS0000-abcdefabcdef&port=${daemon.port}&uploaded=0&downloaded=0&left=0&compact=1&event=started&numwant=0',
            { localAddress: ${JSON.stringify(seedIp)} }, (res) => { let b = ''; res.on('data', (d) => b += d); res.on('end', () => process.stdout.write(b)); });
        `]);
        let out = '';
        c.stdout.on('data', (d) => (out += d));
        c.on('exit', (code) => (code === 0 && !out.includes('failure') ? resolve(out) : reject(new Error(`announce failed: ${out}`))));
      });
      assert.ok(body.includes('interval'));

      writeTransmissionConfig(join(base, 'trconf'), clientIp);
      const doneMarker = join(base, 'done');
      const script = join(base, 'finished.sh');
      writeFileSync(script, `#!/bin/sh\ntouch '${doneMarker}'\n`);
      chmodSync(script, 0o755);
      const tr = spawn(ns.exec[0]!, [
        ...ns.exec.slice(1),
        'transmission-cli',
        '-g', join(base, 'trconf'),
        '-w', join(base, 'dl'),
        '-p', String(randomPort()),
        '-ep', // prefer encryption: Transmission opens with an MSE handshake
        '-M',
        '-f', script,
        t.file,
      ]);
      let trOut = '';
      tr.stdout.on('data', (d) => (trOut = (trOut + d).slice(-4000)));
      tr.stderr.on('data', (d) => (trOut = (trOut + d).slice(-4000)));
      cleanups.push(() => tr.kill('SIGKILL'));
      await waitFor('transmission to finish', 100_000, () => existsSync(doneMarker), 200).catch((e) => {
        throw new Error(`${(e as Error).message}\n--- transmission:\n${trOut}\n--- meshseed:\n${daemon.log()}`);
      });
      assert.equal(treeDigest(join(base, 'dl', 'tr-files')), treeDigest(src));
      assert.ok(daemon.log().includes(`peer ${clientIp}:`), 'transmission connected from its own address');
      // Transmission's default ("encryption preferred") offers RC4 only
      assert.match(daemon.log(), /\(TR 3000\) accepted over MSE, RC4/);
    } finally {
      for (const c of cleanups.reverse()) await c();
      ns.remove();
      tmp.remove();
    }
  }),
);

test.run();
