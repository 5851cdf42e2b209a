/**
 * The daemon's control socket: a Unix stream socket in the state directory
 * (`<state_dir>/meshseed.sock`, mode 0600: root only, as the daemon runs as root under
 * procd) through which `meshseed status` asks the running daemon how it is doing.
 *
 * Protocol: one request per connection. The client writes one line of JSON
 * (`{"command":"status"}\n`, at most MAX_REQUEST_BYTES); the daemon answers one line of
 * JSON (`{"ok":true,"status":{...}}` or `{"ok":false,"error":"..."}`) and closes.
 * A connection that sends too much or nothing for IDLE_MS is closed.
 */
import net from 'node:net';
import { existsSync, lstatSync, mkdirSync, chmodSync, unlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Service } from '../daemon.js';
import type { Settings } from '../config/settings.js';
import type { Logger } from '../util/log.js';
import { MeshseedError } from '../errors.js';
import { VERSION } from '../version.js';

export const CONTROL_SOCKET_NAME = 'meshseed.sock';
/** A request is one JSON line: a status ask, or an add carrying a magnet link (at most 16 KiB). */
export const MAX_REQUEST_BYTES = 20 * 1024;
/** A status reply for thousands of torrents stays far below this; a bigger one is refused by the client. */
export const MAX_REPLY_BYTES = 16 << 20;
/** A connection idle this long is dropped. */
const IDLE_MS = 5_000;
/** Clients served at once (status --watch from a few terminals). */
const MAX_CONNECTIONS = 8;
/** sun_path is 108 bytes on Linux, NUL included. */
const MAX_SOCKET_PATH = 107;

export function controlSocketPath(stateDir: string): string {
  return resolve(stateDir, CONTROL_SOCKET_NAME);
}

/** What `{"command":"status"}` returns under `status`. */
export interface StatusDocument {
  version: string;
  pid: number;
  uptimeS: number;
  /** Daemon.status(): each running part's own status, by part name. */
  services: Record<string, unknown>;
  /** Daemon.parts(): each part's state (part-state.ts), running or retrying and why. */
  parts?: Record<string, unknown>;
  /** A refused reload and the settings waiting for a restart (config-state.ts). */
  config?: unknown;
}

export interface ControlServerDeps {
  log: Logger;
  /** Daemon.status(). */
  status(): Record<string, unknown>;
  /** Daemon.parts(). */
  parts?(): Record<string, unknown>;
  /** The configuration's state (config-state.ts). */
  config?(): unknown;
  /** Milliseconds, for uptime. */
  now?: () => number;
  /** `{"command":"add","target":…}` (meshseed add): resolves with one line for the operator. */
  add?(target: string): Promise<string>;
}

export class ControlServer implements Service {
  readonly name = 'control';
  private server: net.Server | undefined;
  private readonly startedAt: number;
  private readonly now: () => number;

  constructor(
    private readonly deps: ControlServerDeps,
    private readonly settings: { path: string },
  ) {
    this.now = deps.now ?? Date.now;
    this.startedAt = this.now();
  }

  get path(): string {
    return this.settings.path;
  }

