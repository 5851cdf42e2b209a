/** Helpers shared by the torrent commands (create, show, verify, reannounce). */
import { readFileSync, statSync } from 'node:fs';
import { MAX_TORRENT_BYTES, parseMetainfo, type Metainfo } from '../codec/metainfo.js';
import { MeshseedError } from '../errors.js';
import type { ProgressSink } from '../util/progress.js';
import type { Io } from './command.js';

/** Progress on stderr: a bar on a terminal, plain lines otherwise, nothing when quiet (stderr not even asked). */
export function progressSink(io: Io, quiet: boolean): ProgressSink {
  return { tty: !quiet && io.isTTY, quiet, line: (t) => io.err(t), raw: (t) => process.stderr.write(t) };
}

/** Reads a .torrent file, its size bounded before it is read; errors name the file. */
export function readTorrentFile(file: string): { bytes: Uint8Array; metainfo: Metainfo } {
  let bytes: Uint8Array;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new MeshseedError('EIO', `${file}: not a file`);
    if (st.size > MAX_TORRENT_BYTES) throw new MeshseedError('EMETAINFO', `${file}: torrent file larger than ${MAX_TORRENT_BYTES >> 20} MiB`);
    bytes = readFileSync(file);
  } catch (err) {
    if (err instanceof MeshseedError) throw err;
    throw new MeshseedError('EIO', `cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return { bytes, metainfo: parseMetainfo(bytes) };
  } catch (err) {
    if (err instanceof MeshseedError) throw new MeshseedError(err.code, `${file}: ${err.message}`);
    throw err;
  }
}
