/**
 * The tracker as a daemon Service: HTTP and UDP on one port (every IPv4 and IPv6 address, or
 * the `list address` entries), the allow-list, the stats page, the state file, the expiry
 * sweep; and the TrackerRegistry the LPD bridge registers peers through.
 *
 * Logging: one line at start (addresses and ports), stop and reload; one line the first time
 * each refusal class is seen, then a summary of counts every REFUSAL_SUMMARY_MS while new
 * refusals keep coming (never one line per packet).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Service } from '../daemon.js';
import type { Settings } from '../config/settings.js';
import type { AnnouncedPeer, TrackerRegistry, TrackerSwarms } from '../parts.js';
import type { Logger } from '../util/log.js';
import type { Clock } from '../util/clock.js';
import { describeError } from '../errors.js';
import { AccessList, hexToKey, keyToHex } from './access-list.js';
import { addressBytes, addressText } from './address.js';
import { DEFAULT_MAX_CONNECTIONS, HEAD_TIMEOUT_MS, HttpFront, type FrontReply, type RequestHeaders } from './http-front.js';
import { UdpFront } from './udp-front.js';
import { TrackerCore, type CoreSettings, type HttpReply, type RefusalClass } from './tracker-core.js';
import { readStateFile, writeStateFile } from './state-file.js';
import { renderStatsHtml, renderStatsJson, type StatsExtra, type StatsRow } from './stats-page.js';
import { dhtSummary } from '../dht/dht-summary.js';
import { introductionsSummary, lpdSummary } from '../lpd/lpd-summary.js';
import { announceUrls, FrontRoutes, originHost, type OfferedTorrent } from './front-routes.js';
import type { NodeSummary } from './front-page.js';
import { offeredTorrents, seededEntries, type AllowedEntry } from './offered.js';
import type { SeededTorrent } from '../parts.js';
import type { SeederStatus } from '../seeder/seeder.js';

export const STATE_FILE_NAME = 'tracker.json';

/** The magnets fetching their metadata, from the magnet service's status (anything else: none). */
export function fetchingMagnets(status: unknown): NonNullable<NodeSummary['fetching']> {
  const list = (status as { magnets?: unknown } | undefined)?.magnets;
  if (!Array.isArray(list)) return [];
  return list
    .filter((m): m is { infoHash: string; name?: unknown; forS?: unknown } => typeof m?.infoHash === 'string')
    .map((m) => ({ infoHashHex: m.infoHash, ...(typeof m.name === 'string' ? { name: m.name } : {}), forS: typeof m.forS === 'number' ? m.forS : 0 }));
}
/** The state file is written at most this often (flash wears), and at shutdown. */
export const STATE_WRITE_MS = 5 * 60_000;
const SWEEP_MS = 1000;
const REFUSAL_SUMMARY_MS = 10 * 60_000;
/** The stats page is rebuilt at most this often, however often it is asked for. */
const PAGE_CACHE_MS = 2000;
/** A synthetic peer id for peers registered by LPD (their real one is unknown). */
const EXTERNAL_PEER_ID = new Uint8Array(20);
/** Two LPD announce periods (5 min each) and a minute of slack. */
const EXTERNAL_PEER_TTL_S = 660;

const ANNOUNCE_PATH = Buffer.from('/announce');
const SCRAPE_PATH = Buffer.from('/scrape');

/** True when the raw target is `/announce` or `/scrape`, with or without a query: no page answers those. */
function isTrackerPath(target: Uint8Array): boolean {
  return isPath(target, ANNOUNCE_PATH) || isPath(target, SCRAPE_PATH);
}

function isPath(target: Uint8Array, path: Uint8Array): boolean {
  if (target.length < path.length || (target.length > path.length && target[path.length] !== 0x3f)) return false;
  for (let i = 0; i < path.length; i++) if (target[i] !== path[i]) return false;
  return true;
}

/** The path of a request target (before `?`), as latin1 text; routing only, nothing decoded. */
function pathOf(target: Uint8Array): string {
  let q = target.indexOf(0x3f);
  if (q < 0) q = target.length;
  return Buffer.from(target.buffer, target.byteOffset, Math.min(q, 512)).toString('latin1');
}

export interface TrackerServiceDeps {
  log: Logger;
  clock: Clock;
  /** Tests: a fixed HMAC secret for connection ids. */
  secret?: Uint8Array;
}

