/**
 * The LPD part of the daemon (BEP 14): one LpdInterface per configured interface and address
 * family, kept in step with the host's interfaces, and the bridge that passes peers heard
 * by LPD on to the tracker and the seeder.
 *
 * Interfaces come and go (a bridge is rebuilt, a mesh link drops): the endpoints are
 * re-enumerated on every reload (procd's interface trigger sends SIGHUP) and every
 * INTERFACE_CHECK_MS; an endpoint whose socket fails is closed and found again by the next
 * check if its interface is back. Nothing here throws into the daemon.
 *
 * The bridge. Multicast stays on one layer-2 segment, so a peer heard by LPD is:
 * - registered in this daemon's tracker (lpd.bridge_to_tracker) when the tracker knows the
 *   torrent: clients on other segments asking the mesh tracker then learn it. It expires
 *   like any announced peer unless LPD hears it again (every 5 minutes from real clients);
 * - offered to the seeder (lpd.bridge_to_seeder) when the seeder has the torrent.
 * Private torrents (BEP 27) take no peers from LPD, and link-local IPv6 senders are not
 * registered in the tracker (the address means nothing on another segment).
 */
import { networkInterfaces as osNetworkInterfaces } from 'node:os';
import { BlockList, isIPv4 } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Settings } from '../config/settings.js';
import type { Service } from '../daemon.js';
import type { PeerCandidate, SeederView, TrackerRegistry } from '../parts.js';
import { makeCookie, type ReceivedSearch } from '../codec/lpd.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { describeError } from '../errors.js';
import { selectEndpoints, type InterfaceListing, type LpdEndpoint } from './endpoints.js';
import { LpdInterface, type InterfaceDropReason, type LpdInterfaceCounters } from './lpd-interface.js';
import { openUdpTransport, type DatagramSource, type OpenTransport } from './udp-transport.js';

/** How often the interfaces are looked at again between reloads. */
export const INTERFACE_CHECK_MS = 30_000;

export interface LpdServiceDeps {
  log: Logger;
  clock: Clock;
  /** The daemon's tracker, when it runs. */
  registry?: TrackerRegistry;
  /** The daemon's seeder, when it runs: its public torrents are announced. */
  seeder?: SeederView;
  /** The DHT node, when it runs: a host heard by LPD is pinged at its announced port (BEP 5 nodes listen there by default). */
  dht?: { addNode(host: string, port: number, source: 'lpd'): void };
  networkInterfaces?: () => InterfaceListing;
  /** Every public torrent heard (mesh discovery: the introducer and the mesh lookup listen here). */
  onHeard?: (infoHashHex: string, address: string, port: number, ifname: string) => void;
  open?: OpenTransport;
  randomBytes?: (n: number) => Uint8Array;
}

export interface LpdStatus {
  enabled: boolean;
  /** On with no interface to work on: why (`no LAN/mesh bridge interface (br-lan, br-mesh) has an address`). */
  idle?: string;
  interfaces: ({ name: string; ifname: string; family: 4 | 6 } & LpdInterfaceCounters)[];
  /** Totals over the endpoints, including closed ones. */
  sent: number;
  sendErrors: number;
  received: number;
  accepted: number;
  dropped: Partial<Record<InterfaceDropReason, number>>;
  peersRegisteredInTracker: number;
  peersRefusedByTracker: number;
  peersOfferedToSeeder: number;
  /** Infohashes heard that neither the tracker nor the seeder has. */
  unknownTorrents: number;
  linkLocalNotRegistered: number;
}

type BridgeCounters = Pick<
  LpdStatus,
  'peersRegisteredInTracker' | 'peersRefusedByTracker' | 'peersOfferedToSeeder' | 'unknownTorrents' | 'linkLocalNotRegistered'
>;

