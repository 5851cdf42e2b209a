/**
 * Which torrents the DHT node announces now. Pure, so it is tested without sockets: told the torrents and the
 * time, it answers the info hashes due. A torrent is due when it was never announced or
 * its last announce is ANNOUNCE_INTERVAL_MS old (DOWNLOADING_INTERVAL_MS while the torrent
 * still downloads, mirror mode); a failed announce is retried after
 * RETRY_MS. BEP 27: a private torrent is never due ("MUST NOT" use the DHT).
 */
export const ANNOUNCE_INTERVAL_MS = 15 * 60_000;
/** An announce that reached no node (the DHT is still empty) is retried this soon. */
export const RETRY_MS = 60_000;
/**
 * A torrent still downloading (mirror mode) is announced, and so looked up, this often: the
 * peers each lookup finds become the download's candidates, and a seed may join any time.
 */
export const DOWNLOADING_INTERVAL_MS = 2 * 60_000;

export interface AnnounceableTorrent {
  infoHashHex: string;
  private: boolean;
}

export class AnnounceSchedule {
  /** info hash → when it may next be announced. */
  private readonly next = new Map<string, number>();
  /** Torrents whose last announce reached at least one node. */
  private readonly announced = new Set<string>();

  /** The torrents due at `now`, in the order given; forgets torrents no longer listed. */
  due(torrents: readonly AnnounceableTorrent[], now: number): string[] {
    const listed = new Set<string>();
    const out: string[] = [];
    for (const t of torrents) {
      if (t.private) continue;
      listed.add(t.infoHashHex);
      const at = this.next.get(t.infoHashHex);
      if (at === undefined || at <= now) out.push(t.infoHashHex);
    }
    for (const h of [...this.next.keys()])
      if (!listed.has(h)) {
        this.next.delete(h);
        this.announced.delete(h);
      }
    return out;
  }

  /** An announce started at `now`: nothing more until it ends. */
  started(infoHashHex: string, now: number): void {
    this.next.set(infoHashHex, now + ANNOUNCE_INTERVAL_MS);
  }

  /** An announce ended; `reached` nodes took it; `downloading`: the torrent still lacks data. */
  ended(infoHashHex: string, reached: number, now: number, downloading = false): void {
    if (!this.next.has(infoHashHex)) return;
    this.next.set(infoHashHex, now + (reached > 0 ? (downloading ? DOWNLOADING_INTERVAL_MS : ANNOUNCE_INTERVAL_MS) : RETRY_MS));
    if (reached > 0) this.announced.add(infoHashHex);
    else this.announced.delete(infoHashHex);
  }

  /** The routing table just gained its first node: torrents whose last round reached nobody are due now. */
  retryNow(now: number): void {
    for (const [h, at] of this.next) if (!this.announced.has(h) && at > now && at - now <= RETRY_MS) this.next.set(h, now);
  }

  /** Torrents whose last announce reached at least one node. */
  announcedCount(): number {
    return this.announced.size;
  }
}
