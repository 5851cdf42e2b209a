/**
 * `meshseed add <magnet | info hash | URL of a .torrent>`, as the daemon carries it out (the
 * CLI sends it over the control socket): a magnet or a bare info hash becomes a `.magnet`
 * file in torrent_dir, completed by the magnet service (BEP 9); a URL is fetched (bounded,
 * like a catalog's torrents), validated by the metainfo parser and written as
 * `<name>.torrent`. Every write is atomic; the answer is one line for the operator.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildMagnet, parseInfoHash } from '../codec/magnet.js';
import { parseMetainfo } from '../codec/metainfo.js';
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
  timeoutMs?: number;
}


export async function addTarget(target: string, deps: AddDeps): Promise<string> {
  const t = target.trim();
  mkdirSync(deps.torrentDir, { recursive: true });
  if (/^magnet:/i.test(t) || parseInfoHash(t)) {
    const m = readMagnetText(t);
    const file = `${m.infoHashHex}${MAGNET_SUFFIX}`;
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
    let file = torrentFileName(meta.name, meta.infoHashHex);
    if (existsSync(join(deps.torrentDir, file))) {
      if (holdsTorrent(join(deps.torrentDir, file), meta.infoHashHex)) return `${file} is already in ${deps.torrentDir}`;
      file = file.replace(/\.torrent$/, `-${meta.infoHashHex.slice(0, 8)}.torrent`);
    }
    writeFileAtomic(join(deps.torrentDir, file), r.body, { overwrite: true });
    return `${file} written in ${deps.torrentDir} (${meta.infoHashHex}, ${meta.files.length} file(s), ${meta.length} bytes)`;
  }
  throw new MeshseedError('EUSAGE', `'${t.slice(0, 80)}' is neither a magnet link, an info hash (40 hex digits) nor an http(s) URL of a .torrent`);
}
