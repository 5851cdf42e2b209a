/**
 * Who is to blame when a piece fails its hash check (split from torrent-download.ts), after
 * libtorrent's smart-ban idea:
 *   - a failed piece is remembered block by block: who sent each block and its SHA-1 (the last
 *     few failed copies, bounded: a piece that keeps failing does not grow it);
 *   - when the piece later passes, whoever sent a block of a failed copy that differs gets a
 *     strike; the sole sender of a whole failed piece gets one at once;
 *   - BAN_STRIKES strikes ban the sender's address for this torrent.
 * Bookkeeping only: the engine says who sent what and acts on the addresses returned (closes
 * their connections, tells the seeder); web seeds have no address here (the engine drops them).
 */
import { createHash } from 'node:crypto';
import { BLOCK_SIZE } from '../codec/peer-wire.js';

/** Strikes (failed pieces blamed on a peer) that ban it: one failure may be another peer's block, two is the peer. */
export const BAN_STRIKES = 2;

interface Suspect {
  from: number;
  block: number;
  digest: string;
}

export class HashBlame {
  /** Failed pieces: who sent each block and its SHA-1, until the piece passes. */
  private readonly suspects = new Map<number, Suspect[]>();
  private readonly strikes = new Map<string, number>();
  readonly banned = new Set<string>();

  /** `addressOf`: a requester's address, undefined for a web seed. */
  constructor(private readonly addressOf: (id: number) => string | undefined) {}

  /** Piece `index` failed; `contributors[b]` sent block b. Returns the addresses this bans (with their strikes). */
  failed(index: number, data: Uint8Array, contributors: readonly number[]): { address: string; strikes: number }[] {
    const banned: { address: string; strikes: number }[] = [];
    if (new Set(contributors).size === 1) this.strike(contributors[0]!, banned);
    const blocks = contributors.map((from, block) => ({ from, block, digest: blockDigest(data, block) }));
    this.suspects.set(index, [...(this.suspects.get(index) ?? []), ...blocks].slice(-4 * blocks.length));
    return banned;
  }

  /** Piece `index` passed: whoever sent a block of an earlier failed copy that differs gets a strike. Returns the addresses this bans. */
  passed(index: number, data: Uint8Array): { address: string; strikes: number }[] {
    const banned: { address: string; strikes: number }[] = [];
    const suspects = this.suspects.get(index);
    if (!suspects) return banned;
    this.suspects.delete(index);
    const struck = new Set<number>();
    for (const s of suspects) if (!struck.has(s.from) && blockDigest(data, s.block) !== s.digest) struck.add(s.from);
    for (const id of struck) this.strike(id, banned);
    return banned;
  }

  private strike(id: number, banned: { address: string; strikes: number }[]): void {
    const address = this.addressOf(id);
    if (address === undefined) return; // a web seed (dropped already)
    const n = (this.strikes.get(address) ?? 0) + 1;
    this.strikes.set(address, n);
    if (n < BAN_STRIKES || this.banned.has(address)) return;
    this.banned.add(address);
    banned.push({ address, strikes: n });
  }
}

function blockDigest(data: Uint8Array, block: number): string {
  return createHash('sha1')
    .update(data.subarray(block * BLOCK_SIZE, (block + 1) * BLOCK_SIZE))
    .digest('hex');
}
