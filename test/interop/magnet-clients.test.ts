// deadline: 330s
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
import { aria2Leech, createNamespace, makeData, makeTorrent, randomPort, startDaemon, treeDigest } from './seed-helpers';
import { parseMagnet } from '../../src/codec/magnet';
import { decode } from '../../src/codec/bencode';

const PY = '/usr/bin/python3';
const IDS = { node: 1, lt: 2, tr: 3, aria: 4 };
const LT = join(ROOT, 'test', 'interop', 'lt-download.py');


interface Node {
  base: string;
  src: string;
  magnet: string;
  ip: (who: keyof typeof IDS) => string;
  exec: string[];
  log: () => string;
  cleanups: (() => unknown)[];
  /** The tracker's announce URL and the torrent's info hash. */
  announce: string;
  infoHash: string;
}

/**
 * True when the node's tracker hands seeders to a peer that announces left=0 (issue 12 item
 * 4, the budget engineer's tracker change): asked with one announce from the namespace (the
 * seeder has announced itself as a seeder by then), withdrawn at once with `stopped`.
 */
async function seedersGetSeeders(n: Node): Promise<boolean> {
  const q = (event: string) =>
    `${n.announce}?info_hash=${n.infoHash.replace(/../g, '%$&')}&peer_id=-PROBE0-000000000000&port=1&uploaded=0&downloaded=0&left=0&compact=1&numwant=50&event=${event}`;
  await waitFor('the seeder to announce itself', 20_000, () => /announce: .*: \d+ peers, next in/.test(n.log()));
  const r = await run(n.exec[0]!, [...n.exec.slice(1), 'curl', '-sf', '-o', '-', q('started')], { timeoutMs: 10_000 });
  await run(n.exec[0]!, [...n.exec.slice(1), 'curl', '-sf', '-o', '/dev/null', q('stopped')], { timeoutMs: 10_000 });
  const peers = (decode(r.stdoutBytes).value as Map<string, unknown>).get('peers') as Uint8Array | undefined;
  return (peers?.length ?? 0) > 0;
}

/** A namespace with meshseed (tracker and seeder of one torrent) and the magnet from its catalog. */
async function withNode(fn: (n: Node) => Promise<void>): Promise<void> {
  const tmp = tempDir('meshseed-magnet-clients-');
  const net = `10.${150 + (process.pid % 50)}.${(process.pid >> 6) % 250}`;
  const ip = (who: keyof typeof IDS) => `${net}.${IDS[who]}`;
  const ns = createNamespace(`msmagc${process.pid}`, Object.keys(IDS).map((k) => ip(k as keyof typeof IDS)));
  const cleanups: (() => unknown)[] = [];
  try {
    const base = tmp.path;
    for (const d of ['torrents', 'data', 'state', 'trconf']) mkdirSync(join(base, d));
    const src = makeData(join(base, 'data'), 'mesh-files', [2_000_017, 70_001, 3]);
    const trackerPort = randomPort();
    const announce = `http://${ip('node')}:${trackerPort}/announce`;
    const t = await makeTorrent(join(base, 'data'), 'mesh-files', join(base, 'torrents', 'mesh-files.torrent'), announce);
    const daemon = await startDaemon(base, ['--seeder-upload-rate', '0', '--tracker-allowed-dir', join(base, 'torrents')], { prefix: ns.exec, trackerPort });
    cleanups.push(() => daemon.stop());
    const cat = await run(ns.exec[0]!, [...ns.exec.slice(1), 'curl', '-sf', `http://${ip('node')}:${trackerPort}/catalog.json`], { timeoutMs: 10_000 });
    assert.is(cat.code, 0, cat.stderr);
    const magnet = (JSON.parse(cat.stdout).torrents as { info_hash: string; magnet: string }[]).find((x) => x.info_hash === t.infoHash)!.magnet;
    assert.equal(parseMagnet(magnet).trackers, [announce], 'the magnet names the node tracker the page was read from');
    await fn({ base, src, magnet, ip, exec: ns.exec, log: daemon.log, cleanups, announce, infoHash: t.infoHash });
  } finally {
    for (const c of cleanups.reverse()) await c();
    ns.remove();
    tmp.remove();
  }
}

