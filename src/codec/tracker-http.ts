/**
 * HTTP tracker messages, server side: BEP 3 announce, BEP 23 compact peers, BEP 7 `peers6`,
 * BEP 48 scrape, BEP 21 `event=paused`.
 *
 * Pure: the raw request target (bytes, as the request line carried it) in, a request or a
 * `failure reason` out; a response description in, bencoded bytes out. Info hashes and peer
 * ids are 20 raw bytes, percent-encoded byte by byte, so the query is decoded as bytes, never
 * as UTF-8 text. Every length is checked before a byte is copied.
 */
import { encode, latin1, type EncodableValue } from './bencode.js';
import {
  HTTP_MAX_PARAM_VALUE_BYTES,
  HTTP_MAX_PARAMS,
  HTTP_MAX_TARGET_BYTES,
  HTTP_SCRAPE_MAX_HASHES,
  INFO_HASH_SIZE,
  PEER_ID_SIZE,
  type AnnounceEvent,
} from './tracker-protocol.js';

export interface RequestTarget {
  /** The path, percent-decoded, without the query. */
  path: string;
  /** Parameters in order, as spans of the target (nothing copied until a value is read). */
  params: QueryParams;
}

export interface HttpAnnounceRequest {
  infoHash: Uint8Array;
  peerId: Uint8Array;
  /** 0..65535 as sent; 0 is kept here and refused by the store (never handed out). */
  port: number;
  uploaded: number;
  downloaded: number;
  /** Bytes left; undefined when the client did not say (treated as a leecher). */
  left: number | undefined;
  event: AnnounceEvent;
  /** BEP 23: compact=1 asks for the 6/18-byte forms. */
  compact: boolean;
  /** BEP 3 dictionary model without `peer id`. */
  noPeerId: boolean;
  /** undefined when absent or negative (the tracker's default applies). */
  numwant: number | undefined;
  /** The `ip` parameter as text, when sent (used only when the tracker allows it). */
  ip: string | undefined;
  key: Uint8Array | undefined;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; failure: string };

const fail = <T>(failure: string): Decoded<T> => ({ ok: false, failure });

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

  /** Index of the first parameter whose decoded name is `name`, or -1. */
  indexOf(name: string): number {
    const s = this.spans;
    const used = this.length * SPAN_FIELDS;
    for (let o = 0; o < used; o += SPAN_FIELDS) if (decodesTo(this.target, s[o]!, s[o + 1]!, name)) return o / SPAN_FIELDS;
    return -1;
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

/**
 * Splits a request target (`/announce?info_hash=...`) into its path and its parameters.
 * Refuses targets longer than HTTP_MAX_TARGET_BYTES, more than HTTP_MAX_PARAMS parameters,
 * control bytes, broken escapes, and values longer than the longest any parameter needs.
 */
export function parseRequestTarget(target: Uint8Array): Decoded<RequestTarget> {
  const params = new QueryParams();
  const failure = params.parse(target);
  return failure === undefined ? { ok: true, value: { path: params.path, params } } : fail(failure);
}

/** latin1 text of a few bytes, without a Buffer. */
function shortLatin1(b: Uint8Array): string {
  if (b.length > 64) return latin1(b);
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 32);
}

const EVENTS = new Map<string, AnnounceEvent>([
  ['', 'none'],
  ['empty', 'none'],
  ['started', 'started'],
  ['completed', 'completed'],
  ['stopped', 'stopped'],
  ['paused', 'paused'],
]);

/** The parameters an announce reads, looked up together (QueryParams.indexesOf). */
const ANNOUNCE_NAMES = ['info_hash', 'peer_id', 'port', 'uploaded', 'downloaded', 'left', 'event', 'numwant', 'ip', 'key', 'compact', 'no_peer_id'] as const;
const [N_INFO_HASH, N_PEER_ID, N_PORT, N_UPLOADED, N_DOWNLOADED, N_LEFT, N_EVENT, N_NUMWANT, N_IP, N_KEY, N_COMPACT, N_NO_PEER_ID] = ANNOUNCE_NAMES.map((_, k) => k);
/** Where indexesOf writes; read at once, before anything else can use it (the decoder is synchronous). */
const announceAt = new Int16Array(ANNOUNCE_NAMES.length);

