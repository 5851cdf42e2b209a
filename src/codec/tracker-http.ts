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
import { QueryParams, fail, printable, type Decoded } from './query-params.js';
import {
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

export type { Decoded } from './query-params.js';
export { QueryParams, percentDecode } from './query-params.js';


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
  const out = Buffer.allocUnsafe(compactAnnounceLength(r));
  writeCompactAnnounce(r, out);
  return out;
}

/** Bytes of the compact reply to `r` (no dictionary peers): see writeCompactAnnounce. */
export function compactAnnounceLength(r: HttpAnnounceResponse): number {
  const peers4 = r.peers4 ?? EMPTY;
  const peers6 = r.peers6 && r.peers6.length > 0 ? r.peers6 : undefined;
  let size = 2 + peers4.length;
  size += K_COMPLETE.length + decimalLength(r.complete);
  size += K_DOWNLOADED.length + decimalLength(r.downloaded);
  size += K_INCOMPLETE.length + decimalLength(r.incomplete);
  size += K_INTERVAL.length + decimalLength(r.interval);
  size += K_MIN_INTERVAL.length + decimalLength(r.minInterval);
  size += K_PEERS.length + decimalLength(peers4.length);
  if (peers6) size += K_PEERS6.length + decimalLength(peers6.length) + 1 + peers6.length;
  return size;
}

/**
 * The compact reply to `r` (no dictionary peers) written into `out`, which has at least
 * compactAnnounceLength(r) bytes; the bytes encodeAnnounceResponse gives. Returns the length.
 */
export function writeCompactAnnounce(r: HttpAnnounceResponse, out: Uint8Array): number {
  const peers4 = r.peers4 ?? EMPTY;
  const peers6 = r.peers6 && r.peers6.length > 0 ? r.peers6 : undefined;
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
    at = writeDecimal(out, at + K_PEERS6.length, peers6.length, decimalLength(peers6.length));
    out[at++] = CH_COLON;
    out.set(peers6, at);
    at += peers6.length;
  }
  out[at] = CH_E;
  return at + 1;
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
