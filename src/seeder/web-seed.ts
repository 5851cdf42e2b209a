/**
 * A web seed (BEP 19, GetRight-style `url-list`): an HTTP(S) server holding the torrent's
 * files, read with `Range: bytes=first-last` requests over keep-alive HTTP/1.1.
 *
 * The URL rules, range planning and response-head checks are pure, in
 * `src/codec/web-seed-url.ts`; this class moves the bytes and keeps the seed's health:
 *
 *   - one range request per file a read touches (BEP 19: a piece that spans files needs
 *     one request per file), on at most `maxSockets` kept-alive connections;
 *   - a read is a run of whole pieces (`readPieces`), each handed over as soon as its bytes
 *     are all in; the engine keeps `readsInFlight` reads going (`readSlots`), each about
 *     `readMs` of the seed's measured rate (`piecesPerRead`);
 *   - a piece takes its buffer from the engine's bounded piece memory only when its first
 *     bytes arrive, and the socket reads straight into it (no copy); with no buffer free, the
 *     socket stops reading until one is (`RunBuffers`): a read asked long before its bytes
 *     are wanted costs no memory here, the bytes wait in TCP's buffers;
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
import type { LookupFn } from './announce-transport.js';
import { Cancel, HttpClient, HttpClientError } from './http-client.js';
import { gapsOf, PieceSink, type RunBuffers } from './web-seed-sink.js';
import { VERSION } from '../version.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';

export { WebSeedError } from '../codec/web-seed-url.js';
export type { RunBuffers } from './web-seed-sink.js';

export interface WebSeedLimits {
  /** TCP connect (and TLS handshake) of a new connection. */
  connectTimeoutMs: number;
  /** Longest wait for the next thing from the server: the head, or the next body bytes. */
  idleTimeoutMs: number;
  /** Largest response head accepted. */
  maxHeaderBytes: number;
  /** Connections to the seed at once (per host a redirect leads to). */
  maxSockets: number;
  /** Largest single read: a piece is at most 64 MiB (metainfo's bound). */
  maxReadBytes: number;
  /** Reads the engine keeps in flight (one per connection: no pipelining). */
  readsInFlight: number;
  /** Bytes the engine asks in one read at most: a run of whole pieces, at least one. */
  readBytes: number;
  /** The time one read should take at the seed's measured rate (it sizes the runs). */
  readMs: number;
  /** First backoff after a failure; doubled for each failure in a row, up to `backoffMaxMs`. */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/**
 * Defaults. 10 s to connect and 30 s of silence are generous for a mirror across a few radio
 * hops yet free the slot long before the piece would be fetched elsewhere; 16 KiB of head is
 * node:http's own bound and far above what mirrors send (a few hundred bytes); 2 sockets keep a
 * pipe full without taking a mirror's connection quota; 30 s → 1 h backoff (BEP 19 leaves
 * it open; libtorrent retries a failed web seed after its `urlseed_wait_retry`, 30 s).
 */
export const WEB_SEED_LIMITS: WebSeedLimits = {
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  maxHeaderBytes: 16 * 1024,
  maxSockets: 2,
  maxReadBytes: 64 << 20,
  readsInFlight: 2,
  readBytes: 4 << 20,
  readMs: 1_000,
  backoffBaseMs: 30_000,
  backoffMaxMs: 3_600_000,
};

/**
 * Pieces the next read of a web seed asks for: `wanted` (its `piecesPerRead`), cut to the
 * `room` left for started pieces (the picker's bound). While another read of the seed is in
 * flight, a read cut below half of `wanted` waits for room instead: a run of one piece per
 * request pays a round trip per piece. 0: no read now.
 */
