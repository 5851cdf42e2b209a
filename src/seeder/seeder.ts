/**
 * The seeder service: seeds every torrent of the watch folder from the data folder, within
 * the upload budget, to every peer that connects or that trackers, LPD and PEX tell us of.
 *
 * It owns the PeerListener (listening socket on listen_port, else 6882…6889; outgoing dials),
 * one PeerSession per connection, one TorrentSession per torrent (its storage, choker,
 * bucket, peers and candidates, see torrent-session.ts), the watch folder, and the global
 * TokenBucket. One clock-driven tick a second drives keep-alives, timeouts, rate meters and
 * PEX; every 10 s the chokers rotate and torrents with missing data are looked at again.
 *
 * `SeederView` (src/parts.ts) is what LPD and the announcer see of it.
 */
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import type { Metainfo } from '../codec/metainfo.js';
import type { Settings } from '../config/settings.js';
import type { Service } from '../daemon.js';
import type { PeerCandidate, SeededTorrent, SeederView } from '../parts.js';
import { FilePool } from '../storage/file-pool.js';
import { ReadCache, readCacheBytes } from '../storage/read-cache.js';
import { PIECE_DOUBT, TorrentStorage } from '../storage/torrent-storage.js';
import { duplicateToClose } from './duplicate-peer.js';
import { PeerAdmission } from './peer-admission.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { VERSION } from '../version.js';
import { RateMeter, TokenBucket } from './bandwidth.js';
import { ROTATE_MS, type ChokeDecision } from './choker.js';
import { PeerSession, type SessionDeps, type SessionTorrent } from './peer-session.js';
import { MAX_HALF_OPEN, PeerListener, isOwnAddress, normalizeAddress } from './peer-listener.js';
import { TorrentSession, errorStatus, type TorrentStatus } from './torrent-session.js';
import { TorrentWatcher } from './torrent-watcher.js';
import { Mirror, type MirrorDeps } from './mirror.js';
import { OutgoingDials } from './outgoing-dials.js';
import { mseTorrentKey } from '../codec/mse.js';
import { PEX_FLAG } from '../codec/pex.js';

export { FALLBACK_PORT_COUNT, MAX_HALF_OPEN, CONNECT_TIMEOUT_MS, RETRY_MS } from './peer-listener.js';
export { MAX_CANDIDATES, type TorrentState, type TorrentStatus } from './torrent-session.js';

/** Incoming connections still in their handshake, beyond max_peers. */
export const HANDSHAKE_SLACK = 16;
const TICK_MS = 1000;
/** Pieces verified while serving are saved at most this often (flash wear). */
const RESUME_FLUSH_MS = 5 * 60_000;

export interface SeederStatus {
  listenPort?: number;
  /** Bytes per second, 0 = unlimited. */
  uploadLimit: number;
  torrentUploadLimit: number;
  peers: number;
  uploadRate: number;
  uploaded: number;
  torrents: TorrentStatus[];
}

export interface SeederDeps {
  clock: Clock;
  log: Logger;
  /** Tests: ports to try instead of listen_port and 6882…6889 (0 = any free port). */
  ports?: number[];
  /** Tests: listen address (default: every IPv6 and IPv4 address). */
  host?: string;
  /** Tests: the ports tried after listen_port (default 6882…6889). */
  fallbackPorts?: number[];
  /** Mirror mode: web seeds (web-seed.ts) and, for tests, free space. */
  webSeed?: MirrorDeps['webSeed'];
  freeBytes?: MirrorDeps['freeBytes'];
}

