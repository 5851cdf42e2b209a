/**
 * Metainfo (.torrent) files, BitTorrent v1 (BEP 3), with BEP 12 `announce-list`,
 * BEP 19 `url-list`, BEP 27 `private`, BEP 47 padding files; hybrid v1+v2 torrents
 * (BEP 52) are read for their v1 part.
 *
 * Pure: bytes in, a validated Metainfo out, or a MeshseedError('EMETAINFO') whose message
 * is one line naming the field that is wrong. Nothing from a torrent is trusted: every
 * path component is checked before it can reach the file system, and sizes are checked
 * against the piece count before anything is allocated for them.
 */
import { nodeCrypto } from '../util/lazy-modules.js';
import { MeshseedError } from '../errors.js';
import { decode, isBytes, isDict, isInt, isList, utf8, type BDict, type BValue } from './bencode.js';

export interface FileEntry {
  /** Path components below the torrent's folder (for a single-file torrent: [name]). */
  path: string[];
  length: number;
  /** Byte offset of the file in the torrent's concatenated data. */
  offset: number;
  /** BEP 47 padding file: not written to disk, its bytes are zeros. */
  padding: boolean;
}

export interface Metainfo {
  infoHash: Uint8Array;
  infoHashHex: string;
  name: string;
  pieceLength: number;
  pieceCount: number;
  /** Concatenated 20-byte SHA-1 piece hashes. */
  pieces: Uint8Array;
  /** Total bytes, padding included. */
  length: number;
  files: FileEntry[];
  /** Single-file torrent: the data is the file `name` itself, not a folder. */
  singleFile: boolean;
  private: boolean;
  /** Tracker tiers (BEP 12), or the one `announce` URL as one tier. */
  announceTiers: string[][];
  announce?: string;
  /** BEP 19 web seeds. */
  urlList: string[];
  comment?: string;
  createdBy?: string;
  creationDate?: number;
  source?: string;
  /** The exact bytes of the info dict as found in the file. */
  infoBytes: Uint8Array;
  /** Hybrid v1+v2 torrent (meta version 2 alongside v1 fields). */
  hybrid: boolean;
  /** Unsorted or duplicate keys (torrent still usable; info hash from the original bytes). */
  keyProblems: string[];
}

/** A torrent larger than this is refused before parsing (a 64 MiB one describes ~100 TiB). */
export const MAX_TORRENT_BYTES = 64 << 20;
export const MIN_PIECE_LENGTH = 16 << 10;
export const MAX_PIECE_LENGTH = 64 << 20;
/** Longest file name most file systems accept, in bytes. */
const MAX_COMPONENT_BYTES = 255;
/** Deepest file path accepted (components below the torrent's folder); deeper trees exist only to attack. */
export const MAX_PATH_DEPTH = 128;
/** Longest file path accepted, in bytes, '/' included: Linux's PATH_MAX, which no deeper file could be opened by anyway. */
export const MAX_PATH_BYTES = 4096;

const bad = (message: string): never => {
  throw new MeshseedError('EMETAINFO', message);
};

function text(v: BValue | undefined, field: string): string {
  if (!isBytes(v)) return bad(`${field} is not a string`);
  const s = utf8(v);
  if (s === undefined) return bad(`${field} is not valid UTF-8`);
  return s;
}

function optionalText(d: BDict, key: string, field: string): string | undefined {
  const v = d.get(key);
  return v === undefined ? undefined : text(v, field);
}

/** BEP 3 path list, hardened against traversal: reject `..`, absolute paths, empty components, NUL and separators inside a component. */
export function checkPathComponent(c: string, field: string): string {
  if (c === '') bad(`${field} has an empty path component`);
  if (c === '.' || c === '..') bad(`${field} has a '${c}' path component (path traversal)`);
  if (c.includes('/') || c.includes('\\')) bad(`${field} has a path separator inside component '${c}'`);
  if (c.includes('\0')) bad(`${field} has a NUL byte in a path component`);
  if (/^[A-Za-z]:/.test(c)) bad(`${field} has a drive letter in component '${c}'`);
  if (Buffer.byteLength(c) > MAX_COMPONENT_BYTES) bad(`${field} has a component longer than ${MAX_COMPONENT_BYTES} bytes`);
  return c;
}

