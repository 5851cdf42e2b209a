// deadline: 150s
/**
 * Transmission 3.00 (transmission-cli) and aria2 against our tracker, over HTTP and over UDP,
 * inside a network namespace this test creates (Transmission never connects to 127.0.0.0/8
 * peers, so every program gets its own 10.x address on the namespace's `lo`). An aria2 seeder,
 * two Transmission leechers and an aria2 leecher over UDP find each other only through the
 * tracker (LPD, PEX off; DHT off but for aria2's UDP leg: aria2 1.36 speaks UDP to trackers
 * only with its DHT on, so that leg runs here, where its DHT, with no node to start from,
 * could reach nothing but the namespace anyway).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE, deadline, requirePrograms, tempDir, waitFor } from '../helpers';
import { aria2Args, makePayload, randomPort, sh, start, type Proc } from './tracker-interop';
import { percentEncode } from '../../src/codec/tracker-http';
import { writeTransmissionConfig } from './transmission';

const HAVE = requirePrograms('ip', 'aria2c', 'transmission-cli', 'mktorrent');
const NS = `mstrk${process.pid}`;
const TRACKER = '10.77.0.1';
const SEEDER = '10.77.0.2';
const LEECH_HTTP = '10.77.0.3';
const LEECH_UDP = '10.77.0.4';
const LEECH_ARIA2_UDP = '10.77.0.5';
const ALL: Proc[] = [];

const inNs = (cmd: string, args: string[]) => start('ip', ['netns', 'exec', NS, cmd, ...args]);

/** GET inside the namespace, with the node that runs this test. */
async function fetchInNs(url: string): Promise<Buffer> {
  const code = `fetch(${JSON.stringify(url)}).then(r=>r.arrayBuffer()).then(b=>process.stdout.write(Buffer.from(b).toString('hex')))`;
  // started with stdin closed (run() writes to stdin, which a quick child may have closed)
  return Buffer.from(await sh('ip', ['netns', 'exec', NS, process.execPath, '-e', code]), 'hex');
}

function transmissionConfig(dir: string, address: string, port: number): string {
  return writeTransmissionConfig(join(dir, `tr-${address}`), address, { 'bind-address-ipv6': '::1', 'peer-port': port, 'blocklist-enabled': false });
}

test.after(async () => {
  await Promise.all(ALL.map((p) => p.kill()));
  await sh('ip', ['netns', 'del', NS]).catch(() => undefined);
});

if (HAVE)
  test(
    'Transmission downloads over HTTP and over UDP with our tracker as the only source of peers',
    deadline(140000, async () => {
      const dir = tempDir('meshseed-tr-');
      try {
        await sh('ip', ['netns', 'add', NS]);
        await sh('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
        for (const a of [TRACKER, SEEDER, LEECH_HTTP, LEECH_UDP, LEECH_ARIA2_UDP]) await sh('ip', ['-n', NS, 'addr', 'add', `${a}/32`, 'dev', 'lo']);

        const port = randomPort(); // a fresh namespace: nothing else listens there
        // an hour's interval (min interval 30 min): no client re-announces during the test, so
        // the counts below are those of the announces the test causes, however slow the machine
        const daemon = inNs(process.execPath, [BUNDLE, 'daemon', '--seeder-enabled', '0', '--lpd-enabled', '0', '--dht-enabled', '0', '--state-dir', join(dir.path, 'state'), '--tracker-address', TRACKER, '--tracker-port', String(port), '--tracker-interval', '3600']);
        ALL.push(daemon);
        await waitFor('the tracker listening', 10000, () => /tracker: listening/.test(daemon.output()));

        const p = await makePayload(dir.path, 'mesh.img', 2 << 20, {
          http: `http://${TRACKER}:${port}/announce`,
          udp: `udp://${TRACKER}:${port}/announce`,
        });
        const seeder = inNs('aria2c', aria2Args({ dir: p.seedDir, port: randomPort(), torrent: p.torrents.http!, seed: true, address: SEEDER }));
        ALL.push(seeder);
        const scrape = async () => {
          const hex = (await fetchInNs(`http://${TRACKER}:${port}/stats.json`)).toString('hex');
          const stats = JSON.parse(Buffer.from(hex, 'hex').toString());
          return (stats.files as { info_hash: string; complete: number; incomplete: number; downloaded: number }[]).find((f) => f.info_hash === p.infoHashHex);
        };
        // a seed that has uploaded nothing yet counts as incomplete (it could be a magnet client
        // without metadata: aria2 says left=0 then too), until it shows it has the data
        await waitFor('aria2 seeding (left=0)', 20000, async () => (await scrape())?.incomplete === 1, 250);

        const leechers = [
          { address: LEECH_HTTP, torrent: p.torrents.http! },
          { address: LEECH_UDP, torrent: p.torrents.udp! },
        ].map(({ address, torrent }) => {
          const out = join(dir.path, `dl-${address}`);
          mkdirSync(out);
          const peerPort = randomPort();
          const proc = inNs('transmission-cli', ['-g', transmissionConfig(dir.path, address, peerPort), '-p', String(peerPort), '-M', '-w', out, torrent]);
          ALL.push(proc);
          return { out, proc };
        });
        // Transmission sends `completed` when it finishes; it then seeds until killed.
        await waitFor('both Transmission downloads completed', 50000, async () => (await scrape())?.downloaded === 2, 500);
        for (const l of leechers) assert.equal(readFileSync(join(l.out, 'mesh.img')), readFileSync(p.file));
        const s = await scrape();
        assert.equal([s?.complete, s?.incomplete], [2, 1], 'both finished leechers are seeders; the seed has not re-announced since it uploaded');

        // aria2 over UDP: it downloads, reports completion and leaves (--seed-time=0)
        const ariaOut = join(dir.path, 'dl-aria2-udp');
        const aria = inNs('aria2c', aria2Args({ dir: ariaOut, port: randomPort(), torrent: p.torrents.udp!, seed: false, address: LEECH_ARIA2_UDP, udpTracker: true }));
        ALL.push(aria);
        assert.is(await aria.exited, 0, aria.output());
        assert.equal(readFileSync(join(ariaOut, 'mesh.img')), readFileSync(p.file), 'aria2 over UDP got the same bytes');
        await waitFor('aria2 counted and gone', 10000, async () => {
          const x = await scrape();
          return x?.downloaded === 3 && x.complete === 2 && x.incomplete === 1;
        }, 250);

        // the scrape answer over HTTP matches the stats page
        const raw = (await fetchInNs(`http://${TRACKER}:${port}/scrape?info_hash=${percentEncode(p.infoHash)}`)).toString('latin1');
        assert.ok(raw.includes('d8:completei2e10:downloadedi3e10:incompletei1ee'), raw);
        const json = JSON.parse((await fetchInNs(`http://${TRACKER}:${port}/stats.json`)).toString());
        assert.ok(json.counters.httpAnnounces >= 2 && json.counters.udpAnnounces >= 4 && json.counters.udpConnects >= 2, JSON.stringify(json.counters));
      } catch (err) {
        for (const p of ALL) console.error(`--- ${p.child.spawnargs.slice(3, 5).join(' ')}\n${p.output().slice(-3000)}`);
        throw err;
      } finally {
        await Promise.all(ALL.map((p) => p.kill()));
        await sh('ip', ['netns', 'del', NS]).catch(() => undefined);
        dir.remove();
      }
    }),
  );

test.run();
