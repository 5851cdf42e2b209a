/**
 * meshseed's LPD service on real sockets, run by the namespace test inside a namespace
 * (`ip netns exec … node <bundled test> ` with MESHSEED_LPD_HARNESS set). The seeder is
 * stood in for by a listening TCP socket that reports who connects for which torrent; the
 * tracker by a TrackerRegistry that reports what the bridge registers. One JSON object per
 * line on stdout; commands on stdin: `add` (the torrent appears), `reannounce` (the torrent
 * leaves and comes back: announced again within FIRST_ANNOUNCE_DELAY_MS, as a new torrent is,
 * for a client that started listening after our first announce), `status`, `reload`, `quit`.
 */
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { LpdService } from '../../src/lpd/lpd-service';
import { defaultSettings, type Settings } from '../../src/config/settings';
import { createLogger } from '../../src/util/log';
import { systemClock } from '../../src/util/clock';
import type { SeededTorrent, SeederView, TrackerRegistry } from '../../src/parts';
import { torrent } from './fakes';

const BT_PROTOCOL = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol')]);

export interface HarnessConfig {
  ifname: string;
  ipv6: boolean;
  infoHashHex: string;
  listenPort: number;
  /** Seed the torrent from the start (else on `add`). */
  withTorrent: boolean;
}

export async function runHarness(cfg: HarnessConfig): Promise<void> {
  const out = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
  let list: SeededTorrent[] = cfg.withTorrent ? [torrent(cfg.infoHashHex)] : [];
  const listeners: (() => void)[] = [];
  const seeder: SeederView = {
    listenPort: () => cfg.listenPort,
    torrents: () => list,
    torrent: (h) => list.find((t) => t.infoHashHex === h),
    addCandidates: (peers) => out({ event: 'candidates', peers }),
    onTorrentsChanged: (l) => void listeners.push(l),
  };
  const registry: TrackerRegistry = {
    knowsTorrent: (h) => h === cfg.infoHashHex,
    registerExternalPeer: (infoHashHex, address, port) => {
      out({ event: 'registered', infoHashHex, address, port });
      return true;
    },
  };
  // Who connects to the port we announce, and for which torrent (BEP 3 handshake: 1 + 19 + 8 + 20).
  const server = createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]).subarray(0, 68);
      const address = sock.remoteAddress?.replace(/^::ffff:/, '');
      // an encrypted (BEP 8-less MSE) handshake starts with random bytes: report and close,
      // clients retry in plaintext
      if (buf.length >= 20 && !buf.subarray(0, 20).equals(BT_PROTOCOL)) {
        out({ event: 'encrypted-connection', address });
        sock.destroy();
      } else if (buf.length >= 48) {
        out({ event: 'connection', address, infoHashHex: buf.subarray(28, 48).toString('hex') });
        sock.destroy();
      }
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen({ port: cfg.listenPort, host: '::' }, r));

  const settings: Settings = { ...defaultSettings(), 'lpd.interface': [cfg.ifname], 'lpd.ipv6': cfg.ipv6 };
  const log = createLogger('debug', (line) => process.stderr.write(line + '\n'));
  const service = new LpdService({ log, clock: systemClock, registry, seeder }, settings);
  await service.start();
  out({ event: 'ready', status: service.status() });
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line === 'add') {
      list = [torrent(cfg.infoHashHex)];
      for (const l of listeners) l();
      out({ event: 'added' });
    } else if (line === 'reannounce') {
      const was = list;
      list = [];
      for (const l of listeners) l();
      list = was;
      for (const l of listeners) l();
      out({ event: 'reannounced' });
    } else if (line === 'status') out({ event: 'status', status: service.status() });
    else if (line === 'reload') {
      // as SIGHUP from procd's interface trigger does
      void service.reload(settings).then(() => out({ event: 'reloaded', status: service.status() }));
    }
    else if (line === 'quit') {
      void service.close().then(() => {
        server.close();
        process.exit(0);
      });
    }
  });
  rl.on('close', () => process.exit(0));
}
