/**
 * The announcer: tells trackers which torrents the seeder offers, and hands the peers they
 * return to the seeder as connection candidates.
 *
 * For each torrent it keeps a list of tiers, announced concurrently (as libtorrent's
 * `announce_to_all_tiers`), each with its own timer:
 *   1. the torrent's own BEP 12 tiers (`announce-list`, else `announce`). BEP 12: "try
 *      the trackers of a tier in order; if a tracker responds, move it to the front of
 *      its tier" and use the others as backups only;
 *   2. the configured mesh trackers (`list mesh_tracker`) as one tier of their own;
 *   3. the daemon's own tracker as a tier of its own (`announce_self`).
 * A private torrent (BEP 27: "the client MUST publish its presence (to get other peers)
 * ONLY via the trackers explicitly described in the metainfo file") gets only 1.
 *
 * A tracker that fails is backed off exponentially with jitter (BACKOFF_*), separately,
 * so it never delays another tracker or tier. Requests wait for a slot in one of two
 * pools, internet and mesh: unreachable internet trackers, each holding a request for up
 * to the transport's deadline, can never starve the in-mesh announces.
 *
 * When a download completes (the torrent's `left` goes from more than 0 to 0), every tier is
 * announced at once with `event=completed` (BEP 3: "sent when the download completes"), once
 * to each tracker that has our `started`; one that fails gets it at its next attempt. A
 * torrent complete when first seen never sends it.
 *
 * When every internet tracker of a (public) torrent has failed its last attempt, the
 * torrent is said to announce in-mesh (the mesh tiers were announced all along); the log
 * says so once, and once again when an internet tracker answers.
 */
import type { PeerCandidate, SeededTorrent, SeederView } from '../parts.js';
import type { AnnounceReply, AnnounceRequest } from '../codec/announce-client.js';
import type { AnnounceEvent } from '../codec/tracker-protocol.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { TrackerError, type AnnounceTransport } from './announce-transport.js';

export type TierKind = 'torrent' | 'mesh' | 'self';

export interface AnnouncerDeps {
  clock: Clock;
  log: Logger;
  seeder: SeederView;
  /** By URL scheme: 'http:', 'https:', 'udp:'. A tracker whose scheme has none is shown as unsupported. */
  transports: Partial<Record<string, AnnounceTransport>>;
  /** [0, 1): backoff jitter and the announce key. */
  random?: () => number;
}

export interface AnnouncerSettings {
  /** `seeder.mesh_tracker`: announce URLs of in-mesh trackers. */
  meshTrackers: string[];
  /** This daemon's own tracker, when it runs and `seeder.announce_self` is on. */
  selfTracker?: string;
  /** 20 bytes: the peer id the seeder uses in its handshakes. */
  peerId: Uint8Array;
  /** Peers asked of each tracker. */
  numwant: number;
  /** Requests in flight at once, per pool (internet, mesh). */
  maxInFlight: number;
}

/** BEP 3 trackers say `interval`; one that does not gets this (the common internet value). */
export const DEFAULT_INTERVAL_S = 1800;
/** Floor and ceiling on a tracker's interval: a tracker saying 1 s must not make us hammer it; one saying a day must not lose us. */
export const MIN_INTERVAL_S = 30;
export const MAX_INTERVAL_S = 3 * 3600;
/** First retry after a failure; doubled at each further failure. */
export const BACKOFF_BASE_MS = 15_000;
/** Caps: internet trackers come back rarely (libtorrent caps near an hour; 15 min makes the switch back visible soon); mesh trackers restart with their router and must be found again within a mesh interval. */
export const BACKOFF_CAP_INTERNET_MS = 15 * 60_000;
export const BACKOFF_CAP_MESH_MS = 2 * 60_000;
/** Jitter: ±20 %, so torrents sharing a dead tracker do not retry in lockstep. */
export const BACKOFF_JITTER = 0.2;
/** Listen port not known yet (seeder starting): look again after this. */
const NO_PORT_RETRY_MS = 5_000;
/** `stopped` announces at close: all at once, given up after this. */
export const STOP_DEADLINE_MS = 5_000;
/** Defaults for the settings the daemon does not expose. */
export const DEFAULT_NUMWANT = 50;
export const DEFAULT_MAX_IN_FLIGHT = 8;

