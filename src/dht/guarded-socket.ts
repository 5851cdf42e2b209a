/**
 * The DHT's UDP socket, as the `bittorrent-dht` package sees it (its `socket` option: the
 * few `dgram.Socket` members `k-rpc-socket` uses). It owns the real socket and stands
 * between it and the package:
 *   - incoming datagrams go through `onDatagram`: longer than MAX_KRPC_DATAGRAM, not a
 *     well-formed BEP 5 message (`checkKrpc`), a query method we do not serve, or a query
 *     past the sender's rate limit are dropped and counted; the rest are handed on;
 *   - outgoing messages are counted by kind.
 * Bad input is handled here, at one boundary: the package never sees it.
 */
import { EventEmitter } from 'node:events';
import type { Socket, RemoteInfo } from 'node:dgram';
import { checkKrpc, outgoingKind, type KrpcQuery } from '../codec/krpc.js';
import { QueryRateLimit } from './query-rate-limit.js';
import type { Clock } from '../util/clock.js';

export interface DhtSocketCounters {
  queriesIn: number;
  queriesOut: number;
  repliesIn: number;
  repliesOut: number;
  errorsOut: number;
  queriesInByMethod: Record<KrpcQuery, number>;
  dropped: { size: number; malformed: number; method: number; rate: number };
}

export interface GuardedSocketDeps {
  clock: Clock;
  /** Makes the real UDP socket (`dgram.createSocket('udp4')`); tests pass a fake or none. */
  createSocket: () => Socket;
}

export class GuardedDhtSocket extends EventEmitter {
  readonly counters: DhtSocketCounters = {
    queriesIn: 0,
    queriesOut: 0,
    repliesIn: 0,
    repliesOut: 0,
    errorsOut: 0,
    queriesInByMethod: { ping: 0, find_node: 0, get_peers: 0, announce_peer: 0 },
    dropped: { size: 0, malformed: 0, method: 0, rate: 0 },
  };
  private readonly limit: QueryRateLimit;
  private socket: Socket | undefined;

  constructor(
    private readonly deps: GuardedSocketDeps,
    queryRate: number,
  ) {
    super();
    this.limit = new QueryRateLimit(queryRate);
  }

  setQueryRate(rate: number): void {
    this.limit.setRate(rate);
  }

  /** The one entry point for received bytes. */
  onDatagram(bytes: Buffer, from: RemoteInfo): void {
    const verdict = checkKrpc(bytes);
    if (!verdict.ok) {
      this.counters.dropped[verdict.reason]++;
      return;
    }
    if (verdict.y === 'q') {
      if (!this.limit.allow(from.address, this.deps.clock.now())) {
        this.counters.dropped.rate++;
        return;
      }
      this.counters.queriesIn++;
      this.counters.queriesInByMethod[verdict.q]++;
    } else this.counters.repliesIn++;
    this.emit('message', bytes, from);
  }

  // ---- the dgram.Socket members k-rpc-socket calls ----

  bind(port?: number, address?: string, callback?: () => void): void {
    const s = this.deps.createSocket();
    this.socket = s;
    s.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo));
    s.on('error', (err) => this.emit('error', err));
    s.on('listening', () => this.emit('listening'));
    s.on('close', () => this.emit('close'));
    s.bind(port, address, callback);
  }

  address(): ReturnType<Socket['address']> {
    if (!this.socket) throw new Error('DHT socket not bound');
    return this.socket.address();
  }

  send(buf: Uint8Array, offset: number, length: number, port: number, host: string, cb?: (err: Error | null) => void): void {
    const kind = outgoingKind(buf);
    if (kind === 'q') this.counters.queriesOut++;
    else if (kind === 'r') this.counters.repliesOut++;
    else if (kind === 'e') this.counters.errorsOut++;
    if (!this.socket) {
      cb?.(new Error('DHT socket not bound'));
      return;
    }
    try {
      this.socket.send(buf, offset, length, port, host, (err) => cb?.(err ?? null));
    } catch (err) {
      // a closed socket or an address of the wrong family: the query times out like a lost datagram
      cb?.(err as Error);
    }
  }

  close(): void {
    if (this.socket) this.socket.close();
    else queueMicrotask(() => this.emit('close'));
  }
}
