/**
 * BEP 14, Local Service Discovery ("LPD"): the BT-SEARCH datagram, pure.
 *
 * A datagram is an HTTP-like request sent to a multicast group:
 *
 *     BT-SEARCH * HTTP/1.1\r\n
 *     Host: <group>:6771\r\n
 *     Port: <peer-wire port>\r\n
 *     Infohash: <40 hex digits>\r\n        (one or more)
 *     cookie: <opaque token>\r\n           (optional; lets a sender drop its own datagrams)
 *     \r\n
 *     \r\n
 *
 * Receivers differ, so `formatSearch` sends what the strictest of them accept and
 * `parseSearch` accepts what any of them send:
 * - Transmission 3 and aria2 read only the first 200 bytes and only the first `Infohash`;
 *   Transmission 3 also wants the datagram to end with exactly `\r\n\r\n\r\n` (the header
 *   line's CRLF and two empty lines) and looks headers up case-sensitively (`\r\nPort: `).
 * - Transmission 4 looks up `Port: `, `Infohash: `, `cookie: ` case-sensitively and wants
 *   `HTTP/1.x` with x ≥ 1.
 * - webtorrent (bittorrent-lsd) wants the request line exactly `BT-SEARCH * HTTP/1.1`,
 *   `Host: <group>:6771` on line 2 and `Port: <digits>` on line 3.
 * - libtorrent rejects port 65535 (`port >= 65535`) and reads the cookie as hex.
 * So we send `Host`, `Port`, one `Infohash`, `cookie`, in that order, with those spellings,
 * well under 200 bytes. What real clients send is in test/codec/lpd-fixtures.ts.
 */

/** BEP 14: "239.192.152.143:6771 (org-local) and [ff15::efc0:988f]:6771 (site-local)". */
export const LPD_GROUP_V4 = '239.192.152.143';
export const LPD_GROUP_V6 = 'ff15::efc0:988f';
export const LPD_PORT = 6771;

/** Transmission 3 and aria2 read 200 bytes: everything we send must fit. */
export const LPD_SEND_MAX_BYTES = 200;
/**
 * Largest datagram we read. Transmission 4 packs several infohashes up to 1400 bytes ("to
 * avoid MTU/fragmentation problems"); anything larger is not a real client's.
 */
export const LPD_RECEIVE_MAX_BYTES = 1400;
/**
 * Most infohashes taken from one datagram. A 1400-byte datagram holds at most 26
 * `Infohash:` lines of 52 bytes; more lines than this means short or empty junk lines.
 */
export const LPD_MAX_INFOHASHES = 32;
/** Our cookie: 1..32 token characters (libtorrent reads it as hex, so we send hex). */
const COOKIE_RE = /^[0-9A-Za-z._-]{1,32}$/;
const HEX40_RE = /^[0-9a-fA-F]{40}$/;

export type LpdGroup = typeof LPD_GROUP_V4 | typeof LPD_GROUP_V6;

export interface SearchToSend {
  /** The group the datagram goes to: `Host` names it. */
  host: LpdGroup;
  /** Our peer-wire port. */
  port: number;
  infoHashHex: string;
  cookie: string;
}

/** `Host` header value for a group: IPv6 in brackets, then the LPD port. */
export function hostHeader(group: LpdGroup): string {
  return group.includes(':') ? `[${group}]:${LPD_PORT}` : `${group}:${LPD_PORT}`;
}

/**
 * One BT-SEARCH datagram for one torrent. Throws on arguments that would produce a
 * datagram some receiver rejects (a programming error, never network input).
 */
export function formatSearch(s: SearchToSend): Uint8Array {
  if (s.host !== LPD_GROUP_V4 && s.host !== LPD_GROUP_V6) throw new TypeError(`LPD host must be an LPD group, not '${s.host}'`);
  // libtorrent drops `port >= 65535`; 0 is no port at all.
  if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65534) throw new TypeError(`LPD port ${s.port} is outside 1..65534`);
  if (!HEX40_RE.test(s.infoHashHex)) throw new TypeError(`LPD infohash must be 40 hex digits, not '${s.infoHashHex}'`);
  if (!COOKIE_RE.test(s.cookie)) throw new TypeError(`LPD cookie must be 1..32 token characters, not '${s.cookie}'`);
  const text =
    'BT-SEARCH * HTTP/1.1\r\n' +
    `Host: ${hostHeader(s.host)}\r\n` +
    `Port: ${s.port}\r\n` +
    `Infohash: ${s.infoHashHex.toLowerCase()}\r\n` +
    `cookie: ${s.cookie}\r\n` +
    // Two empty lines, as libtorrent, Transmission and aria2 all send; Transmission 3
    // requires them to end the datagram.
    '\r\n\r\n';
  const bytes = Buffer.from(text, 'latin1');
  // At most 131 + 32 (cookie) = 163 bytes: fits the 200 that the strictest receivers read.
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** Why a received datagram was dropped (a counter each in `status`). */
export type LpdDropReason =
  | 'too-large'
  | 'not-bt-search'
  | 'bad-version'
  | 'unterminated'
  | 'bad-header'
  | 'no-port'
  | 'bad-port'
  | 'no-infohash'
  | 'bad-infohash'
  | 'too-many-infohashes';