export function nextRunLength(wanted: number, room: number, othersInFlight: boolean): number {
  const n = Math.min(wanted, room);
  if (n <= 0 || (othersInFlight && n * 2 < wanted)) return 0;
  return n;
}

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
  private readonly client: HttpClient;
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
  /** Bytes per ms of one read, smoothed; undefined until a read succeeds (and after a failure). */
  private readRate: number | undefined;

  constructor(
    private readonly deps: WebSeedDeps,
    private readonly opts: WebSeedOptions,
  ) {
    this.limits = { ...WEB_SEED_LIMITS, ...opts.limits };
    this.client = new HttpClient(
      { clock: deps.clock, ...(deps.lookup ? { lookup: deps.lookup } : {}) },
      { maxSockets: this.limits.maxSockets, maxHeaderBytes: this.limits.maxHeaderBytes, idleSocketMs: FREE_SOCKET_TIMEOUT_MS, ...(opts.tls?.ca ? { ca: opts.tls.ca } : {}) },
    );
    const parsed = parseWebSeedUrl(opts.url);
    if (!parsed.ok) {
      // a url-list entry that can never work: shown as dropped, with the reason
      this.dropped = true;
      this.error = parsed.reason;
    }
  }

  /**
   * Bytes [offset, offset+length) of the torrent's data, one range request per file touched.
   * `into`: a buffer of at least `length` bytes to fill (from the caller's pool) instead of a
   * new one; the result is its first `length` bytes. Fresh memory costs a page fault per
   * 4 KiB when first written, which made a new buffer per read the largest cost of a read.
   */
  async read(offset: number, length: number, signal?: AbortSignal, into?: Buffer): Promise<Buffer> {
    if (into && into.length < length) throw new WebSeedError('bad-request', `a buffer of ${into.length} bytes cannot hold a read of ${length}`);
    const out = into ? into.subarray(0, length) : Buffer.alloc(length);
    await this.readPieces(offset, length, Math.max(1, length), [out], () => undefined, signal);
    return out;
  }


  /**
   * A run of whole pieces, bytes [offset, offset+length): piece i (`pieceLength` bytes, the
   * last one maybe fewer) goes into `into[i]` (or the buffer `into.get(i)` gives when its
   * first bytes arrive), and `onPiece(i)` is called as soon as all of it is there, while the
   * rest still streams in. One range request per file the run touches
   * (BEP 19); a run of several pieces costs one request's round trip and overhead instead of
   * one per piece (2 MiB reads took half the CPU per GiB of 256 KiB ones in bench/webseed.mjs).
   * Resolves once every piece is delivered; on a failure it rejects, and the pieces already
   * delivered stay delivered (their hash check judges them).
   */
  async readPieces(offset: number, length: number, pieceLength: number, into: readonly Buffer[] | RunBuffers, onPiece: (i: number) => void, signal?: AbortSignal): Promise<void> {
    if (this.dropped) throw new WebSeedError('dropped', `web seed ${this.opts.url} is dropped: ${this.error}`);
    if (this.closed) throw new WebSeedError('unavailable', `web seed ${this.opts.url} is closed`);
    const now = this.deps.clock.now();
    if (now < this.retryAt) {
      throw new WebSeedError('unavailable', `web seed ${this.opts.url} is backing off for ${Math.ceil((this.retryAt - now) / 1000)} s`);
    }
    if (length > this.limits.maxReadBytes) throw new WebSeedError('bad-request', `a read of ${length} bytes is over the ${this.limits.maxReadBytes}-byte bound`);
    signal?.throwIfAborted();
    const plan = planRanges(this.opts.files, offset, length);
    const sink = new PieceSink(into, pieceLength, length, onPiece, gapsOf(length, plan));
    const epoch = this.epoch;
    const started = now;
    const inner = new Cancel();
    const flight: Flight = { abort: (err) => inner.abort(err) };
    const onAbort = () => inner.abort(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.flights.add(flight);
    try {
      await Promise.all([...plan.map((r) => this.fetchRange(r, sink, inner)), sink.fillGaps(inner)]);
    } catch (err) {
      inner.abort(err);
      this.downloaded += sink.delivered;
      if (signal?.aborted) throw signal.reason;
      if (err instanceof WebSeedError && (err.problem === 'dropped' || err.problem === 'unavailable')) throw err;
      this.fail(err, epoch);
      throw err;
    } finally {
      sink.close();
      this.flights.delete(flight);
      signal?.removeEventListener('abort', onAbort);
    }
    if (epoch === this.epoch && !this.dropped) {
      if (this.failures > 0) this.deps.logger.info(`web seed ${this.opts.url}: answering again`);
      this.failures = 0;
      this.error = null;
      this.succeeded = true;
      const rate = length / Math.max(1, this.deps.clock.now() - started);
      this.readRate = this.readRate === undefined ? rate : (this.readRate + rate) / 2;
    }
    this.downloaded += sink.delivered;
  }

  /** False while backing off, dropped or closed. */
  ready(now: number): boolean {
    return !this.dropped && !this.closed && now >= this.retryAt;
  }

  /**
   * Reads it takes now: none while backing off, dropped or closed; else `readsInFlight` less
   * those in flight. The engine keeps it that busy, so the next range is asked while the
   * last one still streams in: a request's round trip is hidden behind the other's bytes.
   */
  readSlots(now: number): number {
    return this.ready(now) ? Math.max(0, this.limits.readsInFlight - this.flights.size) : 0;
  }

  /**
   * Whole pieces of `pieceLength` bytes to ask in the next read: about `readMs` of the seed's
   * measured rate per read, at most `readBytes`, at least one; one until a read has measured it
   * (after a failure too). Pieces of a read wait for the seed alone (no peer fills a web seed's
   * piece), so a slow mirror gets short reads and a fast one long ones.
   */
  piecesPerRead(pieceLength: number): number {
    if (this.readRate === undefined) return 1;
    const most = Math.max(1, Math.floor(this.limits.readBytes / pieceLength));
    return Math.max(1, Math.min(most, Math.floor((this.readRate * this.limits.readMs) / pieceLength)));
  }

  /** Its data failed the hash: never used again. */
  drop(reason: string): void {
    if (this.dropped) return;
    this.dropped = true;
    this.error = reason;
    this.deps.logger.warn(`web seed ${this.opts.url} dropped: ${reason}`);
    this.abortAll(new WebSeedError('dropped', `web seed ${this.opts.url} was dropped: ${reason}`));
    this.client.close();
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
    this.client.close();
  }

  private abortAll(err: Error): void {
    for (const f of this.flights) f.abort(err);
    this.flights.clear();
  }

  /** One failure incident: failures in a row grow the backoff; reads already in flight when it began add nothing. */
  private fail(err: unknown, epoch: number): void {
    if (epoch !== this.epoch || this.dropped || this.closed) return;
    this.epoch++;
    this.failures++;
    this.readRate = undefined;
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
  private async fetchRange(r: RangeRequest, out: PieceSink, signal: Cancel): Promise<void> {
    let url = this.fileUrl(r.file);
    const fileLength = this.opts.files[r.file]!.length;
    for (let redirects = 0; ; redirects++) {
      const next = await this.request(url, r, fileLength, out, signal);
      if (!next) return;
      if (redirects >= MAX_REDIRECTS) throw new WebSeedError('redirect', `more than ${MAX_REDIRECTS} redirects from ${where(this.fileUrl(r.file))}`);
      url = next;
    }
  }

  /** One request: resolves when the range is in `sink`, or with the redirect's target. */
  private async request(url: URL, r: RangeRequest, fileLength: number, sink: PieceSink, signal: Cancel): Promise<URL | undefined> {
    const { clock } = this.deps;
    const { connectTimeoutMs, idleTimeoutMs } = this.limits;
    const expected = r.last - r.first + 1;
    let connecting = false;
    let gotHead = false;
    let inBody = false;
    let got = 0;
    let redirect: URL | undefined;
    const out = sink.writer(r.at);
    let lastProgress = clock.now();
    const progress = () => (lastProgress = clock.now());
    const refused = (problem: WebSeedError['problem'], reason: string) => new WebSeedError(problem, `${where(url)}: ${reason}`);

    // one watchdog per request: connect time, then time without a byte
    const ctrl = new Cancel();
    const offParent = signal.onAbort(() => ctrl.abort(signal.reason));
    let watchdog: { cancel(): void } | undefined;
    const watch = () => {
      const limit = connecting ? connectTimeoutMs : idleTimeoutMs;
      // waiting for our own piece memory (the socket stopped reading) is no silence of the server
      if (out.waiting) progress();
      const left = lastProgress + limit - clock.now();
      if (left > 0) return void (watchdog = clock.setTimeout(watch, left));
      const what = connecting ? `no connection within ${limit / 1000} s` : gotHead ? `no data for ${limit / 1000} s` : `no answer within ${limit / 1000} s`;
      ctrl.abort(refused('timeout', what));
    };

    try {
      await this.client.get(url, `Range: bytes=${r.first}-${r.last}\r\nUser-Agent: meshseed/${VERSION}\r\nAccept-Encoding: identity\r\n`, {
        onConnecting: () => (connecting = true),
        onSend: () => {
          // the clock starts once a connection is ours, not while waiting for one
          progress();
          watchdog?.cancel();
          watch();
        },
        onConnected: () => ((connecting = false), progress()),
        onHead: (head) => {
          gotHead = true;
          progress();
          const verdict = checkRangeHead(head, { first: r.first, last: r.last, fileLength });
          if (verdict.kind === 'refused') throw refused(verdict.problem, verdict.reason);
          if (verdict.kind === 'redirect') {
            const next = resolveRedirect(verdict.location, url);
            if (!next.ok) throw refused(verdict.location ? 'bad-url' : 'redirect', next.reason);
            redirect = next.url;
            return false; // its body is not read
          }
          const encoding = head.headers['content-encoding'];
          if (encoding !== undefined && String(encoding).trim().toLowerCase() !== 'identity') {
            throw refused('bad-length', `body sent with Content-Encoding '${String(encoding).slice(0, 40)}' although identity was asked`);
          }
          inBody = true;
          return true;
        },
        onData: (buf, start, end) => {
          if (got + end - start > expected) throw refused('bad-length', `more than the ${expected} bytes asked`);
          out.put(buf, start, end);
          got += end - start;
          progress();
        },
        bodyTarget: (max, wake) => out.target(max, () => (progress(), wake())),
        onDirect: (n) => {
          out.direct(n);
          got += n;
          progress();
        },
      }, ctrl);
    } catch (err) {
      if (err instanceof HttpClientError) throw refused('network', inBody ? `${err.message} after ${got} of ${expected} bytes` : err.message);
      throw err;
    } finally {
      watchdog?.cancel();
      offParent();
    }
    if (redirect) return redirect;
    if (got !== expected) throw refused('bad-length', `body ended after ${got} of ${expected} bytes`);
    await out.placed(signal);
    return undefined;
  }
}

/** Host and path for messages (no query: it may carry a token). */
function where(u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname.length > 120 ? u.pathname.slice(0, 117) + '...' : u.pathname}`;
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
