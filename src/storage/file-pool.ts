/**
 * A small LRU of open read-only file descriptors, shared by every torrent, so seeding
 * thousands of files never holds more than a few descriptors (a router's ulimit is 1024
 * for every process together). A handle in use is never closed under its reader: it is
 * closed when it is released after being evicted.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { identityOf } from './file-identity.js';

interface Entry {
  handle: Promise<FileHandle>;
  /** The identity checked at open, if one was asked for. */
  id?: string;
  users: number;
  evicted: boolean;
}

async function openChecked(path: string, expectId: string | undefined): Promise<FileHandle> {
  const h = await open(path, 'r');
  if (expectId === undefined) return h;
  const id = identityOf(await h.stat({ bigint: true }));
  if (id === expectId) return h;
  await h.close().catch(() => {});
  throw new Error(`${path} is no longer the file that was checked`);
}

/** Reason: 8 descriptors cover the files being read by a few peers at once on a router. */
export const DEFAULT_MAX_OPEN_FILES = 8;

export class FilePool {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxOpen = DEFAULT_MAX_OPEN_FILES) {}

  get openCount(): number {
    return this.entries.size;
  }

  /**
   * Runs `fn` with an open handle of `path` (opened read-only); the handle stays cached.
   * With `expectId` (`device:inode`, see file-identity.ts) a newly opened descriptor must be
   * that file: one swapped since it was stamped (for a link elsewhere) is refused.
   */
  async with<T>(path: string, fn: (h: FileHandle) => Promise<T>, expectId?: string): Promise<T> {
    let e = this.entries.get(path);
    if (e && expectId !== undefined && e.id !== expectId) {
      this.forget(path);
      e = undefined;
    }
    if (e) {
      // most recently used goes last
      this.entries.delete(path);
      this.entries.set(path, e);
    } else {
      e = { handle: openChecked(path, expectId), users: 0, evicted: false, ...(expectId !== undefined ? { id: expectId } : {}) };
      this.entries.set(path, e);
      this.evict();
    }
    const entry = e;
    entry.users++;
    try {
      const h = await entry.handle;
      return await fn(h);
    } catch (err) {
      // a handle that failed to open (or a file that went away) is not kept
      if (this.entries.get(path) === entry) this.entries.delete(path);
      entry.evicted = true;
      throw err;
    } finally {
      entry.users--;
      if (entry.evicted && entry.users === 0) void entry.handle.then((h) => h.close()).catch(() => {});
    }
  }

  private evict(): void {
    for (const [path, e] of this.entries) {
      if (this.entries.size <= this.maxOpen) break;
      this.entries.delete(path);
      e.evicted = true;
      if (e.users === 0) void e.handle.then((h) => h.close()).catch(() => {});
    }
  }

  /** Closes the handle of `path` (its file changed or its torrent was removed). */
  forget(path: string): void {
    const e = this.entries.get(path);
    if (!e) return;
    this.entries.delete(path);
    e.evicted = true;
    if (e.users === 0) void e.handle.then((h) => h.close()).catch(() => {});
  }

  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(
      all.map(async (e) => {
        e.evicted = true;
        if (e.users === 0) await e.handle.then((h) => h.close()).catch(() => {});
      }),
    );
  }
}
