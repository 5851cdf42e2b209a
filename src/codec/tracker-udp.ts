/**
 * UDP tracker messages (BEP 15), with BEP 41 options after the announce tolerated.
 *
 * Pure: a datagram in, a request (or the reason it is malformed) out; a reply description in,
 * bytes out. The length of each action is checked before any field is read. Every integer
 * is big-endian (network order). Request encoders exist for tests and the bench.
 *
 *   connect  request:  0 i64 protocol_id (0x41727101980) | 8 i32 action 0 | 12 i32 transaction_id
 *   connect  response: 0 i32 action 0 | 4 i32 transaction_id | 8 i64 connection_id
 *   announce request:  0 i64 connection_id | 8 i32 action 1 | 12 i32 transaction_id |
 *                      16 20B info_hash | 36 20B peer_id | 56 i64 downloaded | 64 i64 left |
 *                      72 i64 uploaded | 80 i32 event | 84 u32 ip | 88 u32 key | 92 i32 num_want |
 *                      96 u16 port | 98 BEP 41 options...
 *   announce response: 0 i32 action 1 | 4 i32 transaction_id | 8 i32 interval | 12 i32 leechers |
 *                      16 i32 seeders | 20 peers (6 bytes each over IPv4, 18 over IPv6)
 *   scrape   request:  0 i64 connection_id | 8 i32 action 2 | 12 i32 transaction_id | 16 20B hashes...
 *   scrape   response: 0 i32 action 2 | 4 i32 transaction_id | 8 (i32 seeders, i32 completed, i32 leechers)...
 *   error    response: 0 i32 action 3 | 4 i32 transaction_id | 8 message
 */
import {
  INFO_HASH_SIZE,
  UDP_ACTION_ANNOUNCE,
  UDP_ACTION_CONNECT,
  UDP_ACTION_ERROR,
  UDP_ACTION_SCRAPE,
  UDP_ANNOUNCE_REQUEST_SIZE,
  UDP_ANNOUNCE_RESPONSE_HEADER_SIZE,
  UDP_CONNECT_REQUEST_SIZE,
  UDP_CONNECT_RESPONSE_SIZE,
  UDP_EVENT,
  UDP_MAX_DATAGRAM,
  UDP_OPTION_END,
  UDP_OPTION_NOP,
  UDP_OPTION_URL_DATA,
  UDP_PROTOCOL_ID,
  UDP_SCRAPE_MAX_HASHES,
  UDP_SCRAPE_REQUEST_HEADER_SIZE,
  type AnnounceEvent,
} from './tracker-protocol.js';

export interface UdpConnectRequest {
  action: 'connect';
  transactionId: number;
}
export interface UdpAnnounceRequest {
  action: 'announce';
  /** 8 bytes, as received. */
  connectionId: Uint8Array;
  transactionId: number;
  infoHash: Uint8Array;
  peerId: Uint8Array;
  downloaded: number;
  left: number;
  uploaded: number;
  event: AnnounceEvent;
  /** IPv4 address the client asks to be listed under, 0 for "the sender's". */
  ip: number;
  key: number;
  /** -1 means the tracker's default. */
  numWant: number;
  port: number;
  /** BEP 41 URLData options concatenated (the path and query of the tracker URL), if any. */
  urlData: string | undefined;
}
export interface UdpScrapeRequest {
  action: 'scrape';
  connectionId: Uint8Array;
  transactionId: number;
  /** At most UDP_SCRAPE_MAX_HASHES; more are not read. */
  infoHashes: Uint8Array[];
}
export type UdpRequest = UdpConnectRequest | UdpAnnounceRequest | UdpScrapeRequest;

export type UdpDecoded = { ok: true; request: UdpRequest } | { ok: false; reason: UdpMalformed };
/** Classes of malformed datagrams, counted (never answered). */
export type UdpMalformed = 'short' | 'oversize' | 'bad protocol id' | 'unknown action' | 'bad event' | 'bad scrape length';

const EVENT_BY_NUMBER: AnnounceEvent[] = ['none', 'completed', 'started', 'stopped'];