export class Seeder implements Service, SeederView {
  readonly name = 'seeder';
  /** Our peer id, shared with the announcer so trackers and peers see one identity. */
  readonly peerId: Uint8Array;
  private readonly listener: PeerListener;
  private readonly torrentsByHash = new Map<string, TorrentSession>();
  private readonly hashByFile = new Map<string, string>();
  /** HASH('req2', info hash) → torrent, for incoming MSE handshakes. */
  private readonly torrentsByMseKey = new Map<string, TorrentSession>();
  /** .torrent files not seeded, with why (and the info hash when the file was readable). */
  private readonly fileErrors = new Map<string, { message: string; infoHash?: string }>();
  /** Every session, from accept to close. */
  private readonly sessions = new Set<PeerSession>();
  private readonly global: TokenBucket;
  private readonly globalMeter = new RateMeter();
  private uploadedTotal = 0;
  private readonly pool = new FilePool();
  private readonly cache: ReadCache;
  private watcher: TorrentWatcher | undefined;
  private tickTimer: { cancel(): void } | undefined;
  private bandwidthTimer: { cancel(): void; at: number } | undefined;
  private readonly bandwidthWaiters = new Set<PeerSession>();
  private checkQueue: Promise<void> = Promise.resolve();
  private readonly listeners: (() => void)[] = [];
  private lastChoke = 0;
  private lastFlush = 0;
  private closed = false;
  private readonly sessionDeps: SessionDeps;
  /** The DHT node, set by the daemon when it runs: its port goes in our handshakes, peers' `port` messages go to it. */
  dht: { port(): number | undefined; addNode(host: string, port: number, source: 'port'): void } | undefined;
  private readonly mirror: Mirror;
  /** Slowloris defence for incoming connections (see peer-admission.ts). */
  private readonly admission = new PeerAdmission();
  private readonly dials: OutgoingDials;

  constructor(
    private readonly deps: SeederDeps,
    private settings: Settings,
  ) {
    // Azureus-style peer id: client MS (meshseed), version, then random bytes.
    const v = VERSION.split(/[.-]/).map((x) => Number(x) || 0);
    this.peerId = Buffer.concat([Buffer.from(`-MS${v[0] ?? 0}${v[1] ?? 0}${v[2] ?? 0}0-`.slice(0, 8), 'latin1'), randomBytes(12)]);
    this.listener = new PeerListener({ ...deps, incoming: (s) => this.incoming(s) });
    this.global = new TokenBucket(deps.clock.now(), settings['seeder.upload_rate'] * 1024);
    this.cache = new ReadCache(cacheBytes(settings));
    this.mirror = new Mirror(
      {
        clock: deps.clock,
        log: deps.log,
        changed: (t) => {
          if (t.state === 'missing data') this.updateState(t);
          this.notifyChanged();
        },
        ...(deps.webSeed ? { webSeed: deps.webSeed } : {}),
        ...(deps.freeBytes ? { freeBytes: deps.freeBytes } : {}),
        torrents: () => this.torrentsByHash.values(),
      },
      settings,
    );
    const self = this;
    this.dials = new OutgoingDials({ ...deps, listener: this.listener, wire: (...a) => this.wire(...a), closing: () => this.closed, connectMore: () => this.connectMore() }, settings);
    this.sessionDeps = {
      clock: deps.clock,
      log: deps.log,
      peerId: this.peerId,
      version: `meshseed ${VERSION}`,
      listenPort: () => this.listener.port,
      accept: (s, infoHash) => self.accept(s, infoHash),
      mseTorrent: (req2Hex) => self.torrentsByMseKey.get(req2Hex)?.meta.infoHash,
      mseAllowed: (address) => self.admission.mseAllowed(address, deps.clock.now()),
      ready: (s) => self.ready(s),
      interest: (s, interested) => {
        const t = s.torrent as TorrentSession;
        const now = deps.clock.now();
        self.apply(interested ? t.choker.interested(s, now) : t.choker.notInterested(s, now));
      },
      waitBandwidth: (s, ms) => self.waitBandwidth(s, ms),
      pexCandidates: (s, peers) =>
        self.addCandidates(peers.slice(0, 50).map((p) => ({ infoHashHex: (s.torrent as TorrentSession).infoHashHex, ...p, source: 'pex' as const }))),
      dhtPort: () => self.dht?.port(),
      dhtNode: (address, port) => self.dht?.addNode(address, port, 'port'),
      uploaded: (s, bytes) => {
        (s.torrent as TorrentSession).uploadedBytes += bytes;
        self.uploadedTotal += bytes;
      },
    };
  }

  // ---- SeederView ----
  listenPort(): number | undefined {
    return this.listener.port;
  }

  torrents(): SeededTorrent[] {
    return [...this.torrentsByHash.values()].filter((t) => t.offered);
  }

  torrent(infoHashHex: string): SeededTorrent | undefined {
    const t = this.torrentsByHash.get(infoHashHex);
    return t?.offered ? t : undefined;
  }

