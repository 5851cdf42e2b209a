/**
 * Catalog subscriptions (`list seeder.catalog 'URL'`): every `catalog_interval` (with up to
 * 10% jitter, so a mesh of routers restarted together does not fetch in step) each catalog is
 * fetched with a conditional GET, parsed (catalog.json, RSS/Atom, directory listing), and each
 * `.torrent` it lists that is new is downloaded, validated by the metainfo parser and written
 * atomically into torrent_dir, where the seeder (and mirror mode) picks it up.
 *
 * Hostile input changes nothing: a catalog that is too big, too slow, or not a catalog, and a
 * `.torrent` that is too big or does not parse (hostile paths included) or whose info hash is
 * not the one its catalog announced, is refused with one log line naming the URL (repeated
 * only when the problem changes), and the subscription keeps what it had.
 *
 * With `catalog_remove`, a torrent this subscription added is removed (its `.torrent` only,
 * never data) once the catalog stops listing it; what it added is kept in
 * `<state_dir>/catalog-subscriptions.json` (written atomically, only when it changes). With
 * `max_disk_mb`, torrents that do not fit wait, in catalog order (catalog-plan.ts).
 */
import { readFileSync, statSync, unlinkSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Service } from '../daemon.js';
import type { Settings } from '../config/settings.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { describeError } from '../errors.js';
import { MAX_TORRENT_BYTES, parseMetainfo, type Metainfo } from '../codec/metainfo.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { MAX_CATALOG_BYTES, parseCatalog, type CatalogEntry } from './catalog-parse.js';
import { planDisk, planFetch, torrentFileName, type AddedTorrent } from './catalog-plan.js';
import { httpGet, type GetResult } from './http-get.js';

export const CATALOG_STATE_FILE = 'catalog-subscriptions.json';
/** A catalog or a .torrent must arrive whole within this. */
export const FETCH_TIMEOUT_MS = 30_000;
/** A .torrent larger than this is refused (a few MiB describe terabytes). */
export const MAX_CATALOG_TORRENT_BYTES = 8 << 20;
/** Most .torrent files downloaded in one round of one catalog; the rest come next round. */
export const MAX_DOWNLOADS_PER_ROUND = 200;
/** The first fetch after start (or after a catalog is added) comes within this. */
/** The state file is this node's own; a larger one is damaged, not read (it lists names and hashes of added torrents). */
export const MAX_STATE_BYTES = 4 << 20;
const FIRST_FETCH_MS = 2000;
const MB = 1024 * 1024;

export interface CatalogDeps {
  log: Logger;
  clock: Clock;
  /** Bytes of data the torrents already in torrent_dir describe (for max_disk_mb). */
  usedBytes?(): number;
  /** Info hashes already in torrent_dir (a catalog torrent already there is not written twice). */
  knownHashes?(): Set<string>;
  /** 0 ≤ x < 1, for jitter (tests pass a fixed one). */
  random?(): number;
  /** Tests: a shorter deadline than FETCH_TIMEOUT_MS for each fetch. */
  timeoutMs?: number;
}

interface Subscription {
  url: string;
  etag?: string;
  lastModified?: string;
  added: Map<string, AddedTorrent>;
  /** Torrent URLs that failed since the catalog last changed. */
  failed: Set<string>;
  /** Over max_disk_mb: URL → what is known of it. */
  waiting: Map<string, { infoHashHex: string; name: string; size: number }>;
  /** The last catalog's entries (a 304 re-plans from them). */
  entries: CatalogEntry[] | undefined;
  timer?: { cancel(): void };
  lastFetch?: number;
  lastResult: string;
  /** The last problem logged for the catalog itself, so it is logged once, not every round. */
  lastProblem?: string;
  running?: Promise<void>;
}

interface StateFile {
  version: 1;
  subscriptions: Record<string, { added: Record<string, AddedTorrent> }>;
}

export class CatalogService implements Service {
  readonly name = 'catalog';
  private readonly subs = new Map<string, Subscription>();
  private readonly log: Logger;
  private closed = false;
  private lastSaved = '';

  constructor(
    private readonly deps: CatalogDeps,
    private settings: Settings,
  ) {
    this.log = deps.log.child('catalog');
  }

