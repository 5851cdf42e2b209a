/**
 * When to introduce a client heard by LPD to the peers this node knows (BEP 11 `ut_pex`,
 * BEP 14 LPD, BEP 27 private torrents). Pure: told what was heard, what is known and what
 * time it is; answers whether to introduce and whom. The Introducer (introducer.ts) owns the
 * sockets around it.
 *
 * Two steps, so the (possibly remote) peer lookup is only paid for a host worth it:
 * 1. `screen`: a host H announcing torrent X over LPD is refused when H is this node (one of
 *    its interfaces' addresses), when X is known to be private (BEP 27: "MUST NOT" share its
 *    peers over PEX), when the tracker runs in allow-list mode and X is not allowed, when
 *    introductions are off, while H is already being introduced to X, or when too many
 *    introductions are under way.
 * 2. `choose`: from the peers looked up for X, never H itself (neither H:port nor another port
 *    of H: a second client on H found its peers by LPD already), at most 50 (BEP 11); refused
 *    when nothing is left, or when H was introduced to X in the last 5 minutes and no peer
 *    appeared since (clients repeat LPD announces every 5 minutes; libtorrent also sends
 *    three in its first 6 s).
 * `sent` records an introduction that went out.
 */
import { PEX_MAX_ADDED, type PexPeer } from '../codec/pex.js';

/** One introduction per (host, torrent) per this long, unless new peers appeared. */
export const REINTRODUCE_MS = 5 * 60_000;
/** Introductions under way at once (each is one short TCP connection). */
export const MAX_CONCURRENT_INTRODUCTIONS = 8;
/** (host, torrent) pairs remembered; the oldest is forgotten first. */
export const MAX_REMEMBERED = 4096;

export type IntroductionRefusal =
  | 'off'
  | 'own address'
  | 'private'
  | 'not allowed'
  | 'busy'
  | 'seeding'
  | 'no peers'
  | 'recently introduced'
  | 'no pex'
  | 'failed';

export interface HeardAnnounce {
  /** H as LPD saw it (no `%scope`). */
  address: string;
  /** The peer-wire port H announced. */
  port: number;
  infoHashHex: string;
}

export interface ScreenFacts {
  enabled: boolean;
  /** H is one of this node's addresses. */
  ownAddress: boolean;
  /** X is a torrent this node knows to be private. */
  private: boolean;
  /** False only in tracker allow-list mode for a torrent not allowed. */
  allowed: boolean;
  /** This node's seeder has X: it dials H itself, no introduction is needed. */
  seeding: boolean;
  /** Introductions under way now. */
  active: number;
}

export type Decision<T> = { ok: true; value: T } | { ok: false; reason: IntroductionRefusal };

const refuse = (reason: IntroductionRefusal): { ok: false; reason: IntroductionRefusal } => ({ ok: false, reason });
const peerKey = (p: { address: string; port: number }) => `${p.address}|${p.port}`;
/** H by its address (any port, no scope) and X. */
const pairKey = (h: HeardAnnounce) => `${h.address.replace(/%.*$/, '')}|${h.infoHashHex}`;

export class IntroductionPolicy {
  /** `${H}|${X}` → when H was last introduced to X and whom it was given. */
  private readonly given = new Map<string, { at: number; peers: Set<string> }>();

  constructor(private readonly limits: { maxConcurrent: number } = { maxConcurrent: MAX_CONCURRENT_INTRODUCTIONS }) {}

  /** (H, X) pairs being introduced now: libtorrent repeats its LPD announce 2 s after the first. */
  private readonly pending = new Set<string>();

  screen(heard: HeardAnnounce, f: ScreenFacts): Decision<true> {
    if (!f.enabled) return refuse('off');
    if (f.ownAddress) return refuse('own address');
    // BEP 27: "the client MUST NOT share the peers with other clients ... via PEX"
    if (f.private) return refuse('private');
    if (!f.allowed) return refuse('not allowed');
    if (f.seeding) return refuse('seeding');
    if (this.pending.has(pairKey(heard))) return refuse('recently introduced');
    if (f.active >= this.limits.maxConcurrent) return refuse('busy');
    return { ok: true, value: true };
  }

  /** An introduction of H to X starts (after `screen`) … */
  begin(heard: HeardAnnounce): void {
    this.pending.add(pairKey(heard));
  }

  /** … and is over, sent or not. */
  end(heard: HeardAnnounce): void {
    this.pending.delete(pairKey(heard));
  }

  /** The peers to give H out of `known` (in order of preference), or why none. */
  choose(nowMs: number, heard: HeardAnnounce, known: readonly PexPeer[]): Decision<PexPeer[]> {
    const bareH = heard.address.replace(/%.*$/, '');
    const seen = new Set<string>();
    const chosen: PexPeer[] = [];
    for (const p of known) {
      if (chosen.length >= PEX_MAX_ADDED) break;
      if (!(p.port > 0 && p.port < 65536)) continue;
      if (p.address.replace(/%.*$/, '') === bareH) continue;
      const k = peerKey(p);
      if (seen.has(k)) continue;
      seen.add(k);
      chosen.push(p);
    }
    if (chosen.length === 0) return refuse('no peers');
    const last = this.given.get(pairKey(heard));
    if (last && nowMs - last.at < REINTRODUCE_MS && chosen.every((p) => last.peers.has(peerKey(p)))) return refuse('recently introduced');
    return { ok: true, value: chosen };
  }

  /** Records an introduction that was sent. */
  sent(nowMs: number, heard: HeardAnnounce, peers: readonly PexPeer[]): void {
    const key = pairKey(heard);
    this.given.delete(key);
    this.given.set(key, { at: nowMs, peers: new Set(peers.map(peerKey)) });
    while (this.given.size > MAX_REMEMBERED) this.given.delete(this.given.keys().next().value!);
  }

  /** Forgets pairs older than REINTRODUCE_MS (call now and then; memory is bounded anyway). */
  prune(nowMs: number): void {
    for (const [k, v] of this.given) if (nowMs - v.at >= REINTRODUCE_MS) this.given.delete(k);
  }
}
