/**
 * Thin transports for tracker announces: HTTP(S) GET (BEP 3) and UDP (BEP 15). They move
 * bytes and enforce time and size bounds; the bytes are built and read by the pure codecs
 * in `src/codec/announce-client.ts`; what to announce, when and where is the Announcer's.
 *
 * Bounds, chosen for a router whose internet link may be gone:
 *   - name lookups go through one small gate (2 at a time, cached): getaddrinfo runs on
 *     libuv's 4 worker threads, which the seeder's disk reads share; with the upstream
 *     DNS unreachable each lookup can hold a thread for many seconds;
 *   - an HTTP announce has one deadline for the whole exchange and a bounded body;
 *   - UDP retransmits after 2, 4 and 8 s, then gives up (see UDP_RETRANSMIT_MS).
 */
import dgram from 'node:dgram';
import { nodeDns, nodeHttp, nodeHttps } from '../util/lazy-modules.js';
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  buildHttpAnnounceUrl,
  decodeUdpAnnounceReply,
  decodeUdpConnectReply,
  encodeUdpAnnounceRequest,
  encodeUdpConnectRequest,
  parseHttpAnnounceReply,
  udpTransactionId,
  type AnnounceReply,
  type AnnounceRequest,
  type Decoded,
} from '../codec/announce-client.js';
import { VERSION } from '../version.js';
import type { Clock } from '../util/clock.js';

/** A failed announce. `fromTracker`: the tracker answered and refused (failure reason, error action). */
export class TrackerError extends Error {
  constructor(
    message: string,
    readonly fromTracker = false,
  ) {
    super(message);
    this.name = 'TrackerError';
  }
}

export interface AnnounceTransport {
  /** Resolves with the tracker's reply; rejects with a TrackerError. */
  announce(url: URL, req: AnnounceRequest): Promise<AnnounceReply>;
  close?(): void;
}

// ---------------------------------------------------------------------------------------
// Name lookups
// ---------------------------------------------------------------------------------------

export interface ResolvedHost {
  address: string;
  family: 4 | 6;
}
export type LookupFn = (hostname: string) => Promise<ResolvedHost>;

/** Lookups in flight at once: keeps libuv's worker threads free for the seeder's disk reads. */
const LOOKUP_CONCURRENCY = 2;
/** Cache times: trackers' addresses rarely change; a failure is retried soon. */
const LOOKUP_TTL_MS = 5 * 60_000;
const LOOKUP_NEGATIVE_TTL_MS = 30_000;
const LOOKUP_TIMEOUT_MS = 10_000;

