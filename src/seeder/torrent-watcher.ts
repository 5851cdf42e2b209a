/**
 * The watch folder (as btlaunchmany did): every `*.torrent` in `torrent_dir` is seeded.
 * fs.watch tells us quickly (debounced, since a copy fires many events), and a periodic
 * rescan catches what fs.watch misses (network file systems, a folder created later,
 * inotify limits). A file is re-read only when its size or mtime changes; a bad torrent is
 * reported once per version of the file and never stops the others.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_TORRENT_BYTES, parseMetainfo, type Metainfo } from '../codec/metainfo.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';

/** Reason: a copy into the folder fires a burst of events; half a second gathers them. */
export const DEBOUNCE_MS = 500;
/** Reason: fs.watch misses events on some file systems; 10 s keeps "starts within seconds". */
export const RESCAN_MS = 10_000;

export interface WatchedTorrent {
  file: string;
  meta?: Metainfo;
  error?: string;
}

export interface WatcherDeps {
  clock: Clock;
  log: Logger;
  onAdd(file: string, meta: Metainfo): void;
  onRemove(file: string): void;
  /** A file that cannot be seeded (not a torrent, unreadable); undefined when the problem is gone. */
  onError(file: string, error: string | undefined): void;
  /** seeder.max_files: a torrent of more files is refused before it is decoded. */
  maxFiles?: () => number;
}

export class TorrentWatcher {
  private readonly known = new Map<string, { key: string; ok: boolean }>();
  private watcher: FSWatcher | undefined;
  private debounce: { cancel(): void } | undefined;
  private periodic: { cancel(): void } | undefined;
  private scanning: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private dirProblem = '';

  constructor(
    private readonly deps: WatcherDeps,
    private dir: string,
  ) {}

  async start(): Promise<void> {
    await this.scan();
    this.schedulePeriodic();
  }

  private schedulePeriodic(): void {
    this.periodic = this.deps.clock.setTimeout(() => {
      void this.scan().finally(() => !this.closed && this.schedulePeriodic());
    }, RESCAN_MS);
  }

  private attachWatch(): void {
    if (this.watcher || this.closed) return;
    try {
      this.watcher = watch(this.dir, { persistent: false }, () => this.changed());
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      this.watcher = undefined; // the periodic rescan tries again
    }
  }

  /** Something changed in the folder: scan soon. */
  changed(): void {
    this.debounce?.cancel();
    this.debounce = this.deps.clock.setTimeout(() => void this.scan(), DEBOUNCE_MS);
  }

  /** Scans now (one scan at a time; a request during a scan runs another after it). */
  scan(): Promise<void> {
    if (this.scanning) {
      this.again = true;
      return this.scanning;
    }
    this.scanning = this.doScan()
      .catch((err) => this.deps.log.error(`scanning ${this.dir}: ${(err as Error).message}`))
      .finally(() => {
      this.scanning = undefined;
      if (this.again && !this.closed) {
        this.again = false;
        void this.scan();
      }
    });
    return this.scanning;
  }

  private async doScan(): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith('.torrent'));
      if (this.dirProblem) this.deps.log.info(`watch folder ${this.dir} is readable again`);
      this.dirProblem = '';
      this.attachWatch();
    } catch (err) {
      const msg = `cannot read the watch folder ${this.dir}: ${(err as Error).message}`;
      if (msg !== this.dirProblem) this.deps.log.warn(`${msg} (retrying every ${RESCAN_MS / 1000} s)`);
      this.dirProblem = msg;
      this.watcher?.close();
      this.watcher = undefined;
      names = [];
    }
    if (this.closed) return;
    const seen = new Set<string>();
    for (const name of names.sort()) {
      const file = join(this.dir, name);
      seen.add(file);
      let key: string;
      let size: number;
      try {
        const st = await stat(file);
        if (!st.isFile()) continue;
        key = `${st.size}:${st.mtimeMs}`;
        size = st.size;
      } catch {
        continue;
      }
      const before = this.known.get(file);
      if (before?.key === key) continue;
      let meta: Metainfo | undefined;
      let error: string | undefined;
      try {
        if (size > MAX_TORRENT_BYTES) throw new Error(`torrent file larger than ${MAX_TORRENT_BYTES >> 20} MiB`);
        const maxFiles = this.deps.maxFiles?.();
        meta = parseMetainfo(await readFile(file), maxFiles !== undefined ? { maxFiles, limitName: 'seeder.max_files' } : {});
      } catch (err) {
        error = (err as Error).message;
      }
      if (this.closed) return;
      if (before?.ok) this.deps.onRemove(file);
      this.known.set(file, { key, ok: meta !== undefined });
      if (meta) {
        if (before && !before.ok) this.deps.onError(file, undefined);
        this.deps.onAdd(file, meta);
      } else {
        this.deps.log.warn(`${name}: not seeded: ${error}`);
        this.deps.onError(file, error);
      }
    }
    for (const [file, k] of this.known) {
      if (seen.has(file)) continue;
      this.known.delete(file);
      if (k.ok) this.deps.onRemove(file);
      else this.deps.onError(file, undefined);
    }
  }

  /** Reads `file` again at the next scan (it may be seedable now). */
  forget(file: string): void {
    this.known.delete(file);
    this.changed();
  }

  /** A new folder after a reload. */
  setDir(dir: string): void {
    if (dir === this.dir) return;
    this.dir = dir;
    this.watcher?.close();
    this.watcher = undefined;
    this.changed();
  }

  close(): void {
    this.closed = true;
    this.debounce?.cancel();
    this.periodic?.cancel();
    this.watcher?.close();
    this.watcher = undefined;
  }
}
