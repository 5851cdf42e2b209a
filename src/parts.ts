/**
 * Contracts between the daemon's parts, so the tracker, LPD, seeder and announcer can be
 * built and tested apart and wired together in `daemon.ts`. Addresses are strings as Node
 * prints them ('10.0.0.2', '::1'); info hashes are 40 lower-case hex digits at these seams.
 */

import type { Metainfo } from './codec/metainfo.js';

/** A peer learned by one part and offered to another. */
export interface PeerCandidate {
  infoHashHex: string;
  address: string;
  port: number;
  /** `announced`: announced to this node's own tracker (not a tracker of a private torrent). `dht`: found by a DHT lookup (BEP 5). */
  source: 'tracker' | 'lpd' | 'pex' | 'incoming' | 'announced' | 'dht';
}

/** What the LPD bridge needs from the daemon's tracker. */
export interface TrackerRegistry {
  /** True when the tracker tracks (or, in allow-list mode, allows) this torrent. */
  knowsTorrent(infoHashHex: string): boolean;
  /** Registers a peer heard by LPD as a leecher that expires like any announced peer. Returns false when refused (caps, allow-list). */
  registerExternalPeer(infoHashHex: string, address: string, port: number): boolean;
}

/** A peer that announced to this node's tracker. */
export interface AnnouncedPeer {
  infoHashHex: string;
  address: string;
  port: number;
  seeder: boolean;
}

/** What mesh discovery needs from the daemon's tracker: its swarms, and news of new peers. */
export interface TrackerSwarms {
  /** True when a .torrent the tracker read (allowed_dir) says the torrent is private (BEP 27). */
  isPrivate(infoHashHex: string): boolean;
  /** Up to `max` live peers of the torrent, seeders first. */
  peersOf(infoHashHex: string, max: number): { address: string; port: number; seed: boolean }[];
  /** Called when an announce adds a peer the swarm did not have (not for LPD-registered peers). */
  onPeerAnnounced(listener: (peer: AnnouncedPeer) => void): void;
}

/** A torrent the seeder offers, as the announcer, LPD and the front page need to see it. */
export interface SeededTorrent {
  /** Its .torrent file in the watch folder and its metainfo (the front page lists and serves them; test fakes leave them out). */
  readonly file?: string;
  readonly meta?: Metainfo;
  infoHashHex: string;
  infoHash: Uint8Array;
  /** BEP 27: announced only to its own trackers, never over LPD or PEX. */
  private: boolean;
  /** BEP 12 tiers from the .torrent. */
  announceTiers: string[][];
  uploaded(): number;
  downloaded(): number;
  left(): number;
}

/** What LPD and the announcer need from the seeder. */
export interface SeederView {
  /** The peer-wire port actually listened on (6881..6889), or undefined before start. */
  listenPort(): number | undefined;
  torrents(): SeededTorrent[];
  /** One offered torrent by its info hash (hex), without scanning the list. */
  torrent(infoHashHex: string): SeededTorrent | undefined;
  /** New connection candidates (from trackers, LPD, PEX); the seeder dedups and caps. */
  addCandidates(peers: PeerCandidate[]): void;
  /** The peers connected for a public torrent (the mesh lookup's first source). */
  peersOf?(infoHashHex: string): { address: string; port: number; seed?: boolean }[];
  /** Called when torrents are added or removed, so LPD and the announcer follow. */
  onTorrentsChanged(listener: () => void): void;
}