interface TrackerState {
  url: string;
  /** Why it is never announced to (bad URL, unsupported scheme). */
  unsupported?: string;
  failures: number;
  retryAt: number;
  /** Answered at least once since start: it has our `started`; gets `stopped` at close. */
  started: boolean;
  /** The download completed since it last heard from us: its next announce (after `started`) says `completed`. */
  completedDue?: boolean;
  announcing: boolean;
  lastAt?: number;
  lastOk?: boolean;
  lastError?: string;
  warning?: string;
  peers?: number;
  seeders?: number;
  leechers?: number;
  intervalS?: number;
  minIntervalS?: number;
  trackerId?: string;
}

interface TierState {
  kind: TierKind;
  trackers: TrackerState[];
  nextAt: number;
  timer?: { cancel(): void };
  busy: boolean;
  /** Announce again as soon as the pass under way ends (a download completed meanwhile). */
  rerun?: boolean;
}

interface TorrentState {
  torrent: SeededTorrent;
  tiers: TierState[];
  /** Every internet tracker failed; logged once, cleared (and logged) when one answers. */
  inMesh: boolean;
  removed: boolean;
  /** `left` was above 0 when last looked at: reaching 0 is a completed download. */
  incomplete: boolean;
}

export interface TrackerStatus {
  url: string;
  /** ok: last announce answered; failing: last announce failed (backing off); pending: not announced yet. */
  state: 'ok' | 'failing' | 'pending' | 'announcing' | 'unsupported';
  failures: number;
  error?: string;
  warning?: string;
  peers?: number;
  seeders?: number;
  leechers?: number;
  lastAnnounceAgoS?: number;
  /** Backing off after a failure: not tried again for this long. */
  retryInS?: number;
}

export interface TorrentAnnounceStatus {
  infoHash: string;
  private: boolean;
  /**
   * internet: announced to its own trackers (and the mesh tiers); in-mesh: every internet
   * tracker failed, the mesh tiers carry it; mesh-only: the torrent lists no tracker of its
   * own; private: own trackers only (BEP 27).
   */
  mode: 'internet' | 'in-mesh' | 'mesh-only' | 'private';
  /** nextAnnounceInS: when the tier is announced next (absent while it is being announced). */
  tiers: { kind: TierKind; nextAnnounceInS?: number; trackers: TrackerStatus[] }[];
}

export interface AnnouncerStatus {
  torrents: TorrentAnnounceStatus[];
}

/** A counting semaphore. */
class Pool {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly size: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.size) await new Promise<void>((r) => this.waiting.push(r));
    else this.running++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

const SUPPORTED = ['http:', 'https:', 'udp:'];

export class Announcer {
  private readonly torrents = new Map<string, TorrentState>();
  /**
   * Trackers that failed at the transport level (no answer, refused, no name), shared by
   * every torrent: until `until`, other torrents' announces to the same URL fail at once.
   * When the internet link drops, a router seeding many torrents then probes each dead
   * tracker about once per backoff step instead of once per torrent.
   */
  private readonly unreachable = new Map<string, { until: number; error: string }>();
  private readonly pools: { internet: Pool; mesh: Pool };
  private readonly key: number;
  private running = false;
  private closing = false;

  constructor(
    private readonly deps: AnnouncerDeps,
    private settings: AnnouncerSettings,
  ) {
    if (settings.peerId.length !== 20) throw new RangeError('peer id must be 20 bytes');
    this.pools = { internet: new Pool(settings.maxInFlight), mesh: new Pool(settings.maxInFlight) };
    this.key = Math.floor(this.random() * 2 ** 32) >>> 0;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.deps.seeder.onTorrentsChanged(() => {
      if (this.running) this.sync();
    });
    this.sync();
  }

