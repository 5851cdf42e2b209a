/**
 * The node's front page (`/`), its catalog (`/catalog.json`) and the headers of a served
 * `.torrent`. Pure renderers: data in, a string out; the route glue is in `front-routes.ts`.
 *
 * The page is phone first: one card per torrent (name, size, files, seeders/leechers, this
 * node's own state, a `.torrent` link and a magnet link), then the node (tracker totals, LPD,
 * introductions, rates, the announce URLs to paste into `meshseed create -a`). No external
 * asset, no script; every text from a torrent or a request (names, trackers, the Host header)
 * is HTML-escaped. The bttrack table stays at `/stats`.
 */
import { buildMagnet } from '../codec/magnet.js';
import { escapeHtml, formatSize } from './stats-page.js';

/** One torrent this node offers. */
export interface CatalogItem {
  infoHashHex: string;
  /** Undefined when names are hidden (tracker.show_names 0): the page shows the info hash. */
  name?: string;
  size: number;
  files: number;
  seeders: number;
  leechers: number;
  downloaded: number;
  /** This node's own state: `seeding`, `downloading 43%`, `missing data`, `listed only`… */
  state: string;
  /** The torrent's own trackers (tiers flattened, in order). */
  trackers: string[];
  /** BEP 19 web seeds. */
  webSeeds: string[];
  private: boolean;
}

/** The node, below the list. */
export interface NodeSummary {
  /** Announce URLs of this tracker as the browser reached it (HTTP, UDP). */
  announceUrls: string[];
  torrents: number;
  peers: number;
  seeders: number;
  leechers: number;
  downloaded: number;
  mode: string;
  interval: number;
  uptimeSeconds: number;
  /** One-line summaries; absent when that part is off. */
  lpd?: string;
  introductions?: string;
  dht?: string;
  /** Bytes per second, when the seeder runs. */
  uploadRate?: number;
  downloadRate?: number;
  seederPeers?: number;
  /** Magnets (meshseed add) whose metadata is being fetched; on the page only, not in catalog.json (nothing to serve yet). */
  fetching?: { infoHashHex: string; name?: string; forS: number }[];
}

/** Magnets listed on the page at most (the rest are counted). */
const MAX_FETCHING_SHOWN = 50;

function fetchingList(list: NonNullable<NodeSummary['fetching']>): string {
  if (list.length === 0) return '';
  const shown = list.slice(0, MAX_FETCHING_SHOWN).map(
    (f) => `<li>${f.name !== undefined ? `${escapeHtml(f.name)} ` : ''}<code>${escapeHtml(f.infoHashHex)}</code>: fetching metadata (${f.forS} s)</li>`,
  );
  const more = list.length > MAX_FETCHING_SHOWN ? `\n<li>and ${list.length - MAX_FETCHING_SHOWN} more</li>` : '';
  return `<h2>Coming: magnets fetching their metadata</h2>\n<ul class="fetching">\n${shown.join('\n')}${more}\n</ul>\n`;
}

/** Where this node's files are reached: `http://<host>` as the browser (or subscriber) used it. */
export interface PageBase {
  /** e.g. `http://10.0.0.1:6969`, no trailing slash. */
  origin: string;
}

export const torrentPath = (infoHashHex: string): string => `/torrents/${infoHashHex}.torrent`;

/** The magnet of an item: this tracker first, then the torrent's own, its web seeds. */
export function itemMagnet(item: CatalogItem, announceUrls: string[]): string {
  const trackers = [...new Set([...(item.private ? [] : announceUrls.filter((u) => u.startsWith('http'))), ...item.trackers])];
  return buildMagnet({
    infoHashHex: item.infoHashHex,
    ...(item.name !== undefined ? { name: item.name } : {}),
    length: item.size,
    trackers,
    webSeeds: item.webSeeds,
    peers: [],
  });
}

