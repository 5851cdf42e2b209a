/**
 * The tracker's logic, apart from its sockets: an HTTP request target or a UDP datagram and
 * the sender's address in, the reply out. The HTTP and UDP front ends only move bytes.
 *
 * Bad input is handled here, at one boundary per transport: a malformed HTTP
 * request gets a bencoded `failure reason` (status 200, as BEP 3 clients expect); a
 * malformed or unauthenticated datagram gets no reply at all. Every refusal is counted by
 * class; the owner logs classes, never single packets.
 */
import {
  decodeScrapeParams,
  decodeAnnounceInto,
  emptyAnnounceRequest,
  encodeAnnounceResponse as encodeHttpAnnounce,
  encodeFailure,
  encodeScrapeResponse as encodeHttpScrape,
  QueryParams,
  type DictPeer,
  type HttpAnnounceResponse,
  compactAnnounceLength,
  writeCompactAnnounce,
} from '../codec/tracker-http.js';
import { ScratchBuffer } from '../util/scratch-buffer.js';
import {
  decodeUdpRequest,
  encodeAnnounceResponse as encodeUdpAnnounce,
  encodeConnectResponse,
  encodeErrorResponse,
  encodeScrapeResponse as encodeUdpScrape,
} from '../codec/tracker-udp.js';
import { PEER_ID_SIZE } from '../codec/tracker-protocol.js';
import { addressBytes, addressText, localizeLoopbackPeers } from './address.js';
import { ConnectionIds } from './connection-id.js';
import { AddressRateLimit } from './rate-limit.js';
import { hashKey, SwarmStore, type StoreAnnounce, type StoreAnswer, type StoreLimits } from './swarm-store.js';
import type { AccessList } from './access-list.js';

export interface CoreSettings extends StoreLimits {
  allowIpParam: boolean;
  /** Requests per second per address; 0 = no limit. */
  rateLimit: number;
}

export interface HttpReply {
  status: number;
  contentType: string;
  body: Uint8Array;
}

/** Refusal classes: counted, and logged once per class by the owner. */
export type RefusalClass =
  | 'malformed request'
  | 'malformed datagram'
  | 'bad connection id'
  | 'rate limited'
  | 'torrent not allowed'
  | 'full scrape'
  | 'torrent limit'
  | 'peer limit'
  | 'swarm limit'
  | 'port 0'
  | 'too many connections'
  | 'request head too large'
  | 'slow client'
  | 'unknown path'
  | 'method not allowed';

export interface CoreCounters {
  httpAnnounces: number;
  udpAnnounces: number;
  httpScrapes: number;
  udpScrapes: number;
  udpConnects: number;
  refusals: Partial<Record<RefusalClass, number>>;
}

export interface StatsSource {
  /** HTTP pages other than /announce and /scrape (the stats page), or undefined for 404. */
  page(path: string, nowMs: number): HttpReply | undefined;
}

const TEXT = 'text/plain';

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(a, b) === 0;

export class TrackerCore {
  readonly store: SwarmStore;
  readonly ids: ConnectionIds;
  private readonly limiter: AddressRateLimit;
  readonly counters: CoreCounters = {
    httpAnnounces: 0,
    udpAnnounces: 0,
    httpScrapes: 0,
    udpScrapes: 0,
    udpConnects: 0,
    refusals: {},
  };
  /** Called on each refusal (the owner logs the first of each class). */
  onRefusal: (c: RefusalClass) => void = () => {};
  /** Called when an announce adds a peer not in the swarm before (the daemon's seeder dials new leechers). */
  onNewPeer: (infoHash: Uint8Array, address: Uint8Array, port: number, seeder: boolean) => void = () => {};
  pages: StatsSource | undefined;
  /**
   * The peer id of this node's own seeder. Its announces, recognised by that id AND by coming
   * from this host (the connection's source is its own destination address: loopback or the
   * address the tracker listens on), count as a seeder at once when `left=0`: the seeder claims
   * only verified pieces. The id alone proves nothing: every peer that talked to the seeder
   * learnt it in the handshake.
   */
  localSeederPeerId: Uint8Array | undefined = undefined;
  private readonly query = new QueryParams();
  /** What httpAnnounce decodes each request into and hands the store (see there). */
  private readonly announceRequest = emptyAnnounceRequest();
  private readonly storeRequest: StoreAnnounce = {
    infoHash: this.announceRequest.infoHash,
    key: undefined,
    peerId: this.announceRequest.peerId,
    address: new Uint8Array(4),
    port: 0,
    left: undefined,
    downloaded: 0,
    uploaded: 0,
    event: 'none',
    numwant: undefined,
    families: 'both',
    wantPeerIds: false,
    proven: false,
  };