export class LpdService implements Service {
  readonly name = 'lpd';
  private readonly log: Logger;
  private readonly open: OpenTransport;
  private readonly listInterfaces: () => InterfaceListing;
  private readonly cookie: string;
  private readonly ifaces = new Map<string, LpdInterface>();
  /** Totals over every endpoint there has been, so they survive interfaces coming and going. */
  private readonly totals: LpdInterfaceCounters = { sent: 0, sendErrors: 0, received: 0, dropped: {}, accepted: 0 };
  private readonly bridge: BridgeCounters = {
    peersRegisteredInTracker: 0,
    peersRefusedByTracker: 0,
    peersOfferedToSeeder: 0,
    unknownTorrents: 0,
    linkLocalNotRegistered: 0,
  };
  private publicHashes: string[] = [];
  private seeded = new Set<string>();
  private privateHashes = new Set<string>();
  private running = false;
  private subscribed = false;
  private checkTimer: { cancel(): void } | undefined;
  /** Last thing said about the interfaces, so it is logged once, not every check. */
  private lastNotice = '';
  /** Why no interface is used, after the last look at them (undefined while some are). */
  private noInterface: string | undefined;
  private readonly failedOnce = new Set<string>();

  constructor(
    private readonly deps: LpdServiceDeps,
    private settings: Settings,
  ) {
    this.log = deps.log.child('lpd');
    this.open = deps.open ?? openUdpTransport;
    this.listInterfaces = deps.networkInterfaces ?? osNetworkInterfaces;
    this.cookie = makeCookie(deps.randomBytes ?? ((n) => randomBytes(n)));
  }

  async start(): Promise<void> {
    if (!this.settings['lpd.enabled']) {
      this.log.info('disabled (lpd.enabled 0)');
      return;
    }
    this.running = true;
    if (this.deps.seeder && !this.subscribed) {
      this.subscribed = true;
      this.deps.seeder.onTorrentsChanged(() => this.torrentsChanged());
    }
    this.readTorrents();
    await this.refresh();
    this.scheduleCheck();
  }

  async reload(settings: Settings): Promise<void> {
    const was = this.settings['lpd.enabled'];
    this.settings = settings;
    if (was && !settings['lpd.enabled']) {
      this.log.info('disabled by reload');
      await this.close();
      return;
    }
    if (!this.running) return this.start();
    await this.refresh();
  }

  async close(): Promise<void> {
    this.running = false;
    this.noInterface = undefined;
    this.checkTimer?.cancel();
    this.checkTimer = undefined;
    for (const i of [...this.ifaces.values()]) this.retire(i);
  }

  /** Re-enumerates the interfaces: opens new endpoints, closes vanished or changed ones. */
  async refresh(): Promise<void> {
    if (!this.running) return;
    let listing: InterfaceListing;
    try {
      listing = this.listInterfaces();
    } catch (err) {
      this.log.warn(`cannot list interfaces: ${describeError(err)}`);
      return;
    }
    const sel = selectEndpoints(this.settings['lpd.interface'], listing, this.settings['lpd.ipv6']);
    const wantedKeys = new Set(sel.endpoints.map((e) => e.key));
    // same endpoint, addresses changed (an IPv6 prefix renumbered): keep the socket, refresh the subnets
    for (const e of sel.endpoints) {
      const i = this.ifaces.get(e.key);
      if (i && JSON.stringify(i.endpoint.subnets) !== JSON.stringify(e.subnets)) {
        i.endpoint.subnets = e.subnets;
        this.blockLists.delete(i);
      }
    }
    for (const k of this.failedOnce) if (!wantedKeys.has(k)) this.failedOnce.delete(k);
    for (const [key, i] of this.ifaces) if (!wantedKeys.has(key)) {
      this.log.info(`${i.name}: interface gone or changed; closing`);
      this.retire(i);
    }
    this.noInterface =
      sel.endpoints.length === 0 ? `no ${this.settings['lpd.interface'].length ? 'configured' : 'LAN/mesh bridge'} interface (${sel.wanted.join(', ')}) has an address` : undefined;
    this.notice(
      this.noInterface !== undefined
        ? `${this.noInterface}: LPD is idle` + (this.settings['lpd.interface'].length ? '' : ' (set lpd.interface to choose interfaces)')
        : `on ${sel.endpoints.map((e) => `${e.ifname}/IPv${e.family}`).join(', ')}` + (sel.absent.length ? `; absent: ${sel.absent.join(', ')}` : ''),
    );
    await Promise.all(sel.endpoints.filter((e) => !this.ifaces.has(e.key)).map((e) => this.openEndpoint(e)));
  }

