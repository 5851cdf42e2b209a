/**
 * The mesh DHT (BEP 5): a thin owner of a `bittorrent-dht` node (webtorrent's), so peers
 * and routers find each other across routed hops when every tracker is gone.
 *
 * - Its UDP socket (IPv4: the package encodes nodes and peers as IPv4 only) listens on
 *   dht.port, by default the seeder's peer-wire port, as libtorrent and Transmission do.
 *   Every datagram passes the GuardedDhtSocket first (shape, size, per-address rate).
 * - Mesh-only bootstrap: no public node is contacted unless dht.bootstrap lists it. The
 *   node pings the meshseed nodes and clients it meets (`addNode`): hosts heard by LPD,
 *   peers that send a BEP 5 `port` message, the hosts of the mesh trackers (literal IPv4
 *   addresses only, at our own DHT port), and the contacts saved in state_dir.
 * - Every non-private torrent of the seeder is announced (`announce_peer`) soon after it
 *   is added and every 15 minutes (every 2 while it still downloads, mirror mode:
 *   AnnounceSchedule); the peers the announce's lookup finds are offered to the seeder
 *   (`source: 'dht'`), where they are dialled to seed to or to download from. `peersFor` answers a lookup for
 *   the mesh lookup and mirror mode. BEP 27: private torrents never touch the DHT.
 * - Bounds for a router: routing table (dht.max_nodes), peers stored for others in all
 *   (dht.max_peers) and per info hash (dht.max_peers_per_torrent, which also keeps a
 *   get_peers reply in one datagram), lookup tables with the tokens others gave us
 *   (MAX_LOOKUP_TABLES), queries per address (dht.query_rate). Our own tokens need no
 *   memory: the package derives them from the querier's address and a secret rotated
 *   every 5 minutes.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
// the package is loaded by start() when the DHT is on (its `debug` is debug-off.ts in the bundle):
// a daemon with it off never pays for it
import type DHT from 'bittorrent-dht';
import type { Settings } from '../config/settings.js';
import type { Service } from '../daemon.js';
import type { PeerCandidate, SeederView } from '../parts.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { describeError } from '../errors.js';
import { parseHostPort, plainIPv4 } from '../util/host-port.js';
import { GuardedDhtSocket, type DhtSocketCounters } from './guarded-socket.js';
import { AnnounceSchedule } from './announce-schedule.js';
import { loadDhtState, saveDhtState, SAVE_INTERVAL_MS, type DhtState } from './dht-state.js';
import { boundPeerStore, type PeerStore } from './peer-store-bounds.js';

/** BEP 5 leaves it to the node; announces come every 15 minutes, so two rounds. */
export const PEER_TTL_MS = 30 * 60_000;
/** Lookups remembered (each a k-bucket of up to 20 nodes with their tokens, kept 5 minutes). */
export const MAX_LOOKUP_TABLES = 100;
/** Announces (each a lookup, then announce_peer to the closest 20) running at once. */
export const MAX_CONCURRENT_ANNOUNCES = 4;
/** How often due announces are looked at. */
export const TICK_MS = 30_000;
/** While the routing table is empty, the configured nodes are pinged again this often (not TICK_MS). */
export const ISOLATED_RETRY_MS = 10_000;
/** A torrent added or removed is announced this soon (changes come in bursts). */
export const SOON_MS = 2_000;
/** A host met again within this time is not pinged again. */
export const REPING_MS = 10 * 60_000;
/** Hosts remembered for REPING_MS. */
const MAX_PINGED = 1024;
/** A lookup gives up after this long, with the peers found so far. */
export const LOOKUP_TIMEOUT_MS = 15_000;
/** Peers returned by one lookup. */
export const MAX_LOOKUP_PEERS = 200;

/**
 * record-cache keeps two generations: a fresh one, which becomes the stale one (the old
 * stale one dropped) once it holds one peer past this; so at most 2 × this + 1 in all.
 */
const storeGeneration = (maxPeers: number): number => Math.max(1, Math.floor((maxPeers - 1) / 2));

export type NodeSource = 'lpd' | 'port' | 'tracker' | 'bootstrap' | 'saved';

export interface DhtServiceDeps {
  log: Logger;
  clock: Clock;
  /** The seeder whose torrents are announced and who takes the peers found. */
  seeder?: SeederView;
  /** Makes the UDP socket; tests may pass their own. */
  createSocket?: () => Socket;
}

export interface DhtStatus {
  enabled: boolean;
  running: boolean;
  port: number | null;
  nodeId: string | null;
  nodes: number;
  torrentsAnnounced: number;
  /** Announce rounds ended (reaching nodes or not). */
  announceRounds: number;
  storedPeers: number;
  storedTorrents: number;
  lookups: number;
  peersFound: number;
  nodesMet: Record<NodeSource, number>;
  socket: DhtSocketCounters | null;
}

