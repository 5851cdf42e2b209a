/**
 * Writes verified pieces into a torrent's files (mirror mode). Crash safety is the point:
 *   - a file is created sparse at its full length (ftruncate: no preallocation on flash) the
 *     first time a piece touches it, its folders made as needed;
 *   - bytes go in with positional writes; `sync` fsyncs every file written since the last
 *     sync, and only pieces written before that fsync may be recorded in the resume data
 *     (the caller asks `durable(index)`), so after a power cut the resume data never claims
 *     a piece whose bytes were not on disk;
 *   - write handles are few (MAX_WRITE_HANDLES) and closed when the torrent stops;
 *   - never through a symbolic link out of data_dir (unless the operator allows links): the
 *     file is opened with O_NOFOLLOW and its folder's real path must lie inside data_dir.
 */
import { mkdir, open, realpath, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { constants } from 'node:fs';
import type { FileEntry } from '../codec/metainfo.js';
import { segmentsOf } from './piece-map.js';
import { isInside } from './file-identity.js';

/** Reason: a download writes pieces in order of arrival, a few files at a time; a router's descriptors are few. */
export const MAX_WRITE_HANDLES = 4;

export class PieceWriter {
  private readonly handles = new Map<number, Promise<FileHandle>>();
  /** Files written since the last sync. */
  private readonly dirty = new Set<number>();
  /** Pieces written since the last sync (not yet durable). */
  private readonly unsynced = new Set<number>();
  private syncing: Promise<void> | undefined;

  constructor(
    private readonly files: readonly FileEntry[],
    private readonly pathOf: (file: number) => string,
    private readonly pieceLength: number,
    /** data_dir, and whether symbolic links may lead out of it (seeder.follow_symlinks). */
    private readonly policy: { dataDir: string; followSymlinks: () => boolean },
  ) {}

  /** True when the piece was written and fsync'ed (or never written by us). */
  durable(index: number): boolean {
    return !this.unsynced.has(index);
  }

  get pendingSync(): number {
    return this.unsynced.size;
  }

  private handle(file: number): Promise<FileHandle> {
    let h = this.handles.get(file);
    if (h) {
      this.handles.delete(file);
      this.handles.set(file, h);
      return h;
    }
    h = (async () => {
      const path = this.pathOf(file);
      await mkdir(dirname(path), { recursive: true });
      const follow = this.policy.followSymlinks();
      if (!follow) {
        const [dir, root] = await Promise.all([realpath(dirname(path)), realpath(this.policy.dataDir)]);
        if (!isInside(dir, root)) throw new Error(`${path} lies through a symbolic link outside data_dir (seeder.follow_symlinks is 0): not written`);
      }
      const fh = await open(path, constants.O_RDWR | constants.O_CREAT | (follow ? 0 : constants.O_NOFOLLOW), 0o644);
      try {
        const st = await fh.stat();
        // sparse: the length is set, no block is allocated until written
        if (st.size < this.files[file]!.length) await fh.truncate(this.files[file]!.length);
      } catch (err) {
        await fh.close().catch(() => {});
        throw err;
      }
      return fh;
    })();
    h.catch(() => this.handles.delete(file));
    this.handles.set(file, h);
    for (const [f, old] of this.handles) {
      if (this.handles.size <= MAX_WRITE_HANDLES) break;
      if (this.dirty.has(f)) continue; // kept until synced
      this.handles.delete(f);
      void old.then((x) => x.close()).catch(() => {});
    }
    return h;
  }

  /** Writes a whole piece at its place; the files it touches are created sparse first. Throws on I/O errors (ENOSPC…). */
  async write(index: number, data: Uint8Array): Promise<number[]> {
    const touched: number[] = [];
    let at = 0;
    for (const s of segmentsOf(this.files, index * this.pieceLength, data.length)) {
      // a plain Uint8Array view, not a Buffer: node's FileHandle write then sees one kind of object, as from the resume data's writeFile (two kinds undid its compiled code)
      const part = new Uint8Array(data.buffer, data.byteOffset + at, s.length);
      at += s.length;
      if (this.files[s.file]!.padding) continue;
      const h = await this.handle(s.file);
      let done = 0;
      while (done < part.length) {
        const { bytesWritten } = await h.write(part, done, part.length - done, s.offset + done);
        done += bytesWritten;
      }
      this.dirty.add(s.file);
      touched.push(s.file);
    }
    this.unsynced.add(index);
    return touched;
  }

  /** fsyncs every file written since the last sync; the pieces written before it are durable after. */
  sync(): Promise<void> {
    // one sync at a time; a caller during a sync waits for it and then runs its own
    const run = async () => {
      const files = [...this.dirty];
      const pieces = [...this.unsynced];
      this.dirty.clear();
      for (const f of files) {
        const h = this.handles.get(f);
        if (h) await (await h).datasync();
      }
      for (const p of pieces) this.unsynced.delete(p);
    };
    const next = (this.syncing ?? Promise.resolve()).catch(() => {}).then(run);
    this.syncing = next.finally(() => {
      if (this.syncing === next) this.syncing = undefined;
    });
    return next;
  }

  /** Forgets a piece that will be written again (its write failed). */
  forget(index: number): void {
    this.unsynced.delete(index);
  }

  async close(): Promise<void> {
    try {
      if (this.dirty.size) await this.sync();
    } finally {
      const all = [...this.handles.values()];
      this.handles.clear();
      await Promise.all(all.map((h) => h.then((x) => x.close()).catch(() => {})));
    }
  }
}
