/**
 * The stats page at `/stats` (HTML, bttrack's columns: info hash, name, size, complete,
 * downloading, downloaded, transferred, with totals) and `/stats.json`. Built from the
 * store's per-torrent counters, one row per torrent, never by walking peers. Pure: rows in,
 * bytes out. Every text from a torrent file is HTML-escaped; the page fits a phone screen
 * (viewport meta, the table scrolls sideways inside its box).
 */
import { partProblems } from '../part-state.js';

export interface StatsRow {
  infoHashHex: string;
  /** From the allowed folder, when known and shown. */
  name?: string;
  size?: number;
  complete: number;
  incomplete: number;
  downloaded: number;
}

export interface StatsTotals {
  torrents: number;
  peers: number;
  seeders: number;
  leechers: number;
  downloaded: number;
}

export interface StatsExtra {
  mode: string;
  interval: number;
  uptimeSeconds: number;
  counters: Record<string, unknown>;
  /** Process memory in bytes (stats.json only). */
  memory?: Record<string, number>;
  /** Local Peer Discovery: a summary line (page) and the raw counters (stats.json). */
  lpd?: { summary: string; counters: unknown };
  /** The mesh DHT: a summary line (page) and the raw counters (stats.json). */
  dht?: { summary: string; counters: unknown };
  /** More top-level fields for stats.json (the node's rates, the front page's torrents and states). */
  json?: Record<string, unknown>;
  /** LPD introductions (mesh discovery): the same. */
  introductions?: { summary: string; counters: unknown };
  /** The daemon's parts by name, running or retrying and why (part-state.ts). */
  parts?: Record<string, unknown>;
  /** This tracker's announce URLs as the reader reaches it (HTTP, UDP). */
  announceUrls?: string[];
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Bytes in binary units with one decimal: 1.5 GiB. */
export function formatSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

const transferred = (r: StatsRow) => (r.size === undefined ? undefined : r.size * r.downloaded);

export function totalsOf(rows: StatsRow[]): StatsTotals {
  let peers = 0;
  let seeders = 0;
  let downloaded = 0;
  for (const r of rows) {
    seeders += r.complete;
    peers += r.complete + r.incomplete;
    downloaded += r.downloaded;
  }
  return { torrents: rows.length, peers, seeders, leechers: peers - seeders, downloaded };
}

export function renderStatsHtml(rows: StatsRow[], extra: StatsExtra): string {
  const t = totalsOf(rows);
  const totalBytes = rows.reduce((s, r) => s + (transferred(r) ?? 0), 0);
  const num = (n: number) => `<td class="n">${n}</td>`;
  const body = rows
    .map(
      (r) =>
        `<tr><td class="h"><code>${r.infoHashHex}</code></td><td>${r.name === undefined ? '' : escapeHtml(r.name)}</td>` +
        `<td class="n">${r.size === undefined ? '' : formatSize(r.size)}</td>${num(r.complete)}${num(r.incomplete)}${num(r.downloaded)}` +
        `<td class="n">${transferred(r) === undefined ? '' : formatSize(transferred(r)!)}</td></tr>`,
    )
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>meshseed tracker</title>
<style>
body{font-family:sans-serif;margin:0.5em;color:#222}
.wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:0.9em}
th,td{padding:0.25em 0.5em;border-bottom:1px solid #ddd;text-align:left;white-space:nowrap}
td.n,th.n{text-align:right}
td.h code{font-size:0.85em}
tfoot td{font-weight:bold}
p.down{color:#a00;font-weight:bold}
</style></head><body>
<h1>meshseed tracker</h1>
<p>${t.torrents} torrent(s), ${t.seeders} seeder(s), ${t.leechers} downloading, ${t.downloaded} download(s) completed.
Mode: ${escapeHtml(extra.mode)}; announce interval ${extra.interval} s. ${
  extra.announceUrls?.length
    ? `Announce URLs: ${extra.announceUrls.map((u) => `<code>${escapeHtml(u)}</code>`).join(' or ')}.`
    : 'Announce URLs: <code>http://</code><i>this host and port</i><code>/announce</code> or <code>udp://</code><i>the same</i><code>/announce</code>.'
}</p>
${extra.lpd ? `<p>${escapeHtml(extra.lpd.summary)}</p>\n` : ''}${extra.introductions ? `<p>${escapeHtml(extra.introductions.summary)}</p>\n` : ''}${extra.dht ? `<p>${escapeHtml(extra.dht.summary)}</p>\n` : ''}${partProblems(extra.parts).map((l) => `<p class="down">${escapeHtml(l)}</p>\n`).join('')}
<div class="wrap"><table>
<thead><tr><th>info hash</th><th>name</th><th class="n">size</th><th class="n">complete</th><th class="n">downloading</th><th class="n">downloaded</th><th class="n">transferred</th></tr></thead>
<tbody>
${body}
</tbody>
<tfoot><tr><td>${t.torrents} torrent(s)</td><td></td><td></td>${num(t.seeders)}${num(t.leechers)}${num(t.downloaded)}<td class="n">${formatSize(totalBytes)}</td></tr></tfoot>
</table></div>
</body></html>
`;
}

export function renderStatsJson(rows: StatsRow[], extra: StatsExtra): string {
  return JSON.stringify({
    ...totalsOf(rows),
    mode: extra.mode,
    interval: extra.interval,
    uptime_seconds: extra.uptimeSeconds,
    counters: extra.counters,
    ...(extra.memory ? { memory: extra.memory } : {}),
    ...(extra.lpd ? { lpd: extra.lpd.counters } : {}),
    ...(extra.dht ? { dht: extra.dht.counters } : {}),
    ...extra.json,
    ...(extra.introductions ? { introductions: extra.introductions.counters } : {}),
    ...(extra.parts ? { parts: extra.parts } : {}),
    files: rows.map((r) => ({
      info_hash: r.infoHashHex,
      ...(r.name !== undefined ? { name: r.name } : {}),
      ...(r.size !== undefined ? { size: r.size } : {}),
      complete: r.complete,
      incomplete: r.incomplete,
      downloaded: r.downloaded,
    })),
  });
}
