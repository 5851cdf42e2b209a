/**
 * BEP 11 ut_pex, pure: the payload of an extended message carrying `added`, `added.f`,
 * `added6`, `added6.f`, `dropped`, `dropped6`, and the BEP 23 compact peer form it uses.
 * Malformed input throws `PeerWireError` (split out of peer-wire.ts).
 */
import { encode, isBytes } from './bencode.js';
import { PeerWireError, decodeDict } from './peer-wire.js';

const bad = (message: string): never => {
  throw new PeerWireError(message);
};

/** Reason: a BEP 11 message may add 50 peers; 200 leaves room for added6/dropped from lenient peers. */
export const MAX_PEX_PEERS = 200;
/** BEP 11: "at most 50 added peers" per message… */
export const PEX_MAX_ADDED = 50;
/** …and "no more than once per minute" per peer. */
export const PEX_INTERVAL_MS = 60_000;
/** BEP 11 added.f flags. */
export const PEX_FLAG = { encryption: 0x01, seed: 0x02, utp: 0x04, holepunch: 0x08, reachable: 0x10 } as const;

export interface PexPeer {
  address: string;
  port: number;
  flags?: number;
}
export interface PexMessage {
  added: PexPeer[];
  dropped: PexPeer[];
}

/** BEP 23 compact form: 4 or 16 address bytes then the port, big-endian. */
export function encodeCompactPeer(address: string, port: number): Uint8Array | undefined {
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  if (v4) {
    const out = Buffer.alloc(6);
    for (let i = 0; i < 4; i++) out[i] = Number(v4[i + 1]);
    out.writeUInt16BE(port, 4);
    return out;
  }
  const groups = expandIPv6(address);
  if (!groups) return undefined;
  const out = Buffer.alloc(18);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  out.writeUInt16BE(port, 16);
  return out;
}

function expandIPv6(address: string): number[] | undefined {
  if (!address.includes(':')) return undefined;
  const [head, tail] = address.split('::') as [string, string | undefined];
  if (address.split('::').length > 2) return undefined;
  const part = (s: string | undefined) => (s ? s.split(':') : []);
  const h = part(head);
  const t = part(tail);
  const toGroups = (xs: string[]) => xs.flatMap((x) => (x.includes('.') ? v4Groups(x) : [parseInt(x, 16)]));
  const hg = toGroups(h);
  const tg = toGroups(t);
  const fill = tail === undefined ? 0 : 8 - hg.length - tg.length;
  const all = [...hg, ...new Array(Math.max(0, fill)).fill(0), ...tg];
  return all.length === 8 && all.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? all : undefined;
}
const v4Groups = (s: string): number[] => {
  const p = s.split('.').map(Number);
  return [(p[0]! << 8) | p[1]!, (p[2]! << 8) | p[3]!];
};

/** RFC 5952 text: lower-case hex, the longest run of two or more zero groups as `::`. */
export function formatIPv6(groups: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function decodeCompactPeers(b: Uint8Array, family: 4 | 6): { address: string; port: number }[] {
  const size = family === 4 ? 6 : 18;
  if (b.length % size !== 0) bad(`compact peers of ${b.length} bytes, not a multiple of ${size}`);
  const out: { address: string; port: number }[] = [];
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  for (let at = 0; at < b.length; at += size) {
    const address =
      family === 4
        ? `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`
        : formatIPv6(Array.from({ length: 8 }, (_, i) => buf.readUInt16BE(at + i * 2)));
    out.push({ address, port: buf.readUInt16BE(at + size - 2) });
  }
  return out;
}

export function encodePex(m: PexMessage): Uint8Array {
  if (m.added.length > PEX_MAX_ADDED) bad(`ut_pex message adds ${m.added.length} peers, at most ${PEX_MAX_ADDED}`);
  const pack = (peers: PexPeer[], family: 4 | 6) => {
    const bytes: Uint8Array[] = [];
    const flags: number[] = [];
    for (const p of peers) {
      const c = encodeCompactPeer(p.address, p.port);
      if (c && c.length === (family === 4 ? 6 : 18)) {
        bytes.push(c);
        flags.push(p.flags ?? 0);
      }
    }
    return { bytes: Buffer.concat(bytes), flags: Uint8Array.from(flags) };
  };
  const a4 = pack(m.added, 4);
  const a6 = pack(m.added, 6);
  const d4 = pack(m.dropped, 4);
  const d6 = pack(m.dropped, 6);
  return encode({
    added: a4.bytes,
    'added.f': a4.flags,
    added6: a6.bytes,
    'added6.f': a6.flags,
    dropped: d4.bytes,
    dropped6: d6.bytes,
  });
}

export function decodePex(payload: Uint8Array): PexMessage {
  const d = decodeDict(payload, 'ut_pex');
  const list = (key: string, family: 4 | 6, flagsKey?: string): PexPeer[] => {
    const v = d.get(key);
    if (v === undefined) return [];
    if (!isBytes(v)) return bad(`ut_pex ${key} is not a string`);
    const peers = decodeCompactPeers(v, family);
    if (peers.length > MAX_PEX_PEERS) bad(`ut_pex ${key} lists ${peers.length} peers, more than ${MAX_PEX_PEERS}`);
    const f = flagsKey ? d.get(flagsKey) : undefined;
    return peers.map((p, i) => (isBytes(f) && f.length === peers.length ? { ...p, flags: f[i]! } : p));
  };
  return {
    added: [...list('added', 4, 'added.f'), ...list('added6', 6, 'added6.f')],
    dropped: [...list('dropped', 4), ...list('dropped6', 6)],
  };
}
