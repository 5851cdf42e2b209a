/**
 * Which file on disk a torrent's file is, and whether it may be served.
 *
 * A stamp records the file's identity (device and inode) with its size and mtime: resume
 * data compares all four, so a verified file replaced by another one of the same size and
 * mtime (a copy, a hard link, a symbolic link to it) is put in doubt and hashed again
 * before a byte of it is sent. Reads check the descriptor they open against the stamp, so a
 * file swapped between the stat and the open is refused, not served.
 *
 * Symbolic links: by default a file is served only when its real path (every link in it
 * resolved) lies inside data_dir, so `data/x -> /etc/shadow` serves nothing;
 * `seeder.follow_symlinks` lets an operator link data in from elsewhere.
 */
import { realpath, stat } from 'node:fs/promises';
import { sep } from 'node:path';

export interface FileStamp {
  size: number;
  mtimeMs: number;
  /** `<device>:<inode>`; absent in resume data written before identities were kept. */
  id?: string;
}

export type StampResult = { stamp: FileStamp } | { missing: true } | { refused: string };

export interface StampPolicy {
  /** data_dir: files must really lie inside it unless followSymlinks. */
  dataDir: string;
  followSymlinks: boolean;
}

export const identityOf = (st: { dev: bigint | number; ino: bigint | number }): string => `${st.dev}:${st.ino}`;

/** Inside `dir` (both real paths): the folder itself or below it. */
export const isInside = (path: string, dir: string): boolean => path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);

/** data_dir's real path, looked up once per folder (a torrent of 50,000 files asks 50,000 times). */
const realDirs = new Map<string, { at: number; real: Promise<string> }>();
function realDataDir(dir: string): Promise<string> {
  const now = Date.now();
  const hit = realDirs.get(dir);
  if (hit && now - hit.at < 10_000) return hit.real;
  if (realDirs.size > 16) realDirs.clear();
  const real = realpath(dir);
  real.catch(() => realDirs.delete(dir));
  realDirs.set(dir, { at: now, real });
  return real;
}

/** Stats one data file under the policy. */
export async function stampFile(path: string, policy: StampPolicy): Promise<StampResult> {
  let st;
  try {
    st = await stat(path, { bigint: true });
  } catch {
    return { missing: true };
  }
  if (!st.isFile()) return { missing: true };
  if (!policy.followSymlinks) {
    try {
      const [real, root] = await Promise.all([realpath(path), realDataDir(policy.dataDir)]);
      if (!isInside(real, root)) return { refused: `a symbolic link to ${real}, outside data_dir (seeder.follow_symlinks is 0)` };
    } catch {
      return { missing: true };
    }
  }
  return { stamp: { size: Number(st.size), mtimeMs: Number(st.mtimeNs / 1_000_000n), id: identityOf(st) } };
}

/** The same file as when stamped: size and mtime, and the identity when both have one. */
export const sameStamp = (a: FileStamp | undefined, b: FileStamp | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.size === b.size && a.mtimeMs === b.mtimeMs && a.id === b.id);