function coreSettings(s: Settings): CoreSettings {
  return {
    maxTorrents: s['tracker.max_torrents'],
    maxPeersPerTorrent: s['tracker.max_peers_per_torrent'],
    maxPeers: s['tracker.max_peers'],
    interval: s['tracker.interval'],
    numwantDefault: s['tracker.numwant_default'],
    numwantMax: s['tracker.numwant_max'],
    allowIpParam: s['tracker.allow_ip_param'],
    rateLimit: s['tracker.rate_limit'],
  };
}

const accessOptions = (s: Settings) => ({
  mode: s['tracker.mode'] as 'open' | 'allowlist',
  dir: s['tracker.allowed_dir'],
  hashes: s['tracker.allowed_hash'],
  maxFiles: s['seeder.max_files'],
});

export class TrackerService implements Service, TrackerRegistry, TrackerSwarms {
  readonly name = 'tracker';
  readonly core: TrackerCore;
  readonly access: AccessList;
  private readonly log: Logger;
  private http: HttpFront | undefined;
  private udp: UdpFront | undefined;
  private boundPort = 0;
  private listening: string[] = [];
  private sweepTimer: NodeJS.Timeout | undefined;
  private stateTimer: NodeJS.Timeout | undefined;
  private summaryTimer: NodeJS.Timeout | undefined;
  private readonly seenRefusals = new Set<RefusalClass>();
  private refusalsSinceSummary = new Map<RefusalClass, number>();
  private pageCache = new Map<string, { at: number; reply: HttpReply }>();
  /** `/`, `/catalog.json`, `/torrents/<hash>.torrent`. */
  readonly front: FrontRoutes;
  private readonly startedAt: number;
  /** Torrents and totals at the last write of the state file (nothing is written when unchanged). */
  private lastSignature = '';

  constructor(
    private readonly deps: TrackerServiceDeps,
    private settings: Settings,
  ) {
    this.log = deps.log.child('tracker');
    this.access = new AccessList({ log: this.log, onChange: () => this.onAccessChange() }, accessOptions(settings));
    this.core = new TrackerCore({ access: this.access, ...(deps.secret ? { secret: deps.secret } : {}) }, coreSettings(settings));
    this.core.onRefusal = (c) => this.noteRefusal(c);
    this.core.onNewPeer = (infoHash, address, port, seeder) => this.newPeer(infoHash, address, port, seeder);
    this.core.pages = { page: (path, now) => this.page(path, now) };
    this.startedAt = deps.clock.now();
    this.front = new FrontRoutes({
      offered: () => this.offered(),
      node: () => this.nodeSummary(),
      port: () => this.boundPort,
    });
  }

  get statePath(): string {
    return join(this.settings['main.state_dir'], STATE_FILE_NAME);
  }