/** Prefer the `<key>.utf-8` variant some clients write when the plain one is not UTF-8. */
function nameField(info: BDict): string {
  const alt = info.get('name.utf-8');
  if (alt !== undefined && isBytes(alt) && utf8(alt) !== undefined) return text(alt, 'info.name.utf-8');
  return text(info.get('name'), 'info.name');
}

function parseFiles(info: BDict, name: string): { files: FileEntry[]; singleFile: boolean } {
  const single = info.get('length');
  const list = info.get('files');
  if (single !== undefined && list !== undefined) bad('info has both length and files');
  if (single !== undefined) {
    if (!isInt(single) || single < 0) bad('info.length is not a non-negative integer');
    return { files: [{ path: [name], length: single as number, offset: 0, padding: false }], singleFile: true };
  }
  if (list === undefined) {
    if (info.has('file tree')) bad('v2-only torrent (no v1 file list): not supported');
    bad('info has neither length nor files');
  }
  if (!isList(list) || list.length === 0) bad('info.files is not a non-empty list');
  const files: FileEntry[] = [];
  const tree = new PathTree();
  let offset = 0;
  (list as BValue[]).forEach((f, i) => {
    const field = `info.files[${i}]`;
    if (!isDict(f)) bad(`${field} is not a dict`);
    const d = f as BDict;
    const length = d.get('length');
    if (!isInt(length) || length < 0) bad(`${field}.length is not a non-negative integer`);
    const alt = d.get('path.utf-8');
    const useAlt = isList(alt) && alt.length > 0 && alt.every((c) => isBytes(c) && utf8(c) !== undefined);
    const rawPath = useAlt ? alt : d.get('path');
    const pathField = `${field}.${useAlt ? 'path.utf-8' : 'path'}`;
    if (!isList(rawPath) || rawPath.length === 0) bad(`${pathField} is not a non-empty list`);
    if ((rawPath as BValue[]).length > MAX_PATH_DEPTH) bad(`${pathField} has ${(rawPath as BValue[]).length} components, more than ${MAX_PATH_DEPTH}`);
    const path = (rawPath as BValue[]).map((c, j) => checkPathComponent(text(c, `${pathField}[${j}]`), pathField));
    let pathBytes = path.length - 1;
    for (const c of path) pathBytes += Buffer.byteLength(c);
    if (pathBytes > MAX_PATH_BYTES) bad(`${pathField} is ${pathBytes} bytes long, more than ${MAX_PATH_BYTES}`);
    const attr = d.get('attr');
    const padding = isBytes(attr) && Buffer.from(attr).includes('p'.charCodeAt(0));
    tree.add(path, field);
    files.push({ path, length: length as number, offset, padding });
    offset += length as number;
    if (offset > Number.MAX_SAFE_INTEGER) bad('total size too large');
  });
  return { files, singleFile: false };
}

/**
 * The folder tree of a torrent's files, built one component at a time, so that checking
 * "no two files share a path" and "no file is also a folder" costs time linear in the
 * number of components (joining every path prefix was quadratic in a path's depth: one
 * 120 KB torrent took 32 s). Objects without prototypes: components are untrusted names.
 */
class PathTree {
  private readonly root: Folder = Object.create(null) as Folder;

  add(path: string[], field: string): void {
    let folder = this.root;
    for (let k = 0; k < path.length - 1; k++) {
      const c = path[k]!;
      const next = folder[c];
      if (next === FILE) bad(`info.files: '${path.slice(0, k + 1).join('/')}' is both a file and a folder`);
      if (next === undefined) folder = folder[c] = Object.create(null) as Folder;
      else folder = next as Folder;
    }
    const leaf = path[path.length - 1]!;
    const there = folder[leaf];
    if (there === FILE) bad(`${field}: two files have the path '${path.join('/')}'`);
    if (there !== undefined) bad(`info.files: '${path.join('/')}' is both a file and a folder`);
    folder[leaf] = FILE;
  }
}
const FILE = 0;
type Folder = { [component: string]: Folder | typeof FILE };

