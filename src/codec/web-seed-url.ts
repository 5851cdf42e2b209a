/**
 * Web seeds, BEP 19 (GetRight style `url-list`): pure rules, no sockets.
 *
 *   - which URL holds which file of the torrent (`webSeedFileUrl`);
 *   - which HTTP range requests cover a byte range of the torrent's data (`planRanges`);
 *   - whether a response head answers the range we asked for (`checkRangeHead`);
 *   - where a redirect may lead (`resolveRedirect`).
 *
 * BEP 19: "If the URL ends in a slash, '/', the client must add the 'name' from the torrent
 * to make the full URL" (single-file); for multi-file torrents the name and each path
 * component are appended. libtorrent adds the missing `/` before appending for multi-file
 * torrents; so do we. Every appended component is percent-encoded as UTF-8 bytes with only
 * RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`) left as they are, so a space, `#`,
 * `?` or `%` in a file name cannot end the path or be read as an escape.
 */
import { MeshseedError } from '../errors.js';
import { clip } from './http-response.js';
import { percentEncode } from './tracker-http.js';

/** One file of the torrent, as the metainfo lists it (BEP 47 padding files are not fetched). */
export interface WebSeedFile {
  path: string[];
  length: number;
  /** Byte offset of the file in the torrent's concatenated data. */
  offset: number;
  padding?: boolean;
}

/** Why a web seed's answer was refused; stable words for logs, status and tests. */
export type WebSeedProblem =
  | 'bad-url' // the url-list entry or a redirect is not a usable http(s) URL
  | 'range-ignored' // 200: the server does not do ranges
  | 'http-status' // 4xx, 5xx, 416, or an unexpected status
  | 'bad-content-range' // 206 whose Content-Range is missing, malformed or for other bytes
  | 'bad-length' // Content-Length is not the range's length, or the body was short or long
  | 'redirect' // too many redirects, or one without a usable Location
  | 'timeout' // no connection or no bytes within the time bound
  | 'network' // refused, reset, bad TLS certificate, malformed HTTP
  | 'dropped' // the seed's data failed the hash: never used again
  | 'unavailable' // backing off or closed: ask again when `ready()` says so
  | 'bad-request'; // the caller asked for bytes outside the torrent, or a file cannot have a URL

/** A web seed failure: `problem` says which kind (see WebSeedProblem). */
export class WebSeedError extends MeshseedError {
  constructor(
    readonly problem: WebSeedProblem,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('EWEBSEED', message, options);
    this.name = 'WebSeedError';
  }
}

export const encodeUrlComponent = (component: string): string => percentEncode(Buffer.from(component, 'utf8'));

/** Components that would move a URL's path instead of naming a file. */
function checkComponent(c: string): string {
  if (c === '' || c === '.' || c === '..') throw new WebSeedError('bad-request', `path component '${c}' cannot be part of a web seed URL`);
  return encodeUrlComponent(c);
}

/**
 * The URL of one file of the torrent on a web seed. `path` is the file's path below the
 * torrent's folder; for a single-file torrent it is ignored (the file is `name`).
 */
export function webSeedFileUrl(base: string, name: string, singleFile: boolean, path: readonly string[]): string {
  if (singleFile) return base.endsWith('/') ? base + checkComponent(name) : base;
  const dir = base.endsWith('/') ? base : base + '/';
  return dir + [name, ...path].map(checkComponent).join('/');
}

/** Parses a url-list entry (or a built file URL): http or https only. */
export function parseWebSeedUrl(url: string): { ok: true; url: URL } | { ok: false; reason: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, reason: `'${clip(url)}' is not a URL` };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { ok: false, reason: `'${u.protocol}' URLs cannot be web seeds (http or https only)` };
  if (u.username || u.password) return { ok: false, reason: 'web seed URLs with a user name or password are not used' };
  return { ok: true, url: u };
}

