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
  /** Parameters in order; names are text, values raw bytes. */
  params: [string, Uint8Array][];
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
 * Percent-decodes `bytes[start, end)`, at most `max` output bytes. `+` stays a `+`: BitTorrent
 * clients escape every byte outside the unreserved set, so a literal `+` is the byte 0x2b.
 * Returns undefined for a broken escape or an over-long value.
 */
export function percentDecode(bytes: Uint8Array, start: number, end: number, max: number): Uint8Array | undefined {
  // The decoded length is known before copying: each escape is 3 bytes for 1.
  let n = 0;
  for (let i = start; i < end; i++) {
    if (bytes[i] === CH_PERCENT) {
      if (i + 2 >= end || hexValue(bytes[i + 1]!) < 0 || hexValue(bytes[i + 2]!) < 0) return undefined;
      i += 2;
    }
    if (++n > max) return undefined;
  }
  const out = new Uint8Array(n);
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

/**
 * Splits a request target (`/announce?info_hash=...`) into its path and raw parameters.
 * Refuses targets longer than HTTP_MAX_TARGET_BYTES, more than HTTP_MAX_PARAMS parameters,
 * control bytes, broken escapes, and values longer than the longest any parameter needs.
 */
export function parseRequestTarget(target: Uint8Array): Decoded<RequestTarget> {
  if (target.length === 0) return fail('empty request target');
  if (target.length > HTTP_MAX_TARGET_BYTES) return fail(`request target longer than ${HTTP_MAX_TARGET_BYTES} bytes`);
  for (let i = 0; i < target.length; i++) {
    const c = target[i]!;
    if (c <= 0x20 || c >= 0x7f) return fail('request target has a byte that must be percent-encoded');
  }
  let q = target.indexOf(CH_QUESTION);
  if (q < 0) q = target.length;
  const pathBytes = percentDecode(target, 0, q, HTTP_MAX_TARGET_BYTES);
  if (!pathBytes) return fail('request path has a broken percent escape');
  const path = shortLatin1(pathBytes);
  const params: [string, Uint8Array][] = [];
  let i = q + 1;
  while (i <= target.length && q < target.length) {
    let end = i;
    while (end < target.length && target[end] !== CH_AMP && target[end] !== CH_SEMICOLON) end++;
    if (end > i) {
      if (params.length >= HTTP_MAX_PARAMS) return fail(`more than ${HTTP_MAX_PARAMS} query parameters`);
      let eq = i;
      while (eq < end && target[eq] !== CH_EQUALS) eq++;
      const name = percentDecode(target, i, eq, 32);
      if (!name) return fail('query parameter name is too long or badly escaped');
      const value = percentDecode(target, Math.min(eq + 1, end), end, Math.max(HTTP_MAX_PARAM_VALUE_BYTES, INFO_HASH_SIZE));
      if (!value) return fail(`query parameter '${printable(latin1(name))}' is too long or badly escaped`);
      params.push([shortLatin1(name), value]);
    }
    i = end + 1;
  }
  return { ok: true, value: { path, params } };
}

/** latin1 text of a few bytes, without a Buffer (this runs for every parameter of every announce). */
function shortLatin1(b: Uint8Array): string {
  if (b.length > 64) return latin1(b);
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 32);
}

function firstParam(params: [string, Uint8Array][], name: string): Uint8Array | undefined {
  for (const [n, v] of params) if (n === name) return v;
  return undefined;
}

