/**
 * Writes a file atomically: the bytes go to a temporary file in the same folder, are
 * flushed, then renamed over the target, so a reader (or a power cut) sees the old file or
 * the new one, never half of one. Without `overwrite`, an existing target is refused, and
 * the new file is put in place with link(2), which fails if the target appeared meanwhile;
 * on file systems without hard links (FAT on a router's USB disk) the existence check and
 * rename are the best there is.
 */
import { closeSync, fsyncSync, linkSync, openSync, renameSync, statSync, unlinkSync, writeSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { nodeCrypto } from './lazy-modules.js';
import { MeshseedError } from '../errors.js';

export interface AtomicWriteOptions {
  /** Replace an existing file (default false: refuse). */
  overwrite?: boolean;
  /** File mode for a new file (default 0o644); an existing file keeps its mode. */
  mode?: number;
}

export function writeFileAtomic(path: string, bytes: Uint8Array, options: AtomicWriteOptions = {}): void {
  const overwrite = options.overwrite ?? false;
  if (!overwrite && existsSync(path)) throw new MeshseedError('EIO', `'${path}' exists (use -f to overwrite it)`);
  let mode = options.mode ?? 0o644;
  try {
    mode = statSync(path).mode & 0o7777;
  } catch {
    // a new file
  }
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${nodeCrypto().randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', mode);
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    if (overwrite) renameSync(tmp, path);
    else {
      try {
        linkSync(tmp, path);
        unlinkSync(tmp);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw new MeshseedError('EIO', `'${path}' exists (use -f to overwrite it)`);
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
        if (existsSync(path)) throw new MeshseedError('EIO', `'${path}' exists (use -f to overwrite it)`);
        renameSync(tmp, path);
      }
    }
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already renamed or never made
    }
    if (err instanceof MeshseedError) throw err;
    throw new MeshseedError('EIO', `cannot write '${path}': ${(err as Error).message}`);
  }
}