  /** New mesh/self trackers (after a reload): mesh tiers are rebuilt, keeping what is known of unchanged URLs. */
  update(settings: Pick<AnnouncerSettings, 'meshTrackers' | 'selfTracker'>): void {
    const changed =
      settings.selfTracker !== this.settings.selfTracker || settings.meshTrackers.join('\n') !== this.settings.meshTrackers.join('\n');
    this.settings = { ...this.settings, meshTrackers: settings.meshTrackers, selfTracker: settings.selfTracker };
    if (!changed || !this.running) return;
    for (const t of this.torrents.values()) {
      const urls = (tier: TierState) => `${tier.kind} ${tier.trackers.map((tr) => tr.url).sort().join(' ')}`;
      const oldTiers = new Map(t.tiers.map((tier) => [urls(tier), tier]));
      const oldTrackers = new Map(t.tiers.flatMap((tier) => tier.trackers.map((tr) => [`${tier.kind} ${tr.url}`, tr] as const)));
      const next = this.buildTiers(t.torrent).map((tier) => {
        // an unchanged tier keeps its timer; a changed one keeps what is known of its trackers
        const same = oldTiers.get(urls(tier));
        if (same) {
          oldTiers.delete(urls(tier));
          return same;
        }
        return { ...tier, trackers: tier.trackers.map((tr) => oldTrackers.get(`${tier.kind} ${tr.url}`) ?? tr) };
      });
      for (const tier of oldTiers.values()) tier.timer?.cancel();
      const fresh = next.filter((tier) => !t.tiers.includes(tier));
      t.tiers = next;
      for (const tier of fresh) this.runTier(t, tier);
      // trackers no longer configured get our `stopped`
      const kept = new Set(next.flatMap((tier) => tier.trackers));
      const dropped = [...oldTiers.values()].map((tier) => ({ ...tier, trackers: tier.trackers.filter((tr) => !kept.has(tr)) }));
      if (dropped.some((tier) => tier.trackers.length)) void this.stopAll([{ ...t, tiers: dropped }]);
    }
  }

  /** Sends `stopped` to every tracker that has our `started`, all at once, for at most STOP_DEADLINE_MS. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.running = false;
    const states = [...this.torrents.values()];
    this.torrents.clear();
    for (const t of states) {
      t.removed = true;
      for (const tier of t.tiers) tier.timer?.cancel();
    }
    await this.stopAll(states);
    for (const tr of new Set(Object.values(this.deps.transports))) tr?.close?.();
  }

  status(): AnnouncerStatus {
    const now = this.deps.clock.now();
    const secs = (ms: number) => Math.max(0, Math.round(ms / 1000));
    return {
      torrents: [...this.torrents.values()].map((t) => ({
        infoHash: t.torrent.infoHashHex,
        private: t.torrent.private,
        mode: this.modeOf(t),
        tiers: t.tiers.map((tier) => ({
          kind: tier.kind,
          ...(tier.busy || tier.trackers.every((tr) => tr.unsupported) ? {} : { nextAnnounceInS: secs(tier.nextAt - now) }),
          trackers: tier.trackers.map((tr) => {
            const s: TrackerStatus = {
              url: tr.url,
              state: tr.unsupported
                ? 'unsupported'
                : tr.announcing
                  ? 'announcing'
                  : tr.lastOk === undefined
                    ? 'pending'
                    : tr.lastOk
                      ? 'ok'
                      : 'failing',
              failures: tr.failures,
            };
            const error = tr.unsupported ?? (tr.lastOk === false ? tr.lastError : undefined);
            if (error) s.error = error;
            if (tr.warning) s.warning = tr.warning;
            if (tr.peers !== undefined) s.peers = tr.peers;
            if (tr.seeders !== undefined) s.seeders = tr.seeders;
            if (tr.leechers !== undefined) s.leechers = tr.leechers;
            if (tr.lastAt !== undefined) s.lastAnnounceAgoS = secs(now - tr.lastAt);
            if (tr.lastOk === false && tr.retryAt > now) s.retryInS = secs(tr.retryAt - now);
            return s;
          }),
        })),
      })),
    };
  }

  // -------------------------------------------------------------------------------------

  private random(): number {
    return (this.deps.random ?? Math.random)();
  }

  private modeOf(t: TorrentState): TorrentAnnounceStatus['mode'] {
    if (t.torrent.private) return 'private';
    if (!t.tiers.some((tier) => tier.kind === 'torrent')) return 'mesh-only';
    return t.inMesh ? 'in-mesh' : 'internet';
  }

  /** Follows the seeder's torrent list: new ones announced (`started`), removed ones `stopped`. */
  private sync(): void {
    const current = new Map(this.deps.seeder.torrents().map((t) => [t.infoHashHex, t]));
    const gone: TorrentState[] = [];
    for (const [hash, t] of this.torrents) {
      if (!current.has(hash)) {
        this.torrents.delete(hash);
        t.removed = true;
        for (const tier of t.tiers) tier.timer?.cancel();
        gone.push(t);
      }
    }
    if (gone.length) void this.stopAll(gone);
    for (const [hash, torrent] of current) {
      const known = this.torrents.get(hash);
      if (known) {
        this.checkCompleted(known);
        continue;
      }
      const t: TorrentState = { torrent, tiers: this.buildTiers(torrent), inMesh: false, removed: false, incomplete: torrent.left() > 0 };
      this.torrents.set(hash, t);
      if (!torrent.private && !t.tiers.length) {
        this.deps.log.warn(`${hash}: no tracker to announce to (none in the torrent, no mesh_tracker, announce_self off): peers only from LPD and PEX`);
      }
      for (const tier of t.tiers) this.runTier(t, tier);
    }
  }

