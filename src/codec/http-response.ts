/**
 * HTTP/1.1 responses as a client reads them (RFC 9112), pure: a response head from bytes,
 * the body's framing from the head, and a chunked-coding decoder. Used by the web seed
 * client, which reads sockets into one reusable buffer (node:http's reader costs several
 * times more CPU per byte than curl; see `bench/webseed.mjs`).
 *
 * Bounded: a head over `maxBytes` or with more than MAX_HEADER_LINES lines is refused before
 * it is complete; a chunk-size line over MAX_CHUNK_LINE bytes, trailers over MAX_TRAILER_BYTES.
 * Strict where leniency would let two parsers disagree about where a body ends (RFC 9112
 * 6.3, request smuggling): conflicting Content-Lengths, a Transfer-Encoding not ending in
 * chunked, obsolete line folding and control characters in a header are refused.
 */

/** Header lines in one head: mirrors send about ten. */
export const MAX_HEADER_LINES = 100;
/** A chunk-size line with its extensions. */
const MAX_CHUNK_LINE = 1024;
/** Trailer section after the last chunk. */
const MAX_TRAILER_BYTES = 16 * 1024;

export interface ResponseHeadParsed {
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number;
  status: number;
  /** Lower-case names; a repeated header becomes an array. */
  headers: Record<string, string | string[]>;
  /** Bytes of the head, blank line included: the body starts there. */
  length: number;
}

export type HeadParse = { kind: 'incomplete' } | { kind: 'head'; head: ResponseHeadParsed } | { kind: 'error'; reason: string };

