/**
 * Maps a range of a torrent's concatenated data (piece, offset, length) to the files that
 * hold it (BEP 3: "the pieces … as if the files were concatenated in the order of the files
 * list"). BEP 47 padding files are zeros and have no file on disk. Where the files lie is
 * data-files.ts.
 */
import type { FileEntry, Metainfo } from '../codec/metainfo.js';

export interface Segment {
  file: number;
  /** Offset inside the file. */
  offset: number;
  length: number;
}

/** Segments covering `[start, start+length)` of the torrent's data, in order. */
export function segmentsOf(files: readonly FileEntry[], start: number, length: number): Segment[] {
  const out: Segment[] = [];
  const end = start + length;
  // binary search the first file whose range ends after `start`
  let lo = 0;
  let hi = files.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const f = files[mid]!;
    if (f.offset + f.length <= start) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < files.length; i++) {
    const f = files[i]!;
    if (f.offset >= end) break;
    const from = Math.max(start, f.offset);
    const to = Math.min(end, f.offset + f.length);
    if (to > from) out.push({ file: i, offset: from - f.offset, length: to - from });
  }
  return out;
}

/** Indices of the files a piece touches (zero-length files touch none). */
export function filesOfPiece(m: Pick<Metainfo, 'files' | 'pieceLength' | 'length'>, index: number): number[] {
  const start = index * m.pieceLength;
  return segmentsOf(m.files, start, Math.min(m.pieceLength, m.length - start)).map((s) => s.file);
}

/** First and last piece (inclusive) a file touches, or undefined for an empty file. */
export function piecesOfFile(m: Pick<Metainfo, 'pieceLength'>, f: FileEntry): [number, number] | undefined {
  if (f.length === 0) return undefined;
  return [Math.floor(f.offset / m.pieceLength), Math.floor((f.offset + f.length - 1) / m.pieceLength)];
}
