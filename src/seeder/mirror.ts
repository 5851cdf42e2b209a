/**
 * Mirror mode (`seeder.download`): every torrent of the watch folder that lacks data is
 * downloaded, then seeded, over the same connections. This is the seeder's side of it:
 *
 *   checking     pieces in doubt are hashed first (after a crash, or data copied in): what is
 *                there is checked, never trusted;
 *   waiting      over `seeder.max_disk_mb` (`waiting: over max_disk_mb`, in the order the
 *                torrents came, mirror-disk.ts), or not enough free space: `waiting: disk
 *                full (needs N MiB)` until statvfs says the torrent's missing bytes plus
 *                `seeder.min_free_mb` fit (both looked at again every DISK_RECHECK_MS), or a
 *                write failed;
 *   downloading  a TorrentDownload (torrent-download.ts) runs, every session of the torrent
 *                joined to it;
 *   seeding      when the last piece is on disk and fsync'ed.
 *
 * The download limits are a second token-bucket tree (global → torrent), beside the upload
 * tree; a reload changes them live.
 */
import { mkdir, statfs } from 'node:fs/promises';
import type { Settings } from '../config/settings.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { TokenBucket } from './bandwidth.js';
import type { PeerSession } from './peer-session.js';
import { ALL_PARTIAL_BYTES, TorrentDownload, type WebSeedSource } from './torrent-download.js';
import { PiecePool } from './piece-pool.js';
import { HashThread } from './hash-thread.js';
import { availableParallelism } from 'node:os';
import type { TorrentSession } from './torrent-session.js';
import { PIECE_DOUBT } from '../storage/torrent-storage.js';
import { formatBytes } from '../control/status-view.js';
import { WebSeed } from './web-seed.js';
import { gatedLookup, type LookupFn } from './announce-transport.js';
import { OVER_MAX_DISK, mayDownload } from './mirror-disk.js';

/** Web seeds used per torrent at most (a torrent may list hundreds of mirrors). */
export const MAX_WEB_SEEDS = 8;
/** A torrent waiting for disk space looks again this often. */
export const DISK_RECHECK_MS = 10_000;
const MiB = 1024 * 1024;

/**
 * Why a download of `missing` bytes cannot start with `free` bytes free and
 * `seeder.min_free_mb` = `minFreeMb` to keep, or undefined when it can. The disk is "full"
 * when the data itself does not fit; otherwise it is the reserve that stops it, and the
 * message names the setting.
 */
export function spaceMessage(missing: number, minFreeMb: number, free: number): string | undefined {
  const needs = missing + minFreeMb * MiB;
  if (free >= needs) return undefined;
  const counts = `needs ${Math.ceil(needs / MiB)} MiB, ${Math.floor(free / MiB)} MiB free`;
  if (free < missing) return `waiting: disk full (${counts}; seeder.min_free_mb=${minFreeMb} kept free)`;
  return `waiting: seeder.min_free_mb (${counts}: ${formatBytes(missing)} of data fits, but min_free_mb=${minFreeMb} must stay free)`;
}

export interface MirrorDeps {
  clock: Clock;
  log: Logger;
  /** The torrent's state changed (LPD, announcer follow). */
  changed(t: TorrentSession): void;
  /** A web seed for a URL of the torrent's `url-list`, if web seeds are available. */
  webSeed?(t: TorrentSession, url: string): WebSeedSource | undefined;
  /** Every torrent of the seeder, in the order it took them in (for max_disk_mb). */
  torrents?(): Iterable<TorrentSession>;
  /** Free bytes for unprivileged writers on the disk of `dir` (tests inject). */
  freeBytes?(dir: string): Promise<number | undefined>;
}

async function statfsFree(dir: string): Promise<number | undefined> {
  if (typeof statfs !== 'function') return undefined; // Node before 18.15: no check
  await mkdir(dir, { recursive: true });
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}

export class Mirror {
  readonly global: TokenBucket;
  /** The piece buffers of every download, within one budget. */
  readonly pieces = new PiecePool(ALL_PARTIAL_BYTES);
  /** SHA-1 off the main thread for fast web seeds, shared by every download (hash-thread.ts). */
  readonly hashThread: HashThread;
  /** Torrents between `consider` and their download start (one chain each). */
  private readonly starting = new Set<TorrentSession>();
  private lookup: LookupFn | undefined;

