/**
 * Checks a torrent's data on disk against its piece hashes: the core of `meshseed verify`,
 * and what the seeder calls to learn which pieces it has before it offers a torrent.
 */
import type { Metainfo } from '../codec/metainfo.js';
import { hashFiles, type FileProblem, type StreamFile } from './piece-hasher.js';

/** Piece states. */
export const PIECE_GOOD = 1;
/** Read in full, and its SHA-1 differs from the torrent's. */
export const PIECE_BAD = 2;
/** Some of its bytes could not be read (missing, short or unreadable file). */
export const PIECE_UNAVAILABLE = 3;

export interface DataCheck {
  /** One state per piece (PIECE_GOOD, PIECE_BAD, PIECE_UNAVAILABLE). */
  pieces: Uint8Array;
  /** File problems, by index in the torrent's files. */
  problems: FileProblem[];
  goodPieces: number;
  /** Bytes in good pieces. */
  goodBytes: number;
  /** Every piece good and every file of the right size. */
  complete: boolean;
}

export async function checkData(m: Metainfo, files: StreamFile[], onProgress?: (done: number, total: number) => void): Promise<DataCheck> {
  const pieces = new Uint8Array(m.pieceCount);
  const expected = Buffer.from(m.pieces.buffer, m.pieces.byteOffset, m.pieces.byteLength);
  const problems = await hashFiles(files, {
    pieceLength: m.pieceLength,
    onPiece: (i, digest) => {
      pieces[i] = digest === undefined ? PIECE_UNAVAILABLE : expected.subarray(i * 20, i * 20 + 20).equals(digest) ? PIECE_GOOD : PIECE_BAD;
    },
    ...(onProgress ? { onProgress } : {}),
  });
  let goodPieces = 0;
  let goodBytes = 0;
  for (let k = 0; k < m.pieceCount; k++) {
    if (pieces[k] !== PIECE_GOOD) continue;
    goodPieces++;
    goodBytes += k === m.pieceCount - 1 ? m.length - k * m.pieceLength : m.pieceLength;
  }
  return { pieces, problems, goodPieces, goodBytes, complete: goodPieces === m.pieceCount && problems.length === 0 };
}

export type FileStatus =
  | { kind: 'missing' | 'not-a-file' }
  | { kind: 'short' | 'long'; size: number }
  | { kind: 'unreadable'; message: string }
  /** Some of its pieces were read and do not match. */
  | { kind: 'damaged'; badPieces: number; pieces: number }
  /** Its own bytes are there, but it shares a piece with a missing or short file. */
  | { kind: 'unverified'; unavailablePieces: number; pieces: number };

/**
 * What is wrong with each file (padding files and good files are left out), in the
 * torrent's order. A file too long is reported, and also as damaged if its pieces are.
 */
export function fileStatuses(m: Metainfo, check: DataCheck): { file: number; status: FileStatus }[] {
  const out: { file: number; status: FileStatus }[] = [];
  const problemOf = new Map(check.problems.map((p) => [p.file, p]));
  m.files.forEach((f, i) => {
    if (f.padding) return;
    const p = problemOf.get(i);
    if (p) {
      if (p.kind === 'short' || p.kind === 'long') out.push({ file: i, status: { kind: p.kind, size: p.size ?? 0 } });
      else if (p.kind === 'unreadable') out.push({ file: i, status: { kind: 'unreadable', message: p.message ?? '' } });
      else out.push({ file: i, status: { kind: p.kind } });
      if (p.kind !== 'long') return;
    }
    if (f.length === 0) return;
    const first = Math.floor(f.offset / m.pieceLength);
    const last = Math.floor((f.offset + f.length - 1) / m.pieceLength);
    let bad = 0;
    let unavailable = 0;
    for (let k = first; k <= last; k++) {
      if (check.pieces[k] === PIECE_BAD) bad++;
      else if (check.pieces[k] !== PIECE_GOOD) unavailable++;
    }
    const pieces = last - first + 1;
    if (bad > 0) out.push({ file: i, status: { kind: 'damaged', badPieces: bad, pieces } });
    else if (unavailable > 0 && !p) out.push({ file: i, status: { kind: 'unverified', unavailablePieces: unavailable, pieces } });
  });
  return out;
}
