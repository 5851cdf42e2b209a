/**
 * The allow-list, as bttrack's `--allowed_dir` did: the `.torrent` files of one folder, plus
 * the info hashes listed in the settings (`list allowed_hash`). In `allowlist` mode only
 * these torrents are tracked; in `open` mode the folder still gives the stats page names.
 *
 * The folder is rescanned when it changes (fs.watch, debounced), every RESCAN_MS as a
 * fallback (fs.watch misses changes on some file systems and cannot watch a folder that
 * does not exist yet), and on `rescan()` (SIGHUP). A rescan parses only files whose size or
 * modification time changed. A file that does not parse is reported once per change and left
 * out.
 */
import { watch, type FSWatcher } from 'node:fs';
import { nodeFsPromises } from '../util/lazy-modules.js';
import { join } from 'node:path';
import { parseMetainfo, MAX_TORRENT_BYTES } from '../codec/metainfo.js';
import { describeError } from '../errors.js';
import type { Logger } from '../util/log.js';

export interface AllowedTorrent {
  name: string;
  /** Total bytes. */
  size: number;
  file: string;
  /** For the front page: files in the torrent, its own trackers (tiers flattened), web seeds. */
  files: number;
  trackers: string[];
  webSeeds: string[];
  /** BEP 27: its peers never travel by LPD or PEX (mesh discovery does not introduce it). */
  private: boolean;
}

/** Most .torrent files read from the folder (a router's folder holds tens, maybe thousands). */
export const MAX_ALLOWED_FILES = 100_000;
const DEBOUNCE_MS = 1000;
const RESCAN_MS = 60_000;

interface Cached {
  mtimeMs: number;
  size: number;
  /** latin1 key of the info hash, or undefined when the file did not parse. */
  key: string | undefined;
  torrent: AllowedTorrent | undefined;
}

export interface AccessListOptions {
  mode: 'open' | 'allowlist';
  dir: string;
  /** 40-hex info hashes. */
  hashes: readonly string[];
  /** A torrent of more files is not read (seeder.max_files: memory). */
  maxFiles?: number;
}

export const hexToKey = (hex: string): string => Buffer.from(hex, 'hex').toString('latin1');
export const keyToHex = (key: string): string => Buffer.from(key, 'latin1').toString('hex');

export class AccessList {
  private fromDir = new Map<string, AllowedTorrent>();
  private fromSettings = new Set<string>();
  private files = new Map<string, Cached>();
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private periodic: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(
    private readonly deps: { log: Logger; onChange?: () => void },
    private options: AccessListOptions,
  ) {
    this.setHashes(options.hashes);
  }

  get mode(): 'open' | 'allowlist' {
    return this.options.mode;
  }

  /** True when announces for this torrent are accepted. */
  allows(key: string): boolean {
    return this.options.mode === 'open' || this.fromDir.has(key) || this.fromSettings.has(key);
  }

  /** Name and size from the allowed folder, when known. */
  info(key: string): AllowedTorrent | undefined {
    return this.fromDir.get(key);
  }

  /** The allowed folder's .torrent file of a torrent, when it has one. */
  pathOf(key: string): string | undefined {
    const t = this.fromDir.get(key);
    return t ? join(this.options.dir, t.file) : undefined;
  }

  /** Every torrent of the allowed folder (in open mode too: it names the node's files). */
  dirKeys(): IterableIterator<string> {
    return this.fromDir.keys();
  }

  /** Every allowed torrent (folder and settings), as latin1 keys. */
  keys(): Set<string> {
    return new Set([...this.fromDir.keys(), ...this.fromSettings]);
  }

  get size(): number {
    return this.keys().size;
  }

  private setHashes(hashes: readonly string[]): void {
    this.fromSettings = new Set(hashes.map(hexToKey));
  }

  /** Starts watching; again after close() too (the tracker's start is retried when its port is taken). */
  async start(): Promise<void> {
    this.closed = false;
    await this.rescan();
    this.watchDir();
    this.periodic = setInterval(() => void this.rescan(), RESCAN_MS);
    this.periodic.unref();
  }

  /** New settings while not started: taken by the next start(), nothing scanned now. */
  configure(options: AccessListOptions): void {
    if (options.dir !== this.options.dir) this.files.clear();
    this.options = options;
    this.setHashes(options.hashes);
  }

