/** The parts of `bittorrent-dht` 11 (webtorrent) that meshseed uses; see its README. */
declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events';

  export interface DhtNode {
    id?: Buffer;
    host: string;
    port: number;
  }
  /** k-bucket's routing table. */
  export interface RoutingTable extends EventEmitter {
    count(): number;
    toArray(): (DhtNode & { id: Buffer })[];
    get(id: Buffer): (DhtNode & { id: Buffer }) | null;
    remove(id: Buffer): void;
  }
  export interface DhtOptions {
    nodeId?: Buffer;
    bootstrap?: false | (string | { host: string; port: number })[];
    host?: string | false;
    concurrency?: number;
    maxTables?: number;
    maxValues?: number;
    maxPeers?: number;
    maxAge?: number;
    timeBucketOutdated?: number;
    socket?: unknown;
    timeout?: number;
  }
  export default class DHT extends EventEmitter {
    constructor(opts?: DhtOptions);
    readonly nodeId: Buffer;
    readonly nodes: RoutingTable;
    listening: boolean;
    destroyed: boolean;
    listen(port?: number, address?: string, cb?: () => void): void;
    address(): { address: string; family: string; port: number };
    addNode(node: DhtNode): void;
    removeNode(id: Buffer): void;
    announce(infoHash: Buffer | string, port: number, cb?: (err: Error | null, n?: number) => void): void;
    lookup(infoHash: Buffer | string, cb?: (err: Error | null, n?: number) => void): () => void;
    toJSON(): { nodes: { host: string; port: number }[] };
    destroy(cb?: () => void): void;
  }
}
