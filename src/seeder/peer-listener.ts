/**
 * The seeder's TCP endpoints: the listening socket (listen_port, else the next free of the 8
 * ports after it, the range the firewall rules open; one dual-stack socket for IPv6 and IPv4,
 * or one per `seeder.address`) and outgoing dials with a connect
 * timeout, a cap on half-open connections and a retry delay per address. Sessions are not
 * its business: it hands connected sockets to its owner.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Clock } from '../util/clock.js';
import { adoptAccepted, ReadRoute, type OnBytes } from '../util/shared-reads.js';
import type { Logger } from '../util/log.js';

/**
 * When listen_port is busy, the next free of this many ports after it is taken (6881 → 6882…6889,
 * BitTorrent's historical range). The init script's firewall rule opens exactly
 * listen_port…listen_port+8 (files/usr/share/meshseed/firewall.sh): keep the two in step.
 */
export const FALLBACK_PORT_COUNT = 8;

/** The ports tried, in order: listen_port, then the FALLBACK_PORT_COUNT after it (none past 65535). */
export function peerPorts(first: number): number[] {
  const out = [first];
  for (let p = first + 1; p <= Math.min(65535, first + FALLBACK_PORT_COUNT); p++) out.push(p);
  return out;
}
/** Outgoing connections being set up at once. */
export const MAX_HALF_OPEN = 8;
export const CONNECT_TIMEOUT_MS = 10_000;
/** A candidate that failed is not dialled again for this long. */
export const RETRY_MS = 5 * 60_000;

let ownAddresses: { at: number; set: Set<string> } | undefined;
/** True for loopback and this machine's interface addresses (cached for a minute). */
export function isOwnAddress(address: string): boolean {
  if (address.startsWith('127.') || address === '::1') return true;
  const now = Date.now();
  if (!ownAddresses || now - ownAddresses.at > 60_000) {
    const set = new Set<string>();
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) set.add(a.address);
    ownAddresses = { at: now, set };
  }
  return ownAddresses.set.has(address);
}

/** '::ffff:10.0.0.1' → '10.0.0.1' (a dual-stack socket's IPv4 peers). */
export const normalizeAddress = (a: string | undefined): string => (a ?? '').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');

export interface PeerListenerDeps {
  clock: Clock;
  log: Logger;
  /** A new incoming connection. */
  incoming(socket: Socket): void;
  /** Tests: ports to try instead of listen_port and the 8 after it (0 = any free port). */
  ports?: number[];
  /** Tests: listen address (default: seeder.address, or every IPv6 and IPv4 address). */
  host?: string;
  /** Tests: the ports tried after listen_port (default: the 8 after it). */
  fallbackPorts?: number[];
}

export class PeerListener {
  private readonly servers: Server[] = [];
  /** Every socket, listening or dialled, until it closes. */
  readonly sockets = new Set<Socket>();
  port: number | undefined;
  halfOpen = 0;
  private readonly retryAt = new Map<string, number>();
  /** Dialled sockets: their reads, in the shared buffer, wait to be routed (`read`). */
  private readonly routes = new WeakMap<Socket, ReadRoute>();

  constructor(private readonly deps: PeerListenerDeps) {}

  /** Listens on `first` (else the next free port of its range) on `addresses`, or every address when none. */
  async listen(first: number, addresses: readonly string[] = []): Promise<void> {
    const ports = this.deps.ports ?? (this.deps.fallbackPorts ? [first, ...this.deps.fallbackPorts.filter((p) => p !== first)] : peerPorts(first));
    const hosts = this.deps.host ? [this.deps.host] : addresses;
    let lastError: Error | undefined;
    for (const port of ports) {
      const opened: Server[] = [];
      try {
        // every address on one port number (port 0: the number the first one got)
        let at = port;
        for (const host of hosts.length ? hosts : [undefined]) {
          const server = await this.listenOn(at, host);
          opened.push(server);
          const addr = server.address();
          at = typeof addr === 'object' && addr ? addr.port : at;
        }
        this.servers.push(...opened);
        this.port = at;
        if (port !== first && this.deps.ports === undefined) this.deps.log.warn(`port ${first} is busy; listening on ${this.port} instead`);
        this.deps.log.info(`listening for peers on ${hosts.length ? hosts.map((h) => (h.includes(':') ? `[${h}]` : h)).join(', ') + ' ' : ''}port ${this.port}`);
        return;
      } catch (err) {
        await Promise.all(opened.map((s) => new Promise((r) => s.close(r))));
        lastError = err as Error;
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
      }
    }
    const busy = (lastError as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
    throw new Error(busy ? `peer ports ${ports.join(', ')} in use` : `cannot listen for peers on ports ${ports.join(', ')}: ${lastError?.message}`, { cause: lastError });
  }

  private listenOn(port: number, host: string | undefined): Promise<Server> {
    const tryHost = (host: string, ipv6Only: boolean) =>
      new Promise<Server>((resolve, reject) => {
        const server = createServer({ noDelay: true }, (s) => this.deps.incoming(s));
        server.once('error', reject);
        server.listen({ port, host, ipv6Only, backlog: 64 }, () => {
          server.removeListener('error', reject);
          server.on('error', (e) => this.deps.log.error(`peer listener: ${e.message}`));
          resolve(server);
        });
      });
    if (host !== undefined) return tryHost(host, host.includes(':'));
    // One dual-stack socket takes IPv6 and IPv4 (as ::ffff:a.b.c.d); IPv4 only where the kernel has no IPv6.
    return tryHost('::', false).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL') return tryHost('0.0.0.0', false);
      throw err;
    });
  }

  /** False while an address:port that failed (or was dialled) waits out its retry delay. */
  mayDial(key: string, now: number): boolean {
    return (this.retryAt.get(key) ?? 0) <= now;
  }

  /**
   * Dials address:port; `connected` gets the socket once it is up (unless `stillWanted` says
   * otherwise), `failed` runs when it never came up.
   */
  dial(address: string, port: number, stillWanted: () => boolean, connected: (s: Socket) => void, failed: () => void): void {
    const key = `${address}|${port}`;
    this.retryAt.set(key, this.deps.clock.now() + RETRY_MS);
    this.halfOpen++;
    let done = false;
    const route = new ReadRoute();
    const socket = connect({ host: address, port, noDelay: true, onread: route.onread });
    this.routes.set(socket, route);
    this.sockets.add(socket);
    const timer = this.deps.clock.setTimeout(() => socket.destroy(), CONNECT_TIMEOUT_MS);
    const finish = () => {
      if (done) return;
      done = true;
      timer.cancel();
      this.halfOpen--;
    };
    socket.once('connect', () => {
      finish();
      if (!stillWanted()) return socket.destroy();
      this.retryAt.delete(key);
      connected(socket);
    });
    socket.once('error', () => {});
    socket.once('close', () => {
      this.sockets.delete(socket);
      if (!done) {
        finish();
        failed();
      }
    });
  }

  /**
   * Where a socket's bytes go (valid only during the call: util/shared-reads.ts). Call it at
   * once for a socket handed over (`incoming`, `connected`), before its first read.
   */
  read(socket: Socket, onBytes: OnBytes): void {
    const route = this.routes.get(socket);
    if (route) return route.to(onBytes);
    if (!adoptAccepted(socket, onBytes)) socket.on('data', onBytes);
  }

  /** Forgets retry delays that are over. */
  expire(now: number): void {
    for (const [k, at] of this.retryAt) if (at <= now) this.retryAt.delete(k);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise((r) => s.close(r))));
  }
}
