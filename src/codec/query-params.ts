/**
 * The query string of an HTTP tracker request, read as bytes (BEP 3: info hashes and peer ids
 * are 20 raw bytes, percent-encoded byte by byte, never UTF-8 text): percent decoding and
 * QueryParams, the parameters kept as offsets into the request target. Pure; every length is
 * checked before a byte is copied. The announce and scrape codecs are in tracker-http.ts.
 */
import { latin1 } from './bencode.js';
import { HTTP_MAX_PARAM_VALUE_BYTES, HTTP_MAX_PARAMS, HTTP_MAX_TARGET_BYTES, INFO_HASH_SIZE } from './tracker-protocol.js';

export type Decoded<T> = { ok: true; value: T } | { ok: false; failure: string };

export const fail = <T>(failure: string): Decoded<T> => ({ ok: false, failure });

const EMPTY = new Uint8Array(0);

const CH_PERCENT = 0x25;
const CH_QUESTION = 0x3f;
const CH_AMP = 0x26;
const CH_EQUALS = 0x3d;
const CH_SEMICOLON = 0x3b;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/**
 * Length of `bytes[start, end)` once percent-decoded, or -1 for a broken escape or more than
 * `max` bytes. Each escape is 3 bytes for 1, so this is known before anything is copied.
 */
function decodedLength(bytes: Uint8Array, start: number, end: number, max: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    if (bytes[i] === CH_PERCENT) {
      if (i + 2 >= end || hexValue(bytes[i + 1]!) < 0 || hexValue(bytes[i + 2]!) < 0) return -1;
      i += 2;
    }
    if (++n > max) return -1;
  }
  return n;
}

/**
 * Percent-decodes `bytes[start, end)`, at most `max` output bytes. `+` stays a `+`: BitTorrent
 * clients escape every byte outside the unreserved set, so a literal `+` is the byte 0x2b.
 * Returns undefined for a broken escape or an over-long value.
 */
export function percentDecode(bytes: Uint8Array, start: number, end: number, max: number): Uint8Array | undefined {
  const n = decodedLength(bytes, start, end, max);
  return n < 0 ? undefined : decodeInto(bytes, start, end, new Uint8Array(n));
}

/** Decodes a span whose escapes were checked into `out` (exactly its decoded length). */
function decodeInto(bytes: Uint8Array, start: number, end: number, out: Uint8Array): Uint8Array {
  let o = 0;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    if (c === CH_PERCENT) {
      out[o++] = (hexValue(bytes[i + 1]!) << 4) | hexValue(bytes[i + 2]!);
      i += 2;
    } else out[o++] = c;
  }
  return out;
}

/** A checked span decoded as latin1 text, without a Buffer (names and short values). */
function decodeText(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) {
    let c = bytes[i]!;
    if (c === CH_PERCENT) {
      c = (hexValue(bytes[i + 1]!) << 4) | hexValue(bytes[i + 2]!);
      i += 2;
    }
    s += String.fromCharCode(c);
  }
  return s;
}

/** True when the checked span decodes to exactly `text` (ASCII), compared without copying. */
function decodesTo(bytes: Uint8Array, start: number, end: number, text: string): boolean {
  let k = 0;
  for (let i = start; i < end; i++, k++) {
    let c = bytes[i]!;
    if (c === CH_PERCENT) {
      c = (hexValue(bytes[i + 1]!) << 4) | hexValue(bytes[i + 2]!);
      i += 2;
    }
    if (k >= text.length || c !== text.charCodeAt(k)) return false;
  }
  return k === text.length;
}

/** Fields of one parameter in QueryParams' span list. */
const SPAN_FIELDS = 5;

/**
 * The query parameters of a request target, kept as offsets into it. A client sends a dozen
 * parameters with every announce: copying each name and value into its own array cost more
 * than the rest of the announce. parseRequestTarget has checked every escape and length, so
 * reading a parameter cannot fail; values are copied only when asked for.
 */
