/**
 * A big swarm's index from address and port to its peer's record (see swarm-store.ts): an
 * open-addressing hash table (linear probing, Int32Array, power-of-two size, at most half
 * full). Entries are slot + 1 for an IPv4 peer, -(slot + 1) for an IPv6 one, 0 for empty; a
 * record is found again through its swarm's lists, so records may move between segments
 * (src/tracker/peer-arena.ts) without touching the index.
 */
import type { PeerList } from './peer-arena.js';

/** Records start with the address (4 or 16 bytes) and the port (2 bytes, big-endian); 28 bytes more follow. */
export const RECORD4 = 4 + 28;
export const RECORD6 = 16 + 28;
/** Swarms up to this many peers are scanned (a few cache lines); bigger ones get an index. */
export const INDEX_MIN_PEERS = 24;

export interface Indexed {
  p4: PeerList;
  p6: PeerList;
  index: Int32Array | undefined;
  readonly count: number;
}

/** FNV-1a over the address bytes, seeded with the port. */
export function peerHash(b: Uint8Array, at: number, alen: number, port: number): number {
  let h = Math.imul(0x811c9dc5 ^ port, 0x01000193);
  for (let k = 0; k < alen; k++) h = Math.imul(h ^ b[at + k]!, 0x01000193);
  return (h ^ (h >>> 15)) >>> 0;
}

function entryHash(s: Indexed, e: number): number {
  if (e > 0) {
    const o = (s.p4.at + e - 1) * RECORD4;
    const b = s.p4.bytes;
    return peerHash(b, o, 4, (b[o + 4]! << 8) | b[o + 5]!);
  }
  const o = (s.p6.at - e - 1) * RECORD6;
  const b = s.p6.bytes;
  return peerHash(b, o, 16, (b[o + 16]! << 8) | b[o + 17]!);
}

export function indexInsert(s: Indexed, t: Int32Array, e: number): void {
  const mask = t.length - 1;
  let p = entryHash(s, e) & mask;
  while (t[p] !== 0) p = (p + 1) & mask;
  t[p] = e;
}

/** Position of entry `e` in the table (it must be there). */
export function indexFind(s: Indexed, t: Int32Array, e: number): number {
  const mask = t.length - 1;
  let p = entryHash(s, e) & mask;
  while (t[p] !== e) p = (p + 1) & mask;
  return p;
}

/** Removes entry `e` (its record still in place), shifting later entries of its run back. */
export function indexDelete(s: Indexed, t: Int32Array, e: number): void {
  const mask = t.length - 1;
  let hole = indexFind(s, t, e);
  for (let j = (hole + 1) & mask; t[j] !== 0; j = (j + 1) & mask) {
    const home = entryHash(s, t[j]!) & mask;
    // move the entry at j into the hole unless its home lies cyclically in (hole, j]
    const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
    if (!between) {
      t[hole] = t[j]!;
      hole = j;
    }
  }
  t[hole] = 0;
}

/** Rebuilds (or drops) a swarm's index for its current size: at most half full, at least a quarter. */
export function reindex(s: Indexed): void {
  if (s.count <= INDEX_MIN_PEERS / 2) {
    s.index = undefined;
    return;
  }
  let size = 64;
  while (size < s.count * 2 + 2) size *= 2;
  const t = new Int32Array(size);
  for (let i = 0; i < s.p4.count; i++) indexInsert(s, t, i + 1);
  for (let i = 0; i < s.p6.count; i++) indexInsert(s, t, -i - 1);
  s.index = t;
}
