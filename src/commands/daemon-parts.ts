/**
 * The daemon's parts after the tracker: seeder, announcer, DHT, catalog, magnets, mesh
 * discovery and LPD, wired to each other and to the tracker. The daemon command loads this
 * module (and the hundred modules under it) only once the tracker listens: on a cold start
 * announces are answered while these load and the watch folder is scanned.
 */
import type { Daemon } from '../daemon.js';
import type { Settings } from '../config/settings.js';
import type { Logger } from '../util/log.js';
import { systemClock } from '../util/clock.js';
import type { TrackerService } from '../tracker/tracker-service.js';
import { LpdService } from '../lpd/lpd-service.js';
import { MeshDiscovery } from '../lpd/mesh-discovery.js';
import { Seeder } from '../seeder/seeder.js';
import { announcerService } from '../seeder/announce-service.js';
import { DhtService } from '../dht/dht-service.js';
import { CatalogService } from '../catalog/catalog-service.js';
import { MagnetService } from '../catalog/magnet-service.js';
import { addTarget } from '../catalog/add-target.js';

/** What the control socket gets from these parts: `meshseed add`, when the seeder runs. */
export interface OtherParts {
  add?: (target: string) => Promise<string>;
}

/** Builds the parts after the tracker and adds them to `daemon`, in their start order. */
export function addOtherParts(daemon: Daemon, tracker: TrackerService | undefined, settings: Settings, log: Logger): OtherParts {
  // The seeder after the tracker (it announces to it), and its announcer after it.
  const seeder = settings['seeder.enabled'] ? new Seeder({ clock: systemClock, log: log.child('seeder') }, settings) : undefined;
  if (seeder) {
    daemon.add(seeder);
    daemon.add(announcerService(seeder, settings, { log, clock: systemClock, peerId: seeder.peerId }));
    // the tracker counts its own node's seed as a seeder from its first announce
    if (tracker) tracker.core.localSeederPeerId = seeder.peerId;
  }
  // The DHT after the seeder (it listens on the seeder's port by default and announces its
  // torrents). Always added: it idles while dht.enabled is 0, so a reload can switch it on.
  const dht = new DhtService({ log, clock: systemClock, ...(seeder ? { seeder } : {}) }, settings);
  daemon.add(dht);
  if (seeder) seeder.dht = dht;
  // Catalog subscriptions fill the seeder's torrent_dir; added with the seeder (idle with no
  // catalog) so a reload can subscribe.
  if (seeder)
    daemon.add(
      new CatalogService(
        {
          log,
          clock: systemClock,
          usedBytes: () => seeder.torrents().reduce((n, t) => n + (t.meta?.length ?? 0), 0),
          knownHashes: () => new Set(seeder.torrents().map((t) => t.infoHashHex)),
        },
        settings,
      ),
    );
  // .magnet files in torrent_dir (meshseed add) are completed into .torrent files (BEP 9)
  const magnets = seeder
    ? new MagnetService(
        {
          log,
          clock: systemClock,
          peerId: seeder.peerId,
          listenPort: () => seeder.listenPort(),
          knownHashes: () => new Set(seeder.torrents().map((t) => t.infoHashHex)),
          // LPD-heard peers and the mesh trackers (discovery is made below, before any start)
          meshPeers: (infoHashHex) => discovery.lookup.peersFor(infoHashHex),
          ownTracker: () => {
            if (!tracker || !tracker.port) return undefined;
            const host = daemon.current['tracker.address'][0] ?? '127.0.0.1';
            return `http://${host.includes(':') ? `[${host}]` : host}:${tracker.port}/announce`;
          },
        },
        settings,
      )
    : undefined;
  if (magnets) daemon.add(magnets);
  // LPD last, after the tracker and seeder it bridges to: pass them as `registry` (the
  // tracker's TrackerRegistry) and `seeder` (the SeederView). Always added: it idles while
  // lpd.enabled is 0, so a reload can switch it on.
  // Mesh discovery (lookup, LPD introductions, the seeder dialling new leechers) hears what LPD hears.
  const discovery = new MeshDiscovery({ log, clock: systemClock, dht, ...(tracker ? { tracker } : {}), ...(seeder ? { seeder } : {}) }, settings);
  daemon.add(discovery);
  const lpd = new LpdService(
    {
      log,
      clock: systemClock,
      ...(tracker ? { registry: tracker } : {}),
      dht,
      ...(seeder ? { seeder } : {}),
      onHeard: (h, address, port, ifname) => discovery.heard(h, address, port, ifname),
    },
    settings,
  );
  daemon.add(lpd);
  if (tracker) {
    tracker.lpdStatus = () => lpd.status();
    tracker.introductionStatus = () => discovery.status();
    tracker.dhtStatus = () => dht.status();
    if (magnets) tracker.magnetStatus = () => magnets.status();
    // the front page lists the seeder's torrents with their state
    if (seeder) tracker.seeder = seeder;
  }
  return magnets
    ? {
        add: (target: string) =>
          addTarget(target, { torrentDir: daemon.current['seeder.torrent_dir'], kickMagnets: () => void magnets.kick(), knownFile: (h) => seeder?.torrent(h)?.file }),
      }
    : {};
}