/** A redirect's target: relative Locations resolve against the URL asked; only http(s). */
export function resolveRedirect(location: string | undefined, from: URL): { ok: true; url: URL } | { ok: false; reason: string } {
  if (!location) return { ok: false, reason: 'redirect without a Location' };
  let u: URL;
  try {
    u = new URL(location, from);
  } catch {
    return { ok: false, reason: `redirect to an invalid URL '${clip(location)}'` };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { ok: false, reason: `redirect to a '${u.protocol}' URL refused (http or https only)` };
  return { ok: true, url: u };
}

/** One HTTP range request: bytes [first, last] of file `file`, landing at `at` in the read's buffer. */
export interface RangeRequest {
  file: number;
  first: number;
  last: number;
  at: number;
}

/**
 * The requests that fetch bytes [offset, offset+length) of the torrent's data: one per
 * file touched, in order. Padding files and empty files need no request (their bytes are
 * zeros, already in a zero-filled buffer). Throws on a range outside the torrent.
 */
export function planRanges(files: readonly WebSeedFile[], offset: number, length: number): RangeRequest[] {
  const total = files.reduce((end, f) => Math.max(end, f.offset + f.length), 0);
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > total) {
    throw new WebSeedError('bad-request', `range ${offset}+${length} is outside the torrent's ${total} bytes`);
  }
  const end = offset + length;
  const out: RangeRequest[] = [];
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    if (f.length === 0 || f.padding) continue;
    const from = Math.max(offset, f.offset);
    const to = Math.min(end, f.offset + f.length);
    if (from >= to) continue;
    out.push({ file: i, first: from - f.offset, last: to - 1 - f.offset, at: from - offset });
  }
  return out;
}

/** `bytes first-last/total` (RFC 9110 14.4); total may be `*`. */
export function parseContentRange(value: string): { first: number; last: number; total: number | null } | undefined {
  const m = /^bytes[ \t]+(\d{1,15})-(\d{1,15})\/(\d{1,15}|\*)$/i.exec(value.trim());
  if (!m) return undefined;
  const first = Number(m[1]);
  const last = Number(m[2]);
  const total = m[3] === '*' ? null : Number(m[3]);
  if (last < first || (total !== null && last >= total)) return undefined;
  return { first, last, total };
}

/** What a response head means for a range request. */
export type HeadVerdict =
  | { kind: 'body'; length: number } // 206 for exactly our range: read `length` bytes
  | { kind: 'redirect'; location: string | undefined }
  | { kind: 'refused'; problem: WebSeedProblem; reason: string };

export interface ResponseHead {
  status: number;
  /** Header values as Node gives them (lower-case names; repeated ones may be arrays). */
  headers: Record<string, string | string[] | undefined>;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function single(h: string | string[] | undefined): string | undefined | null {
  if (Array.isArray(h)) return h.length === 1 ? h[0] : null; // repeated: ambiguous
  return h;
}

/**
 * Checks a response head against the range asked: bytes [first, last] of a file of
 * `fileLength` bytes. RFC 9110 15.3.7: a 206 "MUST generate a Content-Range header field"
 * for a single range; we also require its total to be the file's length (another length
 * means another file, an outdated mirror) and a Content-Length, when present, to match.
 */
export function checkRangeHead(head: ResponseHead, want: { first: number; last: number; fileLength: number }): HeadVerdict {
  const { status } = head;
  const expected = want.last - want.first + 1;
  if (REDIRECTS.has(status)) return { kind: 'redirect', location: single(head.headers['location']) ?? undefined };
  if (status === 200) return { kind: 'refused', problem: 'range-ignored', reason: 'HTTP 200 to a range request: the server does not support ranges' };
  if (status !== 206) {
    const why = status === 416 ? ' (range not satisfiable: the file is shorter than the torrent says)' : '';
    return { kind: 'refused', problem: 'http-status', reason: `HTTP ${status}${why}` };
  }
  const cr = single(head.headers['content-range']);
  if (cr === null) return { kind: 'refused', problem: 'bad-content-range', reason: 'more than one Content-Range' };
  if (cr === undefined) return { kind: 'refused', problem: 'bad-content-range', reason: '206 without Content-Range' };
  const range = parseContentRange(cr);
  if (!range) return { kind: 'refused', problem: 'bad-content-range', reason: `malformed Content-Range '${clip(cr)}'` };
  if (range.first !== want.first || range.last !== want.last) {
    return { kind: 'refused', problem: 'bad-content-range', reason: `Content-Range ${range.first}-${range.last} for a request of ${want.first}-${want.last}` };
  }
  if (range.total !== null && range.total !== want.fileLength) {
    return { kind: 'refused', problem: 'bad-content-range', reason: `the file is ${range.total} bytes on the server, ${want.fileLength} in the torrent` };
  }
  const cl = single(head.headers['content-length']);
  if (cl === null) return { kind: 'refused', problem: 'bad-length', reason: 'more than one Content-Length' };
  if (cl !== undefined && (!/^\d{1,15}$/.test(cl.trim()) || Number(cl) !== expected)) {
    return { kind: 'refused', problem: 'bad-length', reason: `Content-Length ${clip(cl)} for a range of ${expected} bytes` };
  }
  return { kind: 'body', length: expected };
}