export class QueryParams {
  /** The request path, percent-decoded, without the query. */
  path = '';
  /** Number of parameters. */
  length = 0;
  private target: Uint8Array = EMPTY;
  /**
   * Per parameter: name start, name end, value start, value end, decoded value length. Kept
   * from one request to the next when the owner parses every target into the same QueryParams
   * (QueryParams.parse): only the first `length * SPAN_FIELDS` entries are this target's.
   */
  private readonly spans: number[] = [];

  /**
   * Reads a request target as parseRequestTarget does, into this QueryParams: the tracker's hot
   * path parses every target into the same one, whose span list is kept from one request to
   * the next (a request makes no garbage here). Returns undefined, or the reason the target is
   * refused (this is then partly written and must not be read).
   */
  parse(target: Uint8Array): string | undefined {
    if (target.length === 0) return 'empty request target';
    if (target.length > HTTP_MAX_TARGET_BYTES) return `request target longer than ${HTTP_MAX_TARGET_BYTES} bytes`;
    let q = -1;
    for (let i = 0; i < target.length; i++) {
      const c = target[i]!;
      if (c <= 0x20 || c >= 0x7f) return 'request target has a byte that must be percent-encoded';
      if (c === CH_QUESTION && q < 0) q = i;
    }
    if (q < 0) q = target.length;
    if (decodedLength(target, 0, q, HTTP_MAX_TARGET_BYTES) < 0) return 'request path has a broken percent escape';
    const path = pathText(target, q)!;
    const spans = this.spans;
    let used = 0;
    const maxValue = Math.max(HTTP_MAX_PARAM_VALUE_BYTES, INFO_HASH_SIZE);
    let i = q + 1;
    while (i <= target.length && q < target.length) {
      let end = i;
      while (end < target.length && target[end] !== CH_AMP && target[end] !== CH_SEMICOLON) end++;
      if (end > i) {
        if (used >= HTTP_MAX_PARAMS * SPAN_FIELDS) return `more than ${HTTP_MAX_PARAMS} query parameters`;
        let eq = i;
        while (eq < end && target[eq] !== CH_EQUALS) eq++;
        if (decodedLength(target, i, eq, 32) < 0) return 'query parameter name is too long or badly escaped';
        const valueStart = Math.min(eq + 1, end);
        const n = decodedLength(target, valueStart, end, maxValue);
        if (n < 0) return `query parameter '${printable(decodeText(target, i, eq))}' is too long or badly escaped`;
        spans[used++] = i;
        spans[used++] = eq;
        spans[used++] = valueStart;
        spans[used++] = end;
        spans[used++] = n;
      }
      i = end + 1;
    }
    // (empty parameters, `a=1&&b=2`, take no span)
    this.path = path;
    this.target = target;
    this.length = used / SPAN_FIELDS;
    return undefined;
  }

  /** The decoded name of parameter `i`. */
  name(i: number): string {
    const o = i * SPAN_FIELDS;
    return decodeText(this.target, this.spans[o]!, this.spans[o + 1]!);
  }

  /**
   * Index of the first parameter called each of `names` (-1 when absent), in one walk over the
   * parameters: an announce looks up a dozen names, and a walk per name compared every
   * parameter's name a dozen times. Writes into `out` (at least `names.length` long).
   */
  indexesOf(names: readonly string[], out: Int16Array): Int16Array {
    out.fill(-1, 0, names.length);
    const s = this.spans;
    const used = this.length * SPAN_FIELDS;
    for (let o = 0; o < used; o += SPAN_FIELDS) {
      const start = s[o]!;
      const end = s[o + 1]!;
      // a name is compared only with the names it could decode to (an escape is 3 bytes for 1)
      const raw = end - start;
      for (let k = 0; k < names.length; k++) {
        const n = names[k]!.length;
        if (out[k]! < 0 && n <= raw && raw <= 3 * n && decodesTo(this.target, start, end, names[k]!)) {
          out[k] = o / SPAN_FIELDS;
          break;
        }
      }
    }
    return out;
  }