  /** A download completed: every tracker that has our `started` is owed a `completed`, sent now. */
  private checkCompleted(t: TorrentState): void {
    const left = t.torrent.left();
    if (left > 0 || !t.incomplete) {
      t.incomplete = left > 0;
      return;
    }
    t.incomplete = false;
    for (const tier of t.tiers) {
      for (const tr of tier.trackers) tr.completedDue = true;
      if (tier.busy) tier.rerun = true;
      else {
        tier.timer?.cancel();
        this.runTier(t, tier);
      }
    }
  }

  private buildTiers(torrent: SeededTorrent): TierState[] {
    const newTracker = (url: string): TrackerState => {
      const tr: TrackerState = { url, failures: 0, retryAt: 0, started: false, announcing: false };
      let parsed: URL | undefined;
      try {
        parsed = new URL(url);
      } catch {
        tr.unsupported = 'not a URL';
      }
      if (parsed && !SUPPORTED.includes(parsed.protocol)) tr.unsupported = `unsupported scheme ${parsed.protocol}`;
      else if (parsed && !this.deps.transports[parsed.protocol]) tr.unsupported = `no ${parsed.protocol} transport`;
      return tr;
    };
    const tier = (kind: TierKind, urls: string[]): TierState => ({ kind, trackers: urls.map(newTracker), nextAt: 0, busy: false });
    // a URL listed twice (in one tier or in two) is announced once, where it first appears
    const seen = new Set<string>();
    const own = torrent.announceTiers.map((urls) => urls.filter((u) => !seen.has(u) && seen.add(u)));
    if (torrent.private) return own.filter((urls) => urls.length).map((urls) => tier('torrent', urls));
    const self = this.settings.selfTracker;
    const mesh = [...new Set(this.settings.meshTrackers)].filter((u) => u !== self);
    const meshSet = new Set([...mesh, ...(self ? [self] : [])]);
    // a mesh tracker that the torrent also lists (as `meshseed create` writes them) is
    // announced in the mesh tier only, so it never counts as an internet tracker
    const tiers = own.map((urls) => urls.filter((u) => !meshSet.has(u))).filter((urls) => urls.length).map((urls) => tier('torrent', urls));
    if (mesh.length) tiers.push(tier('mesh', mesh));
    if (self) tiers.push(tier('self', [self]));
    return tiers;
  }

  private schedule(t: TorrentState, tier: TierState, at: number): void {
    tier.timer?.cancel();
    tier.nextAt = at;
    if (t.removed || !this.running || !t.tiers.includes(tier)) return;
    tier.timer = this.deps.clock.setTimeout(() => this.runTier(t, tier), Math.max(0, at - this.deps.clock.now()));
  }

  /** BEP 12 within a tier: trackers in order, backed-off ones skipped; the first that answers moves to the front. */
  private runTier(t: TorrentState, tier: TierState): void {
    if (tier.busy || t.removed || !this.running) return;
    tier.busy = true;
    void this.tierPass(t, tier).finally(() => {
      tier.busy = false;
      if (tier.rerun) {
        tier.rerun = false;
        tier.timer?.cancel();
        this.runTier(t, tier);
      }
    });
  }

  private async tierPass(t: TorrentState, tier: TierState): Promise<void> {
    const port = this.deps.seeder.listenPort();
    if (port === undefined) {
      this.schedule(t, tier, this.deps.clock.now() + NO_PORT_RETRY_MS);
      return;
    }
    for (const tr of [...tier.trackers]) {
      if (tr.unsupported || tr.retryAt > this.deps.clock.now()) continue;
      const ok = await this.announceOne(t, tier, tr, port, !tr.started ? 'started' : tr.completedDue ? 'completed' : 'none');
      if (t.removed || !this.running || !t.tiers.includes(tier)) return;
      if (ok) {
        // BEP 12: "If a connection with a tracker is successful, it will be moved to the front of the tier."
        const i = tier.trackers.indexOf(tr);
        if (i > 0) tier.trackers.unshift(...tier.trackers.splice(i, 1));
        const interval = Math.min(MAX_INTERVAL_S, Math.max(MIN_INTERVAL_S, tr.intervalS ?? DEFAULT_INTERVAL_S, tr.minIntervalS ?? 0));
        this.schedule(t, tier, this.deps.clock.now() + interval * 1000);
        return;
      }
    }
    // every tracker of the tier failed or waits out its backoff: come back for the first due one
    const due = tier.trackers.filter((tr) => !tr.unsupported).map((tr) => tr.retryAt);
    if (due.length) this.schedule(t, tier, Math.max(this.deps.clock.now(), Math.min(...due)));
  }

