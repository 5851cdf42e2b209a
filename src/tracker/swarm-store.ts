/**
 * The swarm store: every torrent's peers, built for a router's memory.
 *
 * No object per peer and no buffer per swarm. Peers are fixed-size records in two slabs, one
 * per address family (src/tracker/peer-arena.ts): a swarm holds, per family, a segment of
 * records packed at the front (a removal moves the last record into the hole). A peer is
 * identified by its address, family and port (as opentracker does): a client that restarts
 * with a new peer id replaces its old entry instead of being listed twice.
 *
 *   record (A = 4 for IPv4, 16 for IPv6; 32 or 44 bytes):
 *          0..A-1 address | A..A+1 port, big-endian | A+2 flags (SEEDER, COMPLETED, PROVEN) |
 *          A+3 unused | A+4..A+7 expiry in store seconds, little-endian | A+8..A+27 peer id
 *
 * The peer id is kept whole: the dictionary model (BEP 3, `compact=0`) hands it out.
 *
 * A swarm past INDEX_MIN_PEERS peers also gets an index (src/tracker/peer-index.ts): a hash
 * table from address and port to slot, so an announce into a 5,000-peer swarm finds its peer
 * in a probe or two instead of a scan. Small swarms (most of a mesh's) scan their few records and carry
 * no index.
 *
 * Seeders (BEP 3 `complete`): a peer saying `left=0` is handed out like any other peer and is
 * handed seeders too (aria2 announces `left=0` while it still fetches a magnet's metadata; a
 * tracker that gave seeders only leechers left it waiting forever). It is counted as complete
 * only once it has shown it has the data: it announced `completed`, went from `left>0` to
 * `left=0`, or reports having downloaded or uploaded anything. Until then it counts as
 * incomplete, so the counts a scrape and the front page show are honest.
 *
 * Peers expire 1.5 intervals after their last announce (a margin for one
 * late announce). Expiry is an incremental sweep: each `sweep(now)` call visits a slice of the
 * swarms sized so that every swarm is visited about twice per interval, so no call walks every
 * peer. Expired peers not yet swept are skipped when handing out peers. A swarm with no peers
 * is dropped; its `downloaded` total, if any, is kept in a small map (bounded by max_torrents)
 * so scrape answers and the state file keep it. The sweep also compacts the slabs once they
 * are mostly empty, so memory follows the peers down.
 *
 * Counters (peers, seeders per swarm and in total, downloaded) change with each announce and
 * removal, so the stats page and scrape never count peers.
 */
import { INFO_HASH_SIZE, PEER_ID_SIZE, type AnnounceEvent } from '../codec/tracker-protocol.js';

import { PeerArena, PeerList } from './peer-arena.js';
import { INDEX_MIN_PEERS, indexDelete, indexFind, indexInsert, peerHash, RECORD4, RECORD6, reindex } from './peer-index.js';

/** Record layout, after the address of A bytes (see the header): port at A, then these; RECORD4 and RECORD6 bytes in all. */
const OFF_FLAGS = 2;
const OFF_EXPIRY = 4;
const OFF_PEER_ID = 8;
const F_SEEDER = 1;
/** This peer's `completed` was counted in `downloaded` (counted once per peer). */
const F_COMPLETED = 4;
/** This peer has shown it has data (see the header); with SEEDER it counts as complete. */
const F_PROVEN = 8;
const F_COMPLETE = F_SEEDER | F_PROVEN;
/** Only between `add` and the end of that announce: the peer has no state yet (no seeder transition). */
const F_NEW = 0x80;

export interface StoreLimits {
  maxTorrents: number;
  maxPeersPerTorrent: number;
  maxPeers: number;
  /** Announce interval in seconds; peers expire after 1.5 of them. */
  interval: number;
  numwantDefault: number;
  numwantMax: number;
}

export interface StoreAnnounce {
  infoHash: Uint8Array;
  /** hashKey(infoHash), when the caller made it already (the access list asks for it too). */
  key?: string;
  peerId: Uint8Array;
  /** 4 bytes (IPv4) or 16 bytes (IPv6), network order. */
  address: Uint8Array;
  port: number;
  /** Bytes left; 0 = seeder; undefined = unknown (a new peer is a leecher, a known one keeps its state). */
  left: number | undefined;
  /** The peer's own `downloaded` and `uploaded` totals (bytes), when it gave them. */
  downloaded?: number;
  uploaded?: number;
  event: AnnounceEvent;
  /** Requested count; undefined = the default. Capped at numwantMax. */
  numwant: number | undefined;
  /** Which families to hand out: UDP replies carry only the sender's family; HTTP both. */
  families: 'same' | 'both';
  /** Also return the peer ids of the peers handed out (BEP 3 dictionary model). */
  wantPeerIds?: boolean;
  /** Seconds until the peer expires, when not 1.5 intervals (peers heard by LPD). */
  ttlSeconds?: number;
  /** The announce is this node's own seeder's (it offers verified pieces only): its `left=0` counts at once. */
  proven?: boolean;
}

