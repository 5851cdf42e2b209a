/**
 * Magnets in the watch folder: a `.magnet` file in torrent_dir (written by `meshseed add`, or
 * dropped there by hand: a magnet link or a bare info hash, one line) is completed into a
 * `.torrent`. The info dict is fetched from peers (BEP 9, metadata-fetch.ts) found through the
 * magnet's own `tr` trackers, the mesh trackers, this node's own tracker, `x.pe` and the mesh
 * lookup (src/seeder/lookup.ts: peers heard by LPD, then the mesh trackers); it must hash to
 * the info hash. The `.torrent` (`<name>.torrent`) is written atomically and the
 * `.magnet` removed; the seeder (mirror mode) takes it from there.
 *
 * Trackers are asked again every REANNOUNCE_MS while the metadata is missing; a magnet waits
 * as long as its file is there. A file that is not a magnet is reported once per version.
 */
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Service } from '../daemon.js';
import type { Settings } from '../config/settings.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { describeError } from '../errors.js';
import { MAX_MAGNET_LENGTH, parseInfoHash, parseMagnet, type Magnet } from '../codec/magnet.js';
import { METADATA_FETCH_DEFAULTS, MetadataFetch, type MetadataFetchSettings } from '../seeder/metadata-fetch.js';
import type { OutgoingEncryption } from '../seeder/outgoing-encryption.js';
import { HttpAnnounceTransport, UdpAnnounceTransport, gatedLookup, type AnnounceTransport } from '../seeder/announce-transport.js';
import { torrentFromMagnet } from '../torrent/from-magnet.js';
import { torrentFileName } from './catalog-plan.js';
import { holdsTorrent } from './catalog-service.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export const MAGNET_SUFFIX = '.magnet';
/** The folder is looked at this often (and at once after `meshseed add`). */
export const MAGNET_SCAN_MS = 5_000;
/** Trackers are asked again this often while the metadata is missing. */
export const REANNOUNCE_MS = 30_000;
/** Magnets worked on at once; the others wait their turn. */
export const MAX_MAGNET_JOBS = 8;

export interface MagnetDeps {
  log: Logger;
  clock: Clock;
  peerId: Uint8Array;
  /** This node's own tracker's announce URL, when it runs. */
  ownTracker?(): string | undefined;
  /** The seeder's listen port (announced to trackers; 6881 when unknown). */
  listenPort?(): number | undefined;
  /** Info hashes already in torrent_dir: a magnet for one of them is done already. */
  knownHashes?(): Set<string>;
  /** The mesh lookup's peers of a torrent (LPD-heard peers, mesh trackers), asked with each announce. */
  meshPeers?(infoHashHex: string): Promise<{ address: string; port: number }[]>;
  /** Tests. */
  transports?: { http: AnnounceTransport; udp: AnnounceTransport };
  fetchSettings?: MetadataFetchSettings;
}

interface Job {
  file: string;
  magnet: Magnet;
  fetch: MetadataFetch;
  timer?: { cancel(): void };
  startedAt: number;
  trackersAsked: number;
}

/** A `.magnet` file's text: a magnet link, or a bare info hash (40 hex or 32 base32). */
export function readMagnetText(text: string): Magnet {
  const t = text.trim();
  const hex = parseInfoHash(t);
  if (hex) return { infoHashHex: hex, trackers: [], webSeeds: [], peers: [] };
  return parseMagnet(t);
}

export class MagnetService implements Service {
  readonly name = 'magnet';
  private readonly log: Logger;
  private readonly jobs = new Map<string, Job>();
  /** Files reported as unusable, with the mtime reported (once per version). */
  private readonly reported = new Map<string, number>();
  private timer: { cancel(): void } | undefined;
  private scanning: Promise<void> | undefined;
  private closed = false;
  private readonly http: AnnounceTransport;
  private readonly udp: AnnounceTransport;

  constructor(
    private readonly deps: MagnetDeps,
    private settings: Settings,
  ) {
    this.log = deps.log.child('magnet');
    const lookup = gatedLookup(deps.clock);
    this.http = deps.transports?.http ?? new HttpAnnounceTransport({ clock: deps.clock, lookup });
    this.udp = deps.transports?.udp ?? new UdpAnnounceTransport({ clock: deps.clock, lookup });
  }

  async start(): Promise<void> {
    await this.scan();
    this.schedule();
  }

  reload(settings: Settings): void {
    this.settings = settings;
    void this.scan();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.timer?.cancel();
    await this.scanning;
    for (const j of this.jobs.values()) this.stop(j);
    this.jobs.clear();
    this.udp.close?.();
    this.http.close?.();
  }

  /** Looks at the folder now (after `meshseed add` wrote a .magnet). */
  kick(): Promise<void> {
    return this.scan();
  }

  status(): unknown {
    return {
      magnets: [...this.jobs.values()].map((j) => ({
        file: j.file,
        infoHash: j.magnet.infoHashHex,
        ...(j.magnet.name !== undefined ? { name: j.magnet.name } : {}),
        state: 'fetching metadata',
        peersTried: j.fetch.failures.length,
        trackersAsked: j.trackersAsked,
        forS: Math.round((this.deps.clock.now() - j.startedAt) / 1000),
      })),
    };
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = this.deps.clock.setTimeout(() => void this.scan().finally(() => this.schedule()), MAGNET_SCAN_MS);
  }

