/**
 * One torrent of the seeder: its storage, its pieces' state as the status shows it, its
 * peers (sessions), its choker and upload bucket, and the connection candidates learned for
 * it (tracker, LPD, PEX). The service (seeder.ts) owns the sockets and hands each torrent
 * its sessions; what is about one torrent alone lives here.
 */
import { existsSync } from 'node:fs';
import type { Metainfo } from '../codec/metainfo.js';
import { PEX_FLAG, type PexPeer } from '../codec/pex.js';
import type { PeerCandidate, SeededTorrent } from '../parts.js';
import { PIECE_DOUBT, PIECE_VERIFIED, type TorrentStorage } from '../storage/torrent-storage.js';
import { RateMeter, type TokenBucket } from './bandwidth.js';
import { Choker, ROTATE_MS } from './choker.js';
import type { PeerSession, SessionTorrent } from './peer-session.js';
import type { TorrentDownload, WebSeedSource } from './torrent-download.js';
import { formatBytes, formatDuration } from '../control/status-view.js';

/** Candidates kept per torrent (oldest dropped). */
export const MAX_CANDIDATES = 200;
/** Torrents with all their data are re-stat'ed this often (a changed file puts its pieces in doubt). */
export const COMPLETE_RESCAN_MS = 60_000;
export const INCOMPLETE_RESCAN_MS = 10_000;

export type TorrentState = 'checking' | 'downloading' | 'waiting' | 'seeding' | 'missing data' | 'error';

export type WebSeedStatus = ReturnType<WebSeedSource['status']>;

export interface TorrentStatus {
  name: string;
  infoHash: string;
  file: string;
  state: TorrentState;
  message?: string;
  peers: number;
  unchoked: number;
  uploadRate: number;
  uploaded: number;
  size: number;
  pieces: number;
  piecesAvailable: number;
  /** Share of the torrent's bytes verified on disk, 0…1. */
  progress: number;
  /** Bytes per second received (peers and web seeds). */
  downloadRate: number;
  /** Bytes received since the daemon started. */
  downloaded: number;
  /** Seconds to completion at the current rate; null when unknown (not downloading, no rate). */
  etaS: number | null;
  webSeeds: WebSeedStatus[];
}

export class TorrentSession implements SessionTorrent, SeededTorrent {
  state: TorrentState = 'checking';
  message = '';
  readonly sessions = new Set<PeerSession>();
  readonly choker: Choker<PeerSession>;
  readonly candidates = new Map<string, PeerCandidate>();
  readonly meter = new RateMeter();
  uploadedBytes = 0;
  lastRescan = 0;
  /** storage.changes when the state was last worked out. */
  seenChanges = 0;
  removed = false;
  /** Mirror mode: the download while one runs (torrent-download.ts). */
  download: TorrentDownload | undefined;
  /** Bytes downloaded by earlier downloads of this torrent (paused, resumed). */
  downloadedBefore = 0;
  /** The torrent's download bucket (parent: the global one). */
  downloadBucket: TokenBucket | undefined;
  /** When free space is looked at again while waiting. */
  nextDiskCheck = 0;
  /** Web seeds of the last download (their status stays shown). */
  webSeedStatus: WebSeedStatus[] = [];
  /** The first check is done: a later re-check (files changed) keeps the torrent open and offered. */
  checkedOnce = false;
  /** Pieces in doubt when their check began (the status counts against it). */
  private checkingOf: number | undefined;

