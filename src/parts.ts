/**
 * Contracts between the daemon's parts, so the tracker, LPD, seeder and announcer can be
 * built and tested apart and wired together in `daemon.ts`. Addresses are strings as Node
 * prints them ('10.0.0.2', '::1'); info hashes are 40 lower-case hex digits at these seams.
 */

/** A peer learned by one part and offered to another. */
export interface PeerCandidate {
  infoHashHex: string;
  address: string;
  port: number;
  source: 'tracker' | 'lpd' | 'pex' | 'incoming' | 'dht';
}

/** What the LPD bridge needs from the daemon's tracker. */
export interface TrackerRegistry {
  /** True when the tracker tracks (or, in allow-list mode, allows) this torrent. */
  knowsTorrent(infoHashHex: string): boolean;
  /** Registers a peer heard by LPD as a leecher that expires like any announced peer. Returns false when refused (caps, allow-list). */
  registerExternalPeer(infoHashHex: string, address: string, port: number): boolean;
}

/** A torrent the seeder offers, as the announcer and LPD need to see it. */
export interface SeededTorrent {
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
  /** New connection candidates (from trackers, LPD, PEX); the seeder dedups and caps. */
  addCandidates(peers: PeerCandidate[]): void;
  /** Called when torrents are added or removed, so LPD and the announcer follow. */
  onTorrentsChanged(listener: () => void): void;
}
