/**
 * `meshseed status`: turns the daemon's status document (each part's own status, by part
 * name) into one stable view per torrent, and prints it as a table like
 * btlaunchmanycurses did. Pure: no sockets, no clock.
 *
 * What it reads from the parts (anything missing shows as `-` / null):
 *   services.seeder.torrents[]:  { infoHash (40 hex, or '' for a .torrent that cannot be
 *                                  read), name, file?, state, peers, uploadRate (bytes/s),
 *                                  uploaded (bytes), message? (or error?), progress (0…1),
 *                                  downloadRate, downloaded, etaS, webSeeds[] }
 *   services.announcer.torrents[]: AnnouncerStatus (src/seeder/announcer.ts)
 *
 * The JSON view (`--json`) is a stable interface for scripts; its fields are listed in
 * the README. `services` carries the parts' raw status, which may change between versions.
 */
import { introductionsSummary, lpdSummary } from '../lpd/lpd-summary.js';
import { catalogSummary } from '../catalog/catalog-summary.js';
import { dhtSummary } from '../dht/dht-summary.js';
import { partProblems } from '../part-state.js';
import { configLines, emptyConfigState, type ConfigState } from './config-state.js';
import type { StatusDocument } from './control-socket.js';
import type { AnnouncerStatus, TorrentAnnounceStatus } from '../seeder/announcer.js';

export interface TorrentView {
  /** null for a .torrent file the seeder could not read (see error). */
  infoHash: string | null;
  name: string | null;
  /** The seeder's word: seeding, checking, no data, … */
  state: string | null;
  peers: number | null;
  /** Bytes per second. */
  uploadRate: number | null;
  /** Bytes since the daemon started. */
  uploaded: number | null;
  /** Mirror mode: share of the data verified on disk (0…1), bytes/s and bytes received, seconds left. */
  progress: number | null;
  downloadRate: number | null;
  downloaded: number | null;
  etaS: number | null;
  /** The torrent's web seeds (BEP 19): url, state, failures, retryInS, error, downloaded. */
  webSeeds: unknown[];
  error: string | null;
  /** How the torrent is announced; null when the announcer does not run. */
  announce: {
    mode: TorrentAnnounceStatus['mode'];
    /** The one-line summary the table prints. */
    summary: string;
    tiers: TorrentAnnounceStatus['tiers'];
  } | null;
}

export interface StatusView {
  version: string;
  pid: number;
  uptimeS: number;
  torrents: TorrentView[];
  totals: { torrents: number; peers: number; uploadRate: number; uploaded: number };
  /** Each part's state by name: `{ state: 'running' }` or `{ state: 'retrying', reason, attempts, retryInS }`. */
  parts: Record<string, unknown>;
  /** `reloadRefused` (null, or when, the file, its problems) and `restartNeeded` (settings waiting for a restart). */
  config: ConfigState;
  services: Record<string, unknown>;
}

