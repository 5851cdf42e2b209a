/**
 * Mesh discovery as one daemon Service ('introductions' in `meshseed status`): the mesh
 * lookup (src/seeder/lookup.ts), the LPD introducer (introducer.ts) and the tracker's
 * new-peer news passed to the seeder. The daemon creates it with the tracker and seeder it
 * runs (either may be absent) and hands `heard` to the LPD service as its `onHeard`.
 *
 * - LPD heard H announce X → the lookup remembers H (a source for clients on other
 *   segments) and the introducer decides whether to introduce H.
 * - The own tracker stores a new leecher of a torrent the seeder has → the seeder is given
 *   it as a candidate at once (it dials within its half-open and per-torrent caps) instead of
 *   waiting for its next announce to return it.
 */
import type { Service } from '../daemon.js';
import type { Settings } from '../config/settings.js';
import type { SeederView, TrackerRegistry, TrackerSwarms } from '../parts.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { isOwnAddress, normalizeAddress } from '../seeder/peer-listener.js';
import { HttpAnnounceTransport, UdpAnnounceTransport, gatedLookup } from '../seeder/announce-transport.js';
import { makePeerId } from '../seeder/announcer.js';
import { MeshLookupService, type LookupCounters, type MeshLookup } from '../seeder/lookup.js';
import { Introducer, type IntroducerStatus } from './introducer.js';
import { VERSION } from '../version.js';

/** A lookup waits this long for a mesh tracker: a client is waiting for its first peer. */
const LOOKUP_HTTP_TIMEOUT_MS = 5_000;
const LOOKUP_UDP_RETRANSMIT_MS = [1_000, 2_000];
/**
 * The port a lookup announces: 1, libtorrent's "no listen port". The lookup is not a peer,
 * and with any real port its `stopped` could remove this node's own seeder from that tracker.
 */
export const LOOKUP_PORT = 1;

export interface MeshDiscoveryDeps {
  log: Logger;
  clock: Clock;
  tracker?: TrackerRegistry & TrackerSwarms;
  seeder?: SeederView;
  /** The mesh DHT: one more lookup source (see lookup.ts). */
  dht?: { peersFor(infoHashHex: string, timeoutMs?: number): Promise<{ address: string; port: number }[]>; port?(): number | undefined };
}

export function lookupTrackers(settings: Settings): string[] {
  return [...new Set([...settings['seeder.mesh_tracker'], ...settings['lpd.lookup_tracker']])];
}

export class MeshDiscovery implements Service {
  readonly name = 'introductions';
  readonly lookup: MeshLookup;
  private readonly lookupService: MeshLookupService;
  private readonly introducer: Introducer;
  private readonly udp: UdpAnnounceTransport;

  constructor(
    deps: MeshDiscoveryDeps,
    private settings: Settings,
  ) {
    const { clock, log, tracker, seeder, dht } = deps;
    const dns = gatedLookup(clock);
    const http = new HttpAnnounceTransport({ clock, lookup: dns }, { timeoutMs: LOOKUP_HTTP_TIMEOUT_MS, maxBodyBytes: 128 * 1024 });
    this.udp = new UdpAnnounceTransport({ clock, lookup: dns }, LOOKUP_UDP_RETRANSMIT_MS);
    this.lookupService = new MeshLookupService(
      {
        clock,
        log: log.child('lookup'),
        ...(seeder?.peersOf ? { seederPeers: (h: string) => seeder.peersOf!(h) } : {}),
        ...(tracker ? { trackerPeers: (h: string, max: number) => tracker.peersOf(h, max) } : {}),
        ...(dht ? { dhtPeers: (h: string, timeoutMs: number) => dht.peersFor(h, timeoutMs) } : {}),
        transports: { 'http:': http, 'https:': http, 'udp:': this.udp },
        peerId: makePeerId(VERSION),
        port: () => LOOKUP_PORT,
      },
      { trackers: lookupTrackers(settings) },
    );
    this.lookup = this.lookupService;
    const seeded = (h: string) => seeder?.torrent(h);
    this.introducer = new Introducer(
      {
        clock,
        log,
        lookup: this.lookup,
        isOwnAddress: (a) => isOwnAddress(normalizeAddress(a.replace(/%.*$/, ''))),
        // private as the seeder's or the tracker's allowed_dir .torrent says (a stock client never
        // sends LPD for a private torrent; the rule guards against those that do)
        isPrivate: (h) => seeded(h)?.private === true || (tracker?.isPrivate(h) ?? false),
        // allow-list mode: only torrents the tracker allows (knowsTorrent is exactly that there)
        isAllowed: (h) => this.settings['tracker.mode'] !== 'allowlist' || (tracker?.knowsTorrent(h) ?? false),
        // the LPD bridge hands H to a seeder that has all of X; it dials and PEXes itself
        isSeeding: (h) => this.settings['lpd.bridge_to_seeder'] && seeded(h)?.left() === 0,
        ...(dht?.port ? { dhtPort: () => dht.port!() } : {}),
      },
      settings,
    );
    if (tracker && seeder)
      tracker.onPeerAnnounced((p) => {
        // port 1: announced without a listen port (a lookup like ours): nothing to dial
        if (p.seeder || p.port <= LOOKUP_PORT) return;
        seeder.addCandidates([{ infoHashHex: p.infoHashHex, address: p.address, port: p.port, source: 'announced' }]);
      });
  }

  /** LPD heard `address` announce `infoHashHex` with peer-wire `port` on interface `ifname`. */
  heard(infoHashHex: string, address: string, port: number, ifname: string): void {
    if (!/^fe[89ab]/i.test(address)) this.lookupService.heardByLpd(infoHashHex, address, port, ifname);
    this.introducer.heard(infoHashHex, address, port, ifname);
  }

  async start(): Promise<void> {
    await this.introducer.start();
  }

  reload(settings: Settings): void {
    this.settings = settings;
    this.introducer.reload(settings);
    this.lookupService.update({ trackers: lookupTrackers(settings) });
  }

  async close(): Promise<void> {
    await this.introducer.close();
    this.udp.close();
  }

  idle(): { state: 'off'; reason: string } | undefined {
    if (!this.settings['lpd.enabled']) return { state: 'off', reason: 'lpd.enabled is 0: introductions need LPD' };
    if (!this.settings['lpd.introduce']) return { state: 'off', reason: 'lpd.introduce is 0' };
    return undefined;
  }

  status(): IntroducerStatus & { lookup: LookupCounters } {
    return { ...this.introducer.status(), lookup: { ...this.lookupService.counters } };
  }
}