  /**
   * Where compact announce replies are encoded: the body of such a reply is valid until the
   * next call (the HTTP front copies it into its reply at once; copy it to keep it).
   */
  private readonly replyBody = new ScratchBuffer(16 * 1024);
  /** What a compact announce reply is encoded from (filled and read within one call). */
  private readonly compactReply: HttpAnnounceResponse = {
    interval: 0,
    minInterval: 0,
    complete: 0,
    incomplete: 0,
    downloaded: 0,
    peers4: undefined,
    peers6: undefined,
  };

  constructor(
    private readonly deps: { access: AccessList; secret?: Uint8Array },
    private settings: CoreSettings,
  ) {
    this.store = new SwarmStore(settings);
    this.ids = new ConnectionIds(deps.secret);
    this.limiter = new AddressRateLimit(settings.rateLimit);
  }

  setSettings(settings: CoreSettings): void {
    this.settings = settings;
    this.store.setLimits(settings);
    this.limiter.set(settings.rateLimit);
  }

  refuse(c: RefusalClass): void {
    this.counters.refusals[c] = (this.counters.refusals[c] ?? 0) + 1;
    this.onRefusal(c);
  }

  private get minInterval(): number {
    return Math.max(1, Math.floor(this.settings.interval / 2));
  }

  // ---------------- HTTP ----------------

  private failure(reason: string, c: RefusalClass): HttpReply {
    this.refuse(c);
    return { status: 200, contentType: TEXT, body: encodeFailure(reason) };
  }

  /**
   * One HTTP GET: the raw request target, the sender's address (4 or 16 bytes) and the
   * address it reached us on (for peers that announced from loopback: see localizeLoopbackPeers).
   * The body of a compact announce reply is a view of the core's scratch space, valid until
   * the next call (the front copies it into its reply at once).
   */
  http(nowMs: number, target: Uint8Array, from: Uint8Array, local?: Uint8Array | (() => Uint8Array | undefined)): HttpReply {
    // parsed into the QueryParams the core keeps (a request is handled start to end in one call)
    const params = this.query;
    const failure = params.parse(target);
    if (failure !== undefined) return this.failure(failure, 'malformed request');
    const path = params.path;
    if (path === '/announce') return this.httpAnnounce(nowMs, params, from, local);
    if (path === '/scrape') return this.httpScrape(params, from, nowMs);
    const page = this.pages?.page(path, nowMs);
    if (page) return page;
    this.refuse('unknown path');
    return { status: 404, contentType: TEXT, body: Buffer.from('not found: the tracker answers /announce, /scrape, / and /stats.json\n') };
  }

