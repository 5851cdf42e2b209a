/**
 * Mesh lookup: the peers of a torrent this node knows or can find on the mesh, for LPD
 * introductions (src/lpd/introducer.ts) and any part that needs candidates (a magnet fetch,
 * mirror mode).
 *
 * Sources, in order; the first three are local and asked every time:
 * 1. this node's seeder: the peers it is connected to for the torrent;
 * 2. this node's tracker: the torrent's swarm (seeders first), LPD-bridged peers included;
 * 3. peers heard by LPD (told through `heardByLpd`), on another interface than the asker's;
 * 4. only when those give nothing (after leaving out `except`): the mesh trackers
 *    (`seeder.mesh_tracker` and `lpd.lookup_tracker`). Each gets an announce for the torrent
 *    with `left` > 0 (trackers give seeders to leechers only) and `numwant=50`, then at once
 *    `event=stopped`, so any tracker answers (opentracker included) and no ghost peer stays.
 *    Remote answers are cached per torrent for 60 s (an empty one 15 s), lookups of one
 *    torrent in flight are shared, and each tracker is asked at most LOOKUP_BURST times in
 *    a row, then one more every LOOKUP_REFILL_MS (one token bucket per tracker);
 * 5. at the same time as 4 (both are remote, so one waits for neither): the mesh DHT
 *    (`dht` dep, DhtService.peersFor), a lookup bounded by LOOKUP_DHT_TIMEOUT_MS so an
 *    introduction (10 s) still has time to be sent. The DHT never answers for a private
 *    torrent (BEP 27); callers do not look private torrents up anyway.
 */
import type { AnnounceTransport } from './announce-transport.js';
import type { AnnounceRequest } from '../codec/announce-client.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { describeError } from '../errors.js';

export interface MeshPeer {
  address: string;
  port: number;
  /** Known to have every piece. */
  seed?: boolean;
  source: 'seeder' | 'tracker' | 'lpd' | 'mesh-tracker' | 'dht';
}

/** What other parts use. */
export interface MeshLookup {
  /** Peers of the torrent (info hash, 40 hex), at most LOOKUP_MAX_PEERS; `except` addresses are left out. */
  peersFor(infoHashHex: string, opts?: { except?: string[]; interface?: string }): Promise<MeshPeer[]>;
}

export const LOOKUP_MAX_PEERS = 50;
/** Remote answers are kept this long per torrent… */
export const LOOKUP_CACHE_MS = 60_000;
/** …an empty one less long: a seed may announce any moment. */
export const LOOKUP_EMPTY_CACHE_MS = 15_000;
/** Per tracker: lookups in a burst, then one per refill period (12 a minute). */
export const LOOKUP_BURST = 10;
export const LOOKUP_REFILL_MS = 5_000;
/** A DHT lookup (source 5) gives up after this long with the peers found so far. */
export const LOOKUP_DHT_TIMEOUT_MS = 5_000;
/** Peers heard by LPD are kept two LPD periods and a minute (BEP 14 clients repeat every 5 min). */
export const LPD_HEARD_TTL_MS = 11 * 60_000;
/** Bound on the LPD-heard table (torrents × peers together). */
export const LPD_HEARD_MAX = 4096;
/** Torrents whose remote answer is cached at once. */
const CACHE_MAX = 1024;
/** `left` sent in a lookup: any positive number makes us a leecher to the tracker. */
const LOOKUP_LEFT = 1;

export interface MeshLookupDeps {
  clock: Clock;
  log: Logger;
  /** Source 1: peers the seeder is connected to for the torrent. */
  seederPeers?: (infoHashHex: string) => { address: string; port: number; seed?: boolean }[];
  /** Source 2: the own tracker's swarm. */
  trackerPeers?: (infoHashHex: string, max: number) => { address: string; port: number; seed: boolean }[];
  /** Source 5: the mesh DHT, when it runs (peers found within `timeoutMs`). */
  dhtPeers?: (infoHashHex: string, timeoutMs: number) => Promise<{ address: string; port: number }[]>;
  /** Source 4: transports by URL scheme ('http:', 'https:', 'udp:'). */
  transports: Record<string, AnnounceTransport>;
  /** 20 bytes: the peer id the lookups announce with. */
  peerId: Uint8Array;
  /** The port announced in a lookup (the seeder's, else 1 as libtorrent does without one). */
  port: () => number;
  random?: () => number;
}

export interface MeshLookupSettings {
  /** Announce URLs of the mesh trackers, in order. */
  trackers: string[];
}

export interface LookupCounters {
  lookups: number;
  remoteLookups: number;
  remoteAnswers: number;
  remoteFailures: number;
  rateLimited: number;
  cacheHits: number;
}

export class MeshLookupService implements MeshLookup {
  private readonly cache = new Map<string, { at: number; peers: MeshPeer[] }>();
  private readonly inFlight = new Map<string, Promise<MeshPeer[]>>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  /** `${X}|${address}|${port}` → interface and when it was heard. */
  private readonly heard = new Map<string, { infoHashHex: string; address: string; port: number; iface: string; at: number }>();
  readonly counters: LookupCounters = { lookups: 0, remoteLookups: 0, remoteAnswers: 0, remoteFailures: 0, rateLimited: 0, cacheHits: 0 };
  private readonly key: number;

  constructor(
    private readonly deps: MeshLookupDeps,
    private settings: MeshLookupSettings,
  ) {
    this.key = Math.floor((deps.random ?? Math.random)() * 0xffffffff) >>> 0;
  }

  update(settings: MeshLookupSettings): void {
    this.settings = settings;
    this.cache.clear();
  }