  private get statePath(): string {
    return join(this.settings['main.state_dir'], CATALOG_STATE_FILE);
  }

  async start(): Promise<void> {
    const saved = this.loadState();
    this.sync(saved);
    if (this.subs.size) this.log.info(`${this.subs.size} catalog(s), fetched every ${this.settings['seeder.catalog_interval']} s${this.settings['seeder.catalog_remove'] ? ', removing torrents that leave them' : ''}`);
  }

  reload(settings: Settings): void {
    const intervalChanged = settings['seeder.catalog_interval'] !== this.settings['seeder.catalog_interval'];
    this.settings = settings;
    this.sync(undefined, intervalChanged);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.subs.values()) s.timer?.cancel();
    await Promise.all([...this.subs.values()].map((s) => s.running));
    this.saveState();
  }

  /** Fetches every catalog now (tests, SIGHUP-free checks); resolves when the round is done. */
  async refreshAll(): Promise<void> {
    await Promise.all([...this.subs.values()].map((s) => this.round(s)));
  }

  status(): unknown {
    return {
      catalogs: [...this.subs.values()].map((s) => ({
        url: s.url,
        lastResult: s.lastResult,
        ...(s.lastFetch !== undefined ? { lastFetchAgoS: Math.round((this.deps.clock.now() - s.lastFetch) / 1000) } : {}),
        listed: s.entries?.length ?? 0,
        added: [...s.added.values()].filter((a) => a.file !== '').length,
        failed: s.failed.size,
        waiting: [...s.waiting.values()].map((w) => ({ name: w.name, infoHash: w.infoHashHex, size: w.size, state: 'waiting: over max_disk_mb' })),
      })),
    };
  }

  // ---- subscriptions ----

  /** Follows the settings' list: new catalogs are fetched soon, dropped ones forgotten. */
  private sync(saved: StateFile | undefined, reschedule = false): void {
    const urls = [...new Set(this.settings['seeder.catalog'])];
    for (const [url, s] of this.subs)
      if (!urls.includes(url)) {
        s.timer?.cancel();
        this.subs.delete(url);
      }
    for (const url of urls) {
      let s = this.subs.get(url);
      if (!s) {
        // the catalog's entries are not kept across a restart: it is fetched whole once (no ETag)
        const old = saved?.subscriptions[url];
        s = {
          url,
          added: new Map(Object.entries(old?.added ?? {})),
          failed: new Set(),
          waiting: new Map(),
          entries: undefined,
          lastResult: 'not fetched yet',
        };
        this.subs.set(url, s);
        this.schedule(s, this.jitter(FIRST_FETCH_MS));
      } else if (reschedule) {
        s.timer?.cancel();
        this.schedule(s, this.nextDelay());
      }
    }
  }

  private jitter(ms: number): number {
    return Math.floor((this.deps.random ?? Math.random)() * ms);
  }

  private nextDelay(): number {
    const base = this.settings['seeder.catalog_interval'] * 1000;
    return base + this.jitter(base / 10);
  }

  private schedule(s: Subscription, ms: number): void {
    if (this.closed) return;
    s.timer = this.deps.clock.setTimeout(() => {
      void this.round(s).finally(() => {
        if (this.subs.get(s.url) === s) this.schedule(s, this.nextDelay());
      });
    }, ms);
  }

  /** One round for one catalog; concurrent calls share it. */
  private round(s: Subscription): Promise<void> {
    s.running ??= this.fetchCatalog(s)
      .catch((err) => this.problem(s, describeError(err)))
      .finally(() => {
        s.running = undefined;
        this.saveState();
      });
    return s.running;
  }

  private problem(s: Subscription, what: string): void {
    s.lastResult = what;
    if (s.lastProblem === what) return;
    s.lastProblem = what;
    this.log.warn(`${s.url}: ${what}; keeping what it gave before`);
  }

  private async fetchCatalog(s: Subscription): Promise<void> {
    s.lastFetch = this.deps.clock.now();
    const r = await httpGet(s.url, {
      maxBytes: MAX_CATALOG_BYTES,
      timeoutMs: this.deps.timeoutMs ?? FETCH_TIMEOUT_MS,
      ...(s.entries && s.etag ? { etag: s.etag } : {}),
      ...(s.entries && s.lastModified ? { lastModified: s.lastModified } : {}),
    });
    let entries: CatalogEntry[];
    if (r.status === 304 && s.entries) {
      entries = s.entries;
      s.lastResult = `${s.lastResult.replace(/ \(unchanged\)$/, '')} (unchanged)`;
      if (s.waiting.size === 0) return;
    } else {
      const parsed = parseCatalog(r.body.toString('utf8'), r.url, r.contentType);
      if (parsed.truncated) this.log.warn(`${s.url}: ${parsed.truncated} entries past the first ${parsed.entries.length} left out`);
      const changed = !s.entries || s.entries.map((e) => e.url).join('\n') !== parsed.entries.map((e) => e.url).join('\n');
      if (changed) s.failed.clear();
      entries = parsed.entries;
      s.entries = entries;
      s.lastResult = `ok: ${parsed.kind}, ${entries.length} torrent(s)`;
      s.lastProblem = undefined;
      if (r.etag) s.etag = r.etag;
      else delete s.etag;
      if (r.lastModified) s.lastModified = r.lastModified;
      else delete s.lastModified;
    }
    await this.apply(s, entries);
  }

  /** Downloads what is new, writes what fits, removes what left (with catalog_remove). */
  private async apply(s: Subscription, entries: CatalogEntry[]): Promise<void> {
    const plan = planFetch(
      entries.map((e) => e.url),
      s.added,
      s.failed,
      false,
    );
    const byUrl = new Map(entries.map((e) => [e.url, e]));
    const known = this.deps.knownHashes?.() ?? new Set<string>();
    const fetched = new Map<string, { bytes?: Buffer; meta: { infoHashHex: string; name: string; size: number } }>();
    let downloads = 0;
    for (const url of plan.fetch) {
      if (this.closed) return;
      const w = s.waiting.get(url);
      if (w) {
        fetched.set(url, { meta: w });
        continue;
      }
      if (downloads++ >= MAX_DOWNLOADS_PER_ROUND) break;
      const t = await this.download(s, url, byUrl.get(url)?.infoHashHex);
      if (!t) continue;
      if (known.has(t.meta.infoHashHex)) {
        // already in torrent_dir (put there by hand or by another catalog): not ours to remove
        s.added.set(url, { infoHashHex: t.meta.infoHashHex, file: '', size: t.meta.length });
        continue;
      }
      fetched.set(url, { bytes: t.bytes, meta: { infoHashHex: t.meta.infoHashHex, name: t.meta.name, size: t.meta.length } });
    }
    // max_disk_mb: in catalog order, what fits is written, the rest waits
    const disk = planDisk(
      [...fetched].map(([url, f]) => ({ key: url, size: f.meta.size })),
      this.deps.usedBytes?.() ?? 0,
      this.settings['seeder.max_disk_mb'] * MB,
    );
    let written = 0;
    for (const url of disk.admit) {
      const f = fetched.get(url)!;
      let bytes = f.bytes;
      if (!bytes) {
        const again = await this.download(s, url, f.meta.infoHashHex);
        if (!again) continue;
        bytes = again.bytes;
      }
      s.waiting.delete(url);
      const file = this.write(s, url, bytes, f.meta);
      if (file !== undefined) {
        s.added.set(url, { infoHashHex: f.meta.infoHashHex, file, size: f.meta.size });
        written++;
      }
    }
    const newlyWaiting = disk.wait.filter((u) => !s.waiting.has(u));
    for (const url of disk.wait) s.waiting.set(url, fetched.get(url)!.meta);
    for (const url of s.waiting.keys()) if (!byUrl.has(url)) s.waiting.delete(url);
    let removed = 0;
    for (const url of plan.gone) {
      if (this.settings['seeder.catalog_remove']) {
        if (this.remove(s, url)) removed++;
      } else if (s.added.get(url)?.file === '') s.added.delete(url);
    }
    if (written || removed || newlyWaiting.length)
      this.log.info(
        `${s.url}: ${written} torrent(s) added, ${removed} removed` +
          (s.waiting.size ? `, ${s.waiting.size} waiting (over max_disk_mb ${this.settings['seeder.max_disk_mb']})` : ''),
      );
  }

  /** One .torrent: fetched, bounded, parsed; undefined (and one log line) when refused. */
  private async download(s: Subscription, url: string, expectHex: string | undefined): Promise<{ bytes: Buffer; meta: Metainfo } | undefined> {
    let r: GetResult;
    try {
      r = await httpGet(url, { maxBytes: MAX_CATALOG_TORRENT_BYTES, timeoutMs: this.deps.timeoutMs ?? FETCH_TIMEOUT_MS });
      const meta = parseMetainfo(r.body);
      if (expectHex && meta.infoHashHex !== expectHex) throw new Error(`its info hash is ${meta.infoHashHex}, the catalog said ${expectHex}`);
      return { bytes: r.body, meta };
    } catch (err) {
      s.failed.add(url);
      this.log.warn(`${url} (from ${s.url}) refused: ${describeError(err).replace(`${url}: `, '')}`);
      return undefined;
    }
  }

  /** Writes into torrent_dir atomically; returns the file name, or undefined (logged). */
  private write(s: Subscription, url: string, bytes: Buffer, meta: { infoHashHex: string; name: string }): string | undefined {
    const dir = this.settings['seeder.torrent_dir'];
    try {
      mkdirSync(dir, { recursive: true });
      let file = torrentFileName(meta.name, meta.infoHashHex);
      if (existsSync(join(dir, file))) {
        if (holdsTorrent(join(dir, file), meta.infoHashHex)) return file;
        file = file.replace(/\.torrent$/, `-${meta.infoHashHex.slice(0, 8)}.torrent`);
        if (existsSync(join(dir, file)) && holdsTorrent(join(dir, file), meta.infoHashHex)) return file;
      }
      writeFileAtomic(join(dir, file), bytes);
      return file;
    } catch (err) {
      s.failed.add(url);
      this.log.error(`${url}: cannot write into ${dir}: ${describeError(err)}`);
      return undefined;
    }
  }

  /** Removes a .torrent this subscription added (if it still is that torrent); never data. */
  private remove(s: Subscription, url: string): boolean {
    const a = s.added.get(url)!;
    s.added.delete(url);
    if (a.file === '') return false;
    const path = join(this.settings['seeder.torrent_dir'], a.file);
    if (!holdsTorrent(path, a.infoHashHex)) return false; // replaced or already gone: not ours any more
    try {
      unlinkSync(path);
      this.log.info(`${a.file} removed: it left ${s.url} (its data stays)`);
      return true;
    } catch (err) {
      this.log.error(`cannot remove ${path}: ${describeError(err)}`);
      return false;
    }
  }

  // ---- state file ----

  private loadState(): StateFile | undefined {
    try {
      const size = statSync(this.statePath).size;
      if (size > MAX_STATE_BYTES) throw new Error(`larger than ${MAX_STATE_BYTES >> 20} MiB (${size} bytes)`);
      const doc = JSON.parse(readFileSync(this.statePath, 'utf8')) as StateFile;
      if (doc?.version !== 1 || typeof doc.subscriptions !== 'object') throw new Error('not a version 1 state file');
      return doc;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn(`${this.statePath}: ${describeError(err)}; starting with no record of added torrents`);
      return undefined;
    }
  }

  private saveState(): void {
    const doc: StateFile = { version: 1, subscriptions: {} };
    for (const s of this.subs.values()) doc.subscriptions[s.url] = { added: Object.fromEntries(s.added) };
    const text = JSON.stringify(doc);
    if (text === this.lastSaved) return;
    try {
      mkdirSync(this.settings['main.state_dir'], { recursive: true });
      writeFileAtomic(this.statePath, Buffer.from(text), { overwrite: true });
      this.lastSaved = text;
    } catch (err) {
      this.log.error(`cannot write ${this.statePath}: ${describeError(err)}`);
    }
  }
}

/** Whether the file at `path` is the torrent `infoHashHex`; its size is checked before it is read. */
export function holdsTorrent(path: string, infoHashHex: string): boolean {
  try {
    if (statSync(path).size > MAX_TORRENT_BYTES) return false;
    return parseMetainfo(readFileSync(path)).infoHashHex === infoHashHex;
  } catch {
    return false;
  }
}