/** `1 h 5 min` style uptime. */
function formatUptime(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min`;
}

const rate = (n: number | undefined) => (n === undefined ? 'off' : `${formatSize(n)}/s`);

const STYLE = `*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;padding:0.75rem;max-width:64rem;color:#1d1d1f;background:#fafafa;line-height:1.4}
h1{font-size:1.35rem;margin:0.2rem 0 0.6rem}
h2{font-size:1.1rem;margin:1.2rem 0 0.5rem}
.list{display:grid;grid-template-columns:1fr;gap:0.75rem}
@media (min-width:44rem){.list{grid-template-columns:1fr 1fr}}
.t{background:#fff;border:1px solid #d0d0d5;border-radius:8px;padding:0.7rem;min-width:0}
.t h3{font-size:1.02rem;margin:0 0 0.35rem;overflow-wrap:anywhere}
.m{color:#555;font-size:0.9rem;margin:0.15rem 0}
.s{display:inline-block;font-size:0.85rem;padding:0.05rem 0.45rem;border-radius:1rem;background:#e6e6eb}
.s.seeding{background:#d7f2dc}.s.down{background:#dbe8fb}.s.bad{background:#fbe0dc}
.links{margin-top:0.5rem}
.links a{display:inline-block;padding:0.45rem 0.8rem;margin:0.2rem 0.4rem 0 0;border:1px solid #2a5bd7;border-radius:6px;color:#2a5bd7;text-decoration:none}
.links a.magnet{background:#2a5bd7;color:#fff}
code{font-size:0.9rem;overflow-wrap:anywhere}
dd code{word-break:break-all}
.node{background:#fff;border:1px solid #d0d0d5;border-radius:8px;padding:0.7rem}
.node dl{margin:0}
.node dt{font-weight:600;margin-top:0.4rem}
.node dd{margin:0.1rem 0 0;overflow-wrap:anywhere}
.empty{color:#555}
footer{margin-top:1rem;font-size:0.85rem;color:#555}`;

function stateClass(state: string): string {
  if (state === 'seeding') return 's seeding';
  if (state.startsWith('downloading') || state.startsWith('checking')) return 's down';
  if (state === 'missing data' || state === 'error' || state.startsWith('waiting')) return 's bad';
  return 's';
}

function card(item: CatalogItem, announceUrls: string[]): string {
  const h = item.infoHashHex;
  const title = item.name !== undefined ? escapeHtml(item.name) : `<code>${h}</code>`;
  const files = item.files === 1 ? '1 file' : `${item.files} files`;
  return `<article class="t" id="t-${h}" data-infohash="${h}">
<h3>${title}</h3>
<p class="m">${formatSize(item.size)} · ${files} · <span title="seeders">${item.seeders} seeding</span>, <span title="leechers">${item.leechers} downloading</span> · ${item.downloaded} done</p>
<p class="m">This node: <span class="${stateClass(item.state)}">${escapeHtml(item.state)}</span></p>
<p class="links"><a class="torrent" href="${torrentPath(h)}" type="application/x-bittorrent">.torrent</a><a class="magnet" href="${escapeHtml(itemMagnet(item, announceUrls))}">magnet</a></p>
</article>`;
}

/** The front page. `items` in the order shown (by name). */
export function renderFrontPage(items: CatalogItem[], node: NodeSummary): string {
  const list = items.length
    ? `<div class="list">\n${items.map((i) => card(i, node.announceUrls)).join('\n')}\n</div>`
    : `<p class="empty">No files yet: put .torrent files (and their data) in this node's watch folder.</p>`;
  const dd = (k: string, v: string) => `<dt>${k}</dt><dd>${v}</dd>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>meshseed: files on this node</title>
<style>
${STYLE}
</style></head><body>
<h1>Files on this mesh node</h1>
<p class="m">Open a magnet link with a BitTorrent client, or download the .torrent and open it. ${items.length} file(s).</p>
${list}
${fetchingList(node.fetching ?? [])}<h2>This node</h2>
<div class="node"><dl>
${dd('Tracker', `${node.torrents} torrent(s), ${node.seeders} seeding, ${node.leechers} downloading, ${node.downloaded} download(s) completed; mode ${escapeHtml(node.mode)}, announce every ${node.interval} s; up ${formatUptime(node.uptimeSeconds)}`)}
${dd('Announce URLs (for <code>meshseed create -a</code>)', node.announceUrls.map((u) => `<code>${escapeHtml(u)}</code>`).join('<br>'))}
${dd('Transfer', `upload ${rate(node.uploadRate)}, download ${rate(node.downloadRate)}${node.seederPeers !== undefined ? `, ${node.seederPeers} peer connection(s)` : ''}`)}
${dd('Local Peer Discovery', node.lpd !== undefined ? escapeHtml(node.lpd) : 'off')}
${node.introductions !== undefined ? dd('Introductions', escapeHtml(node.introductions.replace(/^introductions: /, ''))) : ''}
${dd('Mesh DHT', node.dht !== undefined ? escapeHtml(node.dht) : 'off')}
</dl></div>
<footer><a href="/stats">Tracker statistics</a> · <a href="/catalog.json">catalog.json</a> · <a href="/stats.json">stats.json</a></footer>
</body></html>
`;
}

/** `/catalog.json`: what another node subscribes to (and scripts read). */
export function renderCatalogJson(items: CatalogItem[], node: NodeSummary, base: PageBase): string {
  return JSON.stringify({
    catalog: 'meshseed',
    version: 1,
    torrents: items.map((i) => ({
      info_hash: i.infoHashHex,
      ...(i.name !== undefined ? { name: i.name } : {}),
      size: i.size,
      files: i.files,
      seeders: i.seeders,
      leechers: i.leechers,
      state: i.state,
      torrent_url: `${base.origin}${torrentPath(i.infoHashHex)}`,
      magnet: itemMagnet(i, node.announceUrls),
    })),
  });
}

/** Characters kept in the plain `filename` (RFC 6266 4.3: a fallback for old clients). */
const ASCII_SAFE = /[^A-Za-z0-9._() -]/g;
const MAX_FILENAME = 120;

/**
 * `Content-Disposition` for a served `.torrent`: an ASCII `filename` (unsafe characters
 * replaced, no leading dot, bounded) and, when the name is not plain ASCII, RFC 6266 / 5987
 * `filename*=UTF-8''…` with the real name percent-encoded.
 */
export function contentDisposition(name: string): string {
  const base = [...name].slice(0, MAX_FILENAME).join('');
  let ascii = base.replace(ASCII_SAFE, '_').replace(/^[.\s]+/, '').trim();
  if (ascii === '') ascii = 'download';
  const plain = `${ascii}.torrent`;
  const utf8 = `${base.replace(/[/\\\0-\x1f\x7f]/g, '_').replace(/^\.+/, '')}.torrent`;
  const star = encodeURIComponent(utf8).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return utf8 === plain ? `attachment; filename="${plain}"` : `attachment; filename="${plain}"; filename*=UTF-8''${star}`;
}

/** The Content-Security-Policy of the pages: nothing external, no script, inline style only. */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
