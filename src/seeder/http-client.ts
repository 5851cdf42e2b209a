/**
 * A small HTTP/1.1 client for GETs with kept-alive connections: what a web seed needs, and
 * cheaper than node:http for bulk bodies. Every socket reads into ONE shared buffer (`onread`,
 * the peer connections' too: util/shared-reads.ts):
 * no allocation per read, and the body bytes are handed to the caller to copy where they
 * belong (a piece buffer). With node:http (and a new buffer per read), bench/webseed.mjs read
 * a loopback nginx at 0.12x curl's rate and 6.5 CPU s per GiB; with this client, at 0.5x to 1x in 256 KiB reads one
 * at a time (the request round trips are the rest) and about 1.6 CPU s per GiB.
 *
 * Sharing one buffer is safe because node calls `onread` synchronously for each read and the
 * bytes are consumed before it returns; nothing keeps a view of the buffer past the call
 * (a head that arrives in pieces is copied).
 *
 * A caller may also take a body's bytes where they belong with no copy at all
 * (`Exchange.bodyTarget`): the socket then reads straight into the caller's buffer (a piece),
 * and when the caller has no room yet the socket stops reading until it has (TCP holds the
 * rest back at the server): bytes wait in the kernel, not in our memory.
 *
 * One request at a time per connection (no pipelining); at most `maxSockets` connections per
 * origin, further requests wait for one; an idle connection is closed after `idleSocketMs`.
 * A request that fails on a reused connection before any byte of answer (the server closed
 * it as we sent) is tried once more on a new connection. Parsing is pure, in
 * `src/codec/http-response.ts`.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { nodeTls } from '../util/lazy-modules.js';
import { sharedReadBuffer } from '../util/shared-reads.js';
import { bodyFraming, ChunkedDecoder, parseResponseHead, type BodyFraming, type ResponseHeadParsed } from '../codec/http-response.js';
import { asNodeLookup, type LookupFn } from './announce-transport.js';
import type { Clock } from '../util/clock.js';


/** Interim (1xx) heads skipped before the final one. */
const MAX_INTERIM_HEADS = 4;

/**
 * A read that cannot go straight into the caller's buffer, the first after the socket stopped
 * for want of room (node registers no buffer on resume) and the one of an answer's head, goes
 * into the shared buffer and its body bytes are copied where they belong: cut to this size,
 * that copy is small, and the reads after it go straight into the caller's buffers. Reason:
 * at full size (256 KiB) a third of a fast web seed's bytes took that copy (bench/mirror-webseed.mjs),
 * and some a new buffer when the read ran past the room the caller had.
 */
const RESUME_READ_BYTES = 16 * 1024;
let resumeView: Buffer | undefined;
const resumeBuffer = (): Buffer => (resumeView ??= sharedReadBuffer().subarray(0, RESUME_READ_BYTES));
/** The shared buffer or its first part (both start at its first byte). */
const isShared = (b: Uint8Array | undefined): boolean => b === sharedReadBuffer() || (b !== undefined && b === resumeView);

export interface HttpClientSettings {
  maxSockets: number;
  maxHeaderBytes: number;
  idleSocketMs: number;
  /** Extra trusted CA certificates for HTTPS; verification always stays on. */
  ca?: string | Buffer | (string | Buffer)[];
}

/** What one GET tells its caller. `onHead` and `onData` may throw: the connection is closed and `get` rejects with that error. */
export interface Exchange {
  /** A new connection is being opened for this request (before `onSend`). */
  onConnecting(): void;
  /** The request has a connection and is sent: time spent waiting for a free connection ends here. */
  onSend(): void;
  /** The connection (TLS included) is up. */
  onConnected(): void;
  /** The final head. Return false to abandon the body. */
  onHead(head: ResponseHeadParsed): boolean;
  /** Body bytes: `buf[start, end)`, valid only during the call (a shared buffer: copy them). */
  onData(buf: Buffer, start: number, end: number): void;
  /**
   * Optional: where the socket should read the next body bytes itself, at most `max` of them
   * (0: the body's length is not known, only the shared buffer may be used): a view the bytes
   * are read into (then `onDirect(n)`), or undefined to read into the shared buffer (then
   * `onData`), or null for no room now: the socket stops reading and the caller calls `wake`
   * once (when it has room) to go on.
   */
  bodyTarget?(max: number, wake: () => void): Uint8Array | null | undefined;
  /** `n` body bytes were read into the view `bodyTarget` gave last. */
  onDirect?(n: number): void;
}

/**
 * A cancellation: what AbortController does, without EventTarget's cost (a controller and its
 * listeners cost tens of microseconds, paid on every request of a bulk download).
 */
