/**
 * Resume data: what a full check found, so a reboot does not rehash the whole disk.
 * A bencoded dict, pure encode/decode here; the owner writes it atomically.
 *
 *   version    1
 *   info hash  the torrent's 20-byte info hash
 *   files      [[size, mtime in ms, "device:inode"], …] per file of the torrent (padding
 *              files: [0, 0]); entries without the identity (older files) are read too,
 *              and their files are then in doubt
 *   verified   bitfield of pieces whose SHA-1 matched, spare bits zero
 */
import { decode, encode, isBytes, isDict, isInt, isList } from '../codec/bencode.js';
import { bitfieldLength } from '../codec/peer-wire.js';

export const RESUME_VERSION = 1;

import type { FileStamp } from './file-identity.js';

export type { FileStamp };
export interface ResumeData {
  infoHash: Uint8Array;
  files: FileStamp[];
  verified: Uint8Array;
}

export function encodeResume(r: ResumeData): Uint8Array {
  return encode({
    version: RESUME_VERSION,
    'info hash': r.infoHash,
    files: r.files.map((f) => (f.id !== undefined ? [f.size, f.mtimeMs, f.id] : [f.size, f.mtimeMs])),
    verified: r.verified,
  });
}

/** Returns undefined for anything not matching this torrent exactly (then a full check runs). */
export function decodeResume(bytes: Uint8Array, infoHash: Uint8Array, fileCount: number, pieceCount: number): ResumeData | undefined {
  try {
    const d = decode(bytes, { maxDepth: 4 }).value;
    if (!isDict(d) || d.get('version') !== RESUME_VERSION) return undefined;
    const ih = d.get('info hash');
    if (!isBytes(ih) || Buffer.compare(Buffer.from(ih), Buffer.from(infoHash)) !== 0) return undefined;
    const files = d.get('files');
    if (!isList(files) || files.length !== fileCount) return undefined;
    const stamps: FileStamp[] = [];
    for (const f of files) {
      if (!isList(f) || f.length < 2 || f.length > 3 || !isInt(f[0]) || !isInt(f[1])) return undefined;
      const id = f[2];
      if (id !== undefined && (!isBytes(id) || id.length > 64)) return undefined;
      stamps.push({ size: f[0], mtimeMs: f[1], ...(id !== undefined ? { id: Buffer.from(id).toString('latin1') } : {}) });
    }
    const v = d.get('verified');
    if (!isBytes(v) || v.length !== bitfieldLength(pieceCount)) return undefined;
    return { infoHash: ih, files: stamps, verified: v };
  } catch {
    return undefined;
  }
}
