/**
 * The tracker's HTTP/1.x front end on node:net, with its own minimal request parser so every
 * limit is ours: the request head (request line and headers) is read up to MAX_HEAD_BYTES,
 * at most MAX_HEADERS header lines, and must arrive within HEAD_TIMEOUT_MS of the connection
 * opening (a slowloris client that trickles bytes is dropped when that absolute deadline
 * passes, however active it looks). At most `maxConnections` are open at once: admission
 * (util/admission.ts) caps the connections still sending their head per address, gives the
 * whole head HEAD_DEADLINE_MS, and when every slot is taken evicts the connection idle the
 * longest for the new one, so a slowloris flood cannot lock normal clients out. Each reply carries `Connection: close` and the connection ends after it,
 * as opentracker does and as BitTorrent clients expect; a reply not taken by the client
 * within the same deadline is dropped.
 *
 * Only GET (and HEAD) are answered; a body is never read.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { findHeadEnd } from '../codec/http-response.js';
import { Admission } from '../util/admission.js';
import { ScratchBuffer } from '../util/scratch-buffer.js';
import { addressBytes } from './address.js';
import type { HttpReply, RefusalClass } from './tracker-core.js';

/** A request head is ~400 bytes from a client; 74 scrape hashes ~4.5 KiB. */
export const MAX_HEAD_BYTES = 8192;
export const MAX_HEADERS = 64;
export const HEAD_TIMEOUT_MS = 10_000;
/** The whole request head must arrive within this (a client sends it in one packet at once). */
export const HEAD_DEADLINE_MS = 5_000;
/** Connections from one address still sending their head; a client needs one. */
export const MAX_HALF_OPEN_PER_ADDRESS = 16;
export const DEFAULT_MAX_CONNECTIONS = 256;

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  304: 'Not Modified',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  431: 'Request Header Fields Too Large',
  505: 'HTTP Version Not Supported',
};

/** The request headers the pages read (the front page's links use the Host the browser used). */
export interface RequestHeaders {
  host?: string;
  ifNoneMatch?: string;
}

/** A reply with headers of its own (Content-Disposition, CSP, ETag) beside the usual ones. */
export interface FrontReply extends HttpReply {
  headers?: Record<string, string>;
}

export interface HttpFrontDeps {
  /** Handles one GET: raw target bytes and the client's address bytes. */
  /**
   * `local`: the address the request arrived on (the daemon's own peers are given as it), asked
   * only when needed: it costs a getsockname() (the client's address costs a getpeername(), which
   * Node cannot avoid: libuv accepts without the address). `headers`: Host and If-None-Match,
   * for the front page.
   */
  handle(target: Uint8Array, from: Uint8Array, local: () => Uint8Array | undefined, headers: RequestHeaders): FrontReply | Promise<FrontReply>;
  refuse(c: RefusalClass): void;
}

export interface HttpFrontSettings {
  maxConnections: number;
  /** Lifetime of a connection, whatever it is doing (reply not taken included). */
  headTimeoutMs: number;
  /** Time for the whole request head (default: HEAD_DEADLINE_MS, at most headTimeoutMs). */
  headDeadlineMs?: number;
  maxHalfOpenPerAddress?: number;
}

/** `HTTP/1.1 <status> <text>\r\nContent-Type: <type>\r\n` as bytes, per status and content type (a handful of each). */
const statusLines = new Map<number, Map<string, Buffer>>();
const CONTENT_LENGTH = Buffer.from('Content-Length: ', 'latin1');
const HEAD_TAIL = Buffer.from('\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n', 'latin1');