export class Cancel {
  aborted = false;
  reason: unknown;
  private listeners: (() => void)[] = [];

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    for (const fn of this.listeners.splice(0)) fn();
  }

  /** Calls `fn` once on abort (at once if already aborted); returns the unsubscribe. */
  onAbort(fn: () => void): () => void {
    if (this.aborted) {
      fn();
      return () => undefined;
    }
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }
}

/** A failure of the connection or of the HTTP framing (not of the caller's checks). */
export class HttpClientError extends Error {
  constructor(
    message: string,
    /** No byte of the answer came, on a connection that had carried a request before. */
    readonly stale = false,
  ) {
    super(message);
    this.name = 'HttpClientError';
  }
}

interface Active {
  exchange: Exchange;
  resolve(): void;
  reject(err: Error): void;
  phase: 'head' | 'body';
  head: Buffer | undefined;
  interim: number;
  framing: BodyFraming | undefined;
  left: number;
  chunked: ChunkedDecoder | undefined;
  gotBytes: boolean;
}

class Connection {
  readonly socket: Socket;
  active: Active | undefined;
  /** Has carried a complete exchange: a failure before any answer may be a stale keep-alive. */
  reused = false;
  closed = false;
  idleTimer: { cancel(): void } | undefined;
  /** The buffer node reads into now: the shared one, or a caller's view (`bodyTarget`). */
  private readInto: Uint8Array | undefined;
  /** What the next read goes into, decided after each read (undefined: keep `readInto`). */
  private nextInto: Uint8Array | undefined;

  constructor(
    readonly origin: string,
    url: URL,
    private readonly settings: HttpClientSettings,
    lookup: LookupFn | undefined,
    private readonly onGone: (c: Connection) => void,
    private readonly onFree: (c: Connection) => void,
  ) {
    const tls = url.protocol === 'https:';
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = Number(url.port) || (tls ? 443 : 80);
    const onread = {
      // node calls this after each read (and once at the start); a buffer returned is registered for the next read, undefined keeps the last one
      buffer: () => {
        const next = this.readInto === undefined ? sharedReadBuffer() : this.nextInto;
        this.nextInto = undefined;
        if (next) this.readInto = next;
        return next as Uint8Array;
      },
      callback: (n: number, buf: Uint8Array) => {
        if (isShared(buf)) this.onRead(buf as Buffer, n);
        else this.onDirect(n);
        return this.planNextRead();
      },
    };
    const common = { host, port, onread, ...(lookup ? { lookup: asNodeLookup(lookup) } : {}) };
    this.socket = tls
      ? nodeTls().connect({ ...common, ...(isIP(host) ? {} : { servername: host }), ...(settings.ca ? { ca: settings.ca } : {}), ALPNProtocols: ['http/1.1'] })
      : netConnect(common);
    this.socket.setNoDelay(true);
    this.socket.once(tls ? 'secureConnect' : 'connect', () => this.active?.exchange.onConnected());
    this.socket.on('error', (e: NodeJS.ErrnoException) => this.gone(new HttpClientError(socketMessage(e), this.reused && !this.active?.gotBytes)));
    this.socket.on('end', () => this.gone(undefined));
    this.socket.on('close', () => this.gone(undefined));
  }