/** u64 as a JS number, saturating at 2^53 (a client saying it has 9 EB left is just a leecher). */
function readU64(v: DataView, at: number): number {
  const hi = v.getUint32(at);
  const lo = v.getUint32(at + 4);
  return hi >= 0x200000 ? Number.MAX_SAFE_INTEGER : hi * 0x100000000 + lo;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export function decodeUdpRequest(b: Uint8Array): UdpDecoded {
  if (b.length < UDP_CONNECT_REQUEST_SIZE) return { ok: false, reason: 'short' };
  if (b.length > UDP_MAX_DATAGRAM) return { ok: false, reason: 'oversize' };
  const v = view(b);
  const action = v.getUint32(8);
  const transactionId = v.getUint32(12);
  if (action === UDP_ACTION_CONNECT) {
    if (v.getBigUint64(0) !== UDP_PROTOCOL_ID) return { ok: false, reason: 'bad protocol id' };
    return { ok: true, request: { action: 'connect', transactionId } };
  }
  if (action === UDP_ACTION_ANNOUNCE) {
    if (b.length < UDP_ANNOUNCE_REQUEST_SIZE) return { ok: false, reason: 'short' };
    const event = EVENT_BY_NUMBER[v.getUint32(80)];
    if (event === undefined) return { ok: false, reason: 'bad event' };
    return {
      ok: true,
      request: {
        action: 'announce',
        connectionId: b.subarray(0, 8),
        transactionId,
        infoHash: b.subarray(16, 36),
        peerId: b.subarray(36, 56),
        downloaded: readU64(v, 56),
        left: readU64(v, 64),
        uploaded: readU64(v, 72),
        event,
        ip: v.getUint32(84),
        key: v.getUint32(88),
        numWant: v.getInt32(92),
        port: v.getUint16(96),
        urlData: readOptions(b, UDP_ANNOUNCE_REQUEST_SIZE),
      },
    };
  }
  if (action === UDP_ACTION_SCRAPE) {
    const body = b.length - UDP_SCRAPE_REQUEST_HEADER_SIZE;
    if (body < INFO_HASH_SIZE || body % INFO_HASH_SIZE !== 0) return { ok: false, reason: 'bad scrape length' };
    const n = Math.min(body / INFO_HASH_SIZE, UDP_SCRAPE_MAX_HASHES);
    const infoHashes: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const at = UDP_SCRAPE_REQUEST_HEADER_SIZE + i * INFO_HASH_SIZE;
      infoHashes.push(b.subarray(at, at + INFO_HASH_SIZE));
    }
    return { ok: true, request: { action: 'scrape', connectionId: b.subarray(0, 8), transactionId, infoHashes } };
  }
  return { ok: false, reason: 'unknown action' };
}

/**
 * BEP 41: options are `type` (1 byte), and for types other than EndOfOptions (0) and NOP (1)
 * a length byte and that many bytes. "Unknown option types must be skipped"; a truncated
 * option ends the list (the announce itself is still good). Returns the URLData, if any.
 */
function readOptions(b: Uint8Array, at: number): string | undefined {
  let url: string | undefined;
  while (at < b.length) {
    const type = b[at]!;
    if (type === UDP_OPTION_END) break;
    if (type === UDP_OPTION_NOP) {
      at++;
      continue;
    }
    if (at + 1 >= b.length) break;
    const len = b[at + 1]!;
    if (at + 2 + len > b.length) break;
    if (type === UDP_OPTION_URL_DATA) url = (url ?? '') + Buffer.from(b.subarray(at + 2, at + 2 + len)).toString('latin1');
    at += 2 + len;
  }
  return url;
}

// ---- responses ----

export function encodeConnectResponse(transactionId: number, connectionId: Uint8Array): Uint8Array {
  const out = new Uint8Array(UDP_CONNECT_RESPONSE_SIZE);
  const v = view(out);
  v.setUint32(0, UDP_ACTION_CONNECT);
  v.setUint32(4, transactionId);
  out.set(connectionId.subarray(0, 8), 8);
  return out;
}

export interface UdpAnnounceResponse {
  transactionId: number;
  interval: number;
  leechers: number;
  seeders: number;
  /** Concatenated compact peers: 6 bytes each to an IPv4 sender, 18 to an IPv6 sender. */
  peers: Uint8Array;
}

export function encodeAnnounceResponse(r: UdpAnnounceResponse): Uint8Array {
  const out = new Uint8Array(UDP_ANNOUNCE_RESPONSE_HEADER_SIZE + r.peers.length);
  const v = view(out);
  v.setUint32(0, UDP_ACTION_ANNOUNCE);
  v.setUint32(4, r.transactionId);
  v.setUint32(8, r.interval);
  v.setUint32(12, Math.min(r.leechers, 0x7fffffff));
  v.setUint32(16, Math.min(r.seeders, 0x7fffffff));
  out.set(r.peers, UDP_ANNOUNCE_RESPONSE_HEADER_SIZE);
  return out;
}

export interface UdpScrapeEntry {
  seeders: number;
  completed: number;
  leechers: number;
}

export function encodeScrapeResponse(transactionId: number, entries: UdpScrapeEntry[]): Uint8Array {
  const out = new Uint8Array(8 + 12 * entries.length);
  const v = view(out);
  v.setUint32(0, UDP_ACTION_SCRAPE);
  v.setUint32(4, transactionId);
  entries.forEach((e, i) => {
    v.setUint32(8 + 12 * i, Math.min(e.seeders, 0x7fffffff));
    v.setUint32(12 + 12 * i, Math.min(e.completed, 0x7fffffff));
    v.setUint32(16 + 12 * i, Math.min(e.leechers, 0x7fffffff));
  });
  return out;
}

