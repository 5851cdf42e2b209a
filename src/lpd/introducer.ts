/**
 * LPD introductions (BEP 14 + BEP 10 + BEP 11): a client heard by LPD is told, in one
 * `ut_pex` message, the peers this node knows or can look up for the torrent it announced.
 *
 * Multicast stays on one segment, so a client whose torrent lists only unreachable trackers
 * finds nobody beyond its segment. Its LPD announce names its address, its listen port and
 * the info hash X: enough to connect to it and speak the peer wire. So the introducer
 * connects to H's port, sends the handshake for X (extension and fast bits), the extension
 * handshake offering `ut_pex`, `have_none` (we have no piece), and once H's extension
 * handshake gives its `ut_pex` id, one `ut_pex` message with up to 50 peers (`added` /
 * `added.f`, `added6` / `added6.f`; flags 0x02 seed where known, 0x10 reachable: every peer
 * given was listed with its listen port). When this node runs a DHT and H's handshake has the
 * DHT bit, a BEP 5 `port` message goes first, so H's own DHT lookups reach the mesh DHT too (a
 * stock client with no bootstrap node starts with an empty routing table; this is a second way
 * in beside the DHT node's own ping). Then it closes after INTRODUCTION_GRACE_MS, enough for H
 * to read the message. libtorrent 2.0 dials an introduced peer within tens of
 * milliseconds; Transmission within its next peer-manager pulse.
 *
 * When this node's seeder has X the introducer stays out: the LPD bridge has already handed
 * H to the seeder (`lpd.bridge_to_seeder`), which dials at once and, once connected, tells
 * H its other peers by the seeder's own PEX. Whether to introduce, and whom, is the pure
 * IntroductionPolicy's; the peers come from the MeshLookup. Every connection is bounded by
 * INTRODUCTION_TIMEOUT_MS and the number under way by the policy's cap; nothing here awaits
 * on the LPD path.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Settings } from '../config/settings.js';
import type { Service } from '../daemon.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { MeshLookup, MeshPeer } from '../seeder/lookup.js';
import { describeError } from '../errors.js';
import {
  EXT_HANDSHAKE_ID,
  LOCAL_EXT,
  MSG,
  PeerWireFramer,
  decodeExtendedHandshake,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMessage,
} from '../codec/peer-wire.js';
import { PEX_FLAG, encodePex, type PexPeer } from '../codec/pex.js';
import { IntroductionPolicy, MAX_CONCURRENT_INTRODUCTIONS, REINTRODUCE_MS, type HeardAnnounce, type IntroductionRefusal } from './introduction-policy.js';
import { VERSION } from '../version.js';

/** Connect, both handshakes and the message: a client on the same mesh answers in well under this. */
export const INTRODUCTION_TIMEOUT_MS = 10_000;
/** Kept open after the `ut_pex` message so the client reads it before our FIN. */
export const INTRODUCTION_GRACE_MS = 2_000;
/** Bound on one incoming message while introducing (a bitfield of a 2 M-piece torrent fits). */
const MAX_MESSAGE_BYTES = 256 * 1024;

export interface IntroducerDeps {
  clock: Clock;
  log: Logger;
  lookup: MeshLookup;
  /** Facts about a torrent and a host, from the seeder and the tracker. */
  isOwnAddress: (address: string) => boolean;
  isPrivate: (infoHashHex: string) => boolean;
  isAllowed: (infoHashHex: string) => boolean;
  isSeeding: (infoHashHex: string) => boolean;
  /** The UDP port our DHT node listens on (undefined: no DHT), told to a client that speaks DHT (BEP 5 `port`). */
  dhtPort?: () => number | undefined;
  connect?: (host: string, port: number) => Socket;
  peerId?: Uint8Array;
}

export interface IntroducerStatus {
  enabled: boolean;
  sent: number;
  peersGiven: number;
  active: number;
  refused: Partial<Record<IntroductionRefusal, number>>;
}