export type Refusal = 'torrent limit' | 'peer limit' | 'swarm limit' | 'port 0';

export interface StoreAnswer {
  complete: number;
  incomplete: number;
  downloaded: number;
  /**
   * Concatenated 6-byte IPv4 peers: a view of the store's scratch space, valid until the next
   * announce (the tracker encodes it into the reply at once; copy it to keep it).
   */
  peers4: Uint8Array;
  /** Concatenated 18-byte IPv6 peers (a view, as `peers4`). */
  peers6: Uint8Array;
  /** When wantPeerIds: 20 bytes per peer, IPv4 peers first then IPv6, in the order above. */
  peerIds?: Uint8Array;
  /** Why the requester was not stored (it still gets peers). */
  refused?: Refusal;
  /** The requester was not in the swarm before this announce. */
  added?: boolean;
}

export interface SwarmCounts {
  complete: number;
  incomplete: number;
  downloaded: number;
}

/** A family with no peers in a swarm (shared: replaced before the first peer is added). */
const NO_PEERS: PeerList = Object.freeze(new PeerList());

/** One torrent's peers and counters. */
export class Swarm {
  /** Its IPv4 and IPv6 peers: segments of the store's slabs. */
  p4: PeerList = NO_PEERS;
  p6: PeerList = NO_PEERS;
  /** Address-and-port index (see the header), only for swarms past INDEX_MIN_PEERS. */
  index: Int32Array | undefined = undefined;
  seeders = 0;
  downloaded = 0;
  constructor(readonly key: string) {}
  get count(): number {
    return this.p4.count + this.p6.count;
  }
  get leechers(): number {
    return this.count - this.seeders;
  }
}

const EMPTY = new Uint8Array(0);

function writeU32LE(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}
function readU32LE(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
}

/** The 20-byte info hash as a Map key: its bytes as a latin1 string. */
export function hashKey(h: Uint8Array): string {
  if (h.length !== INFO_HASH_SIZE) throw new RangeError('info hash must be 20 bytes');
  // one call, no loop and no Buffer: this runs for every announce and scraped hash
  return String.fromCharCode(h[0]!, h[1]!, h[2]!, h[3]!, h[4]!, h[5]!, h[6]!, h[7]!, h[8]!, h[9]!, h[10]!, h[11]!, h[12]!, h[13]!, h[14]!, h[15]!, h[16]!, h[17]!, h[18]!, h[19]!);
}

export class SwarmStore {
  private readonly swarms = new Map<string, Swarm>();
  /** downloaded totals of swarms that emptied (bounded by maxTorrents, oldest dropped first). */
  private readonly retired = new Map<string, number>();
  private cursor: Iterator<Swarm> | undefined;
  private lastSweepSecond = -1;
  private totalPeers = 0;
  private totalSeeders = 0;
  /** Scratch space for handing out peers: numwantMax × 18 bytes, reused. */
  private scratch4 = EMPTY;
  private scratch6 = EMPTY;
  /**
   * Views of the scratch space by the number of peers in them (made on first use): an answer
   * hands out one of these, not a new view per announce.
   */
  private views4: Uint8Array[] = [];
  private views6: Uint8Array[] = [];
  /** What pick found, read by announce at once (one object for every announce). */
  private readonly picked: { peers4: Uint8Array; peers6: Uint8Array; peerIds: Uint8Array | undefined } = { peers4: EMPTY, peers6: EMPTY, peerIds: undefined };
  /** The peer records, one slab per family (see the header). */
  private readonly a4 = new PeerArena(RECORD4, () => this.lists('p4'));
  private readonly a6 = new PeerArena(RECORD6, () => this.lists('p6'));

  constructor(private limits: StoreLimits) {
    this.setLimits(limits);
  }

  setLimits(limits: StoreLimits): void {
    this.limits = { ...limits };
    const n = Math.max(1, limits.numwantMax);
    this.scratch4 = new Uint8Array(n * 6);
    this.scratch6 = new Uint8Array(n * 18);
    this.views4 = new Array<Uint8Array>(n + 1);
    this.views6 = new Array<Uint8Array>(n + 1);
  }

