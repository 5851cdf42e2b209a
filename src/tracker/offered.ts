/**
 * The torrents a node offers on its front page: those of the tracker's allowed folder and
 * those the seeder has in its watch folder (usually the same folder), merged by info hash,
 * with the tracker's counts and the seeder's own state. Pure: lists in, a sorted list out.
 */
import type { Metainfo } from '../codec/metainfo.js';
import type { SeededTorrent } from '../parts.js';
import type { TorrentStatus } from '../seeder/torrent-session.js';
import type { OfferedTorrent } from './front-routes.js';

export interface AllowedEntry {
  infoHashHex: string;
  path: string;
  name: string;
  size: number;
  files: number;
  trackers: string[];
  webSeeds: string[];
  private: boolean;
}

export interface SeededEntry {
  file: string;
  meta: Metainfo;
  /** The seeder's state word: seeding, checking, missing data, error, downloading… */
  state: string;
  pieces: number;
  piecesAvailable: number;
  message?: string;
}

export interface SwarmCounts {
  complete: number;
  incomplete: number;
  downloaded: number;
}

/**
 * The seeder's torrents with their own states. States are matched by `.torrent` file, not by
 * info hash: a second copy of a file (a duplicate, refused with an error) has the same info
 * hash as the torrent really seeded, and its error must not stand for it.
 */
export function seededEntries(torrents: readonly SeededTorrent[], states: readonly TorrentStatus[]): SeededEntry[] {
  const byFile = new Map(states.map((t) => [t.file, t]));
  const out: SeededEntry[] = [];
  for (const t of torrents) {
    const st = t.file === undefined ? undefined : byFile.get(t.file);
    if (!t.meta || !t.file || !st) continue;
    out.push({ file: t.file, meta: t.meta, state: st.state, pieces: st.pieces, piecesAvailable: st.piecesAvailable, ...(st.message ? { message: st.message } : {}) });
  }
  return out;
}

/**
 * A message fit for a public page: every absolute path (`/mnt/disk/data/x.iso`) cut to its last
 * part (`x.iso`), so the node's folders are never shown to the mesh.
 */
export function publicMessage(message: string): string {
  return message.replace(/(^|[\s'"(=:,])(\/[^\s'"),]*)/g, (_m, before: string, path: string) => {
    const trimmed = path.replace(/\/+$/, '');
    return before + (trimmed.slice(trimmed.lastIndexOf('/') + 1) || '/');
  });
}

/** The state shown for a torrent: `seeding`, `downloading 43%`, `missing data (12% here)`… */
export function stateText(s: SeededEntry | undefined): string {
  if (!s) return 'listed (not seeded here)';
  const pct = s.pieces > 0 ? Math.floor((100 * s.piecesAvailable) / s.pieces) : 0;
  if (s.state === 'seeding') return 'seeding';
  if (s.state === 'downloading' || s.state === 'checking') return `${s.state} ${pct}%`;
  if (s.state === 'missing data') return pct > 0 ? `missing data (${pct}% here)` : 'missing data';
  // the reason, `waiting: disk full (…)` (the page escapes it; paths cut to file names)
  if (s.state.startsWith('waiting')) return s.message?.startsWith('waiting') ? publicMessage(s.message) : s.state;
  return s.message ? `${s.state}: ${publicMessage(s.message)}` : s.state;
}

export function offeredTorrents(
  allowed: AllowedEntry[],
  seeded: SeededEntry[],
  counts: (infoHashHex: string) => SwarmCounts,
  showAllowedNames: boolean,
): OfferedTorrent[] {
  const out = new Map<string, OfferedTorrent>();
  for (const s of seeded) {
    const m = s.meta;
    const c = counts(m.infoHashHex);
    out.set(m.infoHashHex, {
      path: s.file,
      item: {
        infoHashHex: m.infoHashHex,
        name: m.name,
        size: m.length,
        files: m.files.filter((f) => !f.padding).length,
        seeders: c.complete,
        leechers: c.incomplete,
        downloaded: c.downloaded,
        state: stateText(s),
        trackers: m.announceTiers.flat(),
        webSeeds: m.urlList,
        private: m.private,
      },
    });
  }
  for (const a of allowed) {
    if (out.has(a.infoHashHex)) continue;
    const c = counts(a.infoHashHex);
    out.set(a.infoHashHex, {
      path: a.path,
      item: {
        infoHashHex: a.infoHashHex,
        ...(showAllowedNames ? { name: a.name } : {}),
        size: a.size,
        files: a.files,
        seeders: c.complete,
        leechers: c.incomplete,
        downloaded: c.downloaded,
        state: stateText(undefined),
        trackers: a.trackers,
        webSeeds: a.webSeeds,
        private: a.private,
      },
    });
  }
  // by name as people read it (été next to ete, case aside), nameless ones last, then by info hash
  const keyed = [...out.values()].map((o) => ({ o, key: o.item.name !== undefined ? nameSortKey(o.item.name) : `\uffff${o.item.infoHashHex}` }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.o.item.infoHashHex < b.o.item.infoHashHex ? -1 : 1));
  return keyed.map((k) => k.o);
}

/**
 * A name as it sorts for people: accents and case aside ("Été" with "ete"). Not
 * localeCompare: its collator makes node map about 2.6 MiB more of its ICU data (resident
 * for good, on a router) the first time the front page or stats.json is asked for.
 */
export function nameSortKey(name: string): string {
  return name.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}
