/**
 * Route glue for the pages people and other nodes read on the tracker's HTTP port:
 * `/` (the front page), `/catalog.json`, `/torrents/<info hash>.torrent`. It gathers the
 * node's torrents (the allowed folder and the seeder's watch folder), hands them to the pure
 * renderers of `front-page.ts` and caches each rendering briefly. Everything else goes on to
 * the tracker core (announce, scrape, `/stats`, `/stats.json`).
 *
 * The Host header is untrusted: it is used (for the links a browser copies) only when it is a
 * plain host or address with an optional port, and is escaped like any text.
 */
import { nodeCrypto, nodeFsPromises } from '../util/lazy-modules.js';
import { MAX_TORRENT_BYTES, parseMetainfo } from '../codec/metainfo.js';
import type { FrontReply, RequestHeaders } from './http-front.js';
import {
  contentDisposition,
  PAGE_CSP,
  renderCatalogJson,
  renderFrontPage,
  type CatalogItem,
  type NodeSummary,
} from './front-page.js';

/** A torrent of the node with where its `.torrent` file is. */
export interface OfferedTorrent {
  item: CatalogItem;
  /** The `.torrent` file served at `/torrents/<hash>.torrent`. */
  path: string;
}

export interface FrontRoutesDeps {
  /** The node's torrents, sorted as shown. */
  offered(): OfferedTorrent[];
  /** The node summary without its announce URLs (they depend on the Host). */
  node(): Omit<NodeSummary, 'announceUrls'>;
  /** The port the tracker listens on (for the announce URLs when the Host has none). */
  port(): number;
}

/** Pages are rebuilt at most this often (a page reload storm costs one rendering). */
const CACHE_MS = 2000;
/** `.torrent` files read at once for /torrents/ (each is held whole while it is checked and sent). */
const MAX_TORRENT_READS = 4;
const HOST_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;
const TORRENT_RE = /^\/torrents\/([0-9a-f]{40})\.torrent$/;

const SECURITY_HEADERS = { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' };

/** `host[:port]` from the Host header when it is a plain host, else the local address and port. */
export function originHost(host: string | undefined, localAddress: () => string | undefined, port: number): string {
  if (host !== undefined && HOST_RE.test(host)) return host;
  const local = localAddress();
  const a = local && local !== '' ? local.replace(/^::ffff:/, '') : '127.0.0.1';
  return a.includes(':') ? `[${a}]:${port}` : `${a}:${port}`;
}

/** Announce URLs of this tracker reached at `hostPort` (the UDP one on the HTTP port number). */
export function announceUrls(hostPort: string, port: number): string[] {
  const withPort = /:\d+$/.test(hostPort) ? hostPort : `${hostPort}:${port}`;
  return [`http://${hostPort}/announce`, `udp://${withPort}/announce`];
}

export class FrontRoutes {
  private cache = new Map<string, { at: number; reply: FrontReply }>();
  /** The node's torrents, gathered at most every CACHE_MS (a burst of .torrent downloads costs one). */
  private offeredCache: { at: number; list: OfferedTorrent[] } | undefined;

  constructor(private readonly deps: FrontRoutesDeps) {}

  clearCache(): void {
    this.cache.clear();
    this.offeredCache = undefined;
  }

  private offered(nowMs: number): OfferedTorrent[] {
    if (!this.offeredCache || nowMs - this.offeredCache.at >= CACHE_MS) this.offeredCache = { at: nowMs, list: this.deps.offered() };
    return this.offeredCache.list;
  }

  /** The reply for `path`, or undefined when the path is not one of these pages. */
  /** `localAddress` is asked only when the Host header is unusable (it costs a getsockname()). */
  handle(path: string, headers: RequestHeaders, localAddress: () => string | undefined, nowMs: number): FrontReply | Promise<FrontReply> | undefined {
    const t = TORRENT_RE.exec(path);
    if (t) return this.torrentFile(t[1]!, nowMs);
    // browsers ask for it with every page: no icon, and not a refusal worth logging
    if (path === '/favicon.ico') return { status: 404, contentType: 'text/plain', body: Buffer.from('no icon\n'), headers: { 'Cache-Control': 'max-age=86400' } };
    if (path !== '/' && path !== '/index.html' && path !== '/catalog.json') return undefined;
    const host = originHost(headers.host, localAddress, this.deps.port());
    const key = `${path} ${host}`;
    let cached = this.cache.get(key);
    if (!cached || nowMs - cached.at >= CACHE_MS) {
      if (this.cache.size > 64) this.cache.clear(); // many Host names: keep the cache bounded
      cached = { at: nowMs, reply: this.render(path, host, nowMs) };
      this.cache.set(key, cached);
    }
    const etag = cached.reply.headers?.ETag;
    if (etag && headers.ifNoneMatch?.split(',').some((t) => t.trim() === etag))
      return { status: 304, contentType: cached.reply.contentType, body: new Uint8Array(0), headers: { ETag: etag } };
    return cached.reply;
  }

  private render(path: string, host: string, nowMs: number): FrontReply {
    const items = this.offered(nowMs).map((o) => o.item);
    const node: NodeSummary = { ...this.deps.node(), announceUrls: announceUrls(host, this.deps.port()) };
    if (path === '/catalog.json') {
      const body = Buffer.from(renderCatalogJson(items, node, { origin: `http://${host}` }));
      const etag = `"${nodeCrypto().createHash('sha1').update(body).digest('hex').slice(0, 20)}"`;
      return { status: 200, contentType: 'application/json', body, headers: { ETag: etag, ...SECURITY_HEADERS } };
    }
    return {
      status: 200,
      contentType: 'text/html; charset=utf-8',
      body: Buffer.from(renderFrontPage(items, node)),
      headers: { 'Content-Security-Policy': PAGE_CSP, ...SECURITY_HEADERS },
    };
  }

  /** `.torrent` files being read right now (see torrentFile). */
  private torrentReads = 0;

  /** Serves the `.torrent` file whose info hash is `hex`, after checking it still is that torrent. */
  private async torrentFile(hex: string, nowMs: number): Promise<FrontReply> {
    const o = this.offered(nowMs).find((x) => x.item.infoHashHex === hex);
    const missing: FrontReply = { status: 404, contentType: 'text/plain', body: Buffer.from(`no torrent ${hex} on this node\n`) };
    if (!o) return missing;
    // Each read holds a whole .torrent (up to MAX_TORRENT_BYTES) in memory: with every HTTP
    // connection asking at once that would be hundreds of them on a router. A few at a time;
    // the others are told to come back.
    if (this.torrentReads >= MAX_TORRENT_READS)
      return { status: 503, contentType: 'text/plain', body: Buffer.from('busy, try again in a moment\n'), headers: { 'Retry-After': '1' } };
    this.torrentReads++;
    try {
      return await this.readTorrentFile(o.path, hex, o.item.name, missing);
    } finally {
      this.torrentReads--;
    }
  }

  private async readTorrentFile(path: string, hex: string, name: string | undefined, missing: FrontReply): Promise<FrontReply> {
    try {
      const st = await nodeFsPromises().stat(path);
      if (!st.isFile() || st.size > MAX_TORRENT_BYTES) return missing;
      const bytes = await nodeFsPromises().readFile(path);
      // the file may have been replaced since it was scanned
      if (parseMetainfo(bytes).infoHashHex !== hex) return missing;
      return {
        status: 200,
        contentType: 'application/x-bittorrent',
        body: bytes,
        headers: { 'Content-Disposition': contentDisposition(name ?? hex), ...SECURITY_HEADERS },
      };
    } catch {
      return missing;
    }
  }
}