  /** Source 3: a peer heard by LPD on `iface`. */
  heardByLpd(infoHashHex: string, address: string, port: number, iface: string): void {
    const k = `${infoHashHex}|${address}|${port}`;
    this.heard.delete(k);
    this.heard.set(k, { infoHashHex, address, port, iface, at: this.deps.clock.now() });
    while (this.heard.size > LPD_HEARD_MAX) this.heard.delete(this.heard.keys().next().value!);
  }

  async peersFor(infoHashHex: string, opts: { except?: string[]; interface?: string } = {}): Promise<MeshPeer[]> {
    this.counters.lookups++;
    const except = new Set((opts.except ?? []).map(bare));
    const out: MeshPeer[] = [];
    const seen = new Set<string>();
    const add = (p: MeshPeer) => {
      const k = `${bare(p.address)}|${p.port}`;
      if (out.length >= LOOKUP_MAX_PEERS || seen.has(k) || except.has(bare(p.address)) || !(p.port > 0 && p.port < 65536)) return;
      seen.add(k);
      out.push(p);
    };
    for (const p of this.deps.seederPeers?.(infoHashHex) ?? []) add({ ...p, source: 'seeder' });
    for (const p of this.deps.trackerPeers?.(infoHashHex, LOOKUP_MAX_PEERS + except.size) ?? []) add({ ...p, source: 'tracker' });
    for (const p of this.lpdPeers(infoHashHex, opts.interface)) add(p);
    if (out.length === 0) {
      const [trackers, dht] = await Promise.all([this.remote(infoHashHex), this.dhtPeers(infoHashHex)]);
      for (const p of trackers) add(p);
      for (const p of dht) add(p);
    }
    return out;
  }

  private lpdPeers(infoHashHex: string, askerInterface: string | undefined): MeshPeer[] {
    const now = this.deps.clock.now();
    const out: MeshPeer[] = [];
    for (const [k, h] of this.heard) {
      if (now - h.at > LPD_HEARD_TTL_MS) {
        this.heard.delete(k);
        continue;
      }
      // a client on the asker's own segment hears the asker's LPD itself
      if (h.infoHashHex === infoHashHex && h.iface !== askerInterface) out.push({ address: h.address, port: h.port, source: 'lpd' });
    }
    return out;
  }

  /** Source 5; a failing DHT gives nothing (the trackers' answer still counts). */
  private async dhtPeers(infoHashHex: string): Promise<MeshPeer[]> {
    if (!this.deps.dhtPeers) return [];
    try {
      const found = await this.deps.dhtPeers(infoHashHex, LOOKUP_DHT_TIMEOUT_MS);
      return found.map((p) => ({ address: p.address, port: p.port, source: 'dht' as const }));
    } catch (err) {
      this.deps.log.debug(`DHT lookup of ${infoHashHex} failed: ${describeError(err)}`);
      return [];
    }
  }

  /** Source 4, cached and shared while in flight. */
  private remote(infoHashHex: string): Promise<MeshPeer[]> {
    const now = this.deps.clock.now();
    const hit = this.cache.get(infoHashHex);
    if (hit && now - hit.at < (hit.peers.length ? LOOKUP_CACHE_MS : LOOKUP_EMPTY_CACHE_MS)) {
      this.counters.cacheHits++;
      return Promise.resolve(hit.peers);
    }
    const pending = this.inFlight.get(infoHashHex);
    if (pending) return pending;
    const p = this.askTrackers(infoHashHex).finally(() => this.inFlight.delete(infoHashHex));
    this.inFlight.set(infoHashHex, p);
    return p;
  }

  private async askTrackers(infoHashHex: string): Promise<MeshPeer[]> {
    const urls = [...new Set(this.settings.trackers)];
    if (urls.length === 0) return [];
    const answers = await Promise.all(urls.map((u) => this.askOne(u, infoHashHex)));
    const peers: MeshPeer[] = [];
    for (const a of answers) peers.push(...a);
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(infoHashHex, { at: this.deps.clock.now(), peers });
    return peers;
  }

  private take(url: string): boolean {
    const now = this.deps.clock.now();
    const b = this.buckets.get(url) ?? { tokens: LOOKUP_BURST, at: now };
    b.tokens = Math.min(LOOKUP_BURST, b.tokens + (now - b.at) / LOOKUP_REFILL_MS);
    b.at = now;
    this.buckets.set(url, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private async askOne(announceUrl: string, infoHashHex: string): Promise<MeshPeer[]> {
    let url: URL;
    try {
      url = new URL(announceUrl);
    } catch {
      return [];
    }
    const transport = this.deps.transports[url.protocol];
    if (!transport) return [];
    if (!this.take(announceUrl)) {
      this.counters.rateLimited++;
      return [];
    }
    this.counters.remoteLookups++;
    const req: AnnounceRequest = {
      infoHash: Buffer.from(infoHashHex, 'hex'),
      peerId: this.deps.peerId,
      port: this.deps.port(),
      uploaded: 0,
      downloaded: 0,
      left: LOOKUP_LEFT,
      event: 'started',
      numwant: LOOKUP_MAX_PEERS,
      key: this.key,
    };
    try {
      const reply = await transport.announce(url, req);
      this.counters.remoteAnswers++;
      // leave no ghost: we are not a leecher of it
      transport.announce(url, { ...req, event: 'stopped', numwant: 0 }).catch(() => {});
      // opentracker lists the requester too: a peer on the port we announced (1, "no listen
      // port") is this lookup or another node's, nothing to dial
      return reply.peers.filter((p) => p.port !== req.port).map((p) => ({ address: p.address, port: p.port, source: 'mesh-tracker' as const }));
    } catch (err) {
      this.counters.remoteFailures++;
      this.deps.log.debug(`lookup of ${infoHashHex} on ${announceUrl} failed: ${describeError(err)}`);
      return [];
    }
  }
}

const bare = (address: string): string => address.replace(/%.*$/, '').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
