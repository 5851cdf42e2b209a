/**
 * A web seed (BEP 19, GetRight-style `url-list`): an HTTP(S) server holding the torrent's
 * files, read with `Range: bytes=first-last` requests over keep-alive HTTP/1.1.
 *
 * The URL rules, range planning and response-head checks are pure, in
 * `src/codec/web-seed-url.ts`; this class moves the bytes and keeps the seed's health:
 *
 *   - one range request per file a read touches (BEP 19: a piece that spans files needs
 *     one request per file), on at most `maxSockets` kept-alive connections;
 *   - every answer is bounded: header size, body length (exactly the range's length; a byte
 *     more aborts), time to connect, time without a byte;
 *   - a `200` means the server ignored the range: the body is abandoned at once (we never
 *     download a whole image for one piece) and the seed backs off;
 *   - at most 5 redirects, relative `Location` too, never to a scheme other than http(s);
 *   - any failure (4xx, 5xx, wrong length or Content-Range, timeout, refused connection)
 *     backs the seed off: 30 s, doubling up to 1 h, each shortened by up to 20 % of jitter
 *     so that many routers behind one failed mirror do not return to it in step;
 *   - `drop()` (its data failed the hash) retires it for good.
 *
 * Who calls it (the download engine) asks `ready(now)` before `read`, and hashes what it gets.
 */
import type http from 'node:http';
import type https from 'node:https';
import { nodeHttp, nodeHttps } from '../util/lazy-modules.js';
import type { Socket } from 'node:net';
import {
  checkRangeHead,
  parseWebSeedUrl,
  planRanges,
  resolveRedirect,
  webSeedFileUrl,
  WebSeedError,
  type RangeRequest,
  type WebSeedFile,
} from '../codec/web-seed-url.js';
import { asNodeLookup, type LookupFn } from './announce-transport.js';
import { VERSION } from '../version.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';

export { WebSeedError } from '../codec/web-seed-url.js';

export interface WebSeedLimits {
  /** TCP connect (and TLS handshake) of a new connection. */
  connectTimeoutMs: number;
  /** Longest wait for the next thing from the server: the head, or the next body bytes. */
  idleTimeoutMs: number;
  /** Largest response head accepted (node:http's parser enforces it). */
  maxHeaderBytes: number;
  /** Connections to the seed at once (per host; redirects may add hosts, bounded in total by twice this). */
  maxSockets: number;
  /** Largest single read: a piece is at most 64 MiB (metainfo's bound). */
  maxReadBytes: number;
  /** First backoff after a failure; doubled for each failure in a row, up to `backoffMaxMs`. */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/**
 * Defaults. 10 s to connect and 30 s of silence are generous for a mirror across a few radio
 * hops yet free the slot long before the piece would be fetched elsewhere; 16 KiB of head is
 * node's own default and far above what mirrors send (a few hundred bytes); 2 sockets keep a
 * pipe full without taking a mirror's connection quota; 30 s → 1 h backoff (BEP 19 leaves
 * it open; libtorrent retries a failed web seed after its `urlseed_wait_retry`, 30 s).
 */
export const WEB_SEED_LIMITS: WebSeedLimits = {
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  maxHeaderBytes: 16 * 1024,
  maxSockets: 2,
  maxReadBytes: 64 << 20,
  backoffBaseMs: 30_000,
  backoffMaxMs: 3_600_000,
};

/** BEP 19 leaves it open; browsers and curl stop at 20, libtorrent at 5. */
export const MAX_REDIRECTS = 5;
/** Free kept-alive connections are closed after this: shorter than the 5 s keep-alive of Apache and Node servers, so we rarely reuse one the server is closing. */
const FREE_SOCKET_TIMEOUT_MS = 4_000;
/** Jitter: each backoff is shortened by up to this fraction. */
const BACKOFF_JITTER = 0.2;

export type WebSeedState = 'ok' | 'idle' | 'backoff' | 'dropped';

export interface WebSeedStatus {
  url: string;
  /** ok: the last read succeeded; idle: not used yet, or free to retry after a backoff; backoff: waiting `retryInS`; dropped: bad data, never used again. */
  state: WebSeedState;
  /** Failures in a row (reset by a successful read). */
  failures: number;
  retryInS: number | null;
  /** Why the last failure happened (kept until a read succeeds). */
  error: string | null;
  /** Bytes received from this seed in successful reads. */
  downloaded: number;
}

export interface WebSeedDeps {
  clock: Clock;
  logger: Logger;
  /** Name lookups (the seeder's gated lookup); node's own getaddrinfo when absent. */
  lookup?: LookupFn;
  /** Random in [0, 1) for the backoff's jitter (tests pass a fixed one). */
  random?: () => number;
}

export interface WebSeedOptions {
  /** The `url-list` entry. */
  url: string;
  /** The torrent's `name`. */
  name: string;
  singleFile: boolean;
  files: WebSeedFile[];
  /** Extra trusted CA certificates for HTTPS (a mesh's own CA, a test's self-signed cert); verification always stays on. */
  tls?: { ca?: string | Buffer | (string | Buffer)[] };
  limits?: Partial<WebSeedLimits>;
}

interface Flight {
  abort(err: Error): void;
}

export class WebSeed {
  private readonly limits: WebSeedLimits;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly flights = new Set<Flight>();
  private readonly fileUrls = new Map<number, URL>();
  private failures = 0;
  /** Counts failure incidents: reads that started before the latest one do not count again. */
  private epoch = 0;
  private retryAt = 0;
  private error: string | null = null;
  private succeeded = false;
  private dropped = false;
  private closed = false;
  private downloaded = 0;