  constructor(
    private readonly deps: MirrorDeps,
    private settings: Settings,
  ) {
    this.global = new TokenBucket(deps.clock.now(), settings['seeder.download_rate'] * 1024);
    this.hashThread = new HashThread({ clock: deps.clock, log: deps.log, cores: availableParallelism() }, { fromMiBps: settings['seeder.hash_thread_rate'] });
  }

  close(): void {
    this.hashThread.close();
  }

  get enabled(): boolean {
    return this.settings['seeder.download'];
  }

  /** The torrent's download bucket, made once. */
  bucketOf(t: TorrentSession): TokenBucket {
    t.downloadBucket ??= new TokenBucket(this.deps.clock.now(), this.settings['seeder.torrent_download_rate'] * 1024, this.global);
    return t.downloadBucket;
  }

  reload(settings: Settings, torrents: Iterable<TorrentSession>): void {
    const was = this.enabled;
    this.settings = settings;
    const now = this.deps.clock.now();
    this.global.setRate(settings['seeder.download_rate'] * 1024, now);
    this.hashThread.reload({ fromMiBps: settings['seeder.hash_thread_rate'] });
    for (const t of torrents) {
      t.downloadBucket?.setRate(settings['seeder.torrent_download_rate'] * 1024, now);
      if (was && !this.enabled && (t.download || t.state === 'waiting')) {
        this.stop(t);
        t.state = 'missing data';
        t.message = 'download off (seeder.download 0)';
        this.deps.changed(t);
      } else if (!was && this.enabled) this.consider(t);
    }
  }

  /** After its check (or a reload): downloads the torrent if it lacks data. */
  consider(t: TorrentSession): void {
    if (!this.enabled || t.removed || t.download || this.starting.has(t) || t.storage.complete) return;
    if (t.state !== 'missing data' && t.state !== 'waiting') return;
    this.starting.add(t);
    this.prepare(t)
      .catch((err) => {
        t.state = 'error';
        t.message = (err as Error).message;
        this.deps.log.error(`${t.meta.name}: ${t.message}`);
      })
      .finally(() => this.starting.delete(t));
  }

  private async prepare(t: TorrentSession): Promise<void> {
    // (the seeder hashes pieces in doubt first; a mirror never takes sparse or half-written files for data)
    if (t.storage.countOf(PIECE_DOUBT) > 0) {
      await t.checkDoubtful(this.deps.log);
      if (t.removed) return;
      if (t.storage.complete) return this.deps.changed(t);
    }
    if (!this.underMaxDisk(t) || !(await this.spaceFor(t)) || t.removed || !this.enabled) return;
    this.start(t);
  }

  /** True when the torrent fits under max_disk_mb after those before it; else it waits. */
  private underMaxDisk(t: TorrentSession): boolean {
    const limitMb = this.settings['seeder.max_disk_mb'];
    if (limitMb <= 0 || !this.deps.torrents) return true;
    const all = [...this.deps.torrents()]
      .filter((o) => !o.removed)
      .map((o) => ({
        key: o.meta.infoHashHex,
        size: o.meta.length,
        holds: o !== t && (o.download !== undefined || o.storage.complete),
        wants: o.state === 'missing data' || o.state === 'waiting',
      }));
    if (mayDownload(all, t.meta.infoHashHex, limitMb * MiB)) return true;
    t.nextDiskCheck = this.deps.clock.now() + DISK_RECHECK_MS;
    if (t.state !== 'waiting' || t.message !== OVER_MAX_DISK) {
      this.deps.log.info(`${t.meta.name}: ${OVER_MAX_DISK} (${limitMb} MiB; ${formatBytes(t.meta.length)} does not fit after the torrents before it); looking again every ${DISK_RECHECK_MS / 1000} s`);
      t.state = 'waiting';
      t.message = OVER_MAX_DISK;
      this.deps.changed(t);
    }
    return false;
  }

  /** True when the missing bytes plus min_free fit; else the torrent waits. */
  private async spaceFor(t: TorrentSession): Promise<boolean> {
    const dir = this.settings['seeder.data_dir'];
    const free = await (this.deps.freeBytes ?? statfsFree)(dir).catch(() => undefined);
    t.nextDiskCheck = this.deps.clock.now() + DISK_RECHECK_MS;
    if (free === undefined) return true;
    const message = spaceMessage(t.storage.left(), this.settings['seeder.min_free_mb'], free);
    if (message === undefined) return true;
    if (t.state !== 'waiting' || t.message !== message) {
      this.deps.log.warn(`${t.meta.name}: ${message} in ${dir}; looking again every ${DISK_RECHECK_MS / 1000} s`);
      t.state = 'waiting';
      t.message = message;
      this.deps.changed(t);
    }
    return false;
  }

