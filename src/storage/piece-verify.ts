/**
 * Hashing one piece on demand (BEP 3: "pieces … the SHA1 hash of the piece at the
 * corresponding index"), for a piece in doubt the first time it is served. Read in bounded
 * chunks through the caller's safe reader, so a 64 MiB piece never sits in memory. The
 * whole-torrent check uses the shared streaming hasher (piece-hasher.ts).
 */
import { createHash } from 'node:crypto';

/** Reason: 256 KiB is a common piece size; larger pieces are hashed in several reads. */
export const HASH_CHUNK = 256 * 1024;

/**
 * Hashes `length` bytes starting at `start` of the torrent's data, read through
 * `readInto(position, buffer)` (which fills the buffer or returns false when data is missing).
 * Returns the digest, or undefined when the data could not be read whole.
 */
export async function hashRange(
  readInto: (position: number, into: Buffer) => Promise<boolean>,
  start: number,
  length: number,
  scratch: Buffer = Buffer.allocUnsafe(Math.min(length, HASH_CHUNK)),
): Promise<Buffer | undefined> {
  const h = createHash('sha1');
  for (let done = 0; done < length; ) {
    const n = Math.min(scratch.length, length - done);
    const part = scratch.subarray(0, n);
    if (!(await readInto(start + done, part))) return undefined;
    h.update(part);
    done += n;
  }
  return h.digest();
}

export function pieceHashMatches(pieces: Uint8Array, index: number, digest: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(pieces.buffer, pieces.byteOffset + index * 20, 20), Buffer.from(digest)) === 0;
}