  constructor(
    private readonly deps: WebSeedDeps,
    private readonly opts: WebSeedOptions,
  ) {
    this.limits = { ...WEB_SEED_LIMITS, ...opts.limits };
    const agentOptions = {
      keepAlive: true,
      maxSockets: this.limits.maxSockets,
      maxTotalSockets: this.limits.maxSockets * 2,
      maxFreeSockets: this.limits.maxSockets,
      timeout: FREE_SOCKET_TIMEOUT_MS,
      scheduling: 'lifo' as const,
    };
    // loaded on first use (src/util/lazy-modules.ts): most torrents have no web seed
    this.httpAgent = new (nodeHttp().Agent)(agentOptions);
    this.httpsAgent = new (nodeHttps().Agent)({ ...agentOptions, ...(opts.tls?.ca ? { ca: opts.tls.ca } : {}) });
    const parsed = parseWebSeedUrl(opts.url);
    if (!parsed.ok) {
      // a url-list entry that can never work: shown as dropped, with the reason
      this.dropped = true;
      this.error = parsed.reason;
    }
  }

  /** Bytes [offset, offset+length) of the torrent's data, one range request per file touched. */
  async read(offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    if (this.dropped) throw new WebSeedError('dropped', `web seed ${this.opts.url} is dropped: ${this.error}`);
    if (this.closed) throw new WebSeedError('unavailable', `web seed ${this.opts.url} is closed`);
    const now = this.deps.clock.now();
    if (now < this.retryAt) {
      throw new WebSeedError('unavailable', `web seed ${this.opts.url} is backing off for ${Math.ceil((this.retryAt - now) / 1000)} s`);
    }
    if (length > this.limits.maxReadBytes) throw new WebSeedError('bad-request', `a read of ${length} bytes is over the ${this.limits.maxReadBytes}-byte bound`);
    signal?.throwIfAborted();
    const plan = planRanges(this.opts.files, offset, length);
    const out = Buffer.alloc(length); // zero-filled: padding files' bytes
    const epoch = this.epoch;
    const inner = new AbortController();
    const flight: Flight = { abort: (err) => inner.abort(err) };
    const onAbort = () => inner.abort(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.flights.add(flight);
    try {
      await Promise.all(plan.map((r) => this.fetchRange(r, out, inner.signal)));
    } catch (err) {
      inner.abort(err);
      if (signal?.aborted) throw signal.reason;
      if (err instanceof WebSeedError && (err.problem === 'dropped' || err.problem === 'unavailable')) throw err;
      this.fail(err, epoch);
      throw err;
    } finally {
      this.flights.delete(flight);
      signal?.removeEventListener('abort', onAbort);
    }
    if (epoch === this.epoch && !this.dropped) {
      if (this.failures > 0) this.deps.logger.info(`web seed ${this.opts.url}: answering again`);
      this.failures = 0;
      this.error = null;
      this.succeeded = true;
    }
    for (const r of plan) this.downloaded += r.last - r.first + 1;
    return out;
  }

  /** False while backing off, dropped or closed. */
  ready(now: number): boolean {
    return !this.dropped && !this.closed && now >= this.retryAt;
  }

  /** Its data failed the hash: never used again. */
  drop(reason: string): void {
    if (this.dropped) return;
    this.dropped = true;
    this.error = reason;
    this.deps.logger.warn(`web seed ${this.opts.url} dropped: ${reason}`);
    this.abortAll(new WebSeedError('dropped', `web seed ${this.opts.url} was dropped: ${reason}`));
    this.destroyAgents();
  }

  status(): WebSeedStatus {
    const now = this.deps.clock.now();
    const backingOff = !this.dropped && now < this.retryAt;
    const state: WebSeedState = this.dropped ? 'dropped' : backingOff ? 'backoff' : this.succeeded && this.failures === 0 ? 'ok' : 'idle';
    return {
      url: this.opts.url,
      state,
      failures: this.failures,
      retryInS: backingOff ? Math.ceil((this.retryAt - now) / 1000) : null,
      error: this.error,
      downloaded: this.downloaded,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abortAll(new WebSeedError('unavailable', `web seed ${this.opts.url} closed`));
    this.destroyAgents();
  }

  private abortAll(err: Error): void {
    for (const f of this.flights) f.abort(err);
    this.flights.clear();
  }

  private destroyAgents(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /** One failure incident: failures in a row grow the backoff; reads already in flight when it began add nothing. */
  private fail(err: unknown, epoch: number): void {
    if (epoch !== this.epoch || this.dropped || this.closed) return;
    this.epoch++;
    this.failures++;
    const { backoffBaseMs, backoffMaxMs } = this.limits;
    const full = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.min(this.failures - 1, 30));
    const wait = Math.round(full * (1 - BACKOFF_JITTER * (this.deps.random ?? Math.random)()));
    this.retryAt = this.deps.clock.now() + wait;
    this.error = err instanceof Error ? err.message : String(err);
    this.deps.logger.warn(`web seed ${this.opts.url}: ${this.error}; retry in ${Math.ceil(wait / 1000)} s`);
  }

  private fileUrl(index: number): URL {
    let u = this.fileUrls.get(index);
    if (u) return u;
    // built from the url-list text itself: URL's normal form would add a `/` to a bare host
    const built = webSeedFileUrl(this.opts.url, this.opts.name, this.opts.singleFile, this.opts.files[index]!.path);
    const parsed = parseWebSeedUrl(built);
    if (!parsed.ok) throw new WebSeedError('bad-url', `web seed ${this.opts.url}: ${parsed.reason}`);
    u = parsed.url;
    this.fileUrls.set(index, u);
    return u;
  }

  /** One file's part of a read, following redirects. */
  private async fetchRange(r: RangeRequest, out: Buffer, signal: AbortSignal): Promise<void> {
    let url = this.fileUrl(r.file);
    const fileLength = this.opts.files[r.file]!.length;
    for (let redirects = 0; ; redirects++) {
      const next = await this.requestWithRetry(url, r, fileLength, out, signal);
      if (!next) return;
      if (redirects >= MAX_REDIRECTS) throw new WebSeedError('redirect', `more than ${MAX_REDIRECTS} redirects from ${where(this.fileUrl(r.file))}`);
      url = next;
    }
  }

  /**
   * A kept-alive connection the server closed just as we reused it fails before any answer
   * (ECONNRESET on a reused socket): that is no fault of the seed, so it is tried once more.
   */
  private async requestWithRetry(url: URL, r: RangeRequest, fileLength: number, out: Buffer, signal: AbortSignal): Promise<URL | undefined> {
    try {
      return await this.request(url, r, fileLength, out, signal);
    } catch (err) {
      if (err instanceof StaleSocket && !signal.aborted) return this.request(url, r, fileLength, out, signal);
      throw err instanceof StaleSocket ? err.cause : err;
    }
  }

  /** One request: resolves when the range is in `out`, or with the redirect's target. */
  private request(url: URL, r: RangeRequest, fileLength: number, out: Buffer, signal: AbortSignal): Promise<URL | undefined> {
    const { clock } = this.deps;
    const { connectTimeoutMs, idleTimeoutMs, maxHeaderBytes } = this.limits;
    const tls = url.protocol === 'https:';
    return new Promise<URL | undefined>((resolve, reject) => {
      let done = false;
      let gotHead = false;
      let connecting = false;
      let lastProgress = clock.now();
      let watchdog: { cancel(): void } | undefined;
      const finish = (err: Error | undefined, next?: URL) => {
        if (done) return;
        done = true;
        watchdog?.cancel();
        signal.removeEventListener('abort', onAbort);
        if (err) {
          req.destroy();
          reject(err);
        } else resolve(next);
      };
      const refuse = (problem: WebSeedError['problem'], reason: string) => finish(new WebSeedError(problem, `${where(url)}: ${reason}`));
      const progress = () => (lastProgress = clock.now());
      const watch = () => {
        const limit = connecting ? connectTimeoutMs : idleTimeoutMs;
        const left = lastProgress + limit - clock.now();
        if (left > 0) {
          watchdog = clock.setTimeout(watch, left);
          return;
        }
        const what = connecting ? `no connection within ${limit / 1000} s` : gotHead ? `no data for ${limit / 1000} s` : `no answer within ${limit / 1000} s`;
        refuse('timeout', what);
      };
      const onAbort = () => finish(signal.reason instanceof Error ? signal.reason : new WebSeedError('unavailable', 'aborted'));

      const req = (tls ? nodeHttps() : nodeHttp()).request(url, {
        method: 'GET',
        agent: tls ? this.httpsAgent : this.httpAgent,
        maxHeaderSize: maxHeaderBytes,
        headers: {
          Range: `bytes=${r.first}-${r.last}`,
          'User-Agent': `meshseed/${VERSION}`,
          'Accept-Encoding': 'identity',
        },
        ...(this.deps.lookup ? { lookup: asNodeLookup(this.deps.lookup) } : {}),
      });
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });

      req.on('socket', (socket: Socket) => {
        progress();
        if (socket.connecting) {
          connecting = true;
          socket.once(tls ? 'secureConnect' : 'connect', () => {
            connecting = false;
            progress();
          });
        }
        if (!watchdog && !done) watch();
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (done) return;
        const message = networkMessage(e);
        if (!gotHead && req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) {
          done = true;
          watchdog?.cancel();
          signal.removeEventListener('abort', onAbort);
          reject(new StaleSocket(new WebSeedError('network', `${where(url)}: ${message}`)));
          return;
        }
        refuse('network', message);
      });
      req.on('response', (res) => {
        res.on('error', () => undefined); // reported through the request, or by the handlers below
        gotHead = true;
        progress();
        const verdict = checkRangeHead({ status: res.statusCode ?? 0, headers: res.headers }, { first: r.first, last: r.last, fileLength });
        if (verdict.kind === 'refused') return refuse(verdict.problem, verdict.reason);
        if (verdict.kind === 'redirect') {
          const next = resolveRedirect(verdict.location, url);
          if (!next.ok) return refuse(verdict.location ? 'bad-url' : 'redirect', next.reason);
          // the redirect's body is not worth a connection slot that a server could hold with it
          req.destroy();
          return finish(undefined, next.url);
        }
        const encoding = res.headers['content-encoding'];
        if (encoding && encoding.trim().toLowerCase() !== 'identity') return refuse('bad-length', `body sent with Content-Encoding '${encoding.slice(0, 40)}' although identity was asked`);
        const expected = verdict.length;
        let got = 0;
        res.on('data', (chunk: Buffer) => {
          if (done) return;
          if (got + chunk.length > expected) return refuse('bad-length', `more than the ${expected} bytes asked`);
          chunk.copy(out, r.at + got);
          got += chunk.length;
          progress();
        });
        res.on('end', () => {
          if (got === expected) finish(undefined);
          else refuse('bad-length', `body ended after ${got} of ${expected} bytes`);
        });
        res.on('error', (e: NodeJS.ErrnoException) => refuse('network', `${networkMessage(e)} after ${got} of ${expected} bytes`));
        res.on('close', () => refuse('network', `connection closed after ${got} of ${expected} bytes`));
      });
      req.end();
    });
  }
}

/** A request on a reused keep-alive connection that the server had closed. */
class StaleSocket extends Error {
  constructor(override readonly cause: WebSeedError) {
    super(cause.message);
  }
}

/** Host and path for messages (no query: it may carry a token). */
function where(u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname.length > 120 ? u.pathname.slice(0, 117) + '...' : u.pathname}`;
}

function networkMessage(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the host (${e.code})`;
    case 'HPE_HEADER_OVERFLOW':
      return 'response head over the size bound';
    default:
      if (e.code?.startsWith('HPE_')) return `malformed HTTP response (${e.code})`;
      if (e.code?.startsWith('ERR_TLS') || e.code?.includes('CERT') || e.code === 'DEPTH_ZERO_SELF_SIGNED_CERT') return `TLS: ${e.message}`;
      return e.code ? `${e.code}: ${e.message}` : e.message;
  }
}