function parseTiers(top: BDict): { tiers: string[][]; announce?: string } {
  const a = top.get('announce');
  const announce = a !== undefined && isBytes(a) ? utf8(a) : undefined;
  const list = top.get('announce-list');
  const tiers: string[][] = [];
  if (list !== undefined) {
    if (!isList(list)) bad('announce-list is not a list of tiers');
    (list as BValue[]).forEach((tier, i) => {
      if (!isList(tier)) bad(`announce-list[${i}] is not a list of URLs`);
      const urls = (tier as BValue[]).map((u, j) => text(u, `announce-list[${i}][${j}]`).trim()).filter((u) => u !== '');
      if (urls.length > 0) tiers.push(urls);
    });
  }
  // BEP 12: when announce-list is present, clients use it and ignore announce.
  if (tiers.length === 0 && announce) tiers.push([announce]);
  return { tiers, ...(announce ? { announce } : {}) };
}

function parseUrlList(top: BDict): string[] {
  const v = top.get('url-list');
  if (v === undefined) return [];
  // mktorrent writes a single web seed as a string, not a list
  if (isBytes(v)) return v.length ? [text(v, 'url-list')] : [];
  if (!isList(v)) return bad('url-list is neither a string nor a list');
  return v.map((u, i) => text(u, `url-list[${i}]`)).filter((u) => u !== '');
}

export interface ParseOptions {
  /**
   * Refuse a torrent of more files than this before decoding it (a decoded file entry costs
   * ~600 bytes of heap while parsing: 100,000 files overflow a 64 MiB heap). `limitName` is
   * named in the error (the setting an operator can raise).
   */
  maxFiles?: number;
  limitName?: string;
}

export function parseMetainfo(bytes: Uint8Array, options: ParseOptions = {}): Metainfo {
  if (bytes.length > MAX_TORRENT_BYTES) bad(`torrent file larger than ${MAX_TORRENT_BYTES >> 20} MiB`);
  if (options.maxFiles !== undefined) {
    const n = countFiles(bytes, options.maxFiles + 1);
    if (n !== undefined && n > options.maxFiles)
      bad(`more than ${options.maxFiles} files${options.limitName ? ` (the limit ${options.limitName}; raise it, and main.max_heap_mb, to use this torrent)` : ''}`);
  }
  let decoded;
  try {
    decoded = decode(bytes);
  } catch (err) {
    return bad(`not a torrent file: ${(err as Error).message}`);
  }
  const { value: top, topLevelSpans } = decoded;
  if (!isDict(top)) bad('not a torrent file: the top level is not a dict');
  const info = (top as BDict).get('info');
  if (!isDict(info)) bad('missing info dict');
  const span = topLevelSpans.get('info')!;
  const infoBytes = bytes.subarray(span[0], span[1]);
  const infoHash = new Uint8Array(nodeCrypto().createHash('sha1').update(infoBytes).digest());

  const name = checkPathComponent(nameField(info as BDict), 'info.name');
  const pieceLength = (info as BDict).get('piece length');
  if (!isInt(pieceLength)) bad('info.piece length is not an integer');
  const pl = pieceLength as number;
  if (pl < MIN_PIECE_LENGTH || pl > MAX_PIECE_LENGTH || (pl & (pl - 1)) !== 0)
    bad(`info.piece length ${pl} is not a power of two from 16 KiB to 64 MiB`);
  const pieces = (info as BDict).get('pieces');
  if (!isBytes(pieces)) bad('info.pieces is not a string');
  if ((pieces as Uint8Array).length % 20 !== 0) bad(`info.pieces length ${(pieces as Uint8Array).length} is not a multiple of 20`);
  const pieceCount = (pieces as Uint8Array).length / 20;

  const { files, singleFile } = parseFiles(info as BDict, name);
  const length = files.reduce((n, f) => n + f.length, 0);
  if (length === 0) bad('the torrent holds no data (total size 0)');
  const expected = Math.ceil(length / pl);
  if (pieceCount !== expected)
    bad(`info.pieces holds ${pieceCount} hashes but ${length} bytes in pieces of ${pl} need ${expected}`);

  const priv = (info as BDict).get('private');
  const { tiers, announce } = parseTiers(top as BDict);
  const creationDate = (top as BDict).get('creation date');
  const comment = optionalText(top as BDict, 'comment', 'comment');
  const createdBy = optionalText(top as BDict, 'created by', 'created by');
  const source = optionalText(info as BDict, 'source', 'info.source');
  return {
    infoHash,
    infoHashHex: Buffer.from(infoHash).toString('hex'),
    name,
    pieceLength: pl,
    pieceCount,
    pieces: pieces as Uint8Array,
    length,
    files,
    singleFile,
    // BEP 27 says private=1; libtorrent and Transmission treat any non-zero integer as private,
    // and so must we: a torrent they keep private must never reach LPD or PEX through us
    private: isInt(priv) && priv !== 0,
    announceTiers: tiers,
    ...(announce !== undefined ? { announce } : {}),
    urlList: parseUrlList(top as BDict),
    ...(comment !== undefined ? { comment } : {}),
    ...(createdBy !== undefined ? { createdBy } : {}),
    ...(isInt(creationDate) ? { creationDate } : {}),
    ...(source !== undefined ? { source } : {}),
    infoBytes,
    hybrid: (info as BDict).get('meta version') === 2,
    keyProblems: decoded.keyProblems.filter((p) => p.startsWith('info.') || p.startsWith('info:')),
  };
}

