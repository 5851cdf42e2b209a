/**
 * Tracker announce, client side: pure encoders and decoders for the HTTP tracker protocol
 * (BEP 3, compact peers BEP 23, IPv6 peers BEP 7, `min interval` and `warning message` as
 * every tracker since 2003 sends them) and the UDP tracker protocol (BEP 15).
 * No sockets, timers or files here: the transports in `src/seeder/announce-transport.ts`
 * move the bytes.
 *
 * Decoders return `{ ok: false, reason }` for an answer they refuse (they never throw on
 * input from the network); a tracker's own `failure reason` / UDP error action is returned
 * as `{ ok: false, reason, fromTracker: true }`.
 */
import { isIP } from 'node:net';
import { decode, isBytes, isDict, isInt, isList, utf8, type BDict, type BValue } from './bencode.js';
import {
  COMPACT_PEER4_SIZE,
  COMPACT_PEER6_SIZE,
  UDP_ACTION_ANNOUNCE,
  UDP_ACTION_CONNECT,
  UDP_ACTION_ERROR,
  UDP_ANNOUNCE_REQUEST_SIZE,
  UDP_ANNOUNCE_RESPONSE_HEADER_SIZE,
  UDP_CONNECT_REQUEST_SIZE,
  UDP_CONNECT_RESPONSE_SIZE,
  UDP_EVENT,
  UDP_PROTOCOL_ID,
  UDP_ERROR_HEADER_SIZE,
  type AnnounceEvent,
} from './tracker-protocol.js';

/** What we tell a tracker in one announce. */
export interface AnnounceRequest {
  /** 20 raw bytes (BEP 3 `info_hash`). */
  infoHash: Uint8Array;
  /** 20 raw bytes (BEP 3 `peer_id`). */
  peerId: Uint8Array;
  port: number;
  uploaded: number;
  downloaded: number;
  left: number;
  event: AnnounceEvent;
  /** Peers wanted; 0 asks for none (a seeder that only reports). */
  numwant: number;
  /** 32-bit value that identifies us across IP changes (BEP 3 `key`, BEP 15 `key`). */
  key: number;
  /** The `tracker id` a tracker gave us in an earlier reply (HTTP only). */
  trackerId?: string;
}

export interface TrackerPeer {
  address: string;
  port: number;
}

/** A tracker's successful answer. Times in seconds as the tracker said them (not clamped). */
export interface AnnounceReply {
  interval?: number;
  minInterval?: number;
  warning?: string;
  trackerId?: string;
  /** Seeders and leechers, when the tracker says. */
  complete?: number;
  incomplete?: number;
  peers: TrackerPeer[];
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string; fromTracker?: boolean };

const refuse = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

// ---------------------------------------------------------------------------------------
// HTTP (BEP 3)
// ---------------------------------------------------------------------------------------

/** BEP 3: "numwant: optional ... defaults to 50". We never ask for more than this. */
export const MAX_NUMWANT = 200;
/** Peers accepted from one reply, whatever the tracker sends (the seeder caps connections far lower). */
export const MAX_REPLY_PEERS = 500;
/** A reply holds a few dicts and peer lists: 20 000 bencode values is ample and bounds a hostile one. */
const MAX_REPLY_VALUES = 20_000;
/** Longest failure reason / warning kept (they end up in the log and in `status`). */
const MAX_MESSAGE_CHARS = 200;

/**
 * RFC 3986 percent-encoding of raw bytes, as trackers expect for `info_hash` and `peer_id`:
 * unreserved characters stay, every other byte becomes %XX (upper-case hex).
 */
export function percentEncodeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    const unreserved =
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;
    out += unreserved ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The announce GET URL: the tracker's announce URL (its own query, e.g. a passkey, kept;
 * a fragment dropped) followed by our parameters.
 */