export class Introducer implements Service {
  readonly name = 'introductions';
  private readonly policy = new IntroductionPolicy({ maxConcurrent: MAX_CONCURRENT_INTRODUCTIONS });
  private readonly log: Logger;
  private readonly peerId: Uint8Array;
  private readonly sockets = new Set<Socket>();
  /** Lookups and connections under way (the policy's concurrency cap counts both). */
  private active = 0;
  private pruneTimer: { cancel(): void } | undefined;
  private running = false;
  private readonly counters: Omit<IntroducerStatus, 'enabled' | 'active'> = { sent: 0, peersGiven: 0, refused: {} };

  constructor(
    private readonly deps: IntroducerDeps,
    private settings: Settings,
  ) {
    this.log = deps.log.child('introduce');
    this.peerId = deps.peerId ?? Buffer.concat([Buffer.from('-MS0000-', 'latin1'), randomBytes(12)]);
  }

  async start(): Promise<void> {
    this.running = true;
    this.schedulePrune();
  }

  reload(settings: Settings): void {
    this.settings = settings;
  }

  async close(): Promise<void> {
    this.running = false;
    this.pruneTimer?.cancel();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  private schedulePrune(): void {
    this.pruneTimer = this.deps.clock.setTimeout(() => {
      this.policy.prune(this.deps.clock.now());
      if (this.running) this.schedulePrune();
    }, REINTRODUCE_MS);
  }

  /** An LPD announce heard: H (`address`, with its `%scope` if link-local) runs a client of X on `port`. */
  heard(infoHashHex: string, address: string, port: number, ifname?: string): void {
    if (!this.running) return;
    const heard: HeardAnnounce = { address, port, infoHashHex };
    const screened = this.policy.screen(heard, {
      enabled: this.settings['lpd.introduce'],
      ownAddress: this.deps.isOwnAddress(address),
      private: this.deps.isPrivate(infoHashHex),
      allowed: this.deps.isAllowed(infoHashHex),
      seeding: this.deps.isSeeding(infoHashHex),
      active: this.active,
    });
    if (!screened.ok) {
      // 'off' is the operator's choice, not a refusal worth counting
      if (screened.reason !== 'off') this.refuse(screened.reason);
      return;
    }
    this.active++;
    this.policy.begin(heard);
    void this.run(heard, ifname).finally(() => {
      this.active--;
      this.policy.end(heard);
    });
  }

  private async run(heard: HeardAnnounce, ifname: string | undefined): Promise<void> {
    let found: MeshPeer[];
    try {
      found = await this.deps.lookup.peersFor(heard.infoHashHex, { except: [heard.address], ...(ifname ? { interface: ifname } : {}) });
    } catch (err) {
      this.log.debug(`lookup for ${heard.infoHashHex} failed: ${describeError(err)}`);
      return this.refuse('failed');
    }
    // a link-local address means nothing beyond its own link
    const usable: PexPeer[] = found
      .filter((p) => !/^fe[89ab]/i.test(p.address))
      .map((p) => ({ address: p.address.replace(/%.*$/, ''), port: p.port, flags: PEX_FLAG.reachable | (p.seed ? PEX_FLAG.seed : 0) }));
    const chosen = this.policy.choose(this.deps.clock.now(), heard, usable);
    if (!chosen.ok) return this.refuse(chosen.reason);
    if (!this.running) return;
    try {
      await this.introduce(heard, chosen.value);
    } catch (err) {
      this.log.debug(`${heard.address} port ${heard.port}: introduction for ${heard.infoHashHex} failed: ${describeError(err)}`);
      return this.refuse(err instanceof NoPex ? 'no pex' : 'failed');
    }
    this.policy.sent(this.deps.clock.now(), heard, chosen.value);
    this.counters.sent++;
    this.counters.peersGiven += chosen.value.length;
    this.log.debug(
      `introduced ${heard.address} (port ${heard.port}) to ${chosen.value.length} peer(s) of ${heard.infoHashHex}: ${chosen.value
        .slice(0, 3)
        .map((p) => `${p.address}:${p.port}`)
        .join(', ')}${chosen.value.length > 3 ? ', …' : ''}`,
    );
  }

  private refuse(reason: IntroductionRefusal): void {
    this.counters.refused[reason] = (this.counters.refused[reason] ?? 0) + 1;
  }

  /** One connection: handshakes, one ut_pex message, a grace period, close. Resolves once the message is written. */
  private introduce(heard: HeardAnnounce, peers: PexPeer[]): Promise<void> {
    const infoHash = Buffer.from(heard.infoHashHex, 'hex');
    const socket = (this.deps.connect ?? ((host, port) => netConnect({ host, port })))(heard.address, heard.port);
    this.sockets.add(socket);
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const framer = new PeerWireFramer(MAX_MESSAGE_BYTES);
      let theirsFast = false;
      let theirsDht = false;
      const dhtPort = this.deps.dhtPort?.();
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        timer.cancel();
        if (err) {
          socket.destroy();
          this.sockets.delete(socket);
          reject(err);
          return;
        }
        resolve();
        const grace = this.deps.clock.setTimeout(() => {
          socket.destroy();
          this.sockets.delete(socket);
        }, INTRODUCTION_GRACE_MS);
        socket.once('close', () => {
          grace.cancel();
          this.sockets.delete(socket);
        });
      };
      const timer = this.deps.clock.setTimeout(() => finish(new Error(`no introduction within ${INTRODUCTION_TIMEOUT_MS / 1000} s`)), INTRODUCTION_TIMEOUT_MS);
      socket.setNoDelay(true);
      socket.on('error', (e) => finish(e));
      socket.on('close', () => finish(new Error('closed by the peer before the introduction')));
      socket.on('connect', () => {
        socket.write(encodeHandshake({ infoHash, peerId: this.peerId, extension: true, fast: true, dht: dhtPort !== undefined }));
      });
      socket.on('data', (data: Buffer) => {
        if (settled) return;
        try {
          framer.push(
            data,
            (h) => {
              if (!infoHash.equals(h.infoHash)) throw new Error('handshake for another torrent');
              if (!h.extension) throw new NoPex('no extension protocol (BEP 10)');
              theirsFast = h.fast;
              theirsDht = h.dht === true;
              // BEP 10: no `p`: we are not a peer of the torrent, only its introducer
              const ext = encodeExtendedHandshake({ m: new Map([['ut_pex', LOCAL_EXT.ut_pex]]), version: `meshseed ${VERSION}` });
              socket.write(encodeMessage({ type: 'extended', extId: EXT_HANDSHAKE_ID, payload: ext }));
              // BEP 6: with both fast bits set a peer with no pieces says so
              if (theirsFast) socket.write(encodeMessage({ type: 'haveNone' }));
              // BEP 5: a client with a DHT adds our node to its table, so its own lookups reach the mesh DHT
              if (theirsDht && dhtPort !== undefined) socket.write(encodeMessage({ type: 'port', port: dhtPort }));
            },
            (body) => {
              if (body.length < 2 || body[0] !== MSG.extended || body[1] !== EXT_HANDSHAKE_ID) return;
              const theirs = decodeExtendedHandshake(body.subarray(2));
              const pexId = theirs.m.get('ut_pex');
              if (!pexId) throw new NoPex('the peer does not take ut_pex');
              socket.write(encodeMessage({ type: 'extended', extId: pexId, payload: encodePex({ added: peers, dropped: [] }) }));
              finish();
            },
          );
        } catch (e) {
          finish(e as Error);
        }
      });
    });
  }

  status(): IntroducerStatus {
    // introductions need LPD to hear clients
    return { enabled: this.running && this.settings['lpd.enabled'] && this.settings['lpd.introduce'], active: this.active, ...this.counters, refused: { ...this.counters.refused } };
  }
}

class NoPex extends Error {}