  get torrents(): number {
    return this.swarms.size;
  }
  get peers(): number {
    return this.totalPeers;
  }
  get seeders(): number {
    return this.totalSeeders;
  }
  get leechers(): number {
    return this.totalPeers - this.totalSeeders;
  }
  /** Bytes of the peer slabs (records in use, free and spare), for the stats page and tests. */
  get slabBytes(): number {
    return this.a4.byteLength + this.a6.byteLength;
  }

  /** Every live swarm (for the stats page and state file: one entry per torrent, never per peer). */
  swarmList(): IterableIterator<Swarm> {
    return this.swarms.values();
  }
  /** downloaded totals of torrents with no peers now. */
  retiredList(): IterableIterator<[string, number]> {
    return this.retired.entries();
  }

  private *lists(family: 'p4' | 'p6'): Generator<PeerList> {
    for (const s of this.swarms.values()) yield s[family];
  }

  counts(infoHash: Uint8Array): SwarmCounts {
    return this.countsByKey(hashKey(infoHash));
  }
  countsByKey(key: string): SwarmCounts {
    const s = this.swarms.get(key);
    if (s) return { complete: s.seeders, incomplete: s.count - s.seeders, downloaded: s.downloaded };
    return { complete: 0, incomplete: 0, downloaded: this.retired.get(key) ?? 0 };
  }

  /** Sets a known torrent's downloaded total (from the state file at start). */
  restoreDownloaded(key: string, downloaded: number): void {
    const s = this.swarms.get(key);
    if (s) s.downloaded = downloaded;
    else this.remember(key, downloaded);
  }

  /** Forgets a torrent entirely (allow-list removed it). */
  drop(key: string): void {
    const s = this.swarms.get(key);
    if (s) {
      this.totalPeers -= s.count;
      this.totalSeeders -= s.seeders;
      this.a4.clear(s.p4);
      this.a6.clear(s.p6);
      this.swarms.delete(key);
    }
    this.retired.delete(key);
  }

  private remember(key: string, downloaded: number): void {
    this.retired.delete(key);
    while (this.retired.size >= this.limits.maxTorrents) this.retired.delete(this.retired.keys().next().value!);
    this.retired.set(key, downloaded);
  }

  /** Seconds on the store's clock from a Clock's milliseconds. */
  private static seconds(nowMs: number): number {
    return Math.floor(nowMs / 1000);
  }

