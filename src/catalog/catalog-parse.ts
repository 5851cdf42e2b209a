/**
 * Catalog parsers: the text of a catalog in, the `.torrent` URLs it lists out, in its order.
 * Three forms are read:
 *  - a meshseed node's `/catalog.json` (`{"catalog":"meshseed","torrents":[{torrent_url,…}]}`);
 *  - an RSS 2.0 feed (`<enclosure url="…" type="application/x-bittorrent"/>`) or an Atom feed
 *    (`<link rel="enclosure" type="application/x-bittorrent" href="…"/>`);
 *  - an HTML directory listing (nginx autoindex, lighttpd dir-listing, Apache, uhttpd):
 *    every `<a href="….torrent">`, relative and percent-encoded.
 *
 * Pure and bounded: the caller bounds the text (MAX_CATALOG_BYTES); at most MAX_CATALOG_ENTRIES
 * entries are kept; relative URLs are resolved against the catalog's own URL; only http(s)
 * URLs are kept; duplicates are dropped. The scanning regexps have no nested quantifiers,
 * so their time is linear in the text.
 */
import { MeshseedError } from '../errors.js';

/** A listing of thousands of torrents is well under 4 MiB. */
export const MAX_CATALOG_BYTES = 4 << 20;
export const MAX_CATALOG_ENTRIES = 2000;
const MAX_URL_LENGTH = 2048;

export interface CatalogEntry {
  /** Absolute http(s) URL of the `.torrent`. */
  url: string;
  /** When the catalog says (catalog.json): checked against the downloaded torrent. */
  infoHashHex?: string;
  /** When the catalog says: for log lines only. */
  name?: string;
}

export type CatalogKind = 'meshseed' | 'rss' | 'atom' | 'listing';

export interface ParsedCatalog {
  kind: CatalogKind;
  entries: CatalogEntry[];
  /** Entries over MAX_CATALOG_ENTRIES, left out. */
  truncated: number;
}

const bad = (what: string) => new MeshseedError('ECATALOG', what);

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
/** The five XML entities and numeric references, as found in attribute values. */
export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-z]{2,4});/g, (all, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : all;
    }
    return ENTITIES[e] ?? all;
  });
}

/** Attributes of one tag's text (`name="v"`, `name='v'`, `name=v`), lower-case names, entities decoded. */
function attributes(tag: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([A-Za-z_:][A-Za-z0-9_:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/g;
  for (let m = re.exec(tag); m; m = re.exec(tag)) {
    const name = m[1]!.toLowerCase();
    if (!out.has(name)) out.set(name, decodeEntities(m[2] ?? m[3] ?? m[4] ?? ''));
  }
  return out;
}

/** Absolute http(s) URL of `href` against `base`, or undefined. */
function resolveUrl(href: string, base: string): string | undefined {
  if (href.length > MAX_URL_LENGTH) return undefined;
  try {
    const u = new URL(href.trim(), base);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    u.hash = '';
    return u.href;
  } catch {
    return undefined;
  }
}

/** True when the URL's path (percent-decoded) names a `.torrent` file. */
function namesTorrent(url: string): boolean {
  try {
    return /\.torrent$/i.test(decodeURIComponent(new URL(url).pathname));
  } catch {
    return /\.torrent$/i.test(new URL(url).pathname);
  }
}

class Collector {
  readonly entries: CatalogEntry[] = [];
  private readonly seen = new Set<string>();
  truncated = 0;
  add(e: CatalogEntry): void {
    if (this.seen.has(e.url)) return;
    if (this.entries.length >= MAX_CATALOG_ENTRIES) {
      this.truncated++;
      return;
    }
    this.seen.add(e.url);
    this.entries.push(e);
  }
}

const TORRENT_TYPE = /^application\/x-bittorrent\s*(;|$)/i;

function parseJson(text: string, base: string): ParsedCatalog {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw bad(`catalog.json does not parse: ${(e as Error).message.slice(0, 100)}`);
  }
  const torrents = (doc as { torrents?: unknown } | null)?.torrents;
  if (!Array.isArray(torrents)) throw bad("catalog.json has no 'torrents' list");
  const c = new Collector();
  for (const t of torrents) {
    if (typeof t !== 'object' || t === null) continue;
    const o = t as Record<string, unknown>;
    const url = typeof o.torrent_url === 'string' ? resolveUrl(o.torrent_url, base) : undefined;
    if (!url) continue;
    const hash = typeof o.info_hash === 'string' && /^[0-9a-fA-F]{40}$/.test(o.info_hash) ? o.info_hash.toLowerCase() : undefined;
    const name = typeof o.name === 'string' ? o.name.slice(0, 200) : undefined;
    c.add({ url, ...(hash ? { infoHashHex: hash } : {}), ...(name !== undefined ? { name } : {}) });
  }
  return { kind: 'meshseed', entries: c.entries, truncated: c.truncated };
}

function parseFeed(text: string, base: string, kind: 'rss' | 'atom'): ParsedCatalog {
  const c = new Collector();
  // RSS: <enclosure …>; Atom: <link … rel="enclosure" …>
  const re = kind === 'rss' ? /<enclosure\b([^>]*)>/gi : /<link\b([^>]*)>/gi;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const a = attributes(m[1]!);
    if (kind === 'atom' && (a.get('rel') ?? '').toLowerCase() !== 'enclosure') continue;
    const href = kind === 'rss' ? a.get('url') : a.get('href');
    const type = a.get('type') ?? '';
    if (href === undefined) continue;
    const url = resolveUrl(href, base);
    if (!url) continue;
    // the MIME type says it; with no type, a URL naming a .torrent does
    if (TORRENT_TYPE.test(type) || (type === '' && namesTorrent(url))) c.add({ url });
  }
  return { kind, entries: c.entries, truncated: c.truncated };
}

function parseListing(text: string, base: string): ParsedCatalog {
  const c = new Collector();
  const re = /<a\b([^>]*)>/gi;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const href = attributes(m[1]!).get('href');
    if (href === undefined || href.startsWith('?')) continue;
    const url = resolveUrl(href, base);
    if (url && namesTorrent(url) && !new URL(url).search) c.add({ url });
  }
  return { kind: 'listing', entries: c.entries, truncated: c.truncated };
}

/**
 * Parses a catalog fetched from `base` with the given Content-Type. The form is told by the
 * text itself (servers label feeds and listings loosely): JSON object → catalog.json;
 * `<rss` → RSS; `<feed` → Atom; anything else with links → a directory listing.
 */
export function parseCatalog(text: string, base: string, contentType = ''): ParsedCatalog {
  if (text.length > MAX_CATALOG_BYTES) throw bad(`catalog larger than ${MAX_CATALOG_BYTES} bytes`);
  const head = text.slice(0, 2048).replace(/^\uFEFF/, '').trimStart();
  if (head.startsWith('{') || /^application\/json\b/i.test(contentType)) return parseJson(text, base);
  const xmlish = head.replace(/^<\?xml[^>]*\?>\s*/i, '').replace(/^(<!--[^]*?-->\s*)*/, '');
  if (/^<rss\b/i.test(xmlish) || /^<rdf:RDF\b/i.test(xmlish)) return parseFeed(text, base, 'rss');
  if (/^<feed\b/i.test(xmlish)) return parseFeed(text, base, 'atom');
  if (/<html\b|<a\b/i.test(text.slice(0, 65536)) || /^text\/html\b/i.test(contentType)) return parseListing(text, base);
  throw bad('not a catalog: neither catalog.json, an RSS or Atom feed, nor an HTML listing');
}