  private start(t: TorrentSession): void {
    const d = new TorrentDownload({
      clock: this.deps.clock,
      log: this.deps.log,
      storage: t.storage,
      bucket: this.bucketOf(t),
      pool: this.pieces,
      hasher: this.hashThread,
      completed: () => this.completed(t),
      paused: (reason) => this.paused(t, reason),
      ban: (address) => {
        for (const s of [...t.sessions]) if (s.address === address) s.close('banned: its data failed the hash check');
      },
    });
    t.download = d;
    t.state = 'downloading';
    t.message = '';
    for (const url of t.meta.urlList.slice(0, MAX_WEB_SEEDS)) d.addWebSeed(this.webSeed(t, url));
    const missing = t.storage.left();
    this.deps.log.info(
      `${t.meta.name}: download started: ${formatBytes(missing)} missing (${t.meta.pieceCount - t.piecesAvailable()} of ${t.meta.pieceCount} pieces), ${t.sessions.size} peer(s), ${Math.min(MAX_WEB_SEEDS, t.meta.urlList.length)} web seed(s)`,
    );
    for (const s of t.sessions) this.attach(t, s);
    this.deps.changed(t);
    d.fillAll();
  }

  /** A web seed (web-seed.ts) for one `url-list` entry; names resolved through one gated lookup. */
  private webSeed(t: TorrentSession, url: string): WebSeedSource {
    const injected = this.deps.webSeed?.(t, url);
    if (injected) return injected;
    this.lookup ??= gatedLookup(this.deps.clock);
    return new WebSeed(
      { clock: this.deps.clock, logger: this.deps.log, lookup: this.lookup },
      { url, name: t.meta.name, singleFile: t.meta.singleFile, files: t.meta.files.map((f) => ({ path: f.path, length: f.length, offset: f.offset, ...(f.padding ? { padding: true } : {}) })) },
    );
  }

  /** A session joined the torrent (or the download started). */
  attach(t: TorrentSession, s: PeerSession): void {
    if (!t.download || s.download || !s.active) return;
    s.download = t.download.addPeer(s);
  }

  /** A session left the torrent. */
  detach(t: TorrentSession, s: PeerSession): void {
    if (s.download) t.download?.removePeer(s.download);
    s.download = undefined;
  }

  private completed(t: TorrentSession): void {
    this.stop(t);
    t.state = 'missing data'; // the seeder works out "seeding" from the storage
    // peers that are seeds have nothing for us now, nor we for them
    for (const s of [...t.sessions]) if (s.isSeed) s.close('peer is a seed too');
    this.deps.changed(t);
  }

  private paused(t: TorrentSession, reason: string): void {
    if (!t.download) return;
    this.stop(t);
    t.state = 'waiting';
    // (shown on the public front page: no paths of this machine)
    t.message = `waiting: ${reason.replace(/ ?'\/[^']*'/g, '')}`;
    t.nextDiskCheck = this.deps.clock.now() + DISK_RECHECK_MS;
    this.deps.log.warn(`${t.meta.name}: download paused: ${reason}; trying again in ${DISK_RECHECK_MS / 1000} s`);
    this.deps.changed(t);
  }

  /** Ends the torrent's download (completed, paused, removed, turned off). */
  stop(t: TorrentSession): void {
    const d = t.download;
    if (!d) return;
    t.webSeedStatus = d.webSeedStatus();
    t.downloadedBefore += d.fromPeers + d.fromWebSeeds;
    t.download = undefined;
    d.stop();
    for (const s of t.sessions) s.download = undefined;
  }

  /** About once a second. */
  tick(now: number, torrents: Iterable<TorrentSession>): void {
    this.hashThread.tick(now);
    for (const t of torrents) {
      t.download?.tick(now);
      if (t.state === 'waiting' && now >= t.nextDiskCheck) this.consider(t);
      // a seeded torrent whose data went missing or bad is downloaded again
      else if (t.state === 'missing data') this.consider(t);
    }
  }
}