function statusLine(status: number, contentType: string): Buffer {
  let byType = statusLines.get(status);
  if (!byType) statusLines.set(status, (byType = new Map()));
  let line = byType.get(contentType);
  if (!line) {
    line = Buffer.from(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'OK'}\r\nContent-Type: ${contentType}\r\n`, 'latin1');
    // the content types are the pages' own constants; a bound all the same
    if (byType.size < 32) byType.set(contentType, line);
  }
  return line;
}

/** Number of decimal digits of a length (a non-negative integer). */
function digitCount(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/**
 * The reply's bytes, head and body in one buffer (one write, then the close). A reply without
 * headers of its own (every announce and scrape) is put together from cached bytes, without
 * a string.
 */
export function formatResponse(reply: FrontReply, headOnly = false): Buffer {
  if (reply.headers) return formatWithHeaders(reply, headOnly);
  const out = Buffer.allocUnsafe(responseLength(reply, headOnly));
  writeResponse(reply, headOnly, out);
  return out;
}

/** Bytes of a reply without headers of its own (see writeResponse). */
export function responseLength(reply: HttpReply, headOnly: boolean): number {
  const length = reply.body.length;
  return statusLine(reply.status, reply.contentType).length + CONTENT_LENGTH.length + digitCount(length) + HEAD_TAIL.length + (headOnly ? 0 : length);
}

/**
 * Writes a reply without headers of its own into `out` (at least responseLength bytes) from
 * cached bytes; returns the length written.
 */
export function writeResponse(reply: HttpReply, headOnly: boolean, out: Uint8Array): number {
  const line = statusLine(reply.status, reply.contentType);
  const length = reply.body.length;
  const digits = digitCount(length);
  const headLength = line.length + CONTENT_LENGTH.length + digits + HEAD_TAIL.length;
  out.set(line, 0);
  let at = line.length;
  out.set(CONTENT_LENGTH, at);
  at += CONTENT_LENGTH.length + digits;
  for (let n = length, i = at - 1; i >= at - digits; i--, n = Math.floor(n / 10)) out[i] = 0x30 + (n % 10);
  out.set(HEAD_TAIL, at);
  if (headOnly) return headLength;
  out.set(reply.body, headLength);
  return headLength + length;
}

function formatWithHeaders(reply: FrontReply, headOnly: boolean): Buffer {
  let extra = '';
  if (reply.headers) for (const [k, v] of Object.entries(reply.headers)) extra += `${k}: ${v}\r\n`;
  const head =
    `HTTP/1.1 ${reply.status} ${STATUS_TEXT[reply.status] ?? 'OK'}\r\n` +
    `Content-Type: ${reply.contentType}\r\n` +
    extra +
    `Content-Length: ${reply.body.length}\r\n` +
    `Cache-Control: no-store\r\n` +
    `Connection: close\r\n\r\n`;
  const out = Buffer.allocUnsafe(head.length + (headOnly ? 0 : reply.body.length));
  out.write(head, 0, 'latin1');
  if (!headOnly) out.set(reply.body, head.length);
  return out;
}

/** Result of reading a request head from the bytes received so far. */
export type HeadParse =
  | { kind: 'incomplete' }
  | { kind: 'request'; method: string; target: Uint8Array; headers: RequestHeaders }
  | { kind: 'error'; status: number; reason: string; refusal: RefusalClass };

const HTTP_1_ = [0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e]; // "HTTP/1."
const GET = 'GET';
const HEAD = 'HEAD';

/** The method of a request line, as one of our constant strings when it is GET or HEAD. */
function methodOf(line: Uint8Array, end: number): string {
  if (end === 3 && line[0] === 0x47 && line[1] === 0x45 && line[2] === 0x54) return GET;
  if (end === 4 && line[0] === 0x48 && line[1] === 0x45 && line[2] === 0x41 && line[3] === 0x44) return HEAD;
  return '';
}

/** True when `line[from, end)` is `HTTP/1.0` or `HTTP/1.1`. */
function isHttp1(line: Uint8Array, from: number, end: number): boolean {
  if (end - from !== 8) return false;
  for (let k = 0; k < 7; k++) if (line[from + k] !== HTTP_1_[k]) return false;
  return line[from + 7] === 0x30 || line[from + 7] === 0x31;
}

/**
 * Pure: looks for a complete request head in `buf` (CRLF or bare LF line ends, as RFC 9112
 * allows a recipient to accept). Bounded: refuses heads over MAX_HEAD_BYTES or with more
 * than MAX_HEADERS lines before they are complete. Makes no string on the way: the headers
 * are read only when a page asks for one (an announce never does).
 */
export function parseHead(buf: Buffer): HeadParse {
  const end = findHeadEnd(buf);
  if (end < 0) {
    if (buf.length > MAX_HEAD_BYTES) return { kind: 'error', status: 431, reason: 'request head too large', refusal: 'request head too large' };
    return { kind: 'incomplete' };
  }
  if (end > MAX_HEAD_BYTES) return { kind: 'error', status: 431, reason: 'request head too large', refusal: 'request head too large' };
  let lines = 0;
  for (let i = buf.indexOf(0x0a); i >= 0 && i < end; i = buf.indexOf(0x0a, i + 1)) lines++;
  if (lines > MAX_HEADERS + 1) return { kind: 'error', status: 431, reason: 'too many header lines', refusal: 'request head too large' };
  let eol = buf.indexOf(0x0a);
  if (eol < 0 || eol >= end) eol = end;
  const lineEnd = eol > 0 && buf[eol - 1] === 0x0d ? eol - 1 : eol;
  const sp1 = buf.indexOf(0x20);
  const sp2 = sp1 <= 0 || sp1 >= lineEnd ? -1 : buf.indexOf(0x20, sp1 + 1);
  const sp3 = sp2 < 0 || sp2 >= lineEnd ? -1 : buf.indexOf(0x20, sp2 + 1);
  if (sp2 < 0 || sp2 >= lineEnd || (sp3 >= 0 && sp3 < lineEnd))
    return { kind: 'error', status: 400, reason: 'malformed request line', refusal: 'malformed request' };
  if (!isHttp1(buf, sp2 + 1, lineEnd)) return { kind: 'error', status: 505, reason: 'only HTTP/1.0 and HTTP/1.1', refusal: 'malformed request' };
  const method = methodOf(buf, sp1);
  if (method === '') return { kind: 'error', status: 405, reason: 'only GET', refusal: 'method not allowed' };
  // a plain view (Buffer's subarray makes a Buffer through its species constructor: slower)
  return { kind: 'request', method, target: new Uint8Array(buf.buffer, buf.byteOffset + sp1 + 1, sp2 - sp1 - 1), headers: new HeadHeaders(buf, eol + 1, end) };
}

/** The few request headers the pages use (Host, If-None-Match), read on first use. */
class HeadHeaders implements RequestHeaders {
  private read: RequestHeaders | undefined;
  constructor(
    private readonly buf: Buffer,
    private readonly start: number,
    private readonly end: number,
  ) {}
  get host(): string | undefined {
    return (this.read ??= readHeaders(this.buf.toString('latin1', this.start, this.end))).host;
  }
  get ifNoneMatch(): string | undefined {
    return (this.read ??= readHeaders(this.buf.toString('latin1', this.start, this.end))).ifNoneMatch;
  }
}

/** Host and If-None-Match from the header lines, read as latin1 and trimmed. */
function readHeaders(block: string): RequestHeaders {
  const out: RequestHeaders = {};
  for (const raw of block.split('\n')) {
    const colon = raw.indexOf(':');
    if (colon <= 0) continue;
    const name = raw.slice(0, colon).trim().toLowerCase();
    const value = raw.slice(colon + 1).trim();
    if (name === 'host') out.host ??= value;
    else if (name === 'if-none-match') out.ifNoneMatch ??= value;
  }
  return out;
}

/** The reply when a handler throws (a bug: the client is told, the daemon goes on). */
const internalError = (): FrontReply => ({ status: 200, contentType: 'text/plain', body: Buffer.from('d14:failure reason14:internal errore') });

/**
 * The replies the front writes at once are put together in one buffer it keeps (an announce
 * reply is ~500 bytes; larger ones get a buffer of their own).
 */
const REPLY_BUFFER_BYTES = 16 * 1024;

/** Client addresses whose bytes the front keeps (see addressOf); past this many it starts afresh. */
const ADDRESS_CACHE_ENTRIES = 256;

/** How often open connections are checked against their deadline. */
const DEADLINE_CHECK_MS = 1000;

/** What the front keeps per open connection. */
interface Connection {
  /** Time (ms, Date.now) by which the connection must be gone. */
  deadline: number;
  /** The client's address as Node gives it (read once: the first read is a getpeername()). */
  address: string;
  /** The head received so far, when it came in more than one packet. */
  buf: Buffer | undefined;
  /** A reply was sent (or is being made): later bytes are ignored. */
  answered: boolean;
}

/** Errors end the connection (Node destroys the socket and emits 'close'); nothing else to do. */
const ignoreError = (): void => {};

export class HttpFront {
  private readonly servers: Server[] = [];
  /** Open connections. */
  private readonly sockets = new Map<Socket, Connection>();
  private checker: NodeJS.Timeout | undefined;
  private readonly admission: Admission<Socket>;
  /**
   * The listeners every connection shares (`this` is the socket): an announce opens a
   * connection of its own, so closures made per connection would be garbage per announce.
   */
  private readonly onData: (this: Socket, chunk: Buffer) => void;
  private readonly onClose: (this: Socket) => void;
  /**
   * Where replies are put together (see send): a reply written to the kernel at once leaves
   * nothing behind, so the next reply reuses it; no buffer (and no share of Node's buffer
   * pool, whose 8 KiB blocks are allocated and collected) per announce.
   */
  private readonly replyBuffer = new ScratchBuffer(REPLY_BUFFER_BYTES);
  /** Client addresses as the handler takes them (bytes), by Node's text: see addressOf. */
  private readonly addresses = new Map<string, Uint8Array>();

  constructor(
    private readonly deps: HttpFrontDeps,
    private readonly settings: HttpFrontSettings,
  ) {
    this.admission = new Admission({
      maxConnections: settings.maxConnections,
      maxHalfOpenPerAddress: settings.maxHalfOpenPerAddress ?? MAX_HALF_OPEN_PER_ADDRESS,
      headDeadlineMs: Math.min(settings.headDeadlineMs ?? HEAD_DEADLINE_MS, settings.headTimeoutMs),
    });
    const front = this;
    this.onData = function (chunk) {
      front.received(this, chunk);
    };
    this.onClose = function () {
      front.forget(this);
    };
  }

  /** Listens on one address; resolves with the port actually bound (port 0 picks one). */
  listen(address: string, port: number, ipv6Only = false): Promise<number> {
    const server = createServer({ allowHalfOpen: false }, (s) => this.accept(s));
    // One timer for every connection (not one per connection): a connection still open past
    // its deadline (head not received, or reply not taken) is dropped.
    this.checker ??= setInterval(() => this.dropLate(), Math.min(DEADLINE_CHECK_MS, this.settings.headTimeoutMs));
    this.checker.unref();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: address, port, ipv6Only, backlog: 511 }, () => {
        server.off('error', reject);
        server.on('error', () => {});
        this.servers.push(server);
        resolve((server.address() as { port: number }).port);
      });
    });
  }

  get connections(): number {
    return this.sockets.size;
  }

  private dropLate(): void {
    const now = Date.now();
    for (const s of this.admission.late(now)) {
      this.deps.refuse('slow client');
      this.sockets.delete(s);
      s.destroy();
    }
    for (const [s, c] of this.sockets)
      if (now >= c.deadline) {
        this.deps.refuse('slow client');
        this.sockets.delete(s);
        s.destroy();
      }
  }

  private accept(socket: Socket): void {
    const now = Date.now();
    const address = socket.remoteAddress ?? '';
    const admitted = this.admission.admit(socket, address, now);
    if (!admitted.ok) {
      this.deps.refuse('too many connections');
      socket.destroy();
      return;
    }
    if (admitted.evicted) {
      this.deps.refuse('slow client');
      this.sockets.delete(admitted.evicted);
      admitted.evicted.destroy();
    }
    this.sockets.set(socket, { deadline: now + this.settings.headTimeoutMs, address, buf: undefined, answered: false });
    socket.on('close', this.onClose);
    socket.on('error', ignoreError);
    socket.on('data', this.onData);
  }

  private forget(socket: Socket): void {
    this.sockets.delete(socket);
    this.admission.remove(socket);
  }

  private received(socket: Socket, chunk: Buffer): void {
    const c = this.sockets.get(socket);
    if (!c || c.answered) return;
    const buf = (c.buf = c.buf === undefined ? chunk : Buffer.concat([c.buf, chunk]));
    const p = parseHead(buf);
    if (p.kind === 'incomplete') return this.admission.activity(socket);
    c.answered = true;
    c.buf = undefined;
    // (a connection answered at once is forgotten by send; one that stays open, its reply not
    // taken at once or made later, counts as established)
    if (p.kind === 'error') {
      this.deps.refuse(p.refusal);
      this.send(socket, { status: p.status, contentType: 'text/plain', body: Buffer.from(`${p.reason}\n`) }, false);
      return;
    }
    const from = this.addressOf(c.address);
    if (!from) return void socket.destroy();
    let r: FrontReply | Promise<FrontReply>;
    try {
      // the local address's bytes from the same cache as the clients' (asked per loopback peer)
      r = this.deps.handle(p.target, from, () => this.addressOf(socket.localAddress ?? ''), p.headers);
    } catch {
      r = internalError();
    }
    // a page that reads a file (a .torrent) answers later; an announce answers at once
    const headOnly = p.method === 'HEAD';
    if (r instanceof Promise) {
      this.admission.establish(socket);
      r.then(
        (v) => !socket.destroyed && this.send(socket, v, headOnly),
        () => !socket.destroyed && this.send(socket, internalError(), headOnly),
      );
    } else this.send(socket, r, headOnly);
  }

  /**
   * The bytes of a client's address, the same array for the same address while it is cached
   * (clients announce again and again from a handful of addresses: a typed array per announce
   * was a tenth of the tracker's garbage). The handler and the store only read it.
   */
  private addressOf(text: string): Uint8Array | undefined {
    let bytes = this.addresses.get(text);
    if (bytes) return bytes;
    bytes = addressBytes(text);
    if (!bytes) return undefined;
    if (this.addresses.size >= ADDRESS_CACHE_ENTRIES) this.addresses.clear();
    this.addresses.set(text, bytes);
    return bytes;
  }

  /**
   * Sends the reply and closes. When the kernel took the whole reply at once (the usual case:
   * a reply is a few hundred bytes), the socket is closed at once, as opentracker does, and the
   * kernel delivers the bytes and the FIN; otherwise it is ended gracefully and the deadline
   * check drops a client that does not read.
   *
   * A reply without headers of its own is put together in the front's reply buffer. Node hands
   * a Buffer to the kernel at once and keeps it only when the kernel did not take it all (then
   * `writableLength` is not 0): that buffer then belongs to the pending write, and the front
   * takes a new one for the next replies.
   */
  private send(socket: Socket, reply: FrontReply, headOnly: boolean): void {
    let bytes: Buffer;
    let own = false;
    if (reply.headers) bytes = formatResponse(reply, headOnly);
    else {
      const length = responseLength(reply, headOnly);
      own = length <= this.replyBuffer.size;
      if (own) {
        writeResponse(reply, headOnly, this.replyBuffer.bytes);
        bytes = this.replyBuffer.view(length);
      } else bytes = formatResponse(reply, headOnly);
    }
    socket.write(bytes);
    if (socket.writableLength === 0) {
      this.forget(socket);
      socket.destroy();
    } else {
      if (own) this.replyBuffer.renew();
      this.admission.establish(socket);
      socket.end();
    }
  }


  async close(): Promise<void> {
    if (this.checker) clearInterval(this.checker);
    this.checker = undefined;
    const closing = this.servers.map((s) => new Promise<void>((r) => s.close(() => r())));
    for (const s of this.sockets.keys()) s.destroy();
    await Promise.all(closing);
    this.servers.length = 0;
  }
}