  /** True when parameter `i` is called `name`. */
  nameIs(i: number, name: string): boolean {
    const o = i * SPAN_FIELDS;
    return decodesTo(this.target, this.spans[o]!, this.spans[o + 1]!, name);
  }

  /** Decoded length of parameter `i`'s value. */
  valueLength(i: number): number {
    return this.spans[i * SPAN_FIELDS + 4]!;
  }

  /** The decoded value of parameter `i` (a copy of its bytes). */
  value(i: number): Uint8Array {
    const o = i * SPAN_FIELDS;
    return decodeInto(this.target, this.spans[o + 2]!, this.spans[o + 3]!, new Uint8Array(this.spans[o + 4]!));
  }

  /** Decodes parameter `i`'s value into `out` (exactly valueLength(i) long); returns `out`. */
  valueInto(i: number, out: Uint8Array): Uint8Array {
    const o = i * SPAN_FIELDS;
    return decodeInto(this.target, this.spans[o + 2]!, this.spans[o + 3]!, out);
  }

  /** The decoded value of parameter `i` as latin1 text. */
  text(i: number): string {
    const o = i * SPAN_FIELDS;
    return decodeText(this.target, this.spans[o + 2]!, this.spans[o + 3]!);
  }

  /** True when parameter `i`'s decoded value is `text`. */
  valueIs(i: number, text: string): boolean {
    const o = i * SPAN_FIELDS;
    return decodesTo(this.target, this.spans[o + 2]!, this.spans[o + 3]!, text);
  }

  /** Parameter `i`'s value as a decimal integer 0..2^53-1 (optionally negative), or undefined. */
  decimal(i: number, allowNegative = false): number | undefined {
    const o = i * SPAN_FIELDS;
    const len = this.spans[o + 4]!;
    if (len === 0 || len > 17) return undefined;
    const t = this.target;
    const end = this.spans[o + 3]!;
    let negative = false;
    let digits = 0;
    let n = 0;
    for (let p = this.spans[o + 2]!; p < end; p++) {
      let c = t[p]!;
      if (c === CH_PERCENT) {
        c = (hexValue(t[p + 1]!) << 4) | hexValue(t[p + 2]!);
        p += 2;
      }
      if (c === 0x2d && allowNegative && !negative && digits === 0) {
        negative = true;
        continue;
      }
      const d = c - 0x30;
      if (d < 0 || d > 9) return undefined;
      n = n * 10 + d;
      digits++;
    }
    if (digits === 0) return undefined;
    return negative ? -n : n;
  }

  /** Every parameter as [name, value], copied (tests and tools; the tracker reads in place). */
  entries(): [string, Uint8Array][] {
    const out: [string, Uint8Array][] = [];
    for (let i = 0; i < this.length; i++) out.push([this.name(i), this.value(i)]);
    return out;
  }
}

const PATH_ANNOUNCE = '/announce';
const PATH_SCRAPE = '/scrape';

/** The path as text; the tracker's own two paths without building a string. */
function pathText(target: Uint8Array, end: number): string | undefined {
  if (decodesTo(target, 0, end, PATH_ANNOUNCE)) return PATH_ANNOUNCE;
  if (decodesTo(target, 0, end, PATH_SCRAPE)) return PATH_SCRAPE;
  const bytes = percentDecode(target, 0, end, HTTP_MAX_TARGET_BYTES);
  return bytes && shortLatin1(bytes);
}

/** latin1 text of a few bytes, without a Buffer. */
function shortLatin1(b: Uint8Array): string {
  if (b.length > 64) return latin1(b);
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** A parameter name or value quoted in a failure reason: printable ASCII, at most 32 characters. */
export function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 32);
}