  private httpAnnounce(nowMs: number, params: QueryParams, from: Uint8Array, local: Uint8Array | (() => Uint8Array | undefined) | undefined): HttpReply {
    // The request and the store's arguments are written into objects the core keeps (an
    // announce is handled start to end in one call): an announce made a dozen objects of
    // garbage, and every byte of it brings the next young-generation GC closer. Everything
    // read after the store's call is read before it (a new-peer listener runs inside it).
    const a = this.announceRequest;
    const failure = decodeAnnounceInto(params, a);
    if (failure !== undefined) return this.failure(failure, 'malformed request');
    if (!this.limiter.take(nowMs, from)) return this.failure('rate limited: announce less often', 'rate limited');
    // the swarm's key, made once for the access list and the store
    const key = hashKey(a.infoHash);
    if (!this.deps.access.allows(key)) return this.failure('torrent not allowed on this tracker', 'torrent not allowed');
    let address = from;
    if (a.ip !== undefined && this.settings.allowIpParam) address = addressBytes(a.ip) ?? from;
    this.counters.httpAnnounces++;
    const compact = a.compact;
    const noPeerId = a.noPeerId;
    const s = this.storeRequest;
    s.infoHash = a.infoHash;
    s.key = key;
    s.peerId = a.peerId;
    s.address = address;
    s.port = a.port;
    s.left = a.left;
    s.downloaded = a.downloaded;
    s.uploaded = a.uploaded;
    s.event = a.event;
    s.numwant = a.numwant;
    s.wantPeerIds = !compact;
    s.proven = a.left === 0 && this.fromLocalSeeder(a.peerId, from, local);
    const r = this.storeAnnounce(nowMs, s);
    if (compact) {
      // (the local address is a getsockname() the first time only: Node keeps it)
      const e = this.compactReply;
      e.interval = this.settings.interval;
      e.minInterval = this.minInterval;
      e.complete = r.complete;
      e.incomplete = r.incomplete;
      e.downloaded = r.downloaded;
      e.peers4 = localizeLoopbackPeers(r.peers4, 6, from, local);
      e.peers6 = localizeLoopbackPeers(r.peers6, 18, from, local);
      // written into the core's reply scratch (the front copies it into its reply at once)
      const length = compactAnnounceLength(e);
      const body = length <= this.replyBody.size ? this.replyBody.view(writeCompactAnnounce(e, this.replyBody.bytes)) : encodeHttpAnnounce(e);
      // the store's scratch views are not kept past the call
      e.peers4 = e.peers6 = undefined;
      return { status: 200, contentType: TEXT, body };
    }
    const peers: DictPeer[] = [];
    const ids = r.peerIds!;
    let j = 0;
    const add = (entry: Uint8Array, alen: number) => {
      const peerId = ids.subarray(j * PEER_ID_SIZE, (j + 1) * PEER_ID_SIZE);
      j++;
      // the same rule as for compact peers, one entry at a time
      const one = localizeLoopbackPeers(entry, (alen + 2) as 6 | 18, from, local);
      if (one.length === 0) return;
      peers.push({ ip: addressText(one.subarray(0, alen)), port: (one[alen]! << 8) | one[alen + 1]!, peerId });
    };
    for (let i = 0; i < r.peers4.length; i += 6) add(r.peers4.subarray(i, i + 6), 4);
    for (let i = 0; i < r.peers6.length; i += 18) add(r.peers6.subarray(i, i + 18), 16);
    return { status: 200, contentType: TEXT, body: encodeHttpAnnounce({ ...this.head(r), dictPeers: peers, noPeerId }) };
  }

  private fromLocalSeeder(peerId: Uint8Array, from: Uint8Array, local: Uint8Array | (() => Uint8Array | undefined) | undefined): boolean {
    const own = this.localSeederPeerId;
    if (!own || !sameBytes(own, peerId)) return false;
    const to = typeof local === 'function' ? local() : local;
    return to !== undefined && sameBytes(to, from);
  }

  private head(r: StoreAnswer) {
    return { interval: this.settings.interval, minInterval: this.minInterval, complete: r.complete, incomplete: r.incomplete, downloaded: r.downloaded };
  }

  private storeAnnounce(nowMs: number, a: StoreAnnounce): StoreAnswer {
    const r = this.store.announce(nowMs, a);
    if (r.refused) this.refuse(r.refused);
    else if (r.added) this.onNewPeer(a.infoHash, a.address, a.port, a.left === 0);
    return r;
  }

