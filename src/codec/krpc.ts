/**
 * BEP 5 KRPC messages, checked before the DHT package sees them. Pure: bytes in, a verdict
 * out. The `bittorrent-dht` package decodes datagrams itself and trusts their shape (an
 * `info_hash` that is an integer throws inside its handlers), so every datagram the DHT
 * socket receives passes `checkKrpc` first: only well-formed messages of the four BEP 5
 * queries and their replies reach it.
 *
 * BEP 5: "A KRPC message is a single dictionary with three keys common to every message":
 * `t` (transaction id), `y` (`q`, `r` or `e`), and `q`/`a`, `r` or `e` by type. Node ids
 * and info hashes are 20 bytes; compact node info is 26 bytes (id, IPv4, port); compact
 * peer info is 6 bytes (IPv4, port).
 */
import { decode, isBytes, isDict, isInt, isList, latin1, type BDict, type BValue } from './bencode.js';

/** Largest datagram looked at. A full get_peers reply (100 peers) is under 1 KiB. */
export const MAX_KRPC_DATAGRAM = 2048;
/** Transaction ids are short strings; libtorrent sends 2 or 4 bytes. */
export const MAX_TRANSACTION_ID = 16;
/** Our tokens are 20 bytes (SHA-1); others' are 4 to 20. */
export const MAX_TOKEN = 64;
export const NODE_ID_LENGTH = 20;
export const COMPACT_NODE_LENGTH = 26;
export const COMPACT_PEER_LENGTH = 6;
/** Nesting of a KRPC message: message → a/r → values list. */
const MAX_DEPTH = 4;
/** Values in one message: a reply with 150 peers and a few keys. */
const MAX_VALUES = 256;

/** The BEP 5 queries a node answers; BEP 44 `get`/`put` and unknown methods are not served. */
export const KRPC_QUERIES = ['ping', 'find_node', 'get_peers', 'announce_peer'] as const;
export type KrpcQuery = (typeof KRPC_QUERIES)[number];

export type KrpcVerdict =
  | { ok: true; y: 'q'; q: KrpcQuery }
  | { ok: true; y: 'r' | 'e' }
  | { ok: false; reason: 'size' | 'malformed' | 'method' };

const bytesOf = (d: BDict, key: string, min: number, max: number): boolean => {
  const v = d.get(key);
  return isBytes(v) && v.length >= min && v.length <= max;
};
const optional = (d: BDict, key: string, check: (v: BValue) => boolean): boolean => {
  const v = d.get(key);
  return v === undefined || check(v);
};
const portOk = (v: BValue | undefined, min: number): boolean => isInt(v) && v >= min && v <= 65535;

function checkArguments(q: KrpcQuery, a: BDict): boolean {
  if (!bytesOf(a, 'id', NODE_ID_LENGTH, NODE_ID_LENGTH)) return false;
  switch (q) {
    case 'ping':
      return true;
    case 'find_node':
      return bytesOf(a, 'target', NODE_ID_LENGTH, NODE_ID_LENGTH);
    case 'get_peers':
      return bytesOf(a, 'info_hash', NODE_ID_LENGTH, NODE_ID_LENGTH);
    case 'announce_peer': {
      if (!bytesOf(a, 'info_hash', NODE_ID_LENGTH, NODE_ID_LENGTH) || !bytesOf(a, 'token', 1, MAX_TOKEN)) return false;
      // BEP 5: "If [implied_port] is present and non-zero, the port argument should be ignored".
      const implied = a.get('implied_port');
      if (implied !== undefined && !isInt(implied)) return false;
      return implied ? optional(a, 'port', (v) => portOk(v, 0)) : portOk(a.get('port'), 1);
    }
  }
}

function checkReply(r: BDict): boolean {
  if (!bytesOf(r, 'id', NODE_ID_LENGTH, NODE_ID_LENGTH)) return false;
  if (!optional(r, 'nodes', (v) => isBytes(v) && v.length % COMPACT_NODE_LENGTH === 0)) return false;
  if (!optional(r, 'token', (v) => isBytes(v) && v.length >= 1 && v.length <= MAX_TOKEN)) return false;
  return optional(r, 'values', (v) => isList(v) && v.every((p) => isBytes(p) && p.length === COMPACT_PEER_LENGTH));
}

/** Is this datagram a KRPC message the DHT node may handle? Never throws. */
export function checkKrpc(bytes: Uint8Array): KrpcVerdict {
  if (bytes.length > MAX_KRPC_DATAGRAM) return { ok: false, reason: 'size' };
  let m: BValue;
  try {
    const decoded = decode(bytes, { maxDepth: MAX_DEPTH, maxValues: MAX_VALUES });
    // The package keeps the last of duplicate keys, our decoder the first: refuse both readings.
    if (decoded.keyProblems.some((p) => p.endsWith('duplicate key'))) return { ok: false, reason: 'malformed' };
    m = decoded.value;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!isDict(m) || !bytesOf(m, 't', 1, MAX_TRANSACTION_ID)) return { ok: false, reason: 'malformed' };
  const y = m.get('y');
  if (!isBytes(y) || y.length !== 1) return { ok: false, reason: 'malformed' };
  switch (latin1(y)) {
    case 'q': {
      const q = m.get('q');
      const a = m.get('a');
      if (!isBytes(q) || q.length > 32 || !isDict(a)) return { ok: false, reason: 'malformed' };
      const name = latin1(q) as KrpcQuery;
      if (!KRPC_QUERIES.includes(name)) return { ok: false, reason: 'method' };
      return checkArguments(name, a) ? { ok: true, y: 'q', q: name } : { ok: false, reason: 'malformed' };
    }
    case 'r': {
      const r = m.get('r');
      return isDict(r) && checkReply(r) ? { ok: true, y: 'r' } : { ok: false, reason: 'malformed' };
    }
    case 'e': {
      // BEP 5: "a list. The first element is an integer representing the error code. The second element is a string".
      const e = m.get('e');
      return isList(e) && e.length <= 2 && (e.length === 0 || isInt(e[0])) && (e.length < 2 || isBytes(e[1]))
        ? { ok: true, y: 'e' }
        : { ok: false, reason: 'malformed' };
    }
    default:
      return { ok: false, reason: 'malformed' };
  }
}

/**
 * What an outgoing message is, read from its encoding: the DHT package encodes a message's
 * keys sorted, so `y` (the last key it writes) ends it: `1:y1:qe` for a query.
 */
export function outgoingKind(bytes: Uint8Array): 'q' | 'r' | 'e' | undefined {
  const n = bytes.length;
  if (n < 8 || bytes[n - 1] !== 0x65 || latin1(bytes.subarray(n - 7, n - 2)) !== '1:y1:') return undefined;
  const y = String.fromCharCode(bytes[n - 2]!);
  return y === 'q' || y === 'r' || y === 'e' ? y : undefined;
}