export function buildHttpAnnounceUrl(announceUrl: string, req: AnnounceRequest): string {
  if (req.infoHash.length !== 20) throw new RangeError('info_hash must be 20 bytes');
  if (req.peerId.length !== 20) throw new RangeError('peer_id must be 20 bytes');
  const hash = announceUrl.indexOf('#');
  const base = hash >= 0 ? announceUrl.slice(0, hash) : announceUrl;
  const params = [
    `info_hash=${percentEncodeBytes(req.infoHash)}`,
    `peer_id=${percentEncodeBytes(req.peerId)}`,
    `port=${req.port}`,
    `uploaded=${Math.max(0, Math.floor(req.uploaded))}`,
    `downloaded=${Math.max(0, Math.floor(req.downloaded))}`,
    `left=${Math.max(0, Math.floor(req.left))}`,
    // BEP 23: "compact=1" asks for the 6-byte form; no_peer_id for trackers without it
    'compact=1',
    'no_peer_id=1',
    `numwant=${Math.min(MAX_NUMWANT, Math.max(0, Math.floor(req.numwant)))}`,
    `key=${(req.key >>> 0).toString(16).toUpperCase().padStart(8, '0')}`,
  ];
  // BEP 3: event is one of started, completed, stopped, or empty (the same as not present)
  if (req.event !== 'none') params.push(`event=${req.event}`);
  if (req.trackerId !== undefined) params.push(`trackerid=${encodeURIComponent(req.trackerId)}`);
  const sep = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
  return `${base}${sep}${params.join('&')}`;
}

function text(v: BValue | undefined): string | undefined {
  if (!isBytes(v)) return undefined;
  const s = utf8(v) ?? Buffer.from(v).toString('latin1');
  // strip control characters: this text is written to the log and the terminal
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f]/g, ' ').slice(0, MAX_MESSAGE_CHARS);
}

function nonNegativeInt(d: BDict, key: string): number | undefined | null {
  const v = d.get(key);
  if (v === undefined) return undefined;
  if (!isInt(v) || v < 0) return null;
  return v;
}

function compactPeers(bytes: Uint8Array, size: number, out: TrackerPeer[], max: number): void {
  for (let at = 0; at + size <= bytes.length && out.length < max; at += size) {
    const port = (bytes[at + size - 2]! << 8) | bytes[at + size - 1]!;
    if (port === 0) continue; // never a usable peer
    out.push({ address: size === COMPACT_PEER4_SIZE ? ipv4(bytes, at) : ipv6(bytes, at), port });
  }
}