/** A decimal integer 0..2^53-1 written as ASCII digits, or undefined. */
function decimal(v: Uint8Array, allowNegative = false): number | undefined {
  if (v.length === 0 || v.length > 17) return undefined;
  let i = 0;
  let negative = false;
  if (allowNegative && v[0] === 0x2d) {
    negative = true;
    i = 1;
    if (v.length === 1) return undefined;
  }
  let n = 0;
  for (; i < v.length; i++) {
    const c = v[i]! - 0x30;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return negative ? -n : n;
}

const EVENTS: Record<string, AnnounceEvent> = {
  '': 'none',
  empty: 'none',
  started: 'started',
  completed: 'completed',
  stopped: 'stopped',
  paused: 'paused',
};

/** BEP 3 announce parameters; any problem becomes the `failure reason` the client will show. */
export function decodeAnnounceParams(params: [string, Uint8Array][]): Decoded<HttpAnnounceRequest> {
  const infoHash = firstParam(params, 'info_hash');
  if (!infoHash) return fail('missing info_hash');
  if (infoHash.length !== INFO_HASH_SIZE) return fail(`info_hash is ${infoHash.length} bytes, not ${INFO_HASH_SIZE}`);
  const peerId = firstParam(params, 'peer_id');
  if (!peerId) return fail('missing peer_id');
  if (peerId.length !== PEER_ID_SIZE) return fail(`peer_id is ${peerId.length} bytes, not ${PEER_ID_SIZE}`);
  const portRaw = firstParam(params, 'port');
  if (!portRaw) return fail('missing port');
  const port = decimal(portRaw);
  if (port === undefined || port > 65535) return fail('port is not a number 0..65535');
  const counter = (name: string): number | undefined | null => {
    const v = firstParam(params, name);
    if (v === undefined) return undefined;
    return decimal(v) ?? null;
  };
  const uploaded = counter('uploaded');
  const downloaded = counter('downloaded');
  let left = counter('left');
  // Transmission announces a magnet whose size it does not know yet with left = 2^64-1
  // (~(uint64_t)0): a leecher of unknown size, not an error
  if (left === null && /^\d{18,20}$/.test(shortLatin1(firstParam(params, 'left')!))) left = undefined;
  if (uploaded === null) return fail('uploaded is not a non-negative number');
  if (downloaded === null) return fail('downloaded is not a non-negative number');
  if (left === null) return fail('left is not a non-negative number');
  const eventRaw = firstParam(params, 'event');
  const event = eventRaw === undefined ? 'none' : EVENTS[shortLatin1(eventRaw)];
  if (event === undefined) return fail(`unknown event '${printable(latin1(eventRaw!))}'`);
  const numwantRaw = firstParam(params, 'numwant');
  let numwant: number | undefined;
  if (numwantRaw !== undefined) {
    const n = decimal(numwantRaw, true);
    if (n === undefined) return fail('numwant is not a number');
    numwant = n < 0 ? undefined : n;
  }
  const ipRaw = firstParam(params, 'ip');
  const flag = (name: string) => {
    const v = firstParam(params, name);
    return v !== undefined && v.length === 1 && v[0] === 0x31;
  };
  return {
    ok: true,
    value: {
      infoHash,
      peerId,
      port,
      uploaded: uploaded ?? 0,
      downloaded: downloaded ?? 0,
      left,
      event,
      compact: flag('compact'),
      noPeerId: flag('no_peer_id'),
      numwant,
      ip: ipRaw === undefined ? undefined : shortLatin1(ipRaw),
      key: firstParam(params, 'key'),
    },
  };
}

/** BEP 48: every `info_hash` parameter, at most HTTP_SCRAPE_MAX_HASHES; none means "all" (refused by the tracker). */
export function decodeScrapeParams(params: [string, Uint8Array][]): Decoded<Uint8Array[]> {
  const hashes: Uint8Array[] = [];
  for (const [name, v] of params) {
    if (name !== 'info_hash') continue;
    if (v.length !== INFO_HASH_SIZE) return fail(`info_hash is ${v.length} bytes, not ${INFO_HASH_SIZE}`);
    if (hashes.length >= HTTP_SCRAPE_MAX_HASHES) return fail(`more than ${HTTP_SCRAPE_MAX_HASHES} info_hash parameters`);
    hashes.push(v);
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
function encodeCompactAnnounce(r: HttpAnnounceResponse): Uint8Array {
  const peers4 = r.peers4 ?? EMPTY;
  const peers6 = r.peers6 && r.peers6.length > 0 ? r.peers6 : undefined;
  const int = (n: number) => {
    if (!Number.isSafeInteger(n)) throw new RangeError(`cannot encode ${n}`);
    return String(n);
  };
  const head =
    `d8:completei${int(r.complete)}e10:downloadedi${int(r.downloaded)}e10:incompletei${int(r.incomplete)}e` +
    `8:intervali${int(r.interval)}e12:min intervali${int(r.minInterval)}e5:peers${peers4.length}:`;
  const mid = peers6 ? `6:peers6${peers6.length}:` : '';
  const out = Buffer.allocUnsafe(head.length + peers4.length + mid.length + (peers6?.length ?? 0) + 1);
  let at = out.write(head, 0, 'latin1');
  out.set(peers4, at);
  at += peers4.length;
  if (peers6) {
    at += out.write(mid, at, 'latin1');
    out.set(peers6, at);
    at += peers6.length;
  }
  out[at] = 0x65; // 'e'
  return out;
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