export const LPD_PARSE_DROP_REASONS: readonly LpdDropReason[] = [
  'too-large',
  'not-bt-search',
  'bad-version',
  'unterminated',
  'bad-header',
  'no-port',
  'bad-port',
  'no-infohash',
  'bad-infohash',
  'too-many-infohashes',
];

export interface ReceivedSearch {
  /** `1.0`, `1.1`… from the request line. */
  version: string;
  /** The `Host` header as sent, when there is one (receivers do not need it). */
  host?: string;
  port: number;
  /** Lower-case, in datagram order, without duplicates; the first is the one older receivers see. */
  infoHashes: string[];
  cookie?: string;
}

export type ParseResult = { ok: true; search: ReceivedSearch } | { ok: false; reason: LpdDropReason };

const drop = (reason: LpdDropReason): ParseResult => ({ ok: false, reason });

/** `BT-SEARCH * HTTP/1.x`, method in any case (libtorrent lower-cases it). */
const REQUEST_LINE_RE = /^BT-SEARCH[ \t]+\*[ \t]+HTTP\/(\d{1,3})\.(\d{1,3})[ \t]*$/i;
/** RFC 9110 field name. */
const FIELD_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parses a received datagram liberally: header names in any case, `\r\n` or bare `\n`,
 * upper- or lower-case hex, several `Infohash` headers, `HTTP/1.0` or `1.1`, with or without
 * cookie and Host. Drops (with a reason) anything over 1400 bytes, a request line that is
 * not BT-SEARCH over HTTP/1.x, headers not ended by an empty line, a missing or
 * out-of-range port, and datagrams without one valid infohash. Invalid infohash lines next
 * to valid ones are skipped, as libtorrent does.
 */
export function parseSearch(bytes: Uint8Array): ParseResult {
  if (bytes.length > LPD_RECEIVE_MAX_BYTES) return drop('too-large');
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  // Headers end at the first empty line; without one the datagram may be cut short.
  const end = /\r?\n\r?\n/.exec(text);
  const firstLineEnd = text.indexOf('\n');
  const requestLine = (firstLineEnd < 0 ? text : text.slice(0, firstLineEnd)).replace(/\r$/, '');
  const m = REQUEST_LINE_RE.exec(requestLine);
  if (!m) return drop('not-bt-search');
  if (Number(m[1]) !== 1) return drop('bad-version');
  if (!end) return drop('unterminated');
  const head = text.slice(firstLineEnd + 1, end.index);
  const lines = head.length ? head.split(/\r?\n/) : [];

  let host: string | undefined;
  let portText: string | undefined;
  let cookie: string | undefined;
  const hashLines: string[] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) return drop('bad-header');
    const name = line.slice(0, colon).toLowerCase();
    if (!FIELD_NAME_RE.test(name)) return drop('bad-header');
    const value = line.slice(colon + 1).trim();
    if (name === 'infohash') {
      if (hashLines.length === LPD_MAX_INFOHASHES) return drop('too-many-infohashes');
      hashLines.push(value);
    } else if (name === 'port') portText ??= value;
    else if (name === 'host') host ??= value;
    else if (name === 'cookie') cookie ??= value;
  }

  if (portText === undefined) return drop('no-port');
  if (!/^\d{1,5}$/.test(portText)) return drop('bad-port');
  const port = Number(portText);
  if (port < 1 || port > 65535) return drop('bad-port');

  if (hashLines.length === 0) return drop('no-infohash');
  const infoHashes: string[] = [];
  for (const h of hashLines) {
    if (!HEX40_RE.test(h)) continue;
    const lower = h.toLowerCase();
    if (!infoHashes.includes(lower)) infoHashes.push(lower);
  }
  if (infoHashes.length === 0) return drop('bad-infohash');

  const search: ReceivedSearch = { version: `${Number(m[1])}.${Number(m[2])}`, port, infoHashes };
  if (host !== undefined) search.host = host;
  if (cookie !== undefined) search.cookie = cookie;
  return { ok: true, search };
}

/** A fresh cookie: 8 lower-case hex digits (libtorrent's form; it parses cookies as hex). */
export function makeCookie(random: (n: number) => Uint8Array): string {
  return Buffer.from(random(4)).toString('hex');
}