export class DhtService implements Service {
  readonly name = 'dht';
  private dht: DHT | undefined;
  private socket: GuardedDhtSocket | undefined;
  private store: PeerStore | undefined;
  private schedule = new AnnounceSchedule();
  private tickTimer: { cancel(): void } | undefined;
  private saveTimer: { cancel(): void } | undefined;
  private announcing = 0;
  private readonly pinged = new Map<string, number>();
  private saved: DhtState | undefined;
  private lookups = 0;
  private announceRounds = 0;
  private peersFound = 0;
  private nodesMet: Record<NodeSource, number> = { lpd: 0, port: 0, tracker: 0, bootstrap: 0, saved: 0 };
  private listenerAdded = false;
  private readonly log: Logger;

  constructor(
    private readonly deps: DhtServiceDeps,
    private settings: Settings,
  ) {
    this.log = deps.log.child('dht');
  }

  /** The UDP port the DHT listens on, for the `port` message; undefined when it does not run. */
  port(): number | undefined {
    return this.dht?.listening ? this.dht.address().port : undefined;
  }

  async start(): Promise<void> {
    if (!this.settings['dht.enabled']) {
      this.log.info('off (dht.enabled is 0)');
      return;
    }
    const { default: DhtNode } = await import('bittorrent-dht');
    const s = this.settings;
    // the seeder's addresses, when set, keep the DHT there too (this node is IPv4 only)
    const address = s['seeder.address'].find((a) => isIPv4(a));
    if (s['seeder.address'].length && address === undefined) throw new Error('seeder.address lists no IPv4 address, and the DHT is IPv4 only');
    const stateDir = s['main.state_dir'];
    const loaded = loadDhtState(stateDir, s['dht.max_nodes']);
    if (loaded && 'error' in loaded) this.log.warn(`${stateDir}/dht.json: ${loaded.error}; starting with a new node id and an empty table`);
    else this.saved = loaded;
    const socket = new GuardedDhtSocket({ clock: this.deps.clock, createSocket: this.deps.createSocket ?? (() => createSocket('udp4')) }, s['dht.query_rate']);
    const bootstrap = s['dht.bootstrap'].map(parseHostPort).filter((x) => x !== undefined);
    const dht = new DhtNode({
      ...(this.saved ? { nodeId: Buffer.from(this.saved.nodeId, 'hex') } : {}),
      // `false`: the package's default public routers are never contacted.
      bootstrap: bootstrap.length ? bootstrap : false,
      socket,
      maxPeers: storeGeneration(s['dht.max_peers']),
      maxAge: PEER_TTL_MS,
      maxTables: MAX_LOOKUP_TABLES,
      maxValues: 1,
    });
    this.socket = socket;
    this.dht = dht;
    this.store = boundPeerStore(dht, () => this.settings['dht.max_peers_per_torrent']);
    this.capRoutingTable(dht);
    dht.on('peer', (peer: { host: string; port: number }, infoHash: Buffer) => this.onPeer(peer, infoHash));
    dht.on('warning', (err: Error) => this.log.debug(`warning: ${err.message}`));
    const port = s['dht.port'] || this.deps.seeder?.listenPort() || s['seeder.listen_port'];
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        dht.once('error', onError);
        dht.once('listening', () => {
          dht.off('error', onError);
          resolve();
        });
        if (address === undefined) dht.listen(port);
        else dht.listen(port, address);
      });
    } catch (err) {
      this.dht = undefined;
      this.socket = undefined;
      dht.destroy();
      throw new Error(`cannot listen on UDP ${address !== undefined ? `${address}:` : 'port '}${port}: ${describeError(err)}`);
    }
    dht.on('error', (err: Error) => this.log.error(`socket: ${err.message}`));
    this.log.info(
      `listening on UDP ${address !== undefined ? `${address}:` : ''}${port} (node ${dht.nodeId.toString('hex').slice(0, 8)}…), ` +
        (bootstrap.length ? `bootstrap ${s['dht.bootstrap'].join(' ')}` : 'mesh-only bootstrap') +
        (this.saved ? `, ${this.saved.nodes.length} saved contact(s)` : ''),
    );
    for (const n of this.saved?.nodes ?? []) this.addNode(n.host, n.port, 'saved');
    this.meetConfiguredNodes();
    if (this.deps.seeder && !this.listenerAdded) {
      this.listenerAdded = true;
      this.deps.seeder.onTorrentsChanged(() => this.soon());
    }
    this.soon();
    this.saveTimer = this.deps.clock.setTimeout(() => this.periodicSave(), SAVE_INTERVAL_MS);
  }

  async reload(settings: Settings): Promise<void> {
    const before = this.settings;
    this.settings = settings;
    const restart =
      before['dht.enabled'] !== settings['dht.enabled'] ||
      before['dht.port'] !== settings['dht.port'] ||
      before['seeder.address'].join(' ') !== settings['seeder.address'].join(' ') ||
      before['dht.bootstrap'].join(' ') !== settings['dht.bootstrap'].join(' ');
    if (restart) {
      await this.stop();
      await this.start();
      return;
    }
    this.socket?.setQueryRate(settings['dht.query_rate']);
    if (this.store) this.store.maxSize = storeGeneration(settings['dht.max_peers']);
    this.meetConfiguredNodes();
  }

  async close(): Promise<void> {
    await this.stop();
  }

  /**
   * A host that may run a DHT node, met by `source`: pinged, and added to the routing table
   * if it answers. Only IPv4 addresses; a host met again within REPING_MS is not pinged again.
   */
  addNode(host: string, port: number, source: NodeSource, again = false): void {
    const dht = this.dht;
    const ip = plainIPv4(host);
    if (!dht || !ip || !Number.isInteger(port) || port < 1 || port > 65535) return;
    const key = `${ip}:${port}`;
    const now = this.deps.clock.now();
    const last = this.pinged.get(key);
    if (!again && last !== undefined && now - last < REPING_MS) return;
    this.pinged.delete(key);
    if (this.pinged.size >= MAX_PINGED) this.pinged.delete(this.pinged.keys().next().value as string);
    this.pinged.set(key, now);
    this.nodesMet[source]++;
    dht.addNode({ host: ip, port });
  }

  /** Peers of a torrent found on the DHT (the mesh lookup's and mirror mode's source). None for a private torrent. */
  async peersFor(infoHashHex: string, timeoutMs = LOOKUP_TIMEOUT_MS): Promise<PeerCandidate[]> {
    const dht = this.dht;
    if (!dht || !/^[0-9a-f]{40}$/.test(infoHashHex)) return [];
    if (this.deps.seeder?.torrent(infoHashHex)?.private) return [];
    this.lookups++;
    return new Promise((resolve) => {
      const found = new Map<string, PeerCandidate>();
      const onPeer = (peer: { host: string; port: number }, infoHash: Buffer) => {
        if (found.size < MAX_LOOKUP_PEERS && infoHash.toString('hex') === infoHashHex)
          found.set(`${peer.host}:${peer.port}`, { infoHashHex, address: peer.host, port: peer.port, source: 'dht' });
      };
      let timer: { cancel(): void } | undefined;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        dht.off('peer', onPeer);
        timer?.cancel();
        abort();
        resolve([...found.values()]);
      };
      dht.on('peer', onPeer);
      const abort = dht.lookup(infoHashHex, () => finish());
      timer = this.deps.clock.setTimeout(finish, timeoutMs);
    });
  }

  idle(): { state: 'off'; reason: string } | undefined {
    return this.settings['dht.enabled'] ? undefined : { state: 'off', reason: 'dht.enabled is 0' };
  }

  status(): DhtStatus {
    const dht = this.dht;
    return {
      enabled: this.settings['dht.enabled'],
      running: !!dht,
      port: this.port() ?? null,
      nodeId: dht ? dht.nodeId.toString('hex') : null,
      nodes: dht ? dht.nodes.count() : 0,
      torrentsAnnounced: this.schedule.announcedCount(),
      announceRounds: this.announceRounds,
      storedPeers: this.store?.size ?? 0,
      storedTorrents: this.store?.torrentCount() ?? 0,
      lookups: this.lookups,
      peersFound: this.peersFound,
      nodesMet: { ...this.nodesMet },
      socket: this.socket ? structuredClone(this.socket.counters) : null,
    };
  }

  // ---- inside ----

  /**
   * Past dht.max_nodes the newest contact is dropped (k-bucket keeps old, proven nodes first
   * too); never ourselves. The first node of an empty table retries the announces that
   * reached nobody at once, rather than a minute later.
   */
  private capRoutingTable(dht: DHT): void {
    dht.nodes.on('added', (contact: { id: Buffer }) => {
      const count = dht.nodes.count();
      if (contact.id.equals(dht.nodeId) || count > this.settings['dht.max_nodes']) dht.nodes.remove(contact.id);
      else if (count === 1) {
        this.schedule.retryNow(this.deps.clock.now());
        this.soon();
      }
    });
  }

  /**
   * The configured bootstrap nodes with literal addresses and the mesh trackers' hosts (at
   * our own DHT port: a mesh runs one config). With `onlyMissing`, those not in the routing
   * table are pinged again even if pinged lately: a neighbour may boot after us.
   */
  private meetConfiguredNodes(onlyMissing = false): void {
    const dht = this.dht;
    if (!dht) return;
    const configured: { host: string; port: number; source: NodeSource }[] = [];
    for (const b of this.settings['dht.bootstrap'].map(parseHostPort)) if (b && plainIPv4(b.host)) configured.push({ ...b, source: 'bootstrap' });
    const ourPort = this.port();
    for (const url of ourPort ? this.settings['seeder.mesh_tracker'] : []) {
      let host: string;
      try {
        host = new URL(url).hostname;
      } catch {
        continue;
      }
      if (plainIPv4(host)) configured.push({ host, port: ourPort!, source: 'tracker' });
    }
    const known = onlyMissing ? new Set(dht.nodes.toArray().map((n) => `${n.host}:${n.port}`)) : undefined;
    for (const n of configured) if (!known?.has(`${n.host}:${n.port}`)) this.addNode(n.host, n.port, n.source, onlyMissing);
  }

  private onPeer(peer: { host: string; port: number }, infoHash: Buffer): void {
    this.peersFound++;
    const seeder = this.deps.seeder;
    if (!seeder) return;
    const hex = infoHash.toString('hex');
    const t = seeder.torrent(hex);
    if (!t || t.private) return;
    // ourselves among them (other nodes store our announce): the seeder drops it by peer id
    seeder.addCandidates([{ infoHashHex: hex, address: peer.host, port: peer.port, source: 'dht' }]);
  }

  private soon(): void {
    this.tickTimer?.cancel();
    this.tickTimer = this.deps.clock.setTimeout(() => this.tick(), SOON_MS);
  }

  private tick(): void {
    const dht = this.dht;
    if (!dht) return;
    const isolated = dht.nodes.count() === 0;
    this.tickTimer = this.deps.clock.setTimeout(() => this.tick(), isolated ? ISOLATED_RETRY_MS : TICK_MS);
    // configured nodes not in the table yet (a neighbour that boots after us) are pinged
    // again; isolated (a reboot with the mesh down), the saved contacts every REPING_MS too
    this.meetConfiguredNodes(true);
    if (isolated) for (const n of this.saved?.nodes ?? []) this.addNode(n.host, n.port, 'saved');
    const seeder = this.deps.seeder;
    const port = seeder?.listenPort();
    if (!seeder || !port) return;
    const now = this.deps.clock.now();
    for (const hex of this.schedule.due(seeder.torrents(), now)) {
      if (this.announcing >= MAX_CONCURRENT_ANNOUNCES) break;
      this.announcing++;
      this.schedule.started(hex, now);
      const ended = (err: Error | null, reached?: number) => {
        // stop() reset the count for a node it destroyed: only this node's announces count down
        if (this.dht !== dht) return;
        this.announcing--;
        this.announceRounds++;
        // mirror mode: a torrent still downloading is looked up again sooner (its peers become candidates)
        const downloading = (seeder.torrent(hex)?.left() ?? 0) > 0;
        this.schedule.ended(hex, err ? 0 : (reached ?? 0), this.deps.clock.now(), downloading);
        this.log.debug(`announce ${hex}: ${err ? err.message : `${reached} node(s)`}`);
      };
      // A fresh lookup first (its peers go to the seeder): the package would otherwise reuse
      // the closest nodes of a lookup up to 5 minutes old, even one that found none.
      dht.lookup(hex, (err) => (err || this.dht !== dht ? ended(err) : dht.announce(hex, port, ended)));
    }
  }

  private periodicSave(): void {
    this.save();
    this.saveTimer = this.deps.clock.setTimeout(() => this.periodicSave(), SAVE_INTERVAL_MS);
  }

  /** Writes our id and contacts; an empty table keeps the contacts saved before (the mesh may be down now). */
  private save(): void {
    const dht = this.dht;
    if (!dht) return;
    const nodes = dht.nodes
      .toArray()
      .slice(0, this.settings['dht.max_nodes'])
      .map((n) => ({ host: n.host, port: n.port }));
    const state: DhtState = { nodeId: dht.nodeId.toString('hex'), nodes: nodes.length ? nodes : (this.saved?.nodes ?? []) };
    try {
      saveDhtState(this.settings['main.state_dir'], state);
      this.saved = state;
    } catch (err) {
      this.log.warn(`cannot save the routing table: ${describeError(err)}`);
    }
  }

  private async stop(): Promise<void> {
    this.tickTimer?.cancel();
    this.saveTimer?.cancel();
    this.tickTimer = this.saveTimer = undefined;
    const dht = this.dht;
    if (!dht) return;
    this.save();
    this.dht = undefined;
    this.socket = undefined;
    this.store = undefined;
    this.schedule = new AnnounceSchedule();
    this.announcing = 0;
    await new Promise<void>((resolve) => dht.destroy(() => resolve()));
  }
}