  private scan(): Promise<void> {
    this.scanning ??= this.scanOnce()
      .catch((err) => this.log.warn(`cannot read ${this.settings['seeder.torrent_dir']}: ${describeError(err)}`))
      .finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const dir = this.settings['seeder.torrent_dir'];
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n.endsWith(MAGNET_SUFFIX)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') names = [];
      else throw err;
    }
    const present = new Set(names);
    for (const [file, j] of this.jobs)
      if (!present.has(file)) {
        this.stop(j);
        this.jobs.delete(file);
        this.log.info(`${file}: removed from ${dir}, metadata no longer fetched`);
      }
    const known = this.deps.knownHashes?.() ?? new Set<string>();
    for (const file of names) {
      if (this.closed || this.jobs.has(file)) continue;
      const path = join(dir, file);
      let magnet: Magnet;
      try {
        const st = await stat(path);
        if (this.reported.get(file) === st.mtimeMs) continue;
        if (st.size > MAX_MAGNET_LENGTH) throw new Error(`larger than ${MAX_MAGNET_LENGTH} bytes`);
        magnet = readMagnetText(await readFile(path, 'utf8'));
        if (known.has(magnet.infoHashHex)) {
          await unlink(path);
          this.log.info(`${file}: ${magnet.infoHashHex} is already in ${dir}; magnet removed`);
          continue;
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        const st = await stat(path).catch(() => undefined);
        this.reported.set(file, st?.mtimeMs ?? -1);
        this.log.warn(`${file}: not a usable magnet: ${describeError(err)}`);
        continue;
      }
      if (this.jobs.size >= MAX_MAGNET_JOBS) break;
      this.begin(file, magnet);
    }
  }

  private begin(file: string, magnet: Magnet): void {
    const fetch = new MetadataFetch(
      { clock: this.deps.clock, peerId: this.deps.peerId, debug: (l) => this.log.debug(`${file}: ${l}`) },
      { ...(this.deps.fetchSettings ?? METADATA_FETCH_DEFAULTS), encryption: this.settings['seeder.outgoing_encryption'] as OutgoingEncryption },
      Buffer.from(magnet.infoHashHex, 'hex'),
    );
    const job: Job = { file, magnet, fetch, startedAt: this.deps.clock.now(), trackersAsked: 0 };
    this.jobs.set(file, job);
    this.log.info(`${file}: fetching the metadata of ${magnet.infoHashHex}${magnet.name ? ` (${magnet.name})` : ''} from peers`);
    fetch.addPeers(magnet.peers.map((p) => ({ address: p.host, port: p.port })));
    void fetch.start().then((info) => this.complete(job, info));
    this.announce(job);
  }

  /** The trackers a magnet's peers are looked up on: its own, the mesh trackers, this node's. */
  private trackersOf(magnet: Magnet): string[] {
    const own = this.deps.ownTracker?.();
    return [...new Set([...magnet.trackers, ...this.settings['seeder.mesh_tracker'], ...(own ? [own] : [])])];
  }

  private announce(job: Job): void {
    if (this.closed || this.jobs.get(job.file) !== job) return;
    const req = {
      infoHash: Buffer.from(job.magnet.infoHashHex, 'hex'),
      peerId: this.deps.peerId,
      port: this.deps.listenPort?.() ?? 6881,
      uploaded: 0,
      downloaded: 0,
      // the length is unknown until the metadata is here: 1 says "not a seeder"
      left: job.magnet.length ?? 1,
      event: 'started' as const,
      numwant: 50,
      key: 0,
    };
    for (const t of this.trackersOf(job.magnet)) {
      let url: URL;
      try {
        url = new URL(t);
      } catch {
        continue;
      }
      const transport = url.protocol === 'udp:' ? this.udp : url.protocol === 'http:' || url.protocol === 'https:' ? this.http : undefined;
      if (!transport) continue;
      job.trackersAsked++;
      transport.announce(url, req).then(
        (r) => job.fetch.addPeers(r.peers),
        (err) => this.log.debug(`${job.file}: ${t}: ${describeError(err)}`),
      );
    }
    this.deps.meshPeers?.(job.magnet.infoHashHex).then(
      (peers) => job.fetch.addPeers(peers),
      (err) => this.log.debug(`${job.file}: mesh lookup: ${describeError(err)}`),
    );
    job.timer = this.deps.clock.setTimeout(() => this.announce(job), REANNOUNCE_MS);
  }

  private stop(job: Job): void {
    job.timer?.cancel();
    job.fetch.close();
  }

  private async complete(job: Job, info: Uint8Array): Promise<void> {
    this.stop(job);
    if (this.jobs.get(job.file) !== job) return;
    this.jobs.delete(job.file);
    const dir = this.settings['seeder.torrent_dir'];
    try {
      const { bytes, meta } = torrentFromMagnet(job.magnet, info);
      let name = torrentFileName(meta.name, meta.infoHashHex);
      const target = join(dir, name);
      const existing = await stat(target).then(
        () => true,
        () => false,
      );
      if (existing && !holdsTorrent(target, meta.infoHashHex)) name = name.replace(/\.torrent$/, `-${meta.infoHashHex.slice(0, 8)}.torrent`);
      if (!existing || name !== torrentFileName(meta.name, meta.infoHashHex)) writeFileAtomic(join(dir, name), bytes, { overwrite: true });
      await unlink(join(dir, job.file)).catch(() => undefined);
      this.log.info(`${job.file}: metadata received (${info.length} bytes, ${meta.files.length} file(s), ${meta.length} bytes of data); wrote ${name}`);
    } catch (err) {
      // a hostile info dict (bad paths…): the magnet stays, reported once
      this.reported.set(job.file, (await stat(join(dir, job.file)).catch(() => undefined))?.mtimeMs ?? -1);
      this.log.warn(`${job.file}: the metadata peers gave is refused: ${describeError(err)}`);
    }
  }
}