  private async openEndpoint(e: LpdEndpoint): Promise<void> {
    const iface = new LpdInterface(
      {
        clock: this.deps.clock,
        log: this.log,
        open: this.open,
        cookie: this.cookie,
        totals: this.totals,
        listenPort: () => this.deps.seeder?.listenPort(),
        onMessage: (i, bytes, from) => this.route(i, bytes, from),
        onSearch: (s, from, i) => this.onSearch(s, from, i),
        onFailure: (i, err) => this.onFailure(i, err),
      },
      e,
    );
    this.ifaces.set(e.key, iface);
    iface.setTorrents(this.publicHashes);
    try {
      await iface.start();
      this.failedOnce.delete(e.key);
    } catch (err) {
      if (this.ifaces.get(e.key) === iface) this.ifaces.delete(e.key);
      iface.close();
      // an interface that cannot be joined is retried on every check: say so once
      if (!this.failedOnce.has(e.key)) {
        this.failedOnce.add(e.key);
        this.log.warn(`${iface.name}: cannot open LPD socket: ${describeError(err)} (retrying every ${INTERFACE_CHECK_MS / 1000} s)`);
      }
    }
  }

  private onFailure(i: LpdInterface, err: Error): void {
    if (this.ifaces.get(i.endpoint.key) !== i) return;
    this.log.warn(`${i.name}: socket failed: ${describeError(err)}; closing until the interface is back`);
    this.retire(i);
  }

  private retire(i: LpdInterface): void {
    i.close();
    if (this.ifaces.get(i.endpoint.key) === i) this.ifaces.delete(i.endpoint.key);
  }

  private scheduleCheck(): void {
    this.checkTimer?.cancel();
    this.checkTimer = this.deps.clock.setTimeout(() => {
      if (!this.running) return;
      this.scheduleCheck();
      // overlapping checks are harmless: an endpoint is entered before its socket opens
      void this.refresh();
    }, INTERFACE_CHECK_MS);
  }

  private notice(text: string): void {
    if (text === this.lastNotice) return;
    this.lastNotice = text;
    this.log.info(text);
  }

  private torrentsChanged(): void {
    this.readTorrents();
    for (const i of this.ifaces.values()) i.setTorrents(this.publicHashes);
  }

  private readTorrents(): void {
    const list = this.deps.seeder?.torrents() ?? [];
    // BEP 27: "the client MUST NOT ... announce ... [a private torrent] via LPD"
    this.publicHashes = list.filter((t) => !t.private).map((t) => t.infoHashHex);
    this.seeded = new Set(this.publicHashes);
    this.privateHashes = new Set(list.filter((t) => t.private).map((t) => t.infoHashHex));
  }

  /**
   * Every socket of a family receives every group datagram (see udp-transport.ts). The copy
   * kept is the one of the endpoint whose subnet holds the sender (a link-local sender by
   * its scope); a sender on none of our subnets goes to the family's first endpoint.
   */
  private route(heardOn: LpdInterface, bytes: Uint8Array, from: DatagramSource): void {
    if (this.ownerOf(from.address, heardOn.endpoint.family) === heardOn) heardOn.onDatagram(bytes, from);
  }