/** An announce request to decode into (decodeAnnounceInto), its hash and peer id arrays included. */
export function emptyAnnounceRequest(): HttpAnnounceRequest {
  return {
    infoHash: new Uint8Array(INFO_HASH_SIZE),
    peerId: new Uint8Array(PEER_ID_SIZE),
    port: 0,
    uploaded: 0,
    downloaded: 0,
    left: undefined,
    event: 'none',
    compact: false,
    noPeerId: false,
    numwant: undefined,
    ip: undefined,
    key: undefined,
  };
}

/** BEP 3 announce parameters; any problem becomes the `failure reason` the client will show. */
export function decodeAnnounceParams(params: QueryParams): Decoded<HttpAnnounceRequest> {
  const into = emptyAnnounceRequest();
  const failure = decodeAnnounceInto(params, into);
  return failure === undefined ? { ok: true, value: into } : fail(failure);
}

/**
 * decodeAnnounceParams for the tracker's hot path: writes every field of `into` (its info hash
 * and peer id arrays are written in place, nothing else is allocated for a usual announce) and
 * returns undefined, or returns the `failure reason` (`into` is then partly written).
 */
export function decodeAnnounceInto(params: QueryParams, into: HttpAnnounceRequest): string | undefined {
  const at = params.indexesOf(ANNOUNCE_NAMES, announceAt);
  const h = at[N_INFO_HASH]!;
  if (h < 0) return 'missing info_hash';
  if (params.valueLength(h) !== INFO_HASH_SIZE) return `info_hash is ${params.valueLength(h)} bytes, not ${INFO_HASH_SIZE}`;
  const p = at[N_PEER_ID]!;
  if (p < 0) return 'missing peer_id';
  if (params.valueLength(p) !== PEER_ID_SIZE) return `peer_id is ${params.valueLength(p)} bytes, not ${PEER_ID_SIZE}`;
  const portAt = at[N_PORT]!;
  if (portAt < 0) return 'missing port';
  const port = params.decimal(portAt);
  if (port === undefined || port > 65535) return 'port is not a number 0..65535';
  const uploaded = counter(params, at[N_UPLOADED]!);
  const downloaded = counter(params, at[N_DOWNLOADED]!);
  const leftAt = at[N_LEFT]!;
  let left = counter(params, leftAt);
  // Transmission announces a magnet whose size it does not know yet with left = 2^64-1
  // (~(uint64_t)0): a leecher of unknown size, not an error
  if (left === null && /^\d{18,20}$/.test(params.text(leftAt))) left = undefined;
  if (uploaded === null) return 'uploaded is not a non-negative number';
  if (downloaded === null) return 'downloaded is not a non-negative number';
  if (left === null) return 'left is not a non-negative number';
  const e = at[N_EVENT]!;
  const event = e < 0 ? 'none' : EVENTS.get(params.text(e));
  if (event === undefined) return `unknown event '${printable(params.text(e))}'`;
  const w = at[N_NUMWANT]!;
  let numwant: number | undefined;
  if (w >= 0) {
    const n = params.decimal(w, true);
    if (n === undefined) return 'numwant is not a number';
    numwant = n < 0 ? undefined : n;
  }
  const ip = at[N_IP]!;
  const key = at[N_KEY]!;
  const compact = at[N_COMPACT]!;
  const noPeerId = at[N_NO_PEER_ID]!;
  params.valueInto(h, into.infoHash);
  params.valueInto(p, into.peerId);
  into.port = port;
  into.uploaded = uploaded ?? 0;
  into.downloaded = downloaded ?? 0;
  into.left = left;
  into.event = event;
  into.compact = compact >= 0 && params.valueIs(compact, '1');
  into.noPeerId = noPeerId >= 0 && params.valueIs(noPeerId, '1');
  into.numwant = numwant;
  into.ip = ip < 0 ? undefined : params.text(ip);
  into.key = key < 0 ? undefined : params.value(key);
  return undefined;
}