  private async announceOne(t: TorrentState, tier: TierState, tr: TrackerState, port: number, event: AnnounceEvent): Promise<boolean> {
    const url = new URL(tr.url);
    const transport = this.deps.transports[url.protocol]!;
    const pool = tier.kind === 'torrent' ? this.pools.internet : this.pools.mesh;
    tr.announcing = true;
    let reply: AnnounceReply | undefined;
    let error: string | undefined;
    let unreachable = false;
    let probed = false;
    let sentLeft = -1;
    try {
      reply = await pool.run(() => {
        if (t.removed || !this.running) return Promise.reject(new TrackerError('stopped'));
        // another torrent found this tracker unreachable a moment ago: fail without traffic
        const down = this.unreachable.get(tr.url);
        if (down && down.until > this.deps.clock.now()) return Promise.reject(new TrackerError(down.error));
        probed = true;
        // counters read when the request leaves, not when it started waiting for a slot
        const req = this.request(t.torrent, port, event, tr.trackerId);
        sentLeft = req.left;
        return transport.announce(url, req);
      });
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      unreachable = !(err instanceof TrackerError && err.fromTracker);
    }
    tr.announcing = false;
    if (t.removed || !this.running) return false;
    const now = this.deps.clock.now();
    tr.lastAt = now;
    if (reply) {
      this.unreachable.delete(tr.url);
      tr.lastOk = true;
      tr.failures = 0;
      tr.retryAt = 0;
      tr.started = true;
      // `completed`, or `started` with left 0, told it we are a seed (a download that
      // completed while a request was under way still owes it the event)
      if (event === 'completed' || (event === 'started' && sentLeft === 0)) delete tr.completedDue;
      delete tr.lastError;
      tr.intervalS = reply.interval;
      tr.minIntervalS = reply.minInterval;
      if (reply.trackerId !== undefined) tr.trackerId = reply.trackerId;
      if (reply.warning !== undefined) {
        if (reply.warning !== tr.warning) this.deps.log.warn(`${t.torrent.infoHashHex}: ${tr.url} warns: ${reply.warning}`);
        tr.warning = reply.warning;
      } else delete tr.warning;
      tr.peers = reply.peers.length;
      if (reply.complete !== undefined) tr.seeders = reply.complete;
      if (reply.incomplete !== undefined) tr.leechers = reply.incomplete;
      this.deps.log.debug(`${t.torrent.infoHashHex}: ${tr.url}: ${reply.peers.length} peers, next in ${reply.interval ?? DEFAULT_INTERVAL_S} s`);
      if (reply.peers.length) {
        const hash = t.torrent.infoHashHex;
        this.deps.seeder.addCandidates(
          reply.peers.map((p): PeerCandidate => ({ infoHashHex: hash, address: p.address, port: p.port, source: 'tracker' })),
        );
      }
    } else {
      tr.lastOk = false;
      tr.failures++;
      tr.lastError = error ?? 'failed';
      tr.retryAt = now + this.backoffMs(tr.failures, tier.kind);
      // a transport failure (not the tracker refusing this torrent) holds for every torrent;
      // only a real probe moves the shared deadline, so some torrent probes again after it
      if (unreachable && probed) {
        const down = this.unreachable.get(tr.url);
        if (!down || down.until < tr.retryAt) this.unreachable.set(tr.url, { until: tr.retryAt, error: tr.lastError });
        if (this.unreachable.size > 1024) for (const [u, d] of this.unreachable) if (d.until <= now) this.unreachable.delete(u);
      }
      this.deps.log.debug(`${t.torrent.infoHashHex}: ${tr.url}: ${tr.lastError} (failure ${tr.failures}, retry in ${Math.round((tr.retryAt - now) / 1000)} s)`);
    }
    if (tier.kind === 'torrent') this.checkFallback(t, reply ? tr : undefined);
    return reply !== undefined;
  }