  announce(nowMs: number, a: StoreAnnounce): StoreAnswer {
    if (a.infoHash.length !== INFO_HASH_SIZE) throw new RangeError('info hash must be 20 bytes');
    const key = a.key ?? hashKey(a.infoHash);
    const now = SwarmStore.seconds(nowMs);
    let swarm = this.swarms.get(key);
    const v6 = a.address.length === 16;
    const A = a.address.length;
    let refused: Refusal | undefined;

    let self = swarm ? this.find(swarm, a.address, v6, a.port) : -1;
    if (a.event === 'stopped') {
      if (swarm && self >= 0) {
        // a leecher that stops with nothing left finished without saying `completed` (aria2 with --seed-time=0)
        const l = v6 ? swarm.p6 : swarm.p4;
        const flags = l.bytes[(l.at + self) * (A + 28) + A + OFF_FLAGS]!;
        if (a.left === 0 && (flags & (F_SEEDER | F_COMPLETED)) === 0) swarm.downloaded++;
        this.remove(swarm, v6, self);
      }
      return this.answerOnly(key, swarm);
    }
    if (a.port === 0) refused = 'port 0';
    else if (!swarm) {
      if (this.swarms.size >= this.limits.maxTorrents) refused = 'torrent limit';
      else if (this.totalPeers >= this.limits.maxPeers) refused = 'peer limit';
      else {
        swarm = new Swarm(key);
        swarm.downloaded = this.retired.get(key) ?? 0;
        this.retired.delete(key);
        this.swarms.set(key, swarm);
      }
    } else if (self < 0) {
      if (this.totalPeers >= this.limits.maxPeers) refused = 'peer limit';
      else if (swarm.count >= this.limits.maxPeersPerTorrent) refused = 'swarm limit';
    }

    let added = false;
    if (swarm && !refused) {
      if (self < 0) {
        self = this.add(swarm, a.address, v6, a.port);
        added = true;
      }
      const l = v6 ? swarm.p6 : swarm.p4;
      const b = l.bytes;
      const o = (l.at + self) * (A + 28) + A;
      const before = b[o + OFF_FLAGS]!;
      let flags = before;
      let finished = false;
      if (a.left !== undefined) {
        const seeder = a.left === 0;
        // a leecher seen becoming a seeder downloaded the rest
        finished = seeder && (flags & F_SEEDER) === 0 && (flags & F_NEW) === 0;
        flags = seeder ? flags | F_SEEDER : flags & ~F_SEEDER;
      }
      flags &= ~F_NEW;
      if (a.proven || a.event === 'completed' || finished || (a.downloaded ?? 0) > 0 || (a.uploaded ?? 0) > 0) flags |= F_PROVEN;
      // BEP 3 `downloaded`: completions, counted once per peer ("scrape downloaded faked" is a
      // known defect): a `completed` event, or a leecher seen becoming a seeder without one.
      if ((a.event === 'completed' || finished) && (flags & F_COMPLETED) === 0) {
        flags |= F_COMPLETED;
        swarm.downloaded++;
      }
      const d = ((flags & F_COMPLETE) === F_COMPLETE ? 1 : 0) - ((before & F_COMPLETE) === F_COMPLETE ? 1 : 0);
      swarm.seeders += d;
      this.totalSeeders += d;
      b[o + OFF_FLAGS] = flags;
      writeU32LE(b, o + OFF_EXPIRY, now + (a.ttlSeconds ?? Math.ceil(this.limits.interval * 1.5)));
      b.set(a.peerId.length === PEER_ID_SIZE ? a.peerId : a.peerId.subarray(0, PEER_ID_SIZE), o + OFF_PEER_ID);
    }

    const wanted = Math.min(a.numwant ?? this.limits.numwantDefault, this.limits.numwantMax);
    const out = this.pick(swarm, now, wanted, self, a.peerId, v6, a.families, a.wantPeerIds === true);
    const answer: StoreAnswer = swarm
      ? { complete: swarm.seeders, incomplete: swarm.count - swarm.seeders, downloaded: swarm.downloaded, peers4: out.peers4, peers6: out.peers6 }
      : { ...this.countsByKey(key), peers4: out.peers4, peers6: out.peers6 };
    if (out.peerIds) answer.peerIds = out.peerIds;
    if (refused) answer.refused = refused;
    if (added) answer.added = added;
    return answer;
  }

  /**
   * Up to `max` live peers of a swarm, seeders first, for introductions (src/lpd/introducer.ts):
   * addresses as 4 or 16 bytes. `seeder` is what the peer said (`left=0`), proven or not: an
   * order of preference and a PEX hint, not a count. Walks at most the swarm's records once.
   */
  peersOf(key: string, nowMs: number, max: number): { address: Uint8Array; port: number; seeder: boolean }[] {
    const s = this.swarms.get(key);
    if (!s || max <= 0) return [];
    const now = SwarmStore.seconds(nowMs);
    const seeders: { address: Uint8Array; port: number; seeder: boolean }[] = [];
    const leechers: typeof seeders = [];
    for (const [l, A] of [
      [s.p4, 4],
      [s.p6, 16],
    ] as const) {
      const b = l.bytes;
      for (let i = 0, o = l.at * (A + 28); i < l.count && seeders.length < max; i++, o += A + 28) {
        if (readU32LE(b, o + A + OFF_EXPIRY) < now) continue;
        const port = (b[o + A]! << 8) | b[o + A + 1]!;
        if (port === 0) continue;
        const peer = { address: b.slice(o, o + A), port, seeder: (b[o + A + OFF_FLAGS]! & F_SEEDER) !== 0 };
        if (peer.seeder) seeders.push(peer);
        else if (leechers.length < max) leechers.push(peer);
      }
    }
    return [...seeders, ...leechers].slice(0, max);
  }

  private answerOnly(key: string, swarm: Swarm | undefined): StoreAnswer {
    const c = swarm ? { complete: swarm.seeders, incomplete: swarm.leechers, downloaded: swarm.downloaded } : this.countsByKey(key);
    return { ...c, peers4: EMPTY, peers6: EMPTY };
  }