  constructor(
    readonly file: string,
    readonly meta: Metainfo,
    readonly storage: TorrentStorage,
    readonly bucket: TokenBucket,
    slots: number,
  ) {
    this.choker = new Choker(slots, ROTATE_MS);
  }
  get infoHashHex(): string {
    return this.meta.infoHashHex;
  }
  get infoHash(): Uint8Array {
    return this.meta.infoHash;
  }
  get private(): boolean {
    return this.meta.private;
  }
  get announceTiers(): string[][] {
    return this.meta.announceTiers;
  }
  /** Ready for peers: checked once, not in error (a re-check offers the pieces verified so far). */
  get open(): boolean {
    return this.state !== 'error' && (this.state !== 'checking' || this.checkedOnce);
  }
  /** Offered to trackers, LPD and PEX: seeding, or downloading or missing data (peers may have what we lack). */
  get offered(): boolean {
    return this.state === 'seeding' || this.state === 'missing data' || this.state === 'downloading' || this.state === 'waiting' || (this.state === 'checking' && this.checkedOnce);
  }
  uploaded(): number {
    return this.uploadedBytes;
  }
  downloaded(): number {
    return this.downloadedBefore + (this.download ? this.download.fromPeers + this.download.fromWebSeeds : 0);
  }
  left(): number {
    return this.storage.left();
  }
  available(i: number): boolean {
    return this.storage.available(i);
  }
  complete(): boolean {
    return this.storage.complete;
  }
  readBlock(index: number, begin: number, into: Buffer): Promise<boolean> {
    return this.storage.readBlock(index, begin, into);
  }
  readBlockCached(index: number, begin: number, into: Buffer): boolean {
    return this.storage.readBlockCached(index, begin, into);
  }
  pexPeers(): PexPeer[] {
    const out: PexPeer[] = [];
    for (const s of this.sessions)
      // BEP 11 added.f: 0x10 reachable (we know its listen port), 0x02 seed
      if (s.active && s.peerListenPort) out.push({ address: s.address, port: s.peerListenPort, flags: PEX_FLAG.reachable | (s.isSeed ? PEX_FLAG.seed : 0) });
    return out;
  }

  /** True when a session to this address and port exists already. */
  connectedTo(address: string, port: number): boolean {
    for (const s of this.sessions) if (s.address === address && (s.port === port || s.peerListenPort === port)) return true;
    return false;
  }

  /** Remembers a candidate (newest last, the oldest dropped past MAX_CANDIDATES). */
  addCandidate(key: string, c: PeerCandidate): void {
    this.candidates.delete(key);
    this.candidates.set(key, c);
    while (this.candidates.size > MAX_CANDIDATES) this.candidates.delete(this.candidates.keys().next().value!);
  }

  /** The oldest candidate, taken out of the list. */
  takeCandidate(): PeerCandidate | undefined {
    const first = this.candidates.entries().next();
    if (first.done) return undefined;
    this.candidates.delete(first.value[0]);
    return first.value[1];
  }

  /** Seconds-scale rescans: every minute when complete, every 10 s when data is missing (downloading too: data copied in by hand). */
  rescanDue(now: number): boolean {
    if (this.state === 'checking' || this.state === 'error') return false;
    const every = this.state === 'seeding' ? COMPLETE_RESCAN_MS : INCOMPLETE_RESCAN_MS;
    if (now - this.lastRescan < every) return false;
    this.lastRescan = now;
    return true;
  }

  /**
   * Works the state out again from the storage (seeding or missing data: only verified pieces
   * count). `mirror`: seeder.download is on, so what is missing is downloaded next (info, not
   * a warning). Returns the line to log when it changed, else undefined.
   */
  updateState(dataDir: string, mirror = false): { level: 'info' | 'warn'; line: string } | undefined {
    this.seenChanges = this.storage.changes;
    const before = `${this.state}|${this.message}`;
    if (this.storage.complete) {
      this.state = 'seeding';
      this.message = '';
    } else {
      this.state = 'missing data';
      const problems = this.storage.problems();
      const have = this.piecesAvailable();
      const pct = Math.floor((100 * (this.meta.length - this.storage.left())) / Math.max(1, this.meta.length));
      this.message =
        `${existsSync(dataDir) ? '' : `the folder ${dataDir} does not exist: `}${have} of ${this.meta.pieceCount} pieces verified (${pct}%)` +
        `${have ? ', seeding those' : ''}${mirror ? '' : ', download off (seeder.download 0)'}` +
        `${problems.length ? `: ${problems.slice(0, 5).join(', ')}${problems.length > 5 ? ', …' : ''}` : ''}`;
    }
    if (`${this.state}|${this.message}` === before) return undefined;
    if (this.state === 'seeding') return { level: 'info', line: `${this.meta.name}: seeding (${this.meta.pieceCount} pieces, ${this.meta.length} bytes)` };
    if (mirror) return { level: 'info', line: `${this.meta.name}: missing data in ${dataDir}: ${this.message}; downloading the rest` };
    return {
      level: 'warn',
      line: `${this.meta.name}: missing data in ${dataDir}: ${this.message}; looking again every ${INCOMPLETE_RESCAN_MS / 1000} s`,
    };
  }

