/**
 * A cap on the peers the DHT node stores for one info hash. The package's store
 * (`record-cache`) bounds only the total; its get_peers reply carries every stored peer of
 * the info hash, so the cap also keeps that reply in one datagram. An announce past the
 * cap is answered but not stored, unless it refreshes a peer already there.
 *
 * This reaches into the package's `_peers` (bittorrent-dht 11, pinned exactly in
 * package.json); the 'bounds' test in test/dht/dht-service.test.ts fails if an update moves it.
 */
import type DHT from 'bittorrent-dht';

export interface PeerStore {
  /** Peers stored, all info hashes. */
  readonly size: number;
  /** Total cap of one generation (record-cache keeps two: fresh and stale). */
  maxSize: number;
  /** Info hashes with stored peers. */
  torrentCount(): number;
}

interface RecordCache {
  size: number;
  maxSize: number;
  add(name: string, record: Buffer, value?: unknown): void;
  get(name: string, n?: number): Buffer[];
  _fresh: { records: Map<string, unknown> };
  _stale: { records: Map<string, unknown> };
}

export function boundPeerStore(dht: DHT, perInfoHash: () => number): PeerStore {
  const cache = (dht as unknown as { _peers?: RecordCache })._peers;
  if (!cache || typeof cache.add !== 'function' || typeof cache.get !== 'function' || !cache._fresh?.records)
    throw new Error('bittorrent-dht: its peer store is not where this version keeps it');
  const add = cache.add.bind(cache);
  cache.add = (name, record, value) => {
    const stored = cache.get(name);
    if (stored.length >= perInfoHash() && !stored.some((r) => r.equals(record))) return;
    add(name, record, value);
  };
  return {
    get size() {
      return cache.size;
    },
    get maxSize() {
      return cache.maxSize;
    },
    set maxSize(n: number) {
      cache.maxSize = n;
    },
    torrentCount() {
      const names = new Set(cache._fresh.records.keys());
      for (const k of cache._stale.records.keys()) names.add(k);
      return names.size;
    },
  };
}