interface SeederTorrentStatus {
  infoHash?: unknown;
  infoHashHex?: unknown;
  name?: unknown;
  state?: unknown;
  peers?: unknown;
  uploadRate?: unknown;
  uploaded?: unknown;
  progress?: unknown;
  downloadRate?: unknown;
  downloaded?: unknown;
  etaS?: unknown;
  webSeeds?: unknown;
  error?: unknown;
  message?: unknown;
  file?: unknown;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function statusView(doc: StatusDocument): StatusView {
  const services = doc.services ?? {};
  const seeder = (services.seeder ?? {}) as { torrents?: unknown };
  const announcer = (services.announcer ?? {}) as Partial<AnnouncerStatus>;
  const byHash = new Map<string, TorrentView>();
  const row = (key: string, hash: string | null): TorrentView => {
    let r = byHash.get(key);
    if (!r) {
      r = {
        infoHash: hash,
        name: null,
        state: null,
        peers: null,
        uploadRate: null,
        uploaded: null,
        progress: null,
        downloadRate: null,
        downloaded: null,
        etaS: null,
        webSeeds: [],
        error: null,
        announce: null,
      };
      byHash.set(key, r);
    }
    return r;
  };
  for (const t of list(seeder.torrents) as SeederTorrentStatus[]) {
    if (!t || typeof t !== 'object') continue;
    const hash = str(t.infoHash) || str(t.infoHashHex) || null;
    // a .torrent file that could not be read has no info hash, and one not seeded (a
    // duplicate) shares its hash with the seeded file: one row per file for both
    const file = str(t.file);
    const key = hash && !(t.state === 'error' && file) ? hash : `file ${file ?? str(t.name) ?? byHash.size}`;
    const r = row(key, hash);
    r.name = str(t.name);
    r.state = str(t.state);
    r.peers = num(t.peers);
    r.uploadRate = num(t.uploadRate);
    r.uploaded = num(t.uploaded);
    r.progress = num(t.progress);
    r.downloadRate = num(t.downloadRate);
    r.downloaded = num(t.downloaded);
    r.etaS = num(t.etaS);
    r.webSeeds = list(t.webSeeds);
    r.error = str(t.error) ?? str(t.message);
  }
  for (const a of list(announcer.torrents) as TorrentAnnounceStatus[]) {
    if (typeof a?.infoHash !== 'string') continue;
    row(a.infoHash, a.infoHash).announce = { mode: a.mode, summary: trackerSummary(a), tiers: a.tiers ?? [] };
  }
  const label = (t: TorrentView) => t.name ?? t.infoHash ?? '';
  const torrents = [...byHash.values()].sort((a, b) => label(a).localeCompare(label(b)));
  const sum = (f: (t: TorrentView) => number | null) => torrents.reduce((s, t) => s + (f(t) ?? 0), 0);
  return {
    version: doc.version,
    pid: doc.pid,
    uptimeS: doc.uptimeS,
    torrents,
    totals: { torrents: torrents.length, peers: sum((t) => t.peers), uploadRate: sum((t) => t.uploadRate), uploaded: sum((t) => t.uploaded) },
    parts: doc.parts ?? {},
    config: (doc.config as ConfigState | undefined) ?? emptyConfigState(),
    services,
  };
}

/** `internet 2/3 ok, mesh ok` · `IN-MESH (internet 0/2 ok), mesh ok` · `private 1/1 ok` · `mesh failing`. */
export function trackerSummary(a: TorrentAnnounceStatus): string {
  const tiers = a.tiers ?? [];
  const tierOk = (t: TorrentAnnounceStatus['tiers'][number]) => t.trackers.some((x) => x.state === 'ok');
  const tierFailing = (t: TorrentAnnounceStatus['tiers'][number]) => t.trackers.every((x) => x.state === 'failing' || x.state === 'unsupported');
  const own = tiers.filter((t) => t.kind === 'torrent');
  const mesh = tiers.filter((t) => t.kind !== 'torrent');
  const ownText = `${own.filter(tierOk).length}/${own.length} ok`;
  const meshText = mesh.length === 0 ? '' : mesh.some(tierOk) ? 'mesh ok' : mesh.every(tierFailing) ? 'mesh failing' : 'mesh pending';
  switch (a.mode) {
    case 'private':
      return `private ${ownText}`;
    case 'mesh-only':
      return meshText || 'no trackers';
    case 'in-mesh':
      return `IN-MESH (internet ${ownText})${meshText ? `, ${meshText}` : ''}`;
    default:
      return `internet ${ownText}${meshText ? `, ${meshText}` : ''}`;
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(n)} B` : `${n.toFixed(1)} ${units[i]}`;
}

export function formatDuration(s: number): string {
  s = Math.max(0, Math.floor(s));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d${h}h`;
  if (h) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

const NAME_WIDTH = 32;

function clip(s: string, width: number): string {
  return s.length <= width ? s : `${s.slice(0, width - 1)}…`;
}

/** The table `meshseed status` prints (`nowMs` dates a refused reload). */
export function renderStatus(v: StatusView, nowMs = Date.now()): string {
  // a part that cannot start comes first: `tracker: not running (port 6969 in use), retrying`;
  // then a refused reload and the settings waiting for a restart
  const lines = [`meshseed ${v.version}, pid ${v.pid}, up ${formatDuration(v.uptimeS)}`, ...partProblems(v.parts), ...configLines(v.config, nowMs)];
  const lpd = [lpdSummary(v.services.lpd), introductionsSummary(v.services.introductions)].filter((l) => l !== undefined).join('\n');
  const catalogs = catalogSummary(v.services.catalog, v.services.magnet);
  const dht = dhtSummary(v.services.dht);
  if (!v.torrents.length) {
    const parts = Object.keys(v.services);
    lines.push(parts.includes('seeder') ? 'no torrents: put .torrent files in the torrent_dir' : 'no torrents (the seeder is not running)');
    if (lpd) lines.push(lpd);
    if (dht) lines.push(dht);
    lines.push(...catalogs);
    return lines.join('\n');
  }
  const cells = (name: string, state: string, peers: string, rate: string, up: string, trackers: string) =>
    `${name.padEnd(NAME_WIDTH)}  ${state.padEnd(12)} ${peers.padStart(5)} ${rate.padStart(12)} ${up.padStart(10)}  ${trackers}`.trimEnd();
  lines.push(cells('TORRENT', 'STATE', 'PEERS', 'UP RATE', 'UPLOADED', 'TRACKERS'));
  const dash = (n: number | null, f: (n: number) => string) => (n === null ? '-' : f(n));
  for (const t of v.torrents) {
    lines.push(
      cells(
        clip(t.name ?? t.infoHash ?? '?', NAME_WIDTH),
        clip(t.state ?? '-', 12),
        dash(t.peers, String),
        dash(t.uploadRate, (n) => `${formatBytes(n)}/s`),
        dash(t.uploaded, formatBytes),
        t.announce?.summary ?? '-',
      ),
    );
    if (t.error) lines.push(`  ${t.error}`);
  }
  const n = v.totals.torrents;
  lines.push(
    cells(`TOTAL (${n} torrent${n === 1 ? '' : 's'})`, '', String(v.totals.peers), `${formatBytes(v.totals.uploadRate)}/s`, formatBytes(v.totals.uploaded), ''),
  );
  if (lpd) lines.push(lpd);
  if (dht) lines.push(dht);
  lines.push(...catalogs);
  return lines.join('\n');
}
