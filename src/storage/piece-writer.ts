/**
 * Writes verified pieces into a torrent's files (mirror mode). Crash safety is the point:
 *   - a file is created sparse at its full length (ftruncate: no preallocation on flash) the
 *     first time a piece touches it, its folders made as needed;
 *   - bytes go in with positional writes; `sync` fsyncs every file written since the last
 *     sync, and only pieces written before that fsync may be recorded in the resume data
 *     (the caller asks `durable(index)`), so after a power cut the resume data never claims
 *     a piece whose bytes were not on disk;
 *   - one write at a time per file: what arrives meanwhile is queued, and consecutive parts go
 *     in the next write together (one `pwritev`). A file's writes are serialised by the
 *     kernel anyway (the inode lock), so parallel writes to it only cost thread-pool threads
 *     waiting on each other; batched, a fast download makes a few large writes, not one per piece;
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
/** Parts joined in one write at most (Linux's IOV_MAX is 1024). */
const MAX_PARTS_PER_WRITE = 64;

interface QueuedWrite {
  offset: number;
  data: Uint8Array;
  done(err?: unknown): void;
}

export class PieceWriter {
  private readonly handles = new Map<number, Promise<FileHandle>>();
  /** Files written since the last sync. */
  private readonly dirty = new Set<number>();
  /** Pieces written since the last sync (not yet durable). */
  private readonly unsynced = new Set<number>();
  private syncing: Promise<void> | undefined;
  /** Per file, the parts waiting for the write in progress to end. */
  private readonly queued = new Map<number, QueuedWrite[]>();
  /** Files with a write in progress. */
  private readonly writing = new Set<number>();

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
      if (this.dirty.has(f) || this.writing.has(f)) continue; // kept until synced
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
      const part = data.subarray(at, at + s.length);
      at += s.length;
      if (this.files[s.file]!.padding) continue;
      await this.writeAt(s.file, s.offset, part);
      this.dirty.add(s.file);
      touched.push(s.file);
    }
    this.unsynced.add(index);
    return touched;
  }

  /** `data` at `offset` of a file, queued behind the file's write in progress. */
  private writeAt(file: number, offset: number, data: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let q = this.queued.get(file);
      if (!q) this.queued.set(file, (q = []));
      q.push({ offset, data, done: (err) => (err === undefined ? resolve() : reject(err)) });
      if (!this.writing.has(file)) void this.drain(file);
    });
  }

  /** Writes a file's queue until it stays empty: consecutive parts together, one write at a time. */
  private async drain(file: number): Promise<void> {
    this.writing.add(file);
    try {
      for (let q = this.queued.get(file); q; q = this.queued.get(file)) {
        this.queued.delete(file);
        q.sort((a, b) => a.offset - b.offset);
        let h: FileHandle;
        try {
          h = await this.handle(file);
        } catch (err) {
          for (const w of q) w.done(err);
          continue;
        }
        for (let i = 0; i < q.length; ) {
          let j = i + 1;
          let end = q[i]!.offset + q[i]!.data.length;
          while (j < q.length && q[j]!.offset === end && j - i < MAX_PARTS_PER_WRITE) end += q[j++]!.data.length;
          const group = q.slice(i, j);
          i = j;
          try {
            await writeAll(h, group.map((w) => w.data), group[0]!.offset);
            for (const w of group) w.done();
          } catch (err) {
            for (const w of group) w.done(err);
          }
        }
      }
    } finally {
      this.writing.delete(file);
    }
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

/** All of `parts`, one after the other from `position`: one writev, then plain writes for whatever a short write left. */
async function writeAll(h: FileHandle, parts: Uint8Array[], position: number): Promise<void> {
  let { bytesWritten: done } = parts.length === 1 ? await h.write(parts[0]!, 0, parts[0]!.length, position) : await h.writev(parts, position);
  let at = position;
  for (const part of parts) {
    if (done >= part.length) {
      done -= part.length;
      at += part.length;
      continue;
    }
    while (done < part.length) {
      const { bytesWritten } = await h.write(part, done, part.length - done, at + done);
      done += bytesWritten;
    }
    at += part.length;
    done = 0;
  }
}