/** getaddrinfo behind a small gate, with a cache. IP literals pass straight through. */
export function gatedLookup(clock: Clock, lookup: (host: string) => Promise<ResolvedHost> = systemLookup): LookupFn {
  const cache = new Map<string, { at: number; result?: ResolvedHost; error?: string }>();
  const waiting: (() => void)[] = [];
  let running = 0;
  const acquire = () => (running < LOOKUP_CONCURRENCY ? (running++, Promise.resolve()) : new Promise<void>((r) => waiting.push(r)));
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };
  return async (hostname) => {
    const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
    const literal = isIP(bare);
    if (literal) return { address: bare, family: literal as 4 | 6 };
    const hit = cache.get(bare);
    if (hit) {
      const ttl = hit.result ? LOOKUP_TTL_MS : LOOKUP_NEGATIVE_TTL_MS;
      if (clock.now() - hit.at < ttl) {
        if (hit.result) return hit.result;
        throw new TrackerError(hit.error!);
      }
      cache.delete(bare);
    }
    await acquire();
    try {
      const result = await withTimeout(clock, lookup(bare), LOOKUP_TIMEOUT_MS, `name lookup of ${bare} timed out`);
      if (cache.size > 256) cache.clear();
      cache.set(bare, { at: clock.now(), result });
      return result;
    } catch (err) {
      const error = err instanceof TrackerError ? err.message : `cannot resolve ${bare}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      cache.set(bare, { at: clock.now(), error });
      throw new TrackerError(error);
    } finally {
      release();
    }
  };
}

/** A LookupFn in the shape node:http's `lookup` option wants (it may ask for `all` addresses when it races families). */
export function asNodeLookup(lookup: LookupFn): never {
  return ((hostname: string, options: { all?: boolean }, cb: (...a: unknown[]) => void) => {
    lookup(hostname).then(
      (r) => (options?.all ? cb(null, [r]) : cb(null, r.address, r.family)),
      (e) => cb(e),
    );
  }) as never;
}

const systemLookup = (host: string) =>
  new Promise<ResolvedHost>((resolve, reject) =>
    nodeDns().lookup(host, (err, address, family) => (err ? reject(err) : resolve({ address, family: family === 6 ? 6 : 4 }))),
  );

function withTimeout<T>(clock: Clock, p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = clock.setTimeout(() => reject(new TrackerError(message)), ms);
    p.then(
      (v) => {
        t.cancel();
        resolve(v);
      },
      (e) => {
        t.cancel();
        reject(e);
      },
    );
  });
}

// ---------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------

export interface HttpTransportSettings {
  /** Whole exchange, connect to last byte. */
  timeoutMs: number;
  /** Largest reply body read; a bigger one is refused. */
  maxBodyBytes: number;
}

/**
 * Defaults: 15 s is long enough for a loaded tracker across a few radio hops and short
 * enough that an unreachable one is declared failed before the next mesh interval; 128 KiB
 * holds 200 peers in any of the three peer formats many times over.
 */
export const HTTP_DEFAULTS: HttpTransportSettings = { timeoutMs: 15_000, maxBodyBytes: 128 * 1024 };

/** Redirects followed per announce. */
const MAX_REDIRECTS = 2;

/**
 * Announces with GET. Redirects are followed only to the same host and port (http may
 * become https): a tracker on the internet must not be able to point the router at an
 * address inside the mesh (its LuCI page, another router), which a redirect to any host
 * would allow. Trackers redirect in practice only to move /announce or to switch to TLS.
 */
export class HttpAnnounceTransport implements AnnounceTransport {
  constructor(
    private readonly deps: { clock: Clock; lookup: LookupFn },
    private readonly settings: HttpTransportSettings = HTTP_DEFAULTS,
  ) {}

  async announce(url: URL, req: AnnounceRequest): Promise<AnnounceReply> {
    let target = new URL(buildHttpAnnounceUrl(url.href, req));
    const deadlineAt = this.deps.clock.now() + this.settings.timeoutMs;
    for (let hop = 0; ; hop++) {
      const left = deadlineAt - this.deps.clock.now();
      if (left <= 0) throw new TrackerError(`no reply within ${this.settings.timeoutMs / 1000} s`);
      const res = await this.get(target, left);
      if ('location' in res) {
        if (hop >= MAX_REDIRECTS) throw new TrackerError('too many redirects');
        let next: URL;
        try {
          next = new URL(res.location, target);
        } catch {
          throw new TrackerError('redirect to an invalid URL');
        }
        const port = (u: URL) => u.port || (u.protocol === 'https:' ? '443' : '80');
        const upgrade = target.protocol === 'http:' && next.protocol === 'https:';
        const sameHost = next.hostname === target.hostname && (port(next) === port(target) || upgrade);
        if (!sameHost || (next.protocol !== 'http:' && next.protocol !== 'https:')) {
          throw new TrackerError(`redirect to another host refused (${next.protocol}//${next.host})`);
        }
        target = next;
        continue;
      }
      const parsed = parseHttpAnnounceReply(res.body);
      if (!parsed.ok) throw new TrackerError(parsed.reason, parsed.fromTracker ?? false);
      return parsed.value;
    }
  }

  private get(url: URL, timeoutMs: number): Promise<{ body: Uint8Array } | { location: string }> {
    const { lookup } = this.deps;
    const maxBody = this.settings.maxBodyBytes;
    return new Promise((resolve, reject) => {
      const lib = url.protocol === 'https:' ? nodeHttps() : nodeHttp();
      let done = false;
      const finish = (err: Error | undefined, value?: { body: Uint8Array } | { location: string }) => {
        if (done) return;
        done = true;
        timer.cancel();
        if (err) reject(err);
        else resolve(value!);
      };
      const request = lib.get(
        url,
        {
          agent: false,
          headers: { 'User-Agent': `meshseed/${VERSION}`, 'Accept-Encoding': 'identity', Connection: 'close' },
          lookup: asNodeLookup(lookup),
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 300 && status < 400 && res.headers.location) {
            res.resume();
            finish(undefined, { location: res.headers.location });
            return;
          }
          if (status !== 200) {
            res.resume();
            finish(new TrackerError(`HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`));
            request.destroy();
            return;
          }
          const declared = Number(res.headers['content-length']);
          if (declared > maxBody) {
            finish(new TrackerError(`reply of ${declared} bytes is over the ${maxBody}-byte bound`));
            request.destroy();
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > maxBody) {
              finish(new TrackerError(`reply over the ${maxBody}-byte bound`));
              request.destroy();
              return;
            }
            chunks.push(c);
          });
          res.on('end', () => finish(undefined, { body: Buffer.concat(chunks) }));
          res.on('error', (e) => finish(new TrackerError(e.message)));
        },
      );
      request.on('error', (e: NodeJS.ErrnoException) =>
        finish(e instanceof TrackerError ? e : new TrackerError(e.code === 'ECONNREFUSED' ? 'connection refused' : e.code ?? e.message)),
      );
      const timer = this.deps.clock.setTimeout(() => {
        finish(new TrackerError(`no reply within ${Math.round(timeoutMs / 100) / 10} s`));
        request.destroy();
      }, timeoutMs);
    });
  }
}