  send(url: URL, headerLines: string, active: Active): void {
    this.idleTimer?.cancel();
    this.active = active;
    this.socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n${headerLines}Connection: keep-alive\r\n\r\n`, 'latin1');
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.idleTimer?.cancel();
    this.socket.destroy();
    this.onGone(this);
  }

  /** The socket ended or failed: an answer read until the close is complete; anything else in flight fails. */
  private gone(err: HttpClientError | undefined): void {
    const a = this.active;
    this.active = undefined;
    this.destroy();
    if (!a) return;
    if (!err && a.phase === 'body' && a.framing?.kind === 'close') return a.resolve();
    a.reject(err ?? new HttpClientError(a.gotBytes ? 'connection closed before the end of the answer' : 'connection closed without an answer', this.reused && !a.gotBytes));
  }

  private fail(err: unknown): void {
    const a = this.active;
    this.active = undefined;
    this.destroy();
    a?.reject(err instanceof Error ? err : new HttpClientError(String(err)));
  }

  /** The exchange is over; `clean`: nothing more came after it, so the connection can carry another. */
  private complete(clean: boolean): void {
    const a = this.active!;
    this.active = undefined;
    const keepAlive = a.framing && a.framing.kind !== 'close' && a.framing.kind !== 'error' && a.framing.keepAlive;
    if (clean && keepAlive) {
      this.reused = true;
      this.onFree(this);
    } else this.destroy();
    a.resolve();
  }

  /**
   * Where the next read goes: into the caller's view while a body of known length is read and
   * the caller gives one, else into the shared buffer. False: stop reading (the caller has no
   * room; its `wake` resumes).
   */
  private planNextRead(): boolean {
    const a = this.active;
    let target: Uint8Array | null | undefined;
    if (a && a.phase === 'body' && a.exchange.bodyTarget) {
      const known = a.framing?.kind === 'length';
      target = a.exchange.bodyTarget(known ? a.left : 0, () => {
        if (this.active === a && !this.closed) this.socket.resume();
      });
      if (!known && target) target = undefined;
    }
    let next: Uint8Array;
    // the read after a pause, or of a head (the body bytes after it are copied), goes into the first part of the shared buffer: node sets no buffer on resume
    if (target === null || !a || a.phase === 'head') next = resumeBuffer();
    // never the body's last byte: it is read into the shared buffer, with whatever the server sent after it (then the connection is not reused)
    else if (target && a.left > 1) next = target.length >= a.left ? target.subarray(0, a.left - 1) : target;
    else next = sharedReadBuffer();
    if (next !== this.readInto) this.nextInto = next;
    return target !== null;
  }

  /** `n` body bytes were read into the caller's view. */
  private onDirect(n: number): void {
    const a = this.active;
    if (!a || a.phase !== 'body' || n > a.left) return this.destroy(); // cannot happen: the view was at most `left` bytes, given for this answer
    a.gotBytes = true;
    try {
      a.left -= n;
      a.exchange.onDirect!(n);
      if (a.left === 0) this.complete(true);
    } catch (err) {
      this.fail(err);
    }
  }

  /** `buf[0, end)` was read. Indices, not views: a Buffer view costs more than the copy of a small read. */
  private onRead(buf: Buffer, end: number): void {
    const a = this.active;
    if (!a) return this.destroy(); // bytes nobody asked for
    a.gotBytes = true;
    try {
      let i = 0;
      while (i < end && this.active === a) i = a.phase === 'head' ? this.readHead(a, buf, i, end) : this.readBody(a, buf, i, end);
      // an answer done with bytes left over: the server sent more than it framed
      if (this.active !== a && i < end && !this.closed) this.destroy();
    } catch (err) {
      this.fail(err);
    }
  }

  /** Reads head bytes from `buf[start, end)`; returns where the next part starts. */
  private readHead(a: Active, buf: Buffer, start: number, end: number): number {
    const before = a.head?.length ?? 0;
    const room = this.settings.maxHeaderBytes + 1 - before;
    const add = buf.subarray(start, Math.min(end, start + Math.max(0, room)));
    a.head = a.head ? Buffer.concat([a.head, add]) : Buffer.from(add); // a copy: `buf` is shared
    const p = parseResponseHead(a.head, this.settings.maxHeaderBytes, Math.max(0, before - 3));
    if (p.kind === 'error') throw new HttpClientError(`malformed answer: ${p.reason}`);
    if (p.kind === 'incomplete') return end;
    const used = start + p.head.length - before;
    a.head = undefined;
    if (p.head.status >= 100 && p.head.status < 200) {
      if (++a.interim > MAX_INTERIM_HEADS) throw new HttpClientError(`more than ${MAX_INTERIM_HEADS} interim (1xx) answers`);
      return used;
    }
    const framing = bodyFraming(p.head);
    if (framing.kind === 'error') throw new HttpClientError(`malformed answer: ${framing.reason}`);
    a.framing = framing;
    const wanted = a.exchange.onHead(p.head);
    if (!wanted) {
      this.complete(framing.kind === 'length' && framing.length === 0);
      return used;
    }
    a.phase = 'body';
    if (framing.kind === 'length') {
      a.left = framing.length;
      if (a.left === 0) this.complete(true);
    } else if (framing.kind === 'chunked') a.chunked = new ChunkedDecoder();
    return used;
  }

  /** Reads body bytes from `buf[start, end)`; returns where the unused part starts. */
  private readBody(a: Active, buf: Buffer, start: number, end: number): number {
    const f = a.framing!;
    if (f.kind === 'close') {
      a.exchange.onData(buf, start, end);
      return end;
    }
    if (f.kind === 'chunked') {
      const r = a.chunked!.push(buf, start, end, (b, s, e) => a.exchange.onData(b, s, e));
      if ('error' in r) throw new HttpClientError(`malformed chunked body: ${r.error}`);
      if (a.chunked!.done) this.complete(r.next === end);
      return r.next;
    }
    const stop = Math.min(end, start + a.left);
    a.exchange.onData(buf, start, stop);
    a.left -= stop - start;
    if (a.left === 0) this.complete(stop === end);
    return stop;
  }
}

export class HttpClient {
  private readonly open = new Map<string, Set<Connection>>();
  private readonly idle = new Map<string, Connection[]>();
  private readonly waiting = new Map<string, (() => void)[]>();
  private closed = false;

  constructor(
    private readonly deps: { clock: Clock; lookup?: LookupFn },
    private readonly settings: HttpClientSettings,
  ) {}

  /**
   * GET `url` with extra header lines (each ending in CRLF). Resolves when the answer is
   * complete or its body was abandoned; rejects with an HttpClientError, with what the
   * exchange threw, or with the signal's reason.
   */
  async get(url: URL, headerLines: string, exchange: Exchange, signal: Cancel): Promise<void> {
    try {
      return await this.attempt(url, headerLines, exchange, signal);
    } catch (err) {
      if (!(err instanceof HttpClientError && err.stale) || signal.aborted) throw err;
      return this.attempt(url, headerLines, exchange, signal, true);
    }
  }

  close(): void {
    this.closed = true;
    for (const set of this.open.values()) for (const c of set) c.destroy();
    for (const list of this.waiting.values()) for (const w of list) w();
    this.waiting.clear();
  }

  private async attempt(url: URL, headerLines: string, exchange: Exchange, signal: Cancel, fresh = false): Promise<void> {
    const conn = await this.acquire(url, exchange, signal, fresh);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        conn.active = undefined;
        conn.destroy();
        reject(signal.reason);
      };
      const done = signal.onAbort(onAbort);
      exchange.onSend();
      conn.send(url, headerLines, {
        exchange,
        resolve: () => (done(), resolve()),
        reject: (e) => (done(), reject(e)),
        phase: 'head',
        head: undefined,
        interim: 0,
        framing: undefined,
        left: 0,
        chunked: undefined,
        gotBytes: false,
      });
    });
  }

  /** A free connection to the URL's origin: an idle one, a new one under the limit, or the next one freed. */
  private async acquire(url: URL, exchange: Exchange, signal: Cancel, fresh: boolean): Promise<Connection> {
    const origin = `${url.protocol}//${url.host}`;
    for (;;) {
      if (this.closed) throw new HttpClientError('client closed');
      signal.throwIfAborted();
      const idle = this.idle.get(origin);
      const reuse = fresh ? undefined : idle?.pop();
      if (reuse) return reuse;
      const open = this.open.get(origin) ?? new Set<Connection>();
      if (open.size >= this.settings.maxSockets && fresh && idle?.length) idle.shift()!.destroy();
      if (open.size < this.settings.maxSockets) {
        const c = new Connection(origin, url, this.settings, this.deps.lookup, (g) => this.forget(g), (f) => this.free(f));
        open.add(c);
        this.open.set(origin, open);
        exchange.onConnecting();
        return c;
      }
      await new Promise<void>((resolve, reject) => {
        const list = this.waiting.get(origin) ?? [];
        const wake = () => {
          off();
          resolve();
        };
        list.push(wake);
        const off = signal.onAbort(() => {
          const i = list.indexOf(wake);
          if (i >= 0) list.splice(i, 1);
          reject(signal.reason);
        });
        this.waiting.set(origin, list);
      });
    }
  }