  private httpScrape(params: QueryParams, from: Uint8Array, nowMs: number): HttpReply {
    const d = decodeScrapeParams(params);
    if (!d.ok) return this.failure(d.failure, 'malformed request');
    if (d.value.length === 0) return this.failure('full scrape is not supported: name the info_hash', 'full scrape');
    if (!this.limiter.take(nowMs, from)) return this.failure('rate limited: scrape less often', 'rate limited');
    this.counters.httpScrapes++;
    const entries = d.value.map((h) => ({ infoHash: h, ...this.scrapeCounts(h) }));
    return { status: 200, contentType: TEXT, body: encodeHttpScrape(entries) };
  }

  private scrapeCounts(h: Uint8Array): { complete: number; incomplete: number; downloaded: number } {
    const key = hashKey(h);
    if (!this.deps.access.allows(key)) return { complete: 0, incomplete: 0, downloaded: 0 };
    return this.store.countsByKey(key);
  }

  // ---------------- UDP (BEP 15) ----------------

  /** One datagram from `address` (4 or 16 bytes) and `port`; returns the reply or undefined (no reply). */
  udp(nowMs: number, datagram: Uint8Array, address: Uint8Array, port: number): Uint8Array | undefined {
    const d = decodeUdpRequest(datagram);
    if (!d.ok) {
      this.refuse('malformed datagram');
      return undefined;
    }
    const req = d.request;
    if (req.action === 'connect') {
      if (!this.limiter.take(nowMs, address)) return void this.refuse('rate limited');
      this.counters.udpConnects++;
      return encodeConnectResponse(req.transactionId, this.ids.issue(nowMs, address, port));
    }
    // BEP 15: the tracker must check the connection id; a wrong one is not answered.
    if (!this.ids.check(nowMs, req.connectionId, address, port)) return void this.refuse('bad connection id');
    if (!this.limiter.take(nowMs, address)) return void this.refuse('rate limited');
    if (req.action === 'announce') {
      const key = hashKey(req.infoHash);
      if (!this.deps.access.allows(key)) {
        this.refuse('torrent not allowed');
        return encodeErrorResponse(req.transactionId, 'torrent not allowed on this tracker');
      }
      let peerAddress = address;
      if (req.ip !== 0 && this.settings.allowIpParam && address.length === 4)
        peerAddress = new Uint8Array([req.ip >>> 24, (req.ip >>> 16) & 255, (req.ip >>> 8) & 255, req.ip & 255]);
      this.counters.udpAnnounces++;
      const numwant = req.numWant < 0 ? undefined : req.numWant;
      // An IPv6 sender gets 18-byte peers, an IPv4 sender 6-byte ones (BEP 15 fixes the size by family).
      const r = this.storeAnnounce(nowMs, {
        infoHash: req.infoHash,
        key,
        peerId: req.peerId,
        address: peerAddress,
        port: req.port,
        left: req.left,
        downloaded: req.downloaded,
        uploaded: req.uploaded,
        event: req.event,
        numwant,
        families: 'same',
      });
      return encodeUdpAnnounce({
        transactionId: req.transactionId,
        interval: this.settings.interval,
        leechers: r.incomplete,
        seeders: r.complete,
        // no local address on a wildcard UDP socket: loopback peers are left out for others
        peers: address.length === 16 ? localizeLoopbackPeers(r.peers6, 18, address) : localizeLoopbackPeers(r.peers4, 6, address),
      });
    }
    this.counters.udpScrapes++;
    return encodeUdpScrape(
      req.transactionId,
      req.infoHashes.map((h) => {
        const c = this.scrapeCounts(h);
        return { seeders: c.complete, completed: c.downloaded, leechers: c.incomplete };
      }),
    );
  }
}