/** A non-negative counter at index `i` (-1: absent): undefined when absent, null when not a number. */
function counter(params: QueryParams, i: number): number | undefined | null {
  if (i < 0) return undefined;
  return params.decimal(i) ?? null;
}

/** BEP 48: every `info_hash` parameter, at most HTTP_SCRAPE_MAX_HASHES; none means "all" (refused by the tracker). */
export function decodeScrapeParams(params: QueryParams): Decoded<Uint8Array[]> {
  const hashes: Uint8Array[] = [];
  for (let i = 0; i < params.length; i++) {
    if (!params.nameIs(i, 'info_hash')) continue;
    const n = params.valueLength(i);
    if (n !== INFO_HASH_SIZE) return fail(`info_hash is ${n} bytes, not ${INFO_HASH_SIZE}`);
    if (hashes.length >= HTTP_SCRAPE_MAX_HASHES) return fail(`more than ${HTTP_SCRAPE_MAX_HASHES} info_hash parameters`);
    hashes.push(params.value(i));
  }
  return { ok: true, value: hashes };
}

// ---- responses ----

/** A peer for the dictionary model (BEP 3): address as text, peer id raw. */
export interface DictPeer {
  ip: string;
  port: number;
  peerId: Uint8Array;
}

export interface HttpAnnounceResponse {
  interval: number;
  minInterval: number;
  complete: number;
  incomplete: number;
  downloaded: number;
  /** BEP 23: concatenated 6-byte IPv4 peers (compact requests). */
  peers4?: Uint8Array;
  /** BEP 7: concatenated 18-byte IPv6 peers (compact requests). */
  peers6?: Uint8Array;
  /** BEP 3 dictionary model (compact=0): IPv4 and IPv6 peers together in `peers`. */
  dictPeers?: DictPeer[];
  /** Leave `peer id` out of dictionary peers. */
  noPeerId?: boolean;
}

/**
 * Bencoded announce reply; keys sorted as raw bytes by the adapter. An empty `peers6` is
 * left out (some clients warn on it); `peers` is always present, even empty.
 */
export function encodeAnnounceResponse(r: HttpAnnounceResponse): Uint8Array {
  if (!r.dictPeers) return encodeCompactAnnounce(r);
  const body: Record<string, EncodableValue | undefined> = {
    complete: r.complete,
    downloaded: r.downloaded,
    incomplete: r.incomplete,
    interval: r.interval,
    'min interval': r.minInterval,
  };
  if (r.dictPeers) {
    body.peers = r.dictPeers.map((p) =>
      r.noPeerId ? { ip: p.ip, port: p.port } : { ip: p.ip, 'peer id': p.peerId, port: p.port },
    );
  } else {
    body.peers = r.peers4 ?? new Uint8Array(0);
    if (r.peers6 && r.peers6.length > 0) body.peers6 = r.peers6;
  }
  return encode(body);
}

/**
 * The compact reply, the one every client asks for, written straight into one buffer: the
 * hot path of the tracker (the generic adapter costs more than the rest of an announce).
 * Same bytes as `encode()` would give (a table test checks it): keys in raw-byte order
 * complete, downloaded, incomplete, interval, min interval, peers, peers6.
 */
// The keys of a compact reply in the order bencode sorts them, each with what comes before its value.
const K_COMPLETE = Buffer.from('d8:completei', 'latin1');
const K_DOWNLOADED = Buffer.from('e10:downloadedi', 'latin1');
const K_INCOMPLETE = Buffer.from('e10:incompletei', 'latin1');
const K_INTERVAL = Buffer.from('e8:intervali', 'latin1');
const K_MIN_INTERVAL = Buffer.from('e12:min intervali', 'latin1');
const K_PEERS = Buffer.from('e5:peers', 'latin1');
const K_PEERS6 = Buffer.from('6:peers6', 'latin1');
const CH_COLON = 0x3a;
const CH_E = 0x65;

/** Decimal digits of a safe integer (a minus sign counted). */
function decimalLength(n: number): number {
  if (!Number.isSafeInteger(n)) throw new RangeError(`cannot encode ${n}`);
  let d = n < 0 ? 2 : 1;
  for (let v = Math.abs(n); v >= 10; v = Math.floor(v / 10)) d++;
  return d;
}

