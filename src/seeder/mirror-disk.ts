/**
 * `seeder.max_disk_mb` in mirror mode: before a download starts, the torrents of torrent_dir
 * go through the catalog's disk policy (`planDisk`, catalog-plan.ts) in the order the seeder
 * took them in (catalog order for the torrents a subscription wrote). What holds data (seeded
 * or being downloaded) counts whole; of the torrents that lack data, those that do not fit
 * after the ones before them wait (`waiting: over max_disk_mb`). Pure, table-tested.
 */
import { planDisk } from '../catalog/catalog-plan.js';

export const OVER_MAX_DISK = 'waiting: over max_disk_mb';

export interface DiskHolder {
  key: string;
  /** The torrent's total length. */
  size: number;
  /** Its data is complete or being downloaded: counted as used. */
  holds: boolean;
  /** It lacks data and would be downloaded. */
  wants: boolean;
}

/** True when the torrent `key` (one that wants data) may start downloading; `limitBytes` 0: no limit. */
export function mayDownload(torrents: readonly DiskHolder[], key: string, limitBytes: number): boolean {
  if (limitBytes <= 0) return true;
  const used = torrents.reduce((n, t) => n + (t.holds ? t.size : 0), 0);
  const candidates = torrents.filter((t) => !t.holds && (t.wants || t.key === key));
  return planDisk(candidates, used, limitBytes).admit.includes(key);
}
