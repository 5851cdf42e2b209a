/**
 * Decisions of a catalog subscription, apart from its I/O (table-tested):
 *  - `planFetch`: which `.torrent` URLs of a fresh catalog to download, and which torrents
 *    this subscription added earlier have left the catalog (removed with catalog_remove);
 *  - `planDisk`: with `max_disk_mb`, which torrents fit, in catalog order, and which wait.
 */

/** What a subscription remembers of a torrent it wrote into torrent_dir. */
export interface AddedTorrent {
  infoHashHex: string;
  /** File name in torrent_dir. */
  file: string;
  /** Bytes of data (the torrent's total length). */
  size: number;
}

export interface FetchPlan {
  /** Catalog URLs not yet added (nor known to fail with the same catalog), in catalog order. */
  fetch: string[];
  /** Torrent URLs this subscription added that the catalog no longer lists. */
  gone: string[];
}

/**
 * `added`: URL → torrent this subscription wrote; `failed`: URLs that failed since the
 * catalog last changed (not retried until it changes again or `retryFailed`).
 */
export function planFetch(catalogUrls: string[], added: ReadonlyMap<string, AddedTorrent>, failed: ReadonlySet<string>, retryFailed: boolean): FetchPlan {
  const listed = new Set(catalogUrls);
  return {
    fetch: catalogUrls.filter((u) => !added.has(u) && (retryFailed || !failed.has(u))),
    gone: [...added.keys()].filter((u) => !listed.has(u)),
  };
}

export interface DiskCandidate {
  key: string;
  size: number;
}

export interface DiskPlan {
  admit: string[];
  /** Over the limit: `waiting: over max_disk_mb`, in catalog order. */
  wait: string[];
}

/**
 * In catalog order, admits each candidate whose size still fits under `limitBytes` after
 * `usedBytes` (what torrent_dir's torrents already take) and those admitted before it; the
 * others wait. A later, smaller torrent may fit where an earlier big one did not (the big
 * one keeps its place: it is admitted first when room appears). `limitBytes` 0: no limit.
 */
export function planDisk(candidates: DiskCandidate[], usedBytes: number, limitBytes: number): DiskPlan {
  if (limitBytes <= 0) return { admit: candidates.map((c) => c.key), wait: [] };
  const admit: string[] = [];
  const wait: string[] = [];
  let used = usedBytes;
  for (const c of candidates) {
    if (used + c.size <= limitBytes) {
      admit.push(c.key);
      used += c.size;
    } else wait.push(c.key);
  }
  return { admit, wait };
}

/** A file name for a torrent in torrent_dir: its name made safe, `.torrent`; the info hash when the name is unusable. */
export function torrentFileName(name: string, infoHashHex: string): string {
  let base = name
    .replace(/[/\\\0-\x1f\x7f]/g, '_')
    .replace(/^[.\s]+/, '')
    .trim();
  // stay well under NAME_MAX (255 bytes) with the suffix
  while (Buffer.byteLength(base) > 200) base = [...base].slice(0, -1).join('');
  return base === '' ? `${infoHashHex}.torrent` : `${base}.torrent`;
}