  /** The slot of the peer at this address and port in its family's list, or -1. */
  private find(s: Swarm, addr: Uint8Array, v6: boolean, port: number): number {
    const l = v6 ? s.p6 : s.p4;
    if (l.count === 0) return -1;
    const b = l.bytes;
    const A = addr.length;
    const R = A + 28;
    if (s.index) {
      const t = s.index;
      const mask = t.length - 1;
      for (let p = peerHash(addr, 0, A, port) & mask; ; p = (p + 1) & mask) {
        const e = t[p]!;
        if (e === 0) return -1;
        if (v6 ? e < 0 && sameEndpoint(b, (l.at - e - 1) * R, addr, port) : e > 0 && sameEndpoint(b, (l.at + e - 1) * R, addr, port)) return v6 ? -e - 1 : e - 1;
      }
    }
    for (let i = 0, o = l.at * R; i < l.count; i++, o += R) if (sameEndpoint(b, o, addr, port)) return i;
    return -1;
  }

  /** Appends a peer (flags NEW); the caller sets the rest of its state. Returns its slot. */
  private add(s: Swarm, addr: Uint8Array, v6: boolean, port: number): number {
    if (v6 ? s.p6 === NO_PEERS : s.p4 === NO_PEERS) {
      if (v6) s.p6 = new PeerList();
      else s.p4 = new PeerList();
    }
    const l = v6 ? s.p6 : s.p4;
    const arena = v6 ? this.a6 : this.a4;
    const i = arena.append(l);
    const b = l.bytes;
    const A = addr.length;
    const o = (l.at + i) * (A + 28);
    b.set(addr, o);
    b[o + A] = port >>> 8;
    b[o + A + 1] = port & 0xff;
    b[o + A + OFF_FLAGS] = F_NEW;
    this.totalPeers++;
    const count = s.count;
    if (s.index && count * 2 <= s.index.length) indexInsert(s, s.index, v6 ? -i - 1 : i + 1);
    else if (s.index || count > INDEX_MIN_PEERS) reindex(s);
    return i;
  }

  private remove(s: Swarm, v6: boolean, i: number): void {
    const l = v6 ? s.p6 : s.p4;
    const arena = v6 ? this.a6 : this.a4;
    const A = v6 ? 16 : 4;
    if ((l.bytes[(l.at + i) * (A + 28) + A + OFF_FLAGS]! & F_COMPLETE) === F_COMPLETE) {
      s.seeders--;
      this.totalSeeders--;
    }
    this.totalPeers--;
    const last = l.count - 1;
    if (s.index) {
      // while both records are still in place
      indexDelete(s, s.index, v6 ? -i - 1 : i + 1);
      if (i !== last) s.index[indexFind(s, s.index, v6 ? -last - 1 : last + 1)] = v6 ? -i - 1 : i + 1;
    }
    arena.remove(l, i);
    if (s.count === 0) this.prune(s);
  }

  private prune(s: Swarm): void {
    this.swarms.delete(s.key);
    if (s.downloaded > 0) this.remember(s.key, s.downloaded);
  }

