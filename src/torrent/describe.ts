/**
 * What `meshseed show` prints: a text summary for people and a JSON object for scripts.
 * Pure. The JSON's field names and types are an interface (README "show --json"): add
 * fields, never rename or remove one.
 */
import type { Metainfo } from '../codec/metainfo.js';
import { formatBytes } from '../util/progress.js';

export interface MetainfoJson {
  name: string;
  /** 40 lower-case hex digits. */
  infoHash: string;
  /** Total bytes (padding files included). */
  length: number;
  pieceLength: number;
  pieceCount: number;
  /** One file named `name`, rather than a folder `name/`. */
  singleFile: boolean;
  private: boolean;
  /** Files in stream order; `path` joined with '/', below the torrent's folder (one file: the name). */
  files: { path: string; length: number; offset: number; padding: boolean }[];
  /** Tracker tiers (BEP 12), first tier first. */
  trackers: string[][];
  /** BEP 19 web seeds. */
  webSeeds: string[];
  /** Seconds since the epoch, or null. */
  creationDate: number | null;
  comment: string | null;
  createdBy: string | null;
  source: string | null;
  /** A hybrid v1+v2 torrent (read for its v1 part). */
  hybrid: boolean;
  /** Unsorted or duplicate keys in the info dict (usable, but written by a sloppy tool). */
  warnings: string[];
}

export function metainfoJson(m: Metainfo): MetainfoJson {
  return {
    name: m.name,
    infoHash: m.infoHashHex,
    length: m.length,
    pieceLength: m.pieceLength,
    pieceCount: m.pieceCount,
    singleFile: m.singleFile,
    private: m.private,
    files: m.files.map((f) => ({ path: f.path.join('/'), length: f.length, offset: f.offset, padding: f.padding })),
    trackers: m.announceTiers,
    webSeeds: m.urlList,
    creationDate: m.creationDate ?? null,
    comment: m.comment ?? null,
    createdBy: m.createdBy ?? null,
    source: m.source ?? null,
    hybrid: m.hybrid,
    warnings: m.keyProblems,
  };
}

/** Control characters from a torrent are shown escaped, never sent to the terminal. */
export const printable = (s: string) => s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

export function formatMetainfo(m: Metainfo): string {
  const j = metainfoJson(m);
  const lines = [
    `name:          ${printable(j.name)}`,
    `info hash:     ${j.infoHash}`,
    `size:          ${formatBytes(j.length)} (${j.length} bytes)`,
    `pieces:        ${j.pieceCount} of ${formatBytes(j.pieceLength)} (${j.pieceLength} bytes)`,
    `private:       ${j.private ? 'yes' : 'no'}`,
  ];
  if (j.hybrid) lines.push('hybrid:        v1+v2 (v1 part shown)');
  lines.push(`created:       ${j.creationDate !== null ? formatCreationDate(j.creationDate) : '-'}`);
  lines.push(`created by:    ${j.createdBy !== null ? printable(j.createdBy) : '-'}`);
  if (j.comment !== null) lines.push(`comment:       ${printable(j.comment)}`);
  if (j.source !== null) lines.push(`source:        ${printable(j.source)}`);
  lines.push(`trackers:      ${j.trackers.length === 0 ? '-' : ''}`);
  j.trackers.forEach((tier, i) => tier.forEach((url) => lines.push(`  tier ${i + 1}: ${printable(url)}`)));
  lines.push(`web seeds:     ${j.webSeeds.length === 0 ? '-' : ''}`);
  for (const url of j.webSeeds) lines.push(`  ${printable(url)}`);
  lines.push(`files:         ${j.files.length}`);
  for (const f of j.files) lines.push(`  ${printable(j.singleFile ? f.path : `${j.name}/${f.path}`)} (${f.length} bytes)${f.padding ? ' [padding]' : ''}`);
  for (const w of j.warnings) lines.push(`warning:       ${printable(w)}`);
  return lines.map((l) => l.trimEnd()).join('\n');
}

/** ISO date of `creation date` (seconds), or the bare number when it is no valid date (far past or future). */
export function formatCreationDate(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : d.toISOString().replace('.000Z', 'Z');
}
