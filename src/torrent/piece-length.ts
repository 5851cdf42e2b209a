/**
 * Automatic piece length, by total size, with the thresholds mktorrent uses since it
 * learned to choose (after 1.1; mktorrent 1.1 itself always uses 2^18 unless given -l):
 * the smallest 2^n, 15 <= n <= 24, whose size limit holds the data. The limits double with
 * n, from 50 MiB for 2^15, so a torrent has about 1600 to 3200 pieces in the middle range.
 */
import { MAX_PIECE_LENGTH, MIN_PIECE_LENGTH } from '../codec/metainfo.js';

const MIB = 1024 * 1024;
/** [exponent, largest total size in MiB it is chosen for]. */
const LIMITS: readonly [number, number][] = [
  [15, 50],
  [16, 100],
  [17, 200],
  [18, 400],
  [19, 800],
  [20, 1600],
  [21, 3200],
  [22, 6400],
  [23, 12800],
];
/** Chosen above the last limit (16 MiB pieces, the largest most clients handle well). */
const LARGEST_AUTO_EXPONENT = 24;

export function choosePieceLength(totalBytes: number): number {
  for (const [exponent, limitMiB] of LIMITS) if (totalBytes <= limitMiB * MIB) return 2 ** exponent;
  return 2 ** LARGEST_AUTO_EXPONENT;
}

/** Exponents accepted by `-l N`: the piece lengths a torrent may have (16 KiB to 64 MiB). */
export const MIN_PIECE_EXPONENT = Math.log2(MIN_PIECE_LENGTH);
export const MAX_PIECE_EXPONENT = Math.log2(MAX_PIECE_LENGTH);