  private wakeOne(origin: string): void {
    const list = this.waiting.get(origin);
    const next = list?.shift();
    if (list && list.length === 0) this.waiting.delete(origin);
    next?.();
  }

  private free(c: Connection): void {
    if (this.closed) return c.destroy();
    const list = this.idle.get(c.origin) ?? [];
    list.push(c);
    this.idle.set(c.origin, list);
    c.idleTimer = this.deps.clock.setTimeout(() => c.destroy(), this.settings.idleSocketMs);
    this.wakeOne(c.origin);
  }

  private forget(c: Connection): void {
    const open = this.open.get(c.origin);
    open?.delete(c);
    if (open?.size === 0) this.open.delete(c.origin);
    const idle = this.idle.get(c.origin);
    const i = idle?.indexOf(c) ?? -1;
    if (i >= 0) idle!.splice(i, 1);
    if (idle?.length === 0) this.idle.delete(c.origin);
    this.wakeOne(c.origin);
  }
}

function socketMessage(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EPIPE':
      return 'connection closed while sending';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the host (${e.code})`;
    default:
      if (e.code?.startsWith('ERR_TLS') || e.code?.includes('CERT') || /certificate|ssl|tls/i.test(e.message)) return `TLS: ${e.message}`;
      return e.code ? `${e.code}: ${e.message}` : e.message;
  }
}