  peersOf(infoHashHex: string): { address: string; port: number; seed: boolean }[] {
    const t = this.torrentsByHash.get(infoHashHex);
    return t && !t.private ? t.pexPeers().map((p) => ({ address: p.address, port: p.port, seed: ((p.flags ?? 0) & PEX_FLAG.seed) !== 0 })) : [];
  }

  onTorrentsChanged(listener: () => void): void {
    this.listeners.push(listener);
  }

  addCandidates(peers: PeerCandidate[]): void {
    for (const p of peers) {
      const t = this.torrentsByHash.get(p.infoHashHex);
      if (!t || !t.open || t.download?.banned.has(normalizeAddress(p.address))) continue;
      // BEP 27: a private torrent's peers come only from its own trackers.
      if (t.private && p.source !== 'tracker') continue;
      if (!(p.port > 0 && p.port < 65536) || !p.address) continue;
      const address = normalizeAddress(p.address);
      const key = `${address}|${p.port}`;
      if (address === '0.0.0.0' || address === '::') continue;
      // ourselves, as PEX from others or a tracker may list us (the handshake would catch it too)
      if (p.port === this.listener.port && isOwnAddress(address)) continue;
      if (!this.listener.mayDial(key, this.deps.clock.now())) continue;
      if (t.connectedTo(address, p.port)) continue;
      t.addCandidate(key, { ...p, address });
    }
    this.connectMore();
  }