function ipv4(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** RFC 5952 text of 16 bytes (longest run of zero groups as ::), IPv4-mapped kept as ::ffff:a.b.c.d. */
export function ipv6(b: Uint8Array, at: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[at + 2 * i]! << 8) | b[at + 2 * i + 1]!);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${ipv4(b, at + 12)}`;
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}

/**
 * Parses an HTTP announce reply body. Accepts compact `peers` (BEP 23), `peers6` (BEP 7),
 * and the original list of dicts (`ip`, `port`, `peer id`); keeps at most `maxPeers`.
 */
export function parseHttpAnnounceReply(body: Uint8Array, maxPeers = MAX_REPLY_PEERS): Decoded<AnnounceReply> {
  let value: BValue;
  try {
    value = decode(body, { maxDepth: 4, maxValues: MAX_REPLY_VALUES }).value;
  } catch (err) {
    return refuse(`reply is not bencode (${(err as Error).message})`);
  }
  if (!isDict(value)) return refuse('reply is not a dictionary');
  // BEP 3: "If a tracker response has a key failure reason, then that maps to a human
  // readable string which explains why the query failed, and no other keys are required."
  if (value.has('failure reason')) {
    return { ok: false, reason: text(value.get('failure reason')) ?? 'failure (unreadable reason)', fromTracker: true };
  }
  const reply: AnnounceReply = { peers: [] };
  for (const [key, field] of [
    ['interval', 'interval'],
    ['min interval', 'minInterval'],
    ['complete', 'complete'],
    ['incomplete', 'incomplete'],
  ] as const) {
    const n = nonNegativeInt(value, key);
    if (n === null) return refuse(`'${key}' is not a whole number`);
    if (n !== undefined) reply[field] = n;
  }
  const warning = text(value.get('warning message'));
  if (warning !== undefined) reply.warning = warning;
  const trackerId = value.get('tracker id');
  if (isBytes(trackerId) && trackerId.length <= 64) reply.trackerId = Buffer.from(trackerId).toString('latin1');

  const peers = value.get('peers');
  if (isBytes(peers)) {
    // BEP 23: "the peers value is a string consisting of multiples of 6 bytes"
    if (peers.length % COMPACT_PEER4_SIZE !== 0) return refuse(`compact peers of ${peers.length} bytes is not a multiple of 6`);
    compactPeers(peers, COMPACT_PEER4_SIZE, reply.peers, maxPeers);
  } else if (isList(peers)) {
    for (const p of peers) {
      if (reply.peers.length >= maxPeers) break;
      if (!isDict(p)) return refuse('a peer is not a dictionary');
      const ip = p.get('ip');
      const port = p.get('port');
      const address = isBytes(ip) ? Buffer.from(ip).toString('latin1') : undefined;
      if (address === undefined || !isInt(port) || port < 0 || port > 65535) return refuse('a peer lacks a valid ip or port');
      // a DNS name here would make us resolve names handed out by a stranger: skip it
      if (isIP(address) === 0 || port === 0) continue;
      reply.peers.push({ address, port });
    }
  } else if (peers !== undefined) {
    return refuse("'peers' is neither a string nor a list");
  }
  const peers6 = value.get('peers6');
  if (isBytes(peers6)) {
    // BEP 7: "peers6 ... multiple of 18 bytes"
    if (peers6.length % COMPACT_PEER6_SIZE !== 0) return refuse(`compact peers6 of ${peers6.length} bytes is not a multiple of 18`);
    compactPeers(peers6, COMPACT_PEER6_SIZE, reply.peers, maxPeers);
  } else if (peers6 !== undefined) {
    return refuse("'peers6' is not a string");
  }
  return { ok: true, value: reply };
}

// ---------------------------------------------------------------------------------------
// UDP (BEP 15)
// ---------------------------------------------------------------------------------------

/** BEP 15 connect request: protocol_id (64), action 0 (32), transaction_id (32). */
export function encodeUdpConnectRequest(transactionId: number): Uint8Array {
  const b = Buffer.alloc(UDP_CONNECT_REQUEST_SIZE);
  b.writeBigUInt64BE(UDP_PROTOCOL_ID, 0);
  b.writeUInt32BE(UDP_ACTION_CONNECT, 8);
  b.writeUInt32BE(transactionId >>> 0, 12);
  return b;
}

/** The transaction id of any tracker datagram (bytes 4..8), or undefined when too short to hold one. */
export function udpTransactionId(datagram: Uint8Array): number | undefined {
  if (datagram.length < 8) return undefined;
  return Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength).readUInt32BE(4);
}

/** BEP 15 error reply: action 3, transaction_id, message (the rest of the datagram). */
function udpError(b: Buffer): { ok: false; reason: string; fromTracker: true } {
  const message = text(b.subarray(UDP_ERROR_HEADER_SIZE)) ?? '';
  return { ok: false, reason: message || 'error (no message)', fromTracker: true };
}

function asBuffer(d: Uint8Array): Buffer {
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

/**
 * BEP 15 connect reply: action 0, transaction_id, connection_id (64). The caller has
 * matched the transaction id (`udpTransactionId`); this checks it again.
 * "Check whether the packet is at least 16 bytes. Check whether the transaction ID is equal
 * to the one you chose. Check whether the action is connect."
 */
export function decodeUdpConnectReply(datagram: Uint8Array, transactionId: number): Decoded<bigint> {
  const b = asBuffer(datagram);
  if (b.length < 8) return refuse(`connect reply of ${b.length} bytes`);
  if (b.readUInt32BE(4) !== transactionId >>> 0) return refuse('connect reply for another transaction');
  const action = b.readUInt32BE(0);
  if (action === UDP_ACTION_ERROR) return udpError(b);
  if (action !== UDP_ACTION_CONNECT) return refuse(`connect reply with action ${action}`);
  if (b.length < UDP_CONNECT_RESPONSE_SIZE) return refuse(`connect reply of ${b.length} bytes`);
  return { ok: true, value: b.readBigUInt64BE(8) };
}

/** BEP 15 announce request (98 bytes, no BEP 41 options). */
export function encodeUdpAnnounceRequest(connectionId: bigint, transactionId: number, req: AnnounceRequest): Uint8Array {
  if (req.infoHash.length !== 20) throw new RangeError('info_hash must be 20 bytes');
  if (req.peerId.length !== 20) throw new RangeError('peer_id must be 20 bytes');
  const b = Buffer.alloc(UDP_ANNOUNCE_REQUEST_SIZE);
  b.writeBigUInt64BE(connectionId, 0);
  b.writeUInt32BE(UDP_ACTION_ANNOUNCE, 8);
  b.writeUInt32BE(transactionId >>> 0, 12);
  b.set(req.infoHash, 16);
  b.set(req.peerId, 36);
  const u64 = (n: number) => BigInt(Math.max(0, Math.floor(n)));
  b.writeBigUInt64BE(u64(req.downloaded), 56);
  b.writeBigUInt64BE(u64(req.left), 64);
  b.writeBigUInt64BE(u64(req.uploaded), 72);
  // BEP 15 events: 0 none, 1 completed, 2 started, 3 stopped ('paused' is HTTP only: none)
  const event = req.event === 'started' || req.event === 'stopped' || req.event === 'completed' ? UDP_EVENT[req.event] : UDP_EVENT.none;
  b.writeUInt32BE(event, 80);
  b.writeUInt32BE(0, 84); // IP address: 0 = the sender's
  b.writeUInt32BE(req.key >>> 0, 88);
  b.writeInt32BE(Math.min(MAX_NUMWANT, Math.max(0, Math.floor(req.numwant))), 92);
  b.writeUInt16BE(req.port & 0xffff, 96);
  return b;
}

/**
 * BEP 15 announce reply: action 1, transaction_id, interval, leechers, seeders, then
 * peers: 6 bytes each from an IPv4 tracker, 18 bytes each from an IPv6 one ("the format
 * of the peer list depends on the address family of the underlying UDP packet").
 */
export function decodeUdpAnnounceReply(
  datagram: Uint8Array,
  transactionId: number,
  family: 4 | 6,
  maxPeers = MAX_REPLY_PEERS,
): Decoded<AnnounceReply> {
  const b = asBuffer(datagram);
  if (b.length < 8) return refuse(`announce reply of ${b.length} bytes`);
  if (b.readUInt32BE(4) !== transactionId >>> 0) return refuse('announce reply for another transaction');
  const action = b.readUInt32BE(0);
  if (action === UDP_ACTION_ERROR) return udpError(b);
  if (action !== UDP_ACTION_ANNOUNCE) return refuse(`announce reply with action ${action}`);
  if (b.length < UDP_ANNOUNCE_RESPONSE_HEADER_SIZE) return refuse(`announce reply of ${b.length} bytes`);
  const size = family === 6 ? COMPACT_PEER6_SIZE : COMPACT_PEER4_SIZE;
  const rest = b.length - UDP_ANNOUNCE_RESPONSE_HEADER_SIZE;
  if (rest % size !== 0) return refuse(`announce reply peer list of ${rest} bytes is not a multiple of ${size}`);
  const reply: AnnounceReply = {
    interval: b.readUInt32BE(8),
    incomplete: b.readUInt32BE(12),
    complete: b.readUInt32BE(16),
    peers: [],
  };
  compactPeers(b.subarray(UDP_ANNOUNCE_RESPONSE_HEADER_SIZE), size, reply.peers, maxPeers);
  return { ok: true, value: reply };
}
