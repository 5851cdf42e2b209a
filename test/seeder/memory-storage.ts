/** Storage for download tests that keeps written pieces in memory (no disk). */
import type { Metainfo } from '../../src/codec/metainfo';
import type { TorrentStorage } from '../../src/storage/torrent-storage';

export function memoryStorage(meta: Metainfo) {
  const written = new Map<number, Buffer>();
  const storage = {
    meta,
    stateOf: (i: number) => (written.has(i) ? 1 : 0),
    left: () => meta.length - [...written.values()].reduce((n, b) => n + b.length, 0),
    writePiece: async (i: number, d: Uint8Array) => void written.set(i, Buffer.from(d)),
    sync: async () => {},
    unsyncedPieces: 0,
  };
  return { storage: storage as unknown as TorrentStorage, written };
}