/** Index just past the blank line ending a head (CRLF or bare LF line ends, RFC 9112 2.2), or -1. */
export function findHeadEnd(buf: Uint8Array, from = 0): number {
  for (let i = buf.indexOf(0x0a, from); i >= 0; i = buf.indexOf(0x0a, i + 1)) {
    if (buf[i + 1] === 0x0a) return i + 2;
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// field values: visible ASCII, obs-text, space and tab (RFC 9110 5.5); no NUL, CR, LF or other controls
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * Looks for a complete response head at the start of `buf`. `scanFrom`: where to look for
 * the blank line (a reader that got the head in pieces need not scan the old bytes again).
 */
export function parseResponseHead(buf: Buffer, maxBytes: number, scanFrom = 0): HeadParse {
  const prefix = buf.toString('latin1', 0, Math.min(buf.length, 7));
  if (prefix !== 'HTTP/1.'.slice(0, prefix.length)) return { kind: 'error', reason: `not an HTTP/1.x answer ('${clip(buf.toString('latin1', 0, Math.min(buf.length, 20)))}')` };
  const end = findHeadEnd(buf, scanFrom);
  if (end < 0 ? buf.length > maxBytes : end > maxBytes) return { kind: 'error', reason: `response head over ${maxBytes} bytes` };
  if (end < 0) return { kind: 'incomplete' };
  const lines = buf.toString('latin1', 0, end).split('\n');
  lines.length -= 2; // the blank line and what follows its LF
  if (lines.length > MAX_HEADER_LINES + 1) return { kind: 'error', reason: `more than ${MAX_HEADER_LINES} header lines` };
  const strip = (l: string) => (l.endsWith('\r') ? l.slice(0, -1) : l);
  const status = /^HTTP\/1\.([01]) (\d{3})(?: [^\x00-\x08\x0a-\x1f\x7f]*)?$/.exec(strip(lines[0]!));
  if (!status) return { kind: 'error', reason: `malformed status line '${clip(strip(lines[0]!))}'` };
  const headers: Record<string, string | string[]> = Object.create(null);
  for (let i = 1; i < lines.length; i++) {
    const line = strip(lines[i]!);
    if (line.startsWith(' ') || line.startsWith('\t')) return { kind: 'error', reason: 'obsolete line folding in a header' };
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) return { kind: 'error', reason: `malformed header line '${clip(line)}'` };
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (BAD_VALUE.test(value)) return { kind: 'error', reason: `control character in header ${clip(name)}` };
    const key = name.toLowerCase();
    const had = headers[key];
    headers[key] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  return { kind: 'head', head: { minor: Number(status[1]), status: Number(status[2]), headers, length: end } };
}

/** How the body of a response to a GET ends (RFC 9112 6.3), and whether the connection can carry another request. */
export type BodyFraming =
  | { kind: 'length'; length: number; keepAlive: boolean }
  | { kind: 'chunked'; keepAlive: boolean }
  | { kind: 'close' } // read until the server closes
  | { kind: 'error'; reason: string };

const list = (v: string | string[] | undefined): string[] =>
  (v === undefined ? [] : Array.isArray(v) ? v : [v])
    .flatMap((x) => x.split(','))
    .map((x) => x.trim().toLowerCase())
    .filter(Boolean);

export function bodyFraming(head: Pick<ResponseHeadParsed, 'minor' | 'status' | 'headers'>): BodyFraming {
  const connection = list(head.headers['connection']);
  const keepAlive = head.minor === 1 ? !connection.includes('close') : connection.includes('keep-alive');
  if (head.status === 204 || head.status === 304 || (head.status >= 100 && head.status < 200)) return { kind: 'length', length: 0, keepAlive };
  const te = list(head.headers['transfer-encoding']);
  if (te.length > 0) {
    if (te[te.length - 1] !== 'chunked' || te.length > 1) return { kind: 'error', reason: `Transfer-Encoding '${clip(te.join(', '))}' is not supported` };
    if (head.headers['content-length'] !== undefined) return { kind: 'error', reason: 'both Transfer-Encoding and Content-Length' };
    return { kind: 'chunked', keepAlive };
  }
  const cl = head.headers['content-length'];
  if (cl === undefined) return { kind: 'close' };
  const values = list(cl);
  if (values.length === 0 || !values.every((v) => /^\d{1,15}$/.test(v))) return { kind: 'error', reason: `malformed Content-Length '${clip(String(cl))}'` };
  if (!values.every((v) => v === values[0])) return { kind: 'error', reason: 'conflicting Content-Length values' };
  return { kind: 'length', length: Number(values[0]), keepAlive };
}

/**
 * The chunked transfer coding (RFC 9112 7.1), decoded incrementally: `push` takes the bytes
 * `buf[start, end)` and hands the data bytes to `onData` as index ranges of `buf`. Returns
 * where it stopped (before `end` only once the body is complete), or an error.
 */
export class ChunkedDecoder {
  private state: 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'size';
  private line = '';
  private left = 0;
  private trailerBytes = 0;

  get done(): boolean {
    return this.state === 'done';
  }

  push(buf: Buffer, start: number, end: number, onData: (buf: Buffer, start: number, end: number) => void): { next: number } | { error: string } {
    let i = start;
    while (i < end && this.state !== 'done') {
      if (this.state === 'data') {
        const stop = Math.min(end, i + this.left);
        onData(buf, i, stop);
        this.left -= stop - i;
        i = stop;
        if (this.left === 0) this.state = 'data-end';
        continue;
      }
      // line-oriented states: read up to LF
      const found = buf.indexOf(0x0a, i);
      const lf = found >= 0 && found < end ? found : -1;
      const take = lf < 0 ? end : lf;
      this.line += buf.toString('latin1', i, take);
      if (this.state === 'trailer') this.trailerBytes += take - i + 1;
      if (this.line.length > MAX_CHUNK_LINE && this.state !== 'trailer') return { error: 'chunk-size line too long' };
      if (this.trailerBytes > MAX_TRAILER_BYTES) return { error: `trailers over ${MAX_TRAILER_BYTES} bytes` };
      if (lf < 0) return { next: end };
      i = lf + 1;
      const line = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line;
      this.line = '';
      if (this.state === 'data-end') {
        if (line !== '') return { error: 'chunk data longer than its size' };
        this.state = 'size';
      } else if (this.state === 'size') {
        const m = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;.*)?$/.exec(line);
        if (!m) return { error: `malformed chunk size '${clip(line)}'` };
        this.left = parseInt(m[1]!, 16);
        this.state = this.left === 0 ? 'trailer' : 'data';
      } else if (line === '') this.state = 'done';
    }
    return { next: i };
  }
}

/** Untrusted text in a message: short, printable. */
export function clip(s: string): string {
  const t = s.replace(/[^\x20-\x7e]/g, '?');
  return t.length > 80 ? t.slice(0, 77) + '...' : t;
}