// ---- counting files without decoding (no allocation: a bound checked before the real parse) ----

const C_I = 0x69;
const C_L = 0x6c;
const C_D = 0x64;
const C_E = 0x65;
const C_COLON = 0x3a;

/** Index just past the byte string at `i` (`<len>:<bytes>`), or -1. */
function skipString(b: Uint8Array, i: number): number {
  let len = 0;
  let j = i;
  while (j < b.length && b[j]! >= 0x30 && b[j]! <= 0x39 && j - i < 16) len = len * 10 + (b[j++]! - 0x30);
  if (j === i || b[j] !== C_COLON) return -1;
  const end = j + 1 + len;
  return end <= b.length ? end : -1;
}

/** Index just past the value at `i`, or -1 when malformed (the real parser then says why). */
function skipValue(b: Uint8Array, i: number): number {
  let depth = 0;
  do {
    const c = b[i];
    if (c === undefined) return -1;
    if (c === C_I) {
      i = b.indexOf(C_E, i + 1);
      if (i < 0) return -1;
      i++;
    } else if (c === C_L || c === C_D) {
      depth++;
      i++;
    } else if (c === C_E) {
      if (depth === 0) return -1;
      depth--;
      i++;
    } else {
      i = skipString(b, i);
      if (i < 0) return -1;
    }
  } while (depth > 0);
  return i;
}

/** Finds `key` in the dict starting at `i`: the index of its value, or -1. */
function findKey(b: Uint8Array, i: number, key: string): number {
  if (b[i] !== C_D) return -1;
  i++;
  while (i < b.length && b[i] !== C_E) {
    const keyEnd = skipString(b, i);
    if (keyEnd < 0) return -1;
    const k = Buffer.from(b.buffer, b.byteOffset + b.indexOf(C_COLON, i) + 1, keyEnd - b.indexOf(C_COLON, i) - 1).toString('latin1');
    if (k === key) return keyEnd;
    i = skipValue(b, keyEnd);
    if (i < 0) return -1;
  }
  return -1;
}

/**
 * Entries in `info.files`, counted up to `stopAt`, without building anything; undefined when
 * there is no such list (single-file torrents) or the bytes are malformed.
 */
export function countFiles(b: Uint8Array, stopAt = Infinity): number | undefined {
  const info = findKey(b, 0, 'info');
  if (info < 0) return undefined;
  let i = findKey(b, info, 'files');
  if (i < 0 || b[i] !== C_L) return undefined;
  i++;
  let n = 0;
  while (b[i] !== C_E && n < stopAt) {
    i = skipValue(b, i);
    if (i < 0) return undefined;
    n++;
  }
  return n;
}

/** Byte length of piece `index` (the last one may be short). */
export function pieceSize(m: Pick<Metainfo, 'length' | 'pieceLength' | 'pieceCount'>, index: number): number {
  return index === m.pieceCount - 1 ? m.length - m.pieceLength * (m.pieceCount - 1) : m.pieceLength;
}