// ---------------------------------------------------------------------------------------
// UDP (BEP 15)
// ---------------------------------------------------------------------------------------

/**
 * Retransmission. BEP 15 waits 15·2^n s (n up to 8: over an hour) for each step. A router
 * on a mesh cannot hold a request that long: an unreachable internet tracker must be
 * declared failed quickly (its retry is then the Announcer's backoff, which holds no
 * request slot), and a mesh tracker answers within a second when it is up. 2, 4 and 8 s
 * cover two lost datagrams on a lossy radio link: 14 s per step, at most 28 s for
 * connect + announce, close to the HTTP deadline.
 */
export const UDP_RETRANSMIT_MS = [2_000, 4_000, 8_000];
/** BEP 15: "A client can use a connection ID until one minute after it has received it." */
export const UDP_CONNECTION_ID_TTL_MS = 60_000;
/** Largest datagram read: 20-byte header + 200 IPv6 peers is 3620 bytes; anything over is not for us. */
const UDP_MAX_DATAGRAM = 8192;

export interface UdpTransportDeps {
  clock: Clock;
  lookup: LookupFn;
  /** Counts datagrams dropped (unknown transaction, wrong sender). */
  onDrop?(reason: string): void;
}

interface Waiter {
  address: string;
  port: number;
  deliver(datagram: Buffer): void;
}

export class UdpAnnounceTransport implements AnnounceTransport {
  private readonly sockets = new Map<4 | 6, dgram.Socket>();
  private readonly waiters = new Map<number, Waiter>();
  private readonly connectionIds = new Map<string, { id: bigint; at: number }>();
  private closed = false;
  /** Datagrams dropped since start, for status. */
  dropped = 0;

  constructor(
    private readonly deps: UdpTransportDeps,
    private readonly retransmitMs: number[] = UDP_RETRANSMIT_MS,
  ) {}

