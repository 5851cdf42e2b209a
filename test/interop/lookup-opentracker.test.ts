// deadline: 60s
/**
 * The mesh lookup against Debian's opentracker, over HTTP and UDP: the lookup's announce
 * (left > 0, numwant 50) gets the seed, and its `stopped` leaves no ghost (a scrape says no
 * leecher afterwards).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { get } from 'node:http';
import { systemClock } from '../../src/util/clock';
import { createLogger } from '../../src/util/log';
import { HttpAnnounceTransport, UdpAnnounceTransport, gatedLookup } from '../../src/seeder/announce-transport';
import { MeshLookupService } from '../../src/seeder/lookup';
import { makePeerId } from '../../src/seeder/announcer';
import { deadline, requirePrograms, tempDir, waitFor } from '../helpers';
import { announceSeed, startOpentracker } from './seed-helpers';

const X = '5eed'.repeat(10);

const scrapeIncomplete = (announceUrl: string) =>
  new Promise<number>((resolve, reject) => {
    get(`${announceUrl.replace("/announce", "/scrape")}?info_hash=${X.replace(/../g, "%$&")}`, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(Number(/incompletei(\d+)e/.exec(body)?.[1] ?? NaN)));
    }).on('error', reject);
  });

test(
  'a lookup on opentracker finds the seed over HTTP and UDP and leaves no ghost leecher',
  deadline(50_000, async () => {
    if (!requirePrograms('opentracker')) return;
    const dir = tempDir('meshseed-lookup-ot-');
    const ot = await startOpentracker(dir.path, [X]);
    const dns = gatedLookup(systemClock);
    const http = new HttpAnnounceTransport({ clock: systemClock, lookup: dns });
    const udp = new UdpAnnounceTransport({ clock: systemClock, lookup: dns });
    try {
      await announceSeed(ot.announceUrl, X, 6881, '127.0.0.2');
      for (const url of [ot.announceUrl, `udp://127.0.0.1:${ot.port}/announce`]) {
        const lookup = new MeshLookupService(
          { clock: systemClock, log: createLogger('error'), transports: { 'http:': http, 'udp:': udp }, peerId: makePeerId('0.1.0'), port: () => 1 },
          { trackers: [url] },
        );
        const peers = await lookup.peersFor(X);
        assert.equal(
          peers.map((p) => `${p.address}:${p.port}`),
          ['127.0.0.2:6881'],
          url,
        );
        await waitFor(`no leecher left after the lookup on ${url}`, 20_000, async () => (await scrapeIncomplete(ot.announceUrl)) === 0, 100);
      }
    } finally {
      udp.close();
      ot.stop();
      dir.remove();
    }
  }),
);

test.run();