test(
  "libtorrent and Transmission complete the catalog's magnet link from meshseed's tracker and seeder alone",
  deadline(200_000, () =>
    withNode(async (n) => {
      const results: string[] = [];
      if (!requirePrograms(PY, 'transmission-cli', 'mktorrent', 'ip', 'curl')) return;
      // libtorrent: the magnet's tracker only
      {
        const dl = join(n.base, 'dl-lt');
        const started = Date.now();
        const r = await run(n.exec[0]!, [...n.exec.slice(1), PY, LT, '--magnet', n.magnet, '--trackers', '--interface', n.ip('lt'), '--save', dl, '--timeout', '60'], { timeoutMs: 70_000 });
        assert.is(r.code, 0, `libtorrent failed:\n${r.stdout.slice(-3000)}${r.stderr}\n${n.log().slice(-3000)}`);
        assert.equal(treeDigest(join(dl, 'mesh-files')), treeDigest(n.src));
        results.push(`libtorrent ${Date.now() - started} ms`);
      }
      // Transmission
      {
        const dl = join(n.base, 'dl-tr');
        mkdirSync(dl);
        writeTransmissionConfig(join(n.base, 'trconf'), n.ip('tr'));
        const doneMarker = join(n.base, 'tr-done');
        const script = join(n.base, 'finished.sh');
        writeFileSync(script, `#!/bin/sh\ntouch '${doneMarker}'\n`);
        chmodSync(script, 0o755);
        const started = Date.now();
        const tr = spawn(n.exec[0]!, [...n.exec.slice(1), 'transmission-cli', '-g', join(n.base, 'trconf'), '-w', dl, '-p', String(randomPort()), '-f', script, n.magnet]);
        let trOut = '';
        tr.stdout.on('data', (d) => (trOut = (trOut + d).slice(-4000)));
        tr.stderr.on('data', (d) => (trOut = (trOut + d).slice(-4000)));
        n.cleanups.push(() => tr.kill('SIGKILL'));
        await waitFor('transmission to finish', 100_000, () => existsSync(doneMarker), 200).catch((e) => {
          throw new Error(`${(e as Error).message}\n--- transmission:\n${trOut}\n--- meshseed:\n${n.log().slice(-3000)}`);
        });
        tr.kill('SIGKILL');
        assert.equal(treeDigest(join(dl, 'mesh-files')), treeDigest(n.src));
        results.push(`Transmission ${Date.now() - started} ms`);
      }
      console.log(`magnet to complete download: ${results.join(', ')}`);
    }),
  ),
);

test(
  "aria2 completes the catalog's magnet link from meshseed's tracker and seeder alone",
  deadline(120_000, () =>
    withNode(async (n) => {
      const results: string[] = [];
      if (!requirePrograms('aria2c', 'mktorrent', 'ip', 'curl')) return;
      // aria2: it announces left=0 while it has no metadata yet; a tracker that hands seeders
      // no seeders leaves it waiting (issue 12, item 4). That tracker change is in: a tracker
      // that lost it fails here (it used to skip the rest, so the test could not fail on it)
      assert.ok(await seedersGetSeeders(n), 'the tracker gives a seeder to a peer announcing left=0 (aria2 cannot get a magnet without)');
      {
        const dl = join(n.base, 'dl-aria');
        const started = Date.now();
        const r = await run(
          n.exec[0]!,
          [...n.exec.slice(1), 'aria2c', ...aria2Leech(dl, n.magnet, 60, n.ip('aria'))],
          { timeoutMs: 80_000 },
        );
        assert.is(r.code, 0, `aria2c failed:\n${r.stdout.slice(-3000)}${r.stderr}\n${n.log().slice(-3000)}`);
        assert.equal(treeDigest(join(dl, 'mesh-files')), treeDigest(n.src));
        results.push(`aria2 ${Date.now() - started} ms`);
      }
      console.log(`magnet to complete download: ${results.join(', ')}`);
    }),
  ),
);

test.run();
