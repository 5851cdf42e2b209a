/**
 * One bounded HTTP(S) GET for catalogs and `.torrent` files: the body is read up to
 * `maxBytes` (a longer one, or a Content-Length over it, fails before it is buffered), the
 * whole exchange must end within `timeoutMs` (a slow server is cut off, however steadily it
 * trickles), at most MAX_REDIRECTS redirects are followed (http and https only), and the
 * conditional headers (If-None-Match, If-Modified-Since) are sent when given.
 */
import type { IncomingMessage } from 'node:http';
import { nodeHttp, nodeHttps } from '../util/lazy-modules.js';
import { MeshseedError } from '../errors.js';
import { VERSION } from '../version.js';

export const MAX_REDIRECTS = 3;

export interface GetOptions {
  maxBytes: number;
  timeoutMs: number;
  etag?: string;
  lastModified?: string;
}

export interface GetResult {
  /** 200, or 304 when the conditional headers matched (no body). */
  status: 200 | 304;
  /** The URL finally answered (after redirects). */
  url: string;
  body: Buffer;
  contentType: string;
  etag?: string;
  lastModified?: string;
}

const fail = (url: string, what: string) => new MeshseedError('ECATALOG', `${url}: ${what}`);

export function httpGet(url: string, o: GetOptions): Promise<GetResult> {
  const deadline = Date.now() + o.timeoutMs;
  const once = (u: string, hops: number): Promise<GetResult> =>
    new Promise((resolve, reject) => {
      let parsed: URL;
      try {
        parsed = new URL(u);
      } catch {
        return reject(fail(u, 'not a URL'));
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return reject(fail(u, 'only http:// and https:// are fetched'));
      const left = deadline - Date.now();
      if (left <= 0) return reject(fail(u, `no answer within ${o.timeoutMs / 1000} s`));
      const headers: Record<string, string> = { 'User-Agent': `meshseed/${VERSION}`, Accept: '*/*', 'Accept-Encoding': 'identity' };
      if (o.etag) headers['If-None-Match'] = o.etag;
      if (o.lastModified) headers['If-Modified-Since'] = o.lastModified;
      // node:http and node:https load on first use (src/util/lazy-modules.ts)
      const req = (parsed.protocol === 'https:' ? nodeHttps().request : nodeHttp().request)(parsed, { method: 'GET', headers, agent: false });
      const timer = setTimeout(() => {
        req.destroy(fail(u, `no complete answer within ${o.timeoutMs / 1000} s`));
      }, left);
      const done = (err: Error | undefined, v?: GetResult) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(v!);
      };
      req.on('error', (e) => done(e instanceof MeshseedError ? e : fail(u, e.message)));
      req.on('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (status >= 300 && status < 400 && status !== 304 && location) {
          res.resume();
          clearTimeout(timer);
          if (hops >= MAX_REDIRECTS) return reject(fail(u, `more than ${MAX_REDIRECTS} redirects`));
          let next: string;
          try {
            next = new URL(location, u).href;
          } catch {
            return reject(fail(u, 'redirect to a bad URL'));
          }
          return once(next, hops + 1).then(resolve, reject);
        }
        const meta = {
          url: u,
          contentType: String(res.headers['content-type'] ?? ''),
          ...(res.headers.etag ? { etag: String(res.headers.etag) } : {}),
          ...(res.headers['last-modified'] ? { lastModified: String(res.headers['last-modified']) } : {}),
        };
        if (status === 304) {
          res.resume();
          return done(undefined, { status: 304, body: Buffer.alloc(0), ...meta });
        }
        if (status !== 200) {
          res.resume();
          return done(fail(u, `HTTP ${status}`));
        }
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > o.maxBytes) {
          res.destroy();
          return done(fail(u, `larger than ${o.maxBytes} bytes (Content-Length ${declared})`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > o.maxBytes) {
            res.destroy();
            req.destroy();
            return done(fail(u, `larger than ${o.maxBytes} bytes`));
          }
          chunks.push(c);
        });
        res.on('error', (e) => done(fail(u, e.message)));
        res.on('end', () => {
          if (size <= o.maxBytes) done(undefined, { status: 200, body: Buffer.concat(chunks), ...meta });
        });
      });
      req.end();
    });
  return once(url, 0);
}