/** The `web 1/2 ok` part of a torrent's status line: seeds not backing off or dropped, of all. */
export function webSeedSummary(seeds: readonly WebSeedStatus[]): string {
  if (seeds.length === 0) return '';
  const usable = seeds.filter((s) => s.state === 'ok' || s.state === 'idle').length;
  return `web ${usable}/${seeds.length} ok`;
}

/** Web seeds used per torrent: each may hold `maxSockets` connections; a torrent listing hundreds is broken or hostile. */
export const MAX_WEB_SEEDS = 8;

/**
 * The web seeds of a torrent: its `url-list`, duplicates removed, at most MAX_WEB_SEEDS
 * (the rest are ignored, with one log line).
 */
export function webSeedsFor(
  deps: WebSeedDeps,
  m: { urlList: readonly string[]; name: string; singleFile: boolean; files: WebSeedFile[] },
  extra: Pick<WebSeedOptions, 'tls' | 'limits'> = {},
): WebSeed[] {
  const urls = [...new Set(m.urlList)];
  if (urls.length > MAX_WEB_SEEDS) deps.logger.warn(`torrent ${m.name} lists ${urls.length} web seeds: using the first ${MAX_WEB_SEEDS}`);
  return urls.slice(0, MAX_WEB_SEEDS).map((url) => new WebSeed(deps, { url, name: m.name, singleFile: m.singleFile, files: m.files, ...extra }));
}