  /** New settings (SIGHUP): the mode, the hashes and the folder; then a rescan. */
  async reload(options: AccessListOptions): Promise<void> {
    const dirChanged = options.dir !== this.options.dir;
    this.options = options;
    this.setHashes(options.hashes);
    if (dirChanged) {
      this.files.clear();
      this.watcher?.close();
      this.watcher = undefined;
    }
    await this.rescan();
    if (!this.watcher) this.watchDir();
  }

  private watchDir(): void {
    if (this.closed) return;
    try {
      this.watcher = watch(this.options.dir, { persistent: false }, () => {
        if (this.debounce) clearTimeout(this.debounce);
        this.debounce = setTimeout(() => void this.rescan(), DEBOUNCE_MS);
        this.debounce.unref();
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      this.watcher = undefined; // folder missing: the periodic rescan notices when it appears
    }
  }

  /** Rescans the folder; concurrent calls share one scan and run one more after it. */
  rescan(): Promise<void> {
    if (this.scanning) {
      this.again = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      do {
        this.again = false;
        await this.scanOnce();
      } while (this.again && !this.closed);
    })().finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const log = this.deps.log;
    // In open mode the folder only gives names to the stats page (the seeder, which watches
    // the same folder by default, reports bad files): say what it finds at debug level only.
    const report = this.options.mode === 'allowlist' ? log.warn : log.debug;
    const summary = this.options.mode === 'allowlist' ? log.info : log.debug;
    let names: string[];
    try {
      names = (await nodeFsPromises().readdir(this.options.dir)).filter((n) => n.endsWith('.torrent')).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`allowed_dir ${this.options.dir}: ${describeError(err)}`);
      names = [];
    }
    if (names.length > MAX_ALLOWED_FILES) {
      log.warn(`allowed_dir ${this.options.dir}: ${names.length} .torrent files, reading the first ${MAX_ALLOWED_FILES}`);
      names = names.slice(0, MAX_ALLOWED_FILES);
    }
    const next = new Map<string, Cached>();
    for (const name of names) {
      const file = join(this.options.dir, name);
      try {
        const st = await nodeFsPromises().stat(file);
        if (!st.isFile()) continue;
        const old = this.files.get(name);
        if (old && old.mtimeMs === st.mtimeMs && old.size === st.size) {
          next.set(name, old);
          continue;
        }
        if (st.size > MAX_TORRENT_BYTES) throw new Error(`larger than ${MAX_TORRENT_BYTES} bytes`);
        const m = parseMetainfo(await nodeFsPromises().readFile(file), this.options.maxFiles !== undefined ? { maxFiles: this.options.maxFiles, limitName: 'seeder.max_files' } : {});
        next.set(name, {
          mtimeMs: st.mtimeMs,
          size: st.size,
          key: hexToKey(m.infoHashHex),
          torrent: {
            name: m.name,
            size: m.length,
            file: name,
            files: m.files.filter((f) => !f.padding).length,
            trackers: m.announceTiers.flat(),
            webSeeds: m.urlList,
            private: m.private,
          },
        });
      } catch (err) {
        const old = this.files.get(name);
        // reported once per change of the file, not at every rescan
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        report(`allowed_dir: ${name} left out: ${describeError(err)}`);
        next.set(name, { mtimeMs: old?.mtimeMs ?? -1, size: old?.size ?? -1, key: undefined, torrent: undefined });
        try {
          const st = await nodeFsPromises().stat(file);
          next.get(name)!.mtimeMs = st.mtimeMs;
          next.get(name)!.size = st.size;
        } catch {}
      }
    }
    const fromDir = new Map<string, AllowedTorrent>();
    for (const c of next.values()) if (c.key && c.torrent && !fromDir.has(c.key)) fromDir.set(c.key, c.torrent);
    const changed = fromDir.size !== this.fromDir.size || [...fromDir.keys()].some((k) => !this.fromDir.has(k));
    this.files = next;
    this.fromDir = fromDir;
    if (changed) {
      summary(`allow-list: ${fromDir.size} torrent(s) from ${this.options.dir}, ${this.fromSettings.size} from allowed_hash`);
      this.deps.onChange?.();
    }
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    if (this.debounce) clearTimeout(this.debounce);
    if (this.periodic) clearInterval(this.periodic);
  }
}