export function encodeErrorResponse(transactionId: number, message: string): Uint8Array {
  const text = Buffer.from(message.slice(0, 200), 'utf8');
  const out = new Uint8Array(8 + text.length);
  const v = view(out);
  v.setUint32(0, UDP_ACTION_ERROR);
  v.setUint32(4, transactionId);
  out.set(text, 8);
  return out;
}

// ---- requests (tests and bench/) ----

export function encodeConnectRequest(transactionId: number): Uint8Array {
  const out = new Uint8Array(UDP_CONNECT_REQUEST_SIZE);
  const v = view(out);
  v.setBigUint64(0, UDP_PROTOCOL_ID);
  v.setUint32(8, UDP_ACTION_CONNECT);
  v.setUint32(12, transactionId);
  return out;
}

export interface UdpAnnounceFields {
  connectionId: Uint8Array;
  transactionId: number;
  infoHash: Uint8Array;
  peerId: Uint8Array;
  downloaded?: number;
  left: number;
  uploaded?: number;
  event?: AnnounceEvent;
  ip?: number;
  key?: number;
  numWant?: number;
  port: number;
  /** Raw BEP 41 option bytes appended after the 98-byte request. */
  options?: Uint8Array;
}

export function encodeAnnounceRequest(a: UdpAnnounceFields): Uint8Array {
  const extra = a.options?.length ?? 0;
  const out = new Uint8Array(UDP_ANNOUNCE_REQUEST_SIZE + extra);
  const v = view(out);
  out.set(a.connectionId.subarray(0, 8), 0);
  v.setUint32(8, UDP_ACTION_ANNOUNCE);
  v.setUint32(12, a.transactionId);
  out.set(a.infoHash, 16);
  out.set(a.peerId, 36);
  v.setBigUint64(56, BigInt(a.downloaded ?? 0));
  v.setBigUint64(64, BigInt(a.left));
  v.setBigUint64(72, BigInt(a.uploaded ?? 0));
  const ev = a.event ?? 'none';
  v.setUint32(80, ev === 'paused' ? UDP_EVENT.none : UDP_EVENT[ev]);
  v.setUint32(84, a.ip ?? 0);
  v.setUint32(88, a.key ?? 0);
  v.setInt32(92, a.numWant ?? -1);
  v.setUint16(96, a.port);
  if (a.options) out.set(a.options, UDP_ANNOUNCE_REQUEST_SIZE);
  return out;
}

export function encodeScrapeRequest(connectionId: Uint8Array, transactionId: number, infoHashes: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(UDP_SCRAPE_REQUEST_HEADER_SIZE + INFO_HASH_SIZE * infoHashes.length);
  const v = view(out);
  out.set(connectionId.subarray(0, 8), 0);
  v.setUint32(8, UDP_ACTION_SCRAPE);
  v.setUint32(12, transactionId);
  infoHashes.forEach((h, i) => out.set(h, UDP_SCRAPE_REQUEST_HEADER_SIZE + INFO_HASH_SIZE * i));
  return out;
}

/** Decodes a reply (tests and bench/): the action and its fields, or undefined when malformed. */
export function decodeUdpResponse(b: Uint8Array):
  | { action: 'connect'; transactionId: number; connectionId: Uint8Array }
  | { action: 'announce'; transactionId: number; interval: number; leechers: number; seeders: number; peers: Uint8Array }
  | { action: 'scrape'; transactionId: number; entries: UdpScrapeEntry[] }
  | { action: 'error'; transactionId: number; message: string }
  | undefined {
  if (b.length < 8) return undefined;
  const v = view(b);
  const action = v.getUint32(0);
  const transactionId = v.getUint32(4);
  if (action === UDP_ACTION_CONNECT && b.length >= UDP_CONNECT_RESPONSE_SIZE)
    return { action: 'connect', transactionId, connectionId: b.slice(8, 16) };
  if (action === UDP_ACTION_ANNOUNCE && b.length >= UDP_ANNOUNCE_RESPONSE_HEADER_SIZE)
    return {
      action: 'announce',
      transactionId,
      interval: v.getUint32(8),
      leechers: v.getUint32(12),
      seeders: v.getUint32(16),
      peers: b.slice(UDP_ANNOUNCE_RESPONSE_HEADER_SIZE),
    };
  if (action === UDP_ACTION_SCRAPE && (b.length - 8) % 12 === 0) {
    const entries: UdpScrapeEntry[] = [];
    for (let at = 8; at < b.length; at += 12)
      entries.push({ seeders: v.getUint32(at), completed: v.getUint32(at + 4), leechers: v.getUint32(at + 8) });
    return { action: 'scrape', transactionId, entries };
  }
  if (action === UDP_ACTION_ERROR) return { action: 'error', transactionId, message: Buffer.from(b.subarray(8)).toString('utf8') };
  return undefined;
}
