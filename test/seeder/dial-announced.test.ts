// deadline: 60s
/**
 * The seeder dials a new leecher as soon as the daemon's own tracker stores it, not at its
 * next announce (issue 11, item 3). The whole daemon on loopback; the leecher is a listening
 * socket that announces with a plain HTTP GET and records the handshake it is sent.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:net';
import { get } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PeerWireFramer, type Handshake } from '../../src/codec/peer-wire';
import { deadline, randomPort, requirePrograms, tempDir, waitFor } from '../helpers';
import { makeData, makeTorrent, startDaemon } from '../interop/seed-helpers';

const fetchText = (url: string) =>
  new Promise<string>((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });

test(
  "a leecher announcing to the daemon's tracker is dialled at once by its seeder",
  deadline(50_000, async () => {
    if (!requirePrograms('mktorrent')) return;
    const tmp = tempDir('meshseed-dial-');
    for (const d of ['torrents', 'data', 'state']) mkdirSync(join(tmp.path, d));
    makeData(join(tmp.path, 'data'), 'dial', [100_000]);
    const t = await makeTorrent(join(tmp.path, 'data'), 'dial', join(tmp.path, 'torrents', 'dial.torrent'));
    const trackerPort = randomPort();
    const daemon = await startDaemon(tmp.path, ['--seeder-upload-rate', '0'], { trackerPort });
    const handshakes: { at: number; h: Handshake }[] = [];
    const leecher = createServer((s) => {
      const framer = new PeerWireFramer(1 << 20);
      s.on('error', () => {});
      s.on('data', (d) => {
        try {
          framer.push(d, (h) => handshakes.push({ at: Date.now(), h }), () => {});
        } catch {
          s.destroy();
        }
      });
    });
    await new Promise<void>((r) => leecher.listen(0, '127.0.0.1', r));
    const port = (leecher.address() as { port: number }).port;
    try {
      const tracker = `http://127.0.0.1:${trackerPort}`;
      // the seeder's own announce is done (it is in the swarm), so its next one is an interval away
      await waitFor('the seeder in its own tracker', 20_000, () => new RegExp(`127\\.0\\.0\\.1:${trackerPort}/announce: \\d+ peers`).test(daemon.log()), 100);
      const hash = t.infoHash.replace(/../g, '%$&');
      const sent = Date.now();
      const reply = await fetchText(`${tracker}/announce?info_hash=${hash}&peer_id=-XX0000-leecher00001&port=${port}&uploaded=0&downloaded=0&left=100000&compact=1&event=started&numwant=0`);
      assert.match(reply, /interval/);
      const first = await waitFor('the seeder to dial the new leecher', 10_000, () => handshakes[0]);
      assert.is(Buffer.from(first.h.infoHash).toString('hex'), t.infoHash);
      console.log(`seeder dialled the new leecher ${first.at - sent} ms after its announce`);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- daemon:\n${daemon.log().slice(-3000)}`);
    } finally {
      leecher.close();
      await daemon.stop();
      tmp.remove();
    }
  }),
);

test.run();