/** Writes `n` in decimal at `at` (its length from decimalLength); returns the offset after it. */
function writeDecimal(out: Uint8Array, at: number, n: number, length: number): number {
  const end = at + length;
  if (n < 0) out[at] = 0x2d;
  let v = Math.abs(n);
  for (let i = end - 1; i >= at + (n < 0 ? 1 : 0); i--, v = Math.floor(v / 10)) out[i] = 0x30 + (v % 10);
  return end;
}

/** The compact reply written byte by byte into one buffer: no string per number, no array. */
function encodeCompactAnnounce(r: HttpAnnounceResponse): Uint8Array {
  const peers4 = r.peers4 ?? EMPTY;
  const peers6 = r.peers6 && r.peers6.length > 0 ? r.peers6 : undefined;
  let size = 2 + peers4.length;
  size += K_COMPLETE.length + decimalLength(r.complete);
  size += K_DOWNLOADED.length + decimalLength(r.downloaded);
  size += K_INCOMPLETE.length + decimalLength(r.incomplete);
  size += K_INTERVAL.length + decimalLength(r.interval);
  size += K_MIN_INTERVAL.length + decimalLength(r.minInterval);
  size += K_PEERS.length + decimalLength(peers4.length);
  const peers6Length = peers6 ? decimalLength(peers6.length) : 0;
  if (peers6) size += K_PEERS6.length + peers6Length + 1 + peers6.length;
  const out = Buffer.allocUnsafe(size);
  let at = keyAndNumber(out, 0, K_COMPLETE, r.complete);
  at = keyAndNumber(out, at, K_DOWNLOADED, r.downloaded);
  at = keyAndNumber(out, at, K_INCOMPLETE, r.incomplete);
  at = keyAndNumber(out, at, K_INTERVAL, r.interval);
  at = keyAndNumber(out, at, K_MIN_INTERVAL, r.minInterval);
  at = keyAndNumber(out, at, K_PEERS, peers4.length);
  out[at++] = CH_COLON;
  out.set(peers4, at);
  at += peers4.length;
  if (peers6) {
    out.set(K_PEERS6, at);
    at = writeDecimal(out, at + K_PEERS6.length, peers6.length, peers6Length);
    out[at++] = CH_COLON;
    out.set(peers6, at);
    at += peers6.length;
  }
  out[at] = CH_E;
  return out;
}

/** Writes a key's bytes (what comes before its value) and the number after them; returns the offset after. */
function keyAndNumber(out: Uint8Array, at: number, key: Uint8Array, n: number): number {
  out.set(key, at);
  return writeDecimal(out, at + key.length, n, decimalLength(n));
}

const EMPTY = new Uint8Array(0);

export interface ScrapeEntry {
  infoHash: Uint8Array;
  complete: number;
  downloaded: number;
  incomplete: number;
}

/** BEP 48: `files` keyed by the raw 20-byte hash. */
export function encodeScrapeResponse(entries: ScrapeEntry[]): Uint8Array {
  const files = new Map<string, EncodableValue>();
  for (const e of entries)
    files.set(latin1(e.infoHash), { complete: e.complete, downloaded: e.downloaded, incomplete: e.incomplete });
  return encode({ files });
}

/** BEP 3: "If a tracker response has a key failure reason, then that maps to a human readable string". */
export function encodeFailure(reason: string, retryInSeconds?: number): Uint8Array {
  // `retry in` (minutes) is a libtorrent extension; `min interval` is read by every client.
  return encode(
    retryInSeconds === undefined
      ? { 'failure reason': reason }
      : { 'failure reason': reason, 'min interval': retryInSeconds },
  );
}

/** For tests and the bench: a query string with raw bytes percent-encoded as clients do. */
export function percentEncode(bytes: Uint8Array): string {
  let s = '';
  for (const c of bytes) {
    const unreserved =
      (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
    s += unreserved ? String.fromCharCode(c) : '%' + c.toString(16).toUpperCase().padStart(2, '0');
  }
  return s;
}
