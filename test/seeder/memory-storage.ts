/** Storage for download tests that keeps written pieces in memory (no disk), and a wait for its writes to settle. */
import type { Metainfo } from '../../src/codec/metainfo';
import type { PiecePicker } from '../../src/seeder/piece-picker';
import type { TorrentStorage } from '../../src/storage/torrent-storage';
import { waitFor } from '../helpers';

export function memoryStorage(meta: Metainfo) {
  const written = new Map<number, Buffer>();
  /** Writes waiting while `hold()` is on (a disk that lags): piece → its release. */
  const held = new Map<number, () => void>();
  let holding = false;
  const storage = {
    meta,
    stateOf: (i: number) => (written.has(i) ? 1 : 0),
    left: () => meta.length - [...written.values()].reduce((n, b) => n + b.length, 0),
    writePiece: async (i: number, d: Uint8Array) => {
      if (holding) await new Promise<void>((r) => held.set(i, r));
      written.set(i, Buffer.from(d));
    },
    sync: async () => {},
    unsyncedPieces: 0,
  };
  return {
    storage: storage as unknown as TorrentStorage,
    written,
    held: held as ReadonlyMap<number, () => void>,
    /** Every write from now on waits until `release()`. */
    hold: () => void (holding = true),
    /** The writes held go through, and the later ones at once. */
    release: () => {
      holding = false;
      for (const r of held.values()) r();
      held.clear();
    },
  };
}

/**
 * Waits until the download's piece checks and writes are done: no piece whose blocks all
 * arrived is still being hashed or written (a write `hold` keeps is done for this), and a
 * download whose every piece is verified has said it completed (`done`). Fails past `ms`
 * (real time), as a check or a write that never ends would.
 */
export function checksSettled(picker: PiecePicker, held: ReadonlyMap<number, unknown>, done: () => boolean, ms = 5_000): Promise<boolean> {
  const settled = () => {
    for (let i = 0; i < picker.pieceCount; i++) if (!picker.hasPiece(i) && !picker.wants(i) && !held.has(i)) return false;
    return !picker.complete || done();
  };
  return waitFor('piece checks and writes to settle', ms, settled, 0);
}