  /** Backoff after `failures` consecutive failures: base·2^(n-1), capped, ±jitter. */
  backoffMs(failures: number, kind: TierKind): number {
    const cap = kind === 'torrent' ? BACKOFF_CAP_INTERNET_MS : BACKOFF_CAP_MESH_MS;
    const raw = Math.min(cap, BACKOFF_BASE_MS * 2 ** Math.min(30, failures - 1));
    return Math.round(raw * (1 + BACKOFF_JITTER * (2 * this.random() - 1)));
  }

  private checkFallback(t: TorrentState, answered: TrackerState | undefined): void {
    if (t.torrent.private) return;
    const internet = t.tiers.filter((tier) => tier.kind === 'torrent').flatMap((tier) => tier.trackers.filter((tr) => !tr.unsupported));
    if (!internet.length) return;
    const hash = t.torrent.infoHashHex;
    if (answered && t.inMesh) {
      t.inMesh = false;
      this.deps.log.info(`${hash}: internet tracker ${answered.url} answers again: announcing to internet trackers again`);
      return;
    }
    if (!t.inMesh && internet.every((tr) => tr.lastOk === false)) {
      t.inMesh = true;
      const mesh = t.tiers.filter((tier) => tier.kind !== 'torrent').flatMap((tier) => tier.trackers.map((tr) => tr.url));
      this.deps.log.warn(
        `${hash}: every internet tracker failed (${internet.length}; last: ${internet[internet.length - 1]!.lastError}): ` +
          (mesh.length ? `announcing in-mesh only (${mesh.join(', ')})` : 'no in-mesh tracker configured (mesh_tracker, announce_self): peers only from LPD and PEX'),
      );
    }
  }

  private request(torrent: SeededTorrent, port: number, event: AnnounceEvent, trackerId?: string): AnnounceRequest {
    const req: AnnounceRequest = {
      infoHash: torrent.infoHash,
      peerId: this.settings.peerId,
      port,
      uploaded: torrent.uploaded(),
      downloaded: torrent.downloaded(),
      left: torrent.left(),
      event,
      numwant: event === 'stopped' ? 0 : this.settings.numwant,
      key: this.key,
    };
    if (trackerId !== undefined) req.trackerId = trackerId;
    return req;
  }

  /**
   * Best effort: `stopped` to each tracker that holds our `started` and answered its last
   * announce (a failing one is most likely unreachable), at most `maxInFlight` at a time,
   * all given up after STOP_DEADLINE_MS. Failures are ignored.
   */
  private async stopAll(states: TorrentState[]): Promise<void> {
    const port = this.deps.seeder.listenPort() ?? 1;
    const jobs: (() => Promise<unknown>)[] = [];
    for (const t of states) {
      for (const tier of t.tiers) {
        for (const tr of tier.trackers) {
          if (!tr.started || tr.unsupported || tr.lastOk !== true) continue;
          const url = new URL(tr.url);
          const transport = this.deps.transports[url.protocol]!;
          const req = this.request(t.torrent, port, 'stopped', tr.trackerId);
          jobs.push(() => transport.announce(url, req).catch(() => undefined));
        }
      }
    }
    if (!jobs.length) return;
    let expired = false;
    const worker = async () => {
      for (let job = jobs.shift(); job && !expired; job = jobs.shift()) await job();
    };
    await new Promise<void>((resolve) => {
      const timer = this.deps.clock.setTimeout(() => {
        expired = true;
        resolve();
      }, STOP_DEADLINE_MS);
      void Promise.all(Array.from({ length: Math.min(jobs.length, this.settings.maxInFlight) }, worker)).then(() => {
        timer.cancel();
        resolve();
      });
    });
  }
}

/** Azureus-style peer id: `-MS` + 4 version digits + `-` + 12 random printable bytes. */
export function makePeerId(version: string, random: () => number = Math.random): Uint8Array {
  const digits = version
    .split('.')
    .map((n) => Number(n) % 10)
    .concat([0, 0, 0, 0])
    .slice(0, 4)
    .join('');
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  let tail = '';
  for (let i = 0; i < 12; i++) tail += alphabet[Math.floor(random() * alphabet.length)];
  return Buffer.from(`-MS${digits}-${tail}`, 'latin1');
}
