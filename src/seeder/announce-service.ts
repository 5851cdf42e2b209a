/**
 * The announcer as one of the daemon's Services: builds the transports and the Announcer
 * from the settings, follows reloads (mesh trackers, announce_self, the tracker's port),
 * and reports under `announcer` in `meshseed status`.
 *
 * The daemon plugs it in once the seeder runs:
 *   daemon.add(announcerService(seeder.view, settings, { log, clock, peerId: seeder.peerId }));
 */
import type { Service } from '../daemon.js';
import type { SeederView } from '../parts.js';
import type { Settings } from '../config/settings.js';
import type { Logger } from '../util/log.js';
import type { Clock } from '../util/clock.js';
import { isIP } from 'node:net';
import { VERSION } from '../version.js';
import { Announcer, DEFAULT_MAX_IN_FLIGHT, DEFAULT_NUMWANT, makePeerId, type AnnouncerSettings, type AnnouncerStatus } from './announcer.js';
import { HttpAnnounceTransport, UdpAnnounceTransport, gatedLookup } from './announce-transport.js';

export interface AnnouncerServiceDeps {
  log: Logger;
  clock: Clock;
  /** The seeder's peer id (20 bytes), so trackers and peers see one identity; made up when absent. */
  peerId?: Uint8Array;
}

/**
 * This daemon's own tracker, when it runs and `seeder.announce_self` is on: over HTTP on
 * loopback, or on the first address the tracker is told to listen on.
 */
export function selfTrackerUrl(settings: Settings): string | undefined {
  if (!settings['tracker.enabled'] || !settings['seeder.announce_self']) return undefined;
  const addresses = settings['tracker.address'];
  // no address, or every IPv4 one: loopback reaches it; otherwise the first one it listens on
  let host = '127.0.0.1';
  if (addresses.length && !addresses.includes('0.0.0.0')) host = addresses.includes('::') ? '::1' : addresses[0]!;
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${settings['tracker.port']}/announce`;
}

export function announcerSettings(settings: Settings, peerId: Uint8Array): AnnouncerSettings {
  const self = selfTrackerUrl(settings);
  return {
    meshTrackers: settings['seeder.mesh_tracker'],
    ...(self ? { selfTracker: self } : {}),
    peerId,
    // a seed wants leechers; more than it may connect to is wasted tracker work
    numwant: Math.min(DEFAULT_NUMWANT, settings['seeder.max_peers_per_torrent']),
    maxInFlight: DEFAULT_MAX_IN_FLIGHT,
  };
}

class AnnouncerService implements Service {
  readonly name = 'announcer';
  private announcer: Announcer | undefined;

  constructor(
    private readonly seeder: SeederView,
    private settings: Settings,
    private readonly deps: AnnouncerServiceDeps,
  ) {}

  async start(): Promise<void> {
    const { clock } = this.deps;
    const log = this.deps.log.child('announce');
    const lookup = gatedLookup(clock);
    const http = new HttpAnnounceTransport({ clock, lookup });
    const udp = new UdpAnnounceTransport({ clock, lookup });
    this.announcer = new Announcer(
      { clock, log, seeder: this.seeder, transports: { 'http:': http, 'https:': http, 'udp:': udp } },
      announcerSettings(this.settings, this.deps.peerId ?? makePeerId(VERSION)),
    );
    this.announcer.start();
  }

  reload(settings: Settings): void {
    this.settings = settings;
    const next = announcerSettings(settings, new Uint8Array(20));
    this.announcer?.update({ meshTrackers: next.meshTrackers, ...(next.selfTracker ? { selfTracker: next.selfTracker } : {}) });
  }

  async close(): Promise<void> {
    await this.announcer?.close();
    this.announcer = undefined;
  }

  status(): AnnouncerStatus {
    return this.announcer?.status() ?? { torrents: [] };
  }
}

/** The announcer Service for a seeder; add it to the Daemon after the seeder. */
export function announcerService(seeder: SeederView, settings: Settings, deps: AnnouncerServiceDeps): Service {
  return new AnnouncerService(seeder, settings, deps);
}
