/**
 * A small LRU of open read-only file descriptors, shared by every torrent, so seeding
 * thousands of files never holds more than a few descriptors (a router's ulimit is 1024
 * for every process together). A handle in use is never closed under its reader: it is
 * closed when it is released after being evicted.
 */
import { open, type FileHandle } from 'node:fs/promises';

interface Entry {
  handle: Promise<FileHandle>;
  users: number;
  evicted: boolean;
}

/** Reason: 8 descriptors cover the files being read by a few peers at once on a router. */
export const DEFAULT_MAX_OPEN_FILES = 8;

export class FilePool {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxOpen = DEFAULT_MAX_OPEN_FILES) {}

  get openCount(): number {
    return this.entries.size;
  }

  /** Runs `fn` with an open handle of `path` (opened read-only); the handle stays cached. */
  async with<T>(path: string, fn: (h: FileHandle) => Promise<T>): Promise<T> {
    let e = this.entries.get(path);
    if (e) {
      // most recently used goes last
      this.entries.delete(path);
      this.entries.set(path, e);
    } else {
      e = { handle: open(path, 'r'), users: 0, evicted: false };
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
