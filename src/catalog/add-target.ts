/**
 * `meshseed add <magnet | info hash | URL of a .torrent>`, as the daemon carries it out (the
 * CLI sends it over the control socket): a magnet or a bare info hash becomes a `.magnet`
 * file in torrent_dir, completed by the magnet service (BEP 9); a URL is fetched (bounded,
 * like a catalog's torrents), validated by the metainfo parser and written as
 * `<name>.torrent`. A local `.torrent` file (`meshseed add ./x.torrent`) is read by the CLI
 * itself and placed here (addTorrentBytes). Every write is atomic, a torrent already there (same info hash,
 * whatever its file name) is not added twice; the answer is one line for the operator.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildMagnet, parseInfoHash } from '../codec/magnet.js';
import { parseMetainfo, type Metainfo } from '../codec/metainfo.js';
import { MeshseedError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { torrentFileName } from './catalog-plan.js';
import { httpGet } from './http-get.js';
import { FETCH_TIMEOUT_MS, MAX_CATALOG_TORRENT_BYTES, holdsTorrent } from './catalog-service.js';
import { MAGNET_SUFFIX, readMagnetText } from './magnet-service.js';

export interface AddDeps {
  torrentDir: string;
  /** Tells the magnet service a .magnet is there. */
  kickMagnets?(): void;
  /** The .torrent file of torrent_dir that holds this info hash, if any (the daemon: the seeder's). */
  knownFile?(infoHashHex: string): string | undefined;
  timeoutMs?: number;
}

/** Writes a checked torrent as `<name>.torrent` in torrent_dir (another name when that one holds another torrent). */
function placeTorrent(bytes: Uint8Array, meta: Metainfo, deps: AddDeps, verb: string): string {
  const known = deps.knownFile?.(meta.infoHashHex);
  if (known !== undefined) return `${meta.infoHashHex} (${meta.name}) is already in ${deps.torrentDir}, as ${known.split('/').pop()}`;
  let file = torrentFileName(meta.name, meta.infoHashHex);
  if (existsSync(join(deps.torrentDir, file))) {
    if (holdsTorrent(join(deps.torrentDir, file), meta.infoHashHex)) return `${file} is already in ${deps.torrentDir}`;
    file = file.replace(/\.torrent$/, `-${meta.infoHashHex.slice(0, 8)}.torrent`);
  }
  writeFileAtomic(join(deps.torrentDir, file), bytes, { overwrite: true });
  return `${file} ${verb} ${deps.torrentDir} (${meta.infoHashHex}, ${meta.files.length} file(s), ${meta.length} bytes)`;
}

/** The .torrent file of `dir` holding `infoHashHex` (each file read bounded; for the CLI, which may block). */
export function torrentFileHolding(dir: string, infoHashHex: string): string | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  return names.filter((n) => n.endsWith('.torrent') && !n.startsWith('.')).find((n) => holdsTorrent(join(dir, n), infoHashHex));
}

/**
 * `meshseed add ./x.torrent`, once the CLI has read and checked the file: copied into
 * torrent_dir unless a torrent with its info hash is there already, under any name. The
 * daemon's watch folder picks it up (it need not be running).
 */
export function addTorrentBytes(bytes: Uint8Array, meta: Metainfo, torrentDir: string): string {
  mkdirSync(torrentDir, { recursive: true });
  return placeTorrent(bytes, meta, { torrentDir, knownFile: (h) => torrentFileHolding(torrentDir, h) }, 'copied into');
}

export async function addTarget(target: string, deps: AddDeps): Promise<string> {
  const t = target.trim();
  mkdirSync(deps.torrentDir, { recursive: true });
  if (/^magnet:/i.test(t) || parseInfoHash(t)) {
    const m = readMagnetText(t);
    const file = `${m.infoHashHex}${MAGNET_SUFFIX}`;
    // the torrent is there already: the magnet service would only delete the .magnet
    const known = deps.knownFile?.(m.infoHashHex);
    if (known !== undefined) return `${m.infoHashHex} is already in ${deps.torrentDir}, as ${known.split('/').pop()}`;
    if (existsSync(join(deps.torrentDir, file))) return `${file} is already in ${deps.torrentDir}: its metadata is being fetched (meshseed status shows it)`;
    writeFileAtomic(join(deps.torrentDir, file), Buffer.from(`${buildMagnet(m)}\n`), { overwrite: true });
    deps.kickMagnets?.();
    return `${file} written in ${deps.torrentDir}: the metadata of ${m.infoHashHex}${m.name ? ` (${m.name})` : ''} is fetched from peers, then <name>.torrent replaces it (meshseed status shows it)`;
  }
  if (/^https?:\/\//i.test(t)) {
    const r = await httpGet(t, { maxBytes: MAX_CATALOG_TORRENT_BYTES, timeoutMs: deps.timeoutMs ?? FETCH_TIMEOUT_MS });
    let meta;
    try {
      meta = parseMetainfo(r.body);
    } catch (err) {
      throw new MeshseedError('EMETAINFO', `${t}: not a usable torrent: ${(err as Error).message}`);
    }
    return placeTorrent(r.body, meta, deps, 'written in');
  }
  throw new MeshseedError('EUSAGE', `'${t.slice(0, 80)}' is neither a magnet link, an info hash (40 hex digits) nor an http(s) URL of a .torrent (nor a .torrent file here)`);
}
