/**
 * Builds a v1 .torrent (BEP 3) from a file list and its piece hashes. Pure: no files.
 *
 * It writes what mktorrent 1.1 writes, so the same data and piece length give the same
 * info hash: `info` holds `length` (one file) or `files` (a list of `length`, `path`),
 * `name`, `piece length`, `pieces`, then `private` = 1 only when set (BEP 27; never a
 * `private` = 0, which would change the info hash) and `source` only when given. Outside
 * `info`: `announce` (the first URL of the first tier), `announce-list` (BEP 12) only when
 * there is more than one URL, `url-list` (BEP 19) as a string for one web seed and a list
 * for several (never BEP 17 `httpseeds`), `comment`, `created by`, `creation date`.
 */
import { encode, type EncodableValue } from '../codec/bencode.js';
import { usageError } from '../errors.js';

export interface TorrentFileSpec {
  /** Path components below the torrent's folder. */
  path: string[];
  length: number;
}

export interface TorrentSpec {
  name: string;
  pieceLength: number;
  /** Concatenated 20-byte SHA-1 piece hashes. */
  pieces: Uint8Array;
  /** One file: its length. */
  length?: number;
  /** A folder: its files, in the order of the stream. */
  files?: TorrentFileSpec[];
  announceTiers: string[][];
  webSeeds: string[];
  private: boolean;
  comment?: string;
  source?: string;
  createdBy: string;
  /** Seconds since the epoch; left out when undefined. */
  creationDate?: number;
}

export function buildTorrent(spec: TorrentSpec): Uint8Array {
  if ((spec.length === undefined) === (spec.files === undefined)) throw new Error('a torrent has either length or files');
  const info: Record<string, EncodableValue | undefined> = {
    name: spec.name,
    'piece length': spec.pieceLength,
    pieces: spec.pieces,
    private: spec.private ? 1 : undefined,
    source: spec.source,
  };
  if (spec.files) info.files = spec.files.map((f) => ({ length: f.length, path: f.path }));
  else info.length = spec.length;
  const tiers = spec.announceTiers.filter((t) => t.length > 0);
  const urls = tiers.flat();
  const top: Record<string, EncodableValue | undefined> = {
    announce: urls[0],
    'announce-list': urls.length > 1 ? tiers : undefined,
    comment: spec.comment,
    'created by': spec.createdBy,
    'creation date': spec.creationDate,
    info,
    'url-list': spec.webSeeds.length === 0 ? undefined : spec.webSeeds.length === 1 ? spec.webSeeds[0] : spec.webSeeds,
  };
  return encode(top);
}

const TRACKER_SCHEMES = new Set(['http:', 'https:', 'udp:']);
const WEB_SEED_SCHEMES = new Set(['http:', 'https:', 'ftp:']);

function checkUrl(url: string, schemes: Set<string>, what: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw usageError(`${what} '${url}' is not a URL`);
  }
  if (!schemes.has(u.protocol)) throw usageError(`${what} '${url}' must start with ${[...schemes].map((s) => s + '//').join(', ')}`);
  return url;
}

/**
 * Tracker tiers from `-a` values as mktorrent reads them: each value is one tier, commas
 * separate the URLs inside it.
 */
export function parseTiers(values: string[]): string[][] {
  return values
    .map((v) =>
      v
        .split(',')
        .map((u) => u.trim())
        .filter((u) => u !== '')
        .map((u) => checkUrl(u, TRACKER_SCHEMES, 'tracker')),
    )
    .filter((t) => t.length > 0);
}

/** Web seeds from `-w` values; commas separate several in one value (as mktorrent). */
export function parseWebSeeds(values: string[]): string[] {
  return values
    .flatMap((v) => v.split(','))
    .map((u) => u.trim())
    .filter((u) => u !== '')
    .map((u) => checkUrl(u, WEB_SEED_SCHEMES, 'web seed'));
}