  /** The port bound (the setting's, or the one picked when it is 0 in tests). */
  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    this.loadState();
    // Ports first, folders after: in open mode the folder only names torrents on the stats
    // page, so the tracker answers while it is read (a cold start with 100 torrents there).
    // In allowlist mode the list decides every answer: it is read before the port opens.
    const listFirst = this.settings['tracker.mode'] === 'allowlist';
    if (listFirst) await this.access.start();
    try {
      await this.bind();
    } catch (err) {
      this.access.close();
      throw err;
    }
    if (!listFirst) await this.access.start();
    this.sweepTimer = setInterval(() => this.core.store.sweep(this.deps.clock.now()), SWEEP_MS);
    this.sweepTimer.unref();
    this.stateTimer = setInterval(() => this.saveState(), STATE_WRITE_MS);
    this.stateTimer.unref();
    this.summaryTimer = setInterval(() => this.summarizeRefusals(), REFUSAL_SUMMARY_MS);
    this.summaryTimer.unref();
    this.log.info(
      `listening on ${this.listening.join(', ')} (HTTP /announce, /scrape, front page /, stats /stats; UDP BEP 15), mode ${this.settings['tracker.mode']}, interval ${this.settings['tracker.interval']} s`,
    );
  }

  /** One HTTP GET: announces and scrapes straight to the core, the pages through the front routes. */
  private handleHttp(target: Uint8Array, from: Uint8Array, local: () => Uint8Array | undefined, headers: RequestHeaders): FrontReply | Promise<FrontReply> {
    const now = this.deps.clock.now();
    if (isTrackerPath(target)) return this.core.http(now, target, from, local);
    const path = pathOf(target);
    const localText = () => {
      const l = local();
      return l && addressText(l);
    };
    const page =
      this.front.handle(path, headers, localText, now) ??
      // the stats page gives full announce URLs, with the host the browser used
      (path === '/stats' ? this.page(path, now, originHost(headers.host, localText, this.boundPort)) : undefined);
    return page ?? this.core.http(now, target, from, local);
  }

  private async bind(): Promise<void> {
    const http = new HttpFront(
      {
        handle: (t, from, local, headers) => this.handleHttp(t, from, local, headers),
        refuse: (c) => this.core.refuse(c),
      },
      { maxConnections: DEFAULT_MAX_CONNECTIONS, headTimeoutMs: HEAD_TIMEOUT_MS },
    );
    const udp = new UdpFront(
      { handle: (d, a, p) => this.core.udp(this.deps.clock.now(), d, a, p) },
      { receiveBufferBytes: this.settings['tracker.udp_receive_buffer'] * 1024 },
    );
    let port = this.settings['tracker.port'];
    const listening: string[] = [];
    try {
      const addresses = this.settings['tracker.address'];
      const targets: { host: string; v6only: boolean; optional: boolean }[] = addresses.length
        ? addresses.map((a) => ({ host: a, v6only: a.includes(':'), optional: false }))
        : [
            { host: '0.0.0.0', v6only: false, optional: false },
            // a router with IPv6 switched off has no '::'
            { host: '::', v6only: true, optional: true },
          ];
      for (const t of targets) {
        try {
          // TCP first; with port 0 (tests) the UDP socket takes the same number
          port = await http.listen(t.host, port, t.v6only);
          await udp.listen(t.host, port, t.v6only);
          listening.push(t.host.includes(':') ? `[${t.host}]:${port}` : `${t.host}:${port}`);
        } catch (err) {
          if (!t.optional) throw err;
          this.log.info(`not listening on ${t.host}: ${describeError(err)}`);
        }
      }
    } catch (err) {
      await http.close();
      await udp.close();
      throw err;
    }
    this.http = http;
    this.udp = udp;
    this.boundPort = port;
    this.listening = listening;
  }

  /** Not running (its start failed and is retried): the settings its next start uses. */
  configure(settings: Settings): void {
    this.settings = settings;
    this.core.setSettings(coreSettings(settings));
    this.access.configure(accessOptions(settings));
    this.pageCache.clear();
  }

  async reload(settings: Settings): Promise<void> {
    const old = this.settings;
    this.settings = settings;
    this.core.setSettings(coreSettings(settings));
    await this.access.reload(accessOptions(settings));
    this.pageCache.clear();
    this.front.clearCache();
    const enabled = settings['tracker.enabled'];
    const rebind =
      !enabled ||
      !this.http ||
      old['tracker.port'] !== settings['tracker.port'] ||
      old['tracker.udp_receive_buffer'] !== settings['tracker.udp_receive_buffer'] ||
      old['tracker.address'].join() !== settings['tracker.address'].join();
    if (rebind) {
      // swarms are kept: switching the tracker off and on again, or moving it, drops no peer
      await this.http?.close();
      await this.udp?.close();
      this.http = undefined;
      this.udp = undefined;
      this.listening = [];
      if (!enabled) {
        this.log.info('reloaded: tracker.enabled is 0, not listening (swarms kept until it is switched on again)');
        return;
      }
      try {
        await this.bind();
      } catch (err) {
        this.log.error(`cannot listen on the new address/port: ${describeError(err)}; tracker not listening`);
      }
    }
    this.log.info(
      `reloaded: mode ${settings['tracker.mode']}, ${this.access.size} allowed torrent(s), interval ${settings['tracker.interval']} s${rebind ? `, now on ${this.listening.join(', ')}` : ''}`,
    );
  }

  async close(): Promise<void> {
    for (const t of [this.sweepTimer, this.stateTimer, this.summaryTimer]) if (t) clearInterval(t);
    this.access.close();
    await this.http?.close();
    await this.udp?.close();
    this.summarizeRefusals();
    const saved = this.saveState(true);
    this.log.info(
      `stopped: ${this.core.store.peers} peer(s) in ${this.core.store.torrents} swarm(s) forgotten; ${saved ? `download totals saved in ${this.statePath}` : `download totals NOT saved (cannot write ${this.statePath})`}`,
    );
  }

  // ---------------- TrackerRegistry (the LPD bridge) ----------------

  /**
   * Allow-list mode: the allowed torrents. Open mode tracks any torrent, so any torrent it
   * tracks or has room for: a client heard by LPD on this segment is then found by a client
   * of another segment that asks this tracker first (the LPD bridge's whole point).
   */
  knowsTorrent(infoHashHex: string): boolean {
    const key = hexToKey(infoHashHex);
    if (this.access.mode === 'allowlist') return this.access.allows(key);
    const c = this.core.store.countsByKey(key);
    return c.complete + c.incomplete > 0 || this.core.store.torrents < this.settings['tracker.max_torrents'];
  }

  registerExternalPeer(infoHashHex: string, address: string, port: number): boolean {
    if (!/^[0-9a-f]{40}$/i.test(infoHashHex) || port < 1 || port > 65535) return false;
    const addr = addressBytes(address);
    if (!addr) return false;
    const infoHash = Buffer.from(infoHashHex, 'hex');
    if (!this.access.allows(infoHash.toString('latin1'))) return false;
    const r = this.core.store.announce(this.deps.clock.now(), {
      infoHash,
      peerId: EXTERNAL_PEER_ID,
      address: addr,
      port,
      left: undefined,
      event: 'none',
      numwant: 0,
      families: 'same',
      // An LPD peer is heard again only every 5 minutes (BEP 14; libtorrent, Transmission):
      // keep it through one missed announce instead of 1.5 tracker intervals.
      ttlSeconds: Math.max(Math.ceil(this.settings['tracker.interval'] * 1.5), EXTERNAL_PEER_TTL_S),
    });
    return r.refused === undefined;
  }

  // ---------------- TrackerSwarms (mesh discovery) ----------------

  private readonly peerListeners: ((p: AnnouncedPeer) => void)[] = [];

  isPrivate(infoHashHex: string): boolean {
    return /^[0-9a-f]{40}$/i.test(infoHashHex) && this.access.info(hexToKey(infoHashHex.toLowerCase()))?.private === true;
  }

  peersOf(infoHashHex: string, max: number): { address: string; port: number; seed: boolean }[] {
    if (!/^[0-9a-f]{40}$/i.test(infoHashHex)) return [];
    // this node's own seeder announces from loopback: that address means nothing to another host
    return this.core.store
      .peersOf(hexToKey(infoHashHex.toLowerCase()), this.deps.clock.now(), max)
      .filter((p) => !(p.address.length === 4 ? p.address[0] === 127 : p.address.every((x, i) => x === (i === 15 ? 1 : 0))))
      .map((p) => ({ address: addressText(p.address), port: p.port, seed: p.seeder }));
  }

  onPeerAnnounced(listener: (peer: AnnouncedPeer) => void): void {
    this.peerListeners.push(listener);
  }

  private newPeer(infoHash: Uint8Array, address: Uint8Array, port: number, seeder: boolean): void {
    if (this.peerListeners.length === 0) return;
    const peer: AnnouncedPeer = { infoHashHex: Buffer.from(infoHash).toString('hex'), address: addressText(address), port, seeder };
    for (const l of this.peerListeners) {
      try {
        l(peer);
      } catch (err) {
        this.log.error(`new-peer listener failed: ${describeError(err)}`);
      }
    }
  }

  // ---------------- status, stats page ----------------

  status(): Record<string, unknown> {
    const s = this.core.store;
    return {
      port: this.boundPort,
      listening: this.listening,
      mode: this.settings['tracker.mode'],
      torrents: s.torrents,
      peers: s.peers,
      seeders: s.seeders,
      leechers: s.leechers,
      allowed: this.access.size,
      udpReceiveBuffer: this.udp?.receiveBufferSizes() ?? [],
      ...this.core.counters,
    };
  }

  /** One row per torrent: live swarms, torrents with past downloads, allowed torrents. */
  statsRows(): StatsRow[] {
    const showNames = this.settings['tracker.show_names'];
    const rows = new Map<string, StatsRow>();
    const row = (key: string): StatsRow => {
      let r = rows.get(key);
      if (!r) {
        r = { infoHashHex: keyToHex(key), complete: 0, incomplete: 0, downloaded: 0 };
        const info = this.access.info(key);
        if (info) {
          if (showNames) r.name = info.name;
          r.size = info.size;
        }
        rows.set(key, r);
      }
      return r;
    };
    for (const sw of this.core.store.swarmList()) {
      const r = row(sw.key);
      r.complete = sw.seeders;
      r.incomplete = sw.leechers;
      r.downloaded = sw.downloaded;
    }
    for (const [key, downloaded] of this.core.store.retiredList()) row(key).downloaded = downloaded;
    if (this.access.mode === 'allowlist') for (const key of this.access.keys()) row(key);
    return [...rows.values()].sort((a, b) => (a.infoHashHex < b.infoHashHex ? -1 : 1));
  }

  /** The LPD service's status, for the stats page; set by the daemon when LPD runs beside it. */
  lpdStatus: (() => unknown) | undefined;
  /** The daemon's parts and their states (part-state.ts), for the stats page; set by the daemon. */
  partsStatus: (() => Record<string, unknown>) | undefined;

  /** The DHT's status, for the stats and front pages; set by the daemon. */
  dhtStatus: (() => unknown) | undefined;

  /** The introducer's status (mesh discovery), for the stats page; set by the daemon. */
  introductionStatus: (() => unknown) | undefined;

  /** The magnet service's status (magnets fetching their metadata), for the front page; set by the daemon. */
  magnetStatus: (() => unknown) | undefined;

  private lpdExtra(): Pick<StatsExtra, 'lpd' | 'introductions' | 'dht'> {
    const counters = this.lpdStatus?.();
    const summary = lpdSummary(counters);
    const intro = this.introductionStatus?.();
    const introSummary = introductionsSummary(intro);
    const dhtCounters = this.dhtStatus?.();
    const dht = dhtSummary(dhtCounters);
    return {
      ...(summary ? { lpd: { summary, counters } } : {}),
      ...(introSummary ? { introductions: { summary: introSummary, counters: intro } } : {}),
      ...(dht ? { dht: { summary: dht, counters: dhtCounters } } : {}),
    };
  }

  /** The seeder beside this tracker (its torrents and rates for the front page); set by the daemon. */
  seeder: { torrents(): SeededTorrent[]; status(): SeederStatus } | undefined;

  /** The node's torrents for the front page and /catalog.json. */
  offered(): OfferedTorrent[] {
    const allowed: AllowedEntry[] = [];
    for (const key of this.access.dirKeys()) {
      const info = this.access.info(key)!;
      allowed.push({ infoHashHex: keyToHex(key), path: this.access.pathOf(key)!, ...info });
    }
    const seeded = this.seeder ? seededEntries(this.seeder.torrents(), this.seeder.status().torrents) : [];
    return offeredTorrents(allowed, seeded, (hex) => this.core.store.countsByKey(hexToKey(hex)), this.settings['tracker.show_names']);
  }

  private nodeSummary() {
    const s = this.core.store;
    const sd = this.seeder?.status();
    const lpd = lpdSummary(this.lpdStatus?.());
    const intro = introductionsSummary(this.introductionStatus?.());
    const dht = dhtSummary(this.dhtStatus?.());
    const downloadRate = (sd as { downloadRate?: number } | undefined)?.downloadRate;
    return {
      torrents: s.torrents,
      peers: s.peers,
      seeders: s.seeders,
      leechers: s.leechers,
      downloaded: this.statsRows().reduce((t, r) => t + r.downloaded, 0),
      mode: this.settings['tracker.mode'],
      interval: this.settings['tracker.interval'],
      uptimeSeconds: Math.floor((this.deps.clock.now() - this.startedAt) / 1000),
      ...(lpd !== undefined ? { lpd } : {}),
      ...(intro !== undefined ? { introductions: intro } : {}),
      ...(dht !== undefined ? { dht } : {}),
      ...(sd ? { uploadRate: sd.uploadRate, seederPeers: sd.peers, downloadRate: downloadRate ?? 0 } : {}),
      fetching: fetchingMagnets(this.magnetStatus?.()),
    };
  }

  /** stats.json's fields beyond the bttrack ones: the node's rates and each offered torrent's state. */
  private statsJsonExtra(): Record<string, unknown> {
    const n = this.nodeSummary();
    return {
      ...(n.uploadRate !== undefined ? { upload_rate: n.uploadRate, download_rate: n.downloadRate, seeder_peers: n.seederPeers } : {}),
      offered: this.offered().map((o) => ({ info_hash: o.item.infoHashHex, ...(o.item.name !== undefined ? { name: o.item.name } : {}), state: o.item.state })),
    };
  }

  private page(path: string, nowMs: number, host?: string): HttpReply | undefined {
    if (path !== '/stats.json' && path !== '/stats') return undefined;
    const key = host === undefined ? path : `${path} ${host}`;
    const cached = this.pageCache.get(key);
    if (cached && nowMs - cached.at < PAGE_CACHE_MS) return cached.reply;
    const rows = this.statsRows();
    const extra = {
      mode: this.settings['tracker.mode'],
      interval: this.settings['tracker.interval'],
      uptimeSeconds: Math.floor((nowMs - this.startedAt) / 1000),
      counters: { ...this.core.counters },
      memory: (({ rss, heapUsed, arrayBuffers }) => ({ rss, heapUsed, arrayBuffers }))(process.memoryUsage()),
      ...this.lpdExtra(),
      ...(path === '/stats.json' ? { json: this.statsJsonExtra() } : {}),
      ...(this.partsStatus ? { parts: this.partsStatus() } : {}),
      ...(host !== undefined ? { announceUrls: announceUrls(host, this.boundPort) } : {}),
    };
    const reply: HttpReply =
      path === '/stats.json'
        ? { status: 200, contentType: 'application/json', body: Buffer.from(renderStatsJson(rows, extra)) }
        : { status: 200, contentType: 'text/html; charset=utf-8', body: Buffer.from(renderStatsHtml(rows, extra)) };
    if (this.pageCache.size > 64) this.pageCache.clear(); // many Host names: keep the cache bounded
    this.pageCache.set(key, { at: nowMs, reply });
    return reply;
  }

  // ---------------- allow-list changes ----------------

  private onAccessChange(): void {
    this.pageCache.clear();
    this.front.clearCache();
    if (this.access.mode !== 'allowlist') return;
    // torrents no longer allowed lose their peers at once
    const drop: string[] = [];
    for (const sw of this.core.store.swarmList()) if (!this.access.allows(sw.key)) drop.push(sw.key);
    for (const key of drop) this.core.store.drop(key);
    if (drop.length) this.log.info(`allow-list: dropped ${drop.length} torrent(s) no longer allowed`);
  }

  // ---------------- refusals ----------------

  private noteRefusal(c: RefusalClass): void {
    this.refusalsSinceSummary.set(c, (this.refusalsSinceSummary.get(c) ?? 0) + 1);
    if (!this.seenRefusals.has(c)) {
      this.seenRefusals.add(c);
      this.log.info(`refusing: ${c} (further ones are counted and summarized every ${REFUSAL_SUMMARY_MS / 60000} min)`);
    }
  }

  private summarizeRefusals(): void {
    if (this.refusalsSinceSummary.size === 0) return;
    const parts = [...this.refusalsSinceSummary].map(([c, n]) => `${c} ${n}`);
    this.refusalsSinceSummary = new Map();
    this.log.info(`refused since the last summary: ${parts.join(', ')}`);
  }

  // ---------------- state file ----------------

  private loadState(): void {
    const path = this.statePath;
    const r = readStateFile(path);
    if (r.kind === 'missing') return;
    if (r.kind === 'corrupt') {
      this.log.error(
        `state file ${path} is unreadable (${r.problem}); ${r.setAsideTo ? `set aside as ${r.setAsideTo}` : 'could not set it aside'}, starting with empty totals`,
      );
      return;
    }
    for (const [hex, downloaded] of r.state.torrents) this.core.store.restoreDownloaded(hexToKey(hex), downloaded);
    this.log.info(`state: ${r.state.torrents.size} torrent(s) read from ${path}`);
  }

  /**
   * Writes the state file when the totals changed since the last write (or always when
   * `force`). Returns false when it could not be written: the totals stay in memory and the
   * write is tried again at the next period (a failure is logged once until one succeeds).
   */
  saveState(force = false): boolean {
    const torrents = new Map<string, number>();
    for (const sw of this.core.store.swarmList()) torrents.set(keyToHex(sw.key), sw.downloaded);
    for (const [key, d] of this.core.store.retiredList()) torrents.set(keyToHex(key), d);
    const signature = [...torrents].map(([h, d]) => `${h}${d}`).join();
    if (!force && signature === this.lastSignature) return true;
    try {
      mkdirSync(this.settings['main.state_dir'], { recursive: true });
      writeStateFile(this.statePath, { torrents });
      this.lastSignature = signature;
      if (this.stateFailing) this.log.info(`state file ${this.statePath} written again`);
      this.stateFailing = false;
      return true;
    } catch (err) {
      if (!this.stateFailing)
        this.log.error(`cannot write state file ${this.statePath}: ${describeError(err)}; download totals kept in memory, retrying every ${STATE_WRITE_MS / 60000} min`);
      this.stateFailing = true;
      return false;
    }
  }
  private stateFailing = false;
}