  private ownerOf(address: string, family: 4 | 6): LpdInterface | undefined {
    let first: LpdInterface | undefined;
    const pct = address.indexOf('%');
    const bare = pct < 0 ? address : address.slice(0, pct);
    const scope = pct < 0 ? undefined : address.slice(pct + 1);
    for (const i of this.ifaces.values()) {
      if (i.endpoint.family !== family) continue;
      first ??= i;
      if (scope !== undefined) {
        if (scope === i.endpoint.ifname) return i;
        continue;
      }
      if (inSubnets(bare, family, this.subnetsOf(i))) return i;
    }
    return first;
  }

  private readonly blockLists = new WeakMap<LpdInterface, BlockList>();
  private subnetsOf(i: LpdInterface): BlockList {
    let list = this.blockLists.get(i);
    if (!list) {
      list = new BlockList();
      const type = i.endpoint.family === 4 ? 'ipv4' : 'ipv6';
      for (const s of i.endpoint.subnets) {
        try {
          list.addSubnet(s.address.replace(/%.*$/, ''), s.prefix, type);
        } catch {}
      }
      this.blockLists.set(i, list);
    }
    return list;
  }

  /** The bridge: a valid search heard on one of our interfaces. */
  private onSearch(search: ReceivedSearch, from: DatagramSource, iface: LpdInterface): void {
    const candidates: PeerCandidate[] = [];
    const linkLocal = /^fe[89ab]/i.test(from.address);
    const bareAddress = from.address.includes('%') ? from.address.slice(0, from.address.indexOf('%')) : from.address;
    for (const h of search.infoHashes) {
      if (this.privateHashes.has(h)) continue;
      let known = false;
      const registry = this.deps.registry;
      if (registry && registry.knowsTorrent(h)) {
        known = true;
        if (this.settings['lpd.bridge_to_tracker']) {
          if (linkLocal) this.bridge.linkLocalNotRegistered++;
          else if (registry.registerExternalPeer(h, bareAddress, search.port)) this.bridge.peersRegisteredInTracker++;
          else this.bridge.peersRefusedByTracker++;
        }
      }
      if (this.seeded.has(h)) {
        known = true;
        // a link-local peer keeps its scope (`fe80::1%br-lan`): the seeder can dial it on that link
        if (this.settings['lpd.bridge_to_seeder']) candidates.push({ infoHashHex: h, address: from.address, port: search.port, source: 'lpd' });
      }
      if (!known) this.bridge.unknownTorrents++;
      this.deps.onHeard?.(h, from.address, search.port, iface.endpoint.ifname);
    }
    if (candidates.length && this.deps.seeder) {
      this.bridge.peersOfferedToSeeder += candidates.length;
      this.deps.seeder.addCandidates(candidates);
    }
    this.deps.dht?.addNode(bareAddress, search.port, 'lpd');
    this.log.debug(`${iface.name}: ${from.address} port ${search.port}: ${search.infoHashes.join(' ')}`);
  }

  idle(): { state: 'off' | 'idle'; reason: string } | undefined {
    if (!this.running) return { state: 'off', reason: 'lpd.enabled is 0' };
    if (this.ifaces.size === 0) return { state: 'idle', reason: this.noInterface ?? 'no interface open' };
    return undefined;
  }

  status(): LpdStatus {
    const interfaces = [...this.ifaces.values()].map((i) => ({
      name: i.name,
      ifname: i.endpoint.ifname,
      family: i.endpoint.family,
      ...i.counters,
      dropped: { ...i.counters.dropped },
    }));
    const idle = this.running && this.ifaces.size === 0 ? (this.noInterface ?? 'no interface open') : undefined;
    return { enabled: this.running, ...(idle !== undefined ? { idle } : {}), interfaces, ...this.totals, dropped: { ...this.totals.dropped }, ...this.bridge };
  }
}

function inSubnets(address: string, family: 4 | 6, list: BlockList): boolean {
  if ((family === 4) !== isIPv4(address)) return false;
  try {
    return list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  } catch {
    return false;
  }
}