  async start(): Promise<void> {
    const path = this.settings.path;
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
      throw new MeshseedError('EIO', `control socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes: use a shorter state_dir`);
    }
    mkdirSync(dirname(path), { recursive: true });
    await this.removeStale(path);
    const server = net.createServer((socket) => this.serve(socket));
    server.maxConnections = MAX_CONNECTIONS;
    await new Promise<void>((resolvePromise, reject) => {
      server.once('error', reject);
      // The socket file is created by bind(), inside listen(), with the process umask: make
      // it private from its first instant (a chmod afterwards leaves a gap in which another
      // user could connect under umask 000). bind() is synchronous for a path.
      const umask = process.umask(0o077);
      try {
        server.listen(path, () => {
          server.off('error', reject);
          resolvePromise();
        });
      } finally {
        process.umask(umask);
      }
    });
    server.on('error', (err) => this.deps.log.error(`${path}: ${err.message}`));
    chmodSync(path, 0o600);
    this.server = server;
    this.deps.log.debug(`listening on ${path}`);
  }

  reload(settings: Settings): void {
    const next = controlSocketPath(settings['main.state_dir']);
    if (next !== this.settings.path) this.deps.log.warn(`state_dir changed: the control socket stays at ${this.settings.path} until a restart`);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((r) => server.close(() => r()));
    try {
      unlinkSync(this.settings.path);
    } catch {
      // already gone
    }
  }

  /**
   * A socket file left by a daemon that died (power cut, SIGKILL) is removed; one that a
   * live daemon answers on is not: two daemons on one state directory would fight over it.
   */
  private async removeStale(path: string): Promise<void> {
    let isSocket: boolean;
    try {
      isSocket = lstatSync(path).isSocket();
    } catch {
      return; // nothing there
    }
    if (!isSocket) throw new MeshseedError('EIO', `${path} exists and is not a socket: remove it`);
    const alive = await new Promise<boolean>((r) => {
      const s = net.connect(path);
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (alive) throw new MeshseedError('EDAEMON', `another meshseed daemon is listening on ${path}`);
    unlinkSync(path);
  }

  private serve(socket: net.Socket): void {
    let buffered = '';
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    socket.setEncoding('utf8');
    socket.on('error', () => {}); // client went away
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl < 0) {
        if (buffered.length > MAX_REQUEST_BYTES) this.answer(socket, { ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes` });
        return;
      }
      const line = buffered.slice(0, nl);
      buffered = '';
      socket.removeAllListeners('data');
      // an add may fetch a URL (bounded by its own deadline): no idle cut while it runs
      socket.setTimeout(0);
      void Promise.resolve(this.handle(line)).then((reply) => this.answer(socket, reply));
    });
  }

  private answer(socket: net.Socket, reply: unknown): void {
    socket.removeAllListeners('data');
    socket.end(JSON.stringify(reply) + '\n');
  }

  private handle(line: string): unknown | Promise<unknown> {
    if (line.length > MAX_REQUEST_BYTES) return { ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes` };
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch {
      return { ok: false, error: 'request is not JSON' };
    }
    const command = (request as { command?: unknown } | null)?.command;
    if (command === 'add') {
      const target = (request as { target?: unknown }).target;
      if (typeof target !== 'string' || target === '') return { ok: false, error: 'add needs a target' };
      if (!this.deps.add) return { ok: false, error: 'this daemon cannot add torrents (the seeder is off)' };
      return this.deps.add(target).then(
        (message) => ({ ok: true, message }),
        (err: Error) => ({ ok: false, error: err.message }),
      );
    }
    if (command !== 'status') return { ok: false, error: `unknown command ${JSON.stringify(command)}` };
    try {
      const status: StatusDocument = {
        version: VERSION,
        pid: process.pid,
        uptimeS: Math.round((this.now() - this.startedAt) / 1000),
        services: this.deps.status(),
        ...(this.deps.parts ? { parts: this.deps.parts() } : {}),
        ...(this.deps.config ? { config: this.deps.config() } : {}),
      };
      return { ok: true, status };
    } catch (err) {
      this.deps.log.error(`status failed: ${(err as Error).message}`);
      return { ok: false, error: 'status failed (see the daemon log)' };
    }
  }
}

/** The router's init script, when meshseed runs from its package. */
export const INIT_SCRIPT = '/etc/init.d/meshseed';

/**
 * How to start the daemon from where this program runs: the init script on a router, `npm start`
 * in a clone (the bundle is `<clone>/dist/meshseed.js`, where `meshseed` is not on PATH),
 * `meshseed daemon` elsewhere.
 */
export function startHint(initScript = INIT_SCRIPT, program: string | undefined = process.argv[1]): string {
  if (existsSync(initScript)) return `start it with: ${initScript} start`;
  if (program !== undefined && basename(dirname(program)) === 'dist') {
    const clone = dirname(dirname(resolve(program)));
    if (existsSync(join(clone, 'package.json'))) return `start it with: npm start (in ${clone})`;
  }
  return 'start it with: meshseed daemon';
}

/** Asks the daemon listening on `path`; throws MeshseedError('EDAEMON') with what to do when it cannot. */
export function requestStatus(path: string, timeoutMs = 5_000): Promise<StatusDocument> {
  return requestControl(path, { command: 'status' }, timeoutMs, (r) => (r.status as StatusDocument | undefined));
}

/** `meshseed add`: the daemon's one-line answer. */
export function requestAdd(path: string, target: string, timeoutMs = 60_000): Promise<string> {
  return requestControl(path, { command: 'add', target }, timeoutMs, (r) => (typeof r.message === 'string' ? r.message : undefined));
}

function requestControl<T>(path: string, request: object, timeoutMs: number, pick: (reply: Record<string, unknown>) => T | undefined): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(new MeshseedError('EDAEMON', message));
    };
    const socket = net.connect(path);
    socket.setTimeout(timeoutMs, () => fail(`the daemon on ${path} did not answer within ${timeoutMs / 1000} s`));
    socket.on('connect', () => socket.write(JSON.stringify(request) + '\n'));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') fail(`no daemon listening on ${path}: is it running? ${startHint()}`);
      else if (err.code === 'EACCES') fail(`cannot open ${path}: permission denied (run as root)`);
      else fail(`cannot reach the daemon on ${path}: ${err.code ?? err.message}`);
    });
    socket.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_REPLY_BYTES) return fail(`the daemon's reply is over ${MAX_REPLY_BYTES} bytes`);
      chunks.push(c);
    });
    socket.on('end', () => {
      if (settled) return;
      let reply: Record<string, unknown>;
      try {
        reply = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return fail(`the daemon on ${path} sent a reply that is not JSON`);
      }
      const value = reply?.ok ? pick(reply) : undefined;
      if (value === undefined) return fail(`the daemon refused: ${typeof reply?.error === 'string' ? reply.error : 'no reason given'}`);
      settled = true;
      resolvePromise(value);
    });
  });
}