  private notifyChanged(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch (err) {
        this.deps.log.error(`torrents-changed listener failed: ${(err as Error).message}`);
      }
    }
  }

  // ---- Service ----
  async start(): Promise<void> {
    await this.listen();
    await this.startWatcher();
    this.scheduleTick();
  }

  private async listen(): Promise<void> {
    await this.listener.listen(this.settings['seeder.listen_port'], this.settings['seeder.address']);
  }

  async reload(settings: Settings): Promise<void> {
    const old = this.settings;
    this.settings = settings;
    const now = this.deps.clock.now();
    this.global.setRate(settings['seeder.upload_rate'] * 1024, now);
    this.cache.resize(cacheBytes(settings));
    this.mirror.reload(settings, this.torrentsByHash.values());
    this.dials.reload(settings);
    for (const t of this.torrentsByHash.values()) {
      t.bucket.setRate(settings['seeder.torrent_upload_rate'] * 1024, now);
      this.apply(t.choker.setSlots(settings['seeder.upload_slots'], now));
    }
    if (settings['seeder.listen_port'] !== old['seeder.listen_port'] || settings['seeder.address'].join() !== old['seeder.address'].join())
      this.deps.log.warn('listen_port or address changed: it takes effect when the daemon restarts');
    if (settings['seeder.data_dir'] !== old['seeder.data_dir']) {
      for (const file of [...this.hashByFile.keys()]) this.removeTorrent(file);
      this.watcher?.close();
      this.watcher = undefined;
      await this.startWatcher();
    } else if (settings['seeder.torrent_dir'] !== old['seeder.torrent_dir']) this.watcher?.setDir(settings['seeder.torrent_dir']);
  }

  private async startWatcher(): Promise<void> {
    this.watcher = new TorrentWatcher(
      {
        clock: this.deps.clock,
        log: this.deps.log,
        onAdd: (file, meta) => this.addTorrent(file, meta),
        onRemove: (file) => this.removeTorrent(file),
        onError: (file, error) => (error === undefined ? this.fileErrors.delete(file) : this.fileErrors.set(file, { message: error })),
        maxFiles: () => this.settings['seeder.max_files'],
      },
      this.settings['seeder.torrent_dir'],
    );
    await this.watcher.start();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.tickTimer?.cancel();
    this.bandwidthTimer?.cancel();
    this.watcher?.close();
    this.mirror.close();
    for (const s of this.sessions) s.close('shutting down');
    await this.listener.close();
    await Promise.all([...this.torrentsByHash.values()].map((t) => t.storage.close()));
    await this.pool.close();
  }

  // ---- torrents ----
  private addTorrent(file: string, meta: Metainfo): void {
    const other = this.torrentsByHash.get(meta.infoHashHex);
    if (other) {
      const msg = `the same torrent as ${other.file}`;
      this.deps.log.warn(`${file}: not seeded: ${msg}`);
      this.fileErrors.set(file, { message: msg, infoHash: meta.infoHashHex });
      return;
    }
    const now = this.deps.clock.now();
    let storage: TorrentStorage;
    try {
      storage = new TorrentStorage(
        {
          pool: this.pool,
          cache: this.cache,
          log: this.deps.log,
          resumeDir: join(this.settings['main.state_dir'], 'resume'),
          followSymlinks: () => this.settings['seeder.follow_symlinks'],
        },
        meta,
        this.settings['seeder.data_dir'],
      );
    } catch (err) {
      this.deps.log.warn(`${file}: not seeded: ${(err as Error).message}`);
      this.fileErrors.set(file, { message: (err as Error).message, infoHash: meta.infoHashHex });
      return;
    }
    const t = new TorrentSession(
      file,
      meta,
      storage,
      new TokenBucket(now, this.settings['seeder.torrent_upload_rate'] * 1024, this.global),
      this.settings['seeder.upload_slots'],
    );
    storage.onAvailable = (i) => {
      for (const s of t.sessions) s.announceHave(i);
    };
    this.torrentsByHash.set(meta.infoHashHex, t);
    this.torrentsByMseKey.set(mseTorrentKey(meta.infoHash), t);
    this.hashByFile.set(file, meta.infoHashHex);
    this.deps.log.info(`${meta.name}: added (${meta.infoHashHex}), ${existsSync(storage.resumeFile) ? 'using its resume data' : 'checking its data'}`);
    // One check at a time: a router's disk is slow and shared.
    this.checkQueue = this.checkQueue.then(() => this.checkTorrent(t)).catch((err) => this.deps.log.error(`${meta.name}: ${(err as Error).stack ?? err}`));
  }

  private async checkTorrent(t: TorrentSession): Promise<void> {
    if (t.removed) return;
    try {
      await t.storage.start();
    } catch (err) {
      t.state = 'error';
      t.message = (err as Error).message;
      this.deps.log.error(`${t.meta.name}: ${t.message}`);
      return;
    }
    await this.settle(t);
  }

  /**
   * Pieces in doubt (a crash, sparse files, data copied in) are hashed, whatever the mode,
   * before the state is told and a download (re)starts with what the check found.
   */
  private async settle(t: TorrentSession): Promise<void> {
    this.mirror.stop(t);
    await t.checkDoubtful(this.deps.log);
    t.checkedOnce = true;
    // (a download that started meanwhile did so after the same check)
    if (t.removed || t.download) return;
    this.updateState(t);
    this.mirror.consider(t);
    this.notifyChanged();
    this.connectMore();
  }

  private updateState(t: TorrentSession): void {
    const change = t.updateState(this.settings['seeder.data_dir'], this.settings['seeder.download']);
    if (change) this.deps.log[change.level](change.line);
  }

  private removeTorrent(file: string): void {
    // a file that was not seeded (a duplicate) takes its error with it
    this.fileErrors.delete(file);
    const hash = this.hashByFile.get(file);
    if (!hash) return;
    this.hashByFile.delete(file);
    const t = this.torrentsByHash.get(hash);
    if (!t || t.file !== file) return;
    t.removed = true;
    this.mirror.stop(t);
    this.torrentsByHash.delete(hash);
    this.torrentsByMseKey.delete(mseTorrentKey(t.meta.infoHash));
    for (const s of [...t.sessions]) s.close('torrent removed');
    for (const s of this.sessions) if (s.torrent === t) s.close('torrent removed');
    t.storage.close().catch(() => {});
    this.deps.log.info(`${t.meta.name}: removed, no longer seeded`);
    this.notifyChanged();
    // a duplicate of this torrent in another file may now be seeded
    for (const [f, e] of this.fileErrors) {
      if (e.message !== `the same torrent as ${file}`) continue;
      this.fileErrors.delete(f);
      this.watcher?.forget(f);
    }
  }

  // ---- connections ----
  private incoming(socket: Socket): void {
    if (this.closed) return void socket.destroy();
    const address = normalizeAddress(socket.remoteAddress);
    const session = this.wire(socket, address, socket.remotePort ?? 0);
    this.admission.admit(session, address, this.deps.clock.now(), this.settings['seeder.max_peers'] + HANDSHAKE_SLACK);
  }

  private wire(socket: Socket, address: string, port: number, torrent?: TorrentSession, mse = false): PeerSession {
    this.listener.sockets.add(socket);
    socket.setNoDelay(true);
    const session = new PeerSession(
      this.sessionDeps,
      { write: (b, done) => (done ? socket.write(b, () => done()) : socket.write(b)), buffered: () => socket.writableLength, close: () => socket.destroy() },
      address,
      port,
      torrent,
      mse,
    );
    this.sessions.add(session);
    // a bug in handling one peer closes that peer, never the daemon
    const guard = (fn: () => void) => {
      try {
        fn();
      } catch (err) {
        this.deps.log.error(`peer ${address}:${port}: ${(err as Error).stack ?? err}`);
        session.close(`internal error: ${(err as Error).message}`);
      }
    };
    this.listener.read(socket, (d) =>
      guard(() => {
        this.admission.activity(session);
        session.onData(d);
      }),
    );
    socket.on('drain', () => guard(() => session.onDrain()));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.listener.sockets.delete(socket);
      session.close(session.closeReason || 'connection closed');
      this.dropSession(session);
    });
    return session;
  }

  private accept(_s: PeerSession, infoHash: Uint8Array): SessionTorrent | undefined | 'full' {
    const t = this.torrentsByHash.get(Buffer.from(infoHash).toString('hex'));
    if (!t || !t.open) return undefined;
    if (t.sessions.size >= this.settings['seeder.max_peers_per_torrent'] || this.activeCount() >= this.settings['seeder.max_peers']) return 'full';
    return t;
  }

  private activeCount(): number {
    let n = 0;
    for (const t of this.torrentsByHash.values()) n += t.sessions.size;
    return n;
  }

  private ready(s: PeerSession): void {
    const t = s.torrent as TorrentSession;
    this.dials.ready(s);
    if (t.removed) return s.close('torrent removed');
    // an outgoing connection counts against the caps only once it is up
    if (s.outgoing && (t.sessions.size >= this.settings['seeder.max_peers_per_torrent'] || this.activeCount() >= this.settings['seeder.max_peers']))
      return s.close('too many peers');
    if (t.download?.banned.has(s.address)) return s.close('banned: its data failed the hash check');
    const duplicate = duplicateToClose(t.sessions, s, { port: this.listener.port ?? 0, peerIdHex: Buffer.from(this.peerId).toString('hex') });
    duplicate?.close('a second connection to the same peer');
    if (duplicate === s) return;
    s.bucket = new TokenBucket(this.deps.clock.now(), 0, t.bucket);
    this.admission.establish(s);
    t.sessions.add(s);
    this.mirror.attach(t, s);
    t.candidates.delete(`${s.address}|${s.port}`);
    this.deps.log.debug(`${t.meta.name}: peer ${s.address}:${s.port} (${s.client}) ${s.outgoing ? 'connected' : 'accepted'}${s.encrypted ? (s.rc4 ? ' over MSE, RC4' : ' over MSE, plaintext') : ''}`);
  }

  private dropSession(s: PeerSession): void {
    if (!this.sessions.delete(s)) return;
    this.admission.remove(s);
    this.bandwidthWaiters.delete(s);
    const t = s.torrent as TorrentSession | undefined;
    if (t) this.mirror.detach(t, s);
    this.dials.closed(s);
    if (t && t.sessions.delete(s)) this.apply(t.choker.remove(s, this.deps.clock.now()));
    this.deps.log.debug(`${t ? `${t.meta.name}: ` : ''}peer ${s.address}:${s.port} closed: ${s.closeReason}`);
    this.connectMore();
  }

  private apply(d: ChokeDecision<PeerSession>): void {
    for (const p of d.choke) p.setChoked(true);
    for (const p of d.unchoke) p.setChoked(false);
  }

  private connectMore(): void {
    if (this.closed) return;
    const maxPeers = this.settings['seeder.max_peers'];
    const perTorrent = this.settings['seeder.max_peers_per_torrent'];
    let progress = true;
    while (progress && this.listener.halfOpen < MAX_HALF_OPEN && this.sessions.size < maxPeers) {
      progress = false;
      for (const t of this.torrentsByHash.values()) {
        if (this.listener.halfOpen >= MAX_HALF_OPEN || this.sessions.size >= maxPeers) break;
        if (!t.open || t.candidates.size === 0 || t.sessions.size >= perTorrent) continue;
        this.dials.dial(t, t.takeCandidate()!);
        progress = true;
      }
    }
  }

  // ---- bandwidth ----
  private waitBandwidth(s: PeerSession, ms: number): void {
    this.bandwidthWaiters.add(s);
    const at = this.deps.clock.now() + Math.max(ms, 5);
    if (this.bandwidthTimer && this.bandwidthTimer.at <= at) return;
    this.bandwidthTimer?.cancel();
    const timer = this.deps.clock.setTimeout(() => {
      this.bandwidthTimer = undefined;
      // first come, first served: each waiting peer in turn, a peer blocked again goes last
      const waiting = [...this.bandwidthWaiters];
      this.bandwidthWaiters.clear();
      for (const p of waiting) p.bandwidthAvailable();
    }, Math.max(ms, 5));
    this.bandwidthTimer = { cancel: () => timer.cancel(), at };
  }

  // ---- timers ----
  private scheduleTick(): void {
    this.tickTimer = this.deps.clock.setTimeout(() => {
      if (this.closed) return;
      try {
        this.tick();
      } catch (err) {
        this.deps.log.error(`tick: ${(err as Error).stack ?? err}`);
      }
      this.scheduleTick();
    }, TICK_MS);
  }

  private tick(): void {
    const now = this.deps.clock.now();
    for (const s of this.sessions) s.tick(now);
    this.globalMeter.sample(now, this.uploadedTotal);
    const rotate = now - this.lastChoke >= ROTATE_MS;
    if (rotate) this.lastChoke = now;
    for (const t of this.torrentsByHash.values()) {
      t.meter.sample(now, t.uploadedBytes);
      if (rotate) this.apply(t.choker.tick(now));
      if ((t.state === 'seeding' || t.state === 'missing data') && t.storage.changes !== t.seenChanges) {
        // a piece failed its check or its file went away while serving
        const was = t.state;
        this.updateState(t);
        if (was !== t.state) this.notifyChanged();
      }
      if (t.rescanDue(now))
        t.storage
          .rescan()
          .then((changed) => {
            if (!changed || t.removed) return;
            // files changed by someone else: hashed (one check at a time), then offered or downloaded
            if (t.storage.countOf(PIECE_DOUBT) > 0)
              return void (this.checkQueue = this.checkQueue.then(() => (t.storage.countOf(PIECE_DOUBT) > 0 && !t.removed ? this.settle(t) : undefined)));
            if (t.state !== 'seeding' && t.state !== 'missing data') return;
            const was = t.state;
            this.updateState(t);
            if (was !== t.state) this.notifyChanged();
          })
          .catch((err) => this.deps.log.error(`${t.meta.name}: rescan: ${(err as Error).message}`));
    }
    this.admission.closeLate(now);
    if (now - this.lastFlush >= RESUME_FLUSH_MS) {
      this.lastFlush = now;
      for (const t of this.torrentsByHash.values()) t.storage.flush().catch(() => {});
    }
    this.mirror.tick(now, this.torrentsByHash.values());
    this.listener.expire(now);
    this.dials.tick(now, this.torrentsByHash.values());
    this.connectMore();
  }

  // ---- status ----
  status(): SeederStatus {
    const now = this.deps.clock.now();
    const torrents: TorrentStatus[] = [...this.torrentsByHash.values()].map((t) => t.status(now));
    for (const [file, { message, infoHash }] of this.fileErrors) torrents.push(errorStatus(file, message, infoHash));
    return {
      ...(this.listener.port !== undefined ? { listenPort: this.listener.port } : {}),
      uploadLimit: this.settings['seeder.upload_rate'] * 1024,
      torrentUploadLimit: this.settings['seeder.torrent_upload_rate'] * 1024,
      peers: this.activeCount(),
      uploadRate: Math.round(this.globalMeter.rate()),
      uploaded: this.uploadedTotal,
      torrents,
    };
  }
}

/** The read cache sized for the upload limit (read-cache.ts). */
const cacheBytes = (s: Settings): number => readCacheBytes(s['seeder.upload_rate'] * 1024, s['seeder.upload_slots']);