  async announce(url: URL, req: AnnounceRequest): Promise<AnnounceReply> {
    if (this.closed) throw new TrackerError('closed');
    const port = Number(url.port);
    if (!port) throw new TrackerError('UDP tracker URL without a port');
    const host = await this.deps.lookup(url.hostname);
    const key = `${host.address}|${port}`;
    for (;;) {
      const { id: connectionId, fresh } = await this.connectionId(host, port, key);
      const tid = this.transactionId();
      const datagram = encodeUdpAnnounceRequest(connectionId, tid, req);
      try {
        return await this.exchange(host, port, tid, datagram, (d) => decodeUdpAnnounceReply(d, tid, host.family));
      } catch (err) {
        this.connectionIds.delete(key);
        // a tracker that no longer accepts a reused connection id answers with an error:
        // connect again once; an error on a fresh id is the tracker's real answer
        if (fresh || !(err instanceof TrackerError && err.fromTracker)) throw err;
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
    this.waiters.clear();
  }

  private async connectionId(host: ResolvedHost, port: number, key: string): Promise<{ id: bigint; fresh: boolean }> {
    const cached = this.connectionIds.get(key);
    if (cached && this.deps.clock.now() - cached.at < UDP_CONNECTION_ID_TTL_MS) return { id: cached.id, fresh: false };
    const tid = this.transactionId();
    const id = await this.exchange(host, port, tid, encodeUdpConnectRequest(tid), (d) => decodeUdpConnectReply(d, tid));
    if (this.connectionIds.size > 1024) this.connectionIds.clear();
    this.connectionIds.set(key, { id, at: this.deps.clock.now() });
    return { id, fresh: true };
  }

  /** BEP 15: transaction ids are random, so a stranger cannot forge a reply. Unique among pending ones. */
  private transactionId(): number {
    for (;;) {
      const id = randomBytes(4).readUInt32BE(0);
      if (!this.waiters.has(id)) return id;
    }
  }

  private socket(family: 4 | 6): dgram.Socket {
    let s = this.sockets.get(family);
    if (s) return s;
    s = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    s.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo.address, rinfo.port));
    s.on('error', () => {}); // per-send errors arrive in send callbacks; nothing else to do
    s.bind(0);
    s.unref();
    this.sockets.set(family, s);
    return s;
  }

  /** The one entry point for received bytes: matched by transaction id and sender, else dropped. */
  onDatagram(msg: Buffer, address: string, port: number): void {
    const tid = msg.length <= UDP_MAX_DATAGRAM ? udpTransactionId(msg) : undefined;
    const w = tid === undefined ? undefined : this.waiters.get(tid);
    if (!w || w.address !== address || w.port !== port) {
      this.dropped++;
      this.deps.onDrop?.(w ? 'reply from another address' : 'no request waits for it');
      return;
    }
    w.deliver(msg);
  }

  private exchange<T>(host: ResolvedHost, port: number, tid: number, datagram: Uint8Array, decode: (d: Buffer) => Decoded<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timer: { cancel(): void } | undefined;
      let settled = false;
      const finish = (err: Error | undefined, value?: T) => {
        if (settled) return;
        settled = true;
        timer?.cancel();
        this.waiters.delete(tid);
        if (err) reject(err);
        else resolve(value as T);
      };
      this.waiters.set(tid, {
        address: host.address,
        port,
        deliver: (d) => {
          const r = decode(d);
          if (r.ok) finish(undefined, r.value);
          else finish(new TrackerError(r.reason, r.fromTracker ?? false));
        },
      });
      const send = (n: number) => {
        if (this.closed) return finish(new TrackerError('closed'));
        if (n >= this.retransmitMs.length) {
          const total = this.retransmitMs.reduce((a, b) => a + b, 0) / 1000;
          return finish(new TrackerError(`no reply within ${total} s (${this.retransmitMs.length} tries)`));
        }
        this.socket(host.family).send(datagram, port, host.address, (err) => {
          if (err) finish(new TrackerError((err as NodeJS.ErrnoException).code ?? err.message));
        });
        timer = this.deps.clock.setTimeout(() => send(n + 1), this.retransmitMs[n]!);
      };
      send(0);
    });
  }
}