  /** Pieces verified (what we offer). */
  piecesAvailable(): number {
    return this.storage.countOf(PIECE_VERIFIED);
  }

  /**
   * Hashes the pieces in doubt (state `checking`), whatever the mode: at start after a crash
   * or with data copied in, and when files changed on disk. Only then are they offered.
   */
  async checkDoubtful(log: { warn(line: string): void }): Promise<void> {
    if (this.storage.countOf(PIECE_DOUBT) === 0) return;
    this.state = 'checking';
    this.storage.checkedPieces = 0;
    this.checkingOf = this.storage.countOf(PIECE_DOUBT);
    await this.storage.verifyDoubtful(() => this.storage.checkedPieces++).catch((err) => log.warn(`${this.meta.name}: check: ${(err as Error).message}`));
    this.state = 'missing data';
  }

  /** `downloading 43% 1.2 MiB/s ETA 3m, web 1/1 ok`; `downloading 0%, no peers yet` when nothing can send. */
  downloadLine(now: number): string {
    const d = this.download!.stats(now);
    const webOk = this.webSeedStatus.filter((w) => w.state === 'ok' || w.state === 'idle').length;
    const web = this.webSeedStatus.length ? `, web ${webOk}/${this.webSeedStatus.length} ok` : '';
    const pct = `downloading ${Math.floor(d.progress * 100)}%`;
    if (this.sessions.size === 0 && webOk === 0 && d.downloadRate === 0)
      return `${pct}, ${this.downloadedBefore + d.downloaded > 0 ? 'no peers now' : 'no peers yet'}${web}`;
    return `${pct} ${formatBytes(d.downloadRate)}/s ETA ${d.etaS === null ? '?' : formatDuration(d.etaS)}${web}`;
  }

  status(now: number): TorrentStatus {
    const d = this.download?.stats(now);
    if (this.download) this.webSeedStatus = this.download.webSeedStatus();
    const left = this.storage.left();
    const message = this.state === 'downloading' && this.download ? this.downloadLine(now) : this.message;
    return {
      name: this.meta.name,
      infoHash: this.meta.infoHashHex,
      file: this.file,
      state: this.state,
      ...(this.state === 'checking'
        ? { message: `checked ${this.storage.checkedPieces} of ${this.checkingOf ?? this.meta.pieceCount} pieces${this.checkingOf === undefined ? '' : ' in doubt'}` }
        : message
          ? { message }
          : {}),
      peers: this.sessions.size,
      unchoked: this.choker.unchokedPeers.length,
      uploadRate: Math.round(this.meter.rate()),
      uploaded: this.uploadedBytes,
      size: this.meta.length,
      pieces: this.meta.pieceCount,
      piecesAvailable: this.piecesAvailable(),
      progress: this.meta.length ? (this.meta.length - left) / this.meta.length : 1,
      downloadRate: d?.downloadRate ?? 0,
      downloaded: this.downloaded(),
      etaS: left === 0 ? 0 : (d?.etaS ?? null),
      webSeeds: this.webSeedStatus,
    };
  }
}

/** The status row of a .torrent file that is not seeded (unreadable, a duplicate…). */
export function errorStatus(file: string, message: string, infoHash?: string): TorrentStatus {
  const none = { peers: 0, unchoked: 0, uploadRate: 0, uploaded: 0, size: 0, pieces: 0, piecesAvailable: 0, progress: 0, downloadRate: 0, downloaded: 0 };
  return { name: file.split('/').pop()!, infoHash: infoHash ?? '', file, state: 'error', message, ...none, etaS: null, webSeeds: [] };
}