  /**
   * Hands out up to `wanted` peers, starting at a random slot so every peer gets its turn:
   * never the requester (same address and port, or same peer id), never port 0, never an
   * expired peer. Seeders get seeders too (see the header: a `left=0` may have no metadata).
   * With both families, IPv4 slots come first in the walk, then IPv6.
   */
  private pick(
    s: Swarm | undefined,
    now: number,
    wanted: number,
    self: number,
    peerId: Uint8Array,
    v6: boolean,
    families: 'same' | 'both',
    wantIds: boolean,
  ): { peers4: Uint8Array; peers6: Uint8Array; peerIds: Uint8Array | undefined } {
    const out = this.picked;
    out.peers4 = EMPTY;
    out.peers6 = EMPTY;
    out.peerIds = wantIds ? EMPTY : undefined;
    if (!s || wanted <= 0) return out;
    const n4 = families === 'both' || !v6 ? s.p4.count : 0;
    const n6 = families === 'both' || v6 ? s.p6.count : 0;
    const n = n4 + n6;
    if (n === 0) return out;
    const b4 = s.p4.bytes;
    const b6 = s.p6.bytes;
    const base4 = s.p4.at * RECORD4;
    const base6 = s.p6.at * RECORD6;
    const self4 = v6 ? -1 : self;
    const self6 = v6 ? self : -1;
    const start = Math.floor(Math.random() * n);
    let c4 = 0;
    let c6 = 0;
    const ids4: number[] | undefined = wantIds ? [] : undefined;
    const ids6: number[] | undefined = wantIds ? [] : undefined;
    for (let k = 0; k < n && c4 + c6 < wanted; k++) {
      let i = start + k;
      if (i >= n) i -= n;
      if (i < n4) {
        if (i === self4) continue;
        const o = base4 + i * RECORD4;
        if (readU32LE(b4, o + 4 + OFF_EXPIRY) < now) continue;
        if (b4[o + 4] === 0 && b4[o + 5] === 0) continue;
        if (samePeerId(b4, o + 4 + OFF_PEER_ID, peerId)) continue;
        const w = c4 * 6;
        const to = this.scratch4;
        to[w] = b4[o]!;
        to[w + 1] = b4[o + 1]!;
        to[w + 2] = b4[o + 2]!;
        to[w + 3] = b4[o + 3]!;
        to[w + 4] = b4[o + 4]!;
        to[w + 5] = b4[o + 5]!;
        ids4?.push(o + 4 + OFF_PEER_ID);
        c4++;
      } else {
        i -= n4;
        if (i === self6) continue;
        const o = base6 + i * RECORD6;
        if (readU32LE(b6, o + 16 + OFF_EXPIRY) < now) continue;
        if (b6[o + 16] === 0 && b6[o + 17] === 0) continue;
        if (samePeerId(b6, o + 16 + OFF_PEER_ID, peerId)) continue;
        this.scratch6.set(b6.subarray(o, o + 18), c6 * 18);
        ids6?.push(o + 16 + OFF_PEER_ID);
        c6++;
      }
    }
    out.peers4 = this.views4[c4] ??= this.scratch4.subarray(0, c4 * 6);
    out.peers6 = this.views6[c6] ??= this.scratch6.subarray(0, c6 * 18);
    if (wantIds) {
      const ids = new Uint8Array((c4 + c6) * PEER_ID_SIZE);
      ids4!.forEach((o, j) => ids.set(b4.subarray(o, o + PEER_ID_SIZE), j * PEER_ID_SIZE));
      ids6!.forEach((o, j) => ids.set(b6.subarray(o, o + PEER_ID_SIZE), (c4 + j) * PEER_ID_SIZE));
      out.peerIds = ids;
    }
    return out;
  }

  /**
   * One step of the incremental expiry sweep; call it about once a second. Visits enough
   * swarms that all are visited twice per interval (at least 16 per call), removes their
   * expired peers, drops empty swarms, and compacts the slabs when mostly empty.
   * Returns the number of peers expired.
   */
  sweep(nowMs: number): number {
    const now = SwarmStore.seconds(nowMs);
    const elapsed = this.lastSweepSecond < 0 ? 1 : Math.max(1, now - this.lastSweepSecond);
    this.lastSweepSecond = now;
    let budget = Math.max(16, Math.ceil((this.swarms.size * elapsed * 2) / this.limits.interval));
    budget = Math.min(budget, this.swarms.size);
    let expired = 0;
    while (budget-- > 0) {
      if (!this.cursor) this.cursor = this.swarms.values();
      const next = this.cursor.next();
      if (next.done) {
        this.cursor = undefined;
        if (this.swarms.size === 0) break;
        continue;
      }
      expired += this.expire(next.value, now);
    }
    if (expired > 0) {
      this.a4.compactIfWasteful();
      this.a6.compactIfWasteful();
    }
    return expired;
  }

  private expire(s: Swarm, now: number): number {
    let removed = 0;
    for (const v6 of [false, true]) {
      const l = v6 ? s.p6 : s.p4;
      const A = v6 ? 16 : 4;
      for (let i = l.count - 1; i >= 0; i--) {
        if (readU32LE(l.bytes, (l.at + i) * (A + 28) + A + OFF_EXPIRY) < now) {
          this.remove(s, v6, i);
          removed++;
          if (s.count === 0) return removed; // pruned
        }
      }
    }
    if (removed === 0) return 0;
    if (s.index && s.count * 8 < s.index.length) reindex(s);
    return removed;
  }
}

/** Compared from the end: peer ids start with the client's name and version (`-TR3000-`), alike in a swarm. */
function samePeerId(b: Uint8Array, at: number, id: Uint8Array): boolean {
  for (let k = PEER_ID_SIZE - 1; k >= 0; k--) if (b[at + k] !== id[k]) return false;
  return true;
}

/** The record at `o` has this address (of the record's family) and port. */
function sameEndpoint(b: Uint8Array, o: number, addr: Uint8Array, port: number): boolean {
  const A = addr.length;
  if (b[o + A] !== port >>> 8 || b[o + A + 1] !== (port & 0xff)) return false;
  for (let k = 0; k < A; k++) if (b[o + k] !== addr[k]) return false;
  return true;
}
