/** Shared test helpers: deadlines, temp folders, running the bundle, real programs. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { inflateRawSync } from 'node:zlib';
import { dirname, join } from 'node:path';

/** The repository: the nearest folder above this (bundled) test with a package.json. */
function findRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
export const ROOT = findRoot();
export const BUNDLE = join(ROOT, 'dist', 'meshseed.js');

/**
 * The program's JavaScript in the built file: the loader, then both stages inflated from the
 * deflated base64 strings the loader holds (scripts/build.mjs).
 */
export function bundleSource(): string {
  const file = readFileSync(BUNDLE, 'utf8');
  const stages = [...file.matchAll(/["'`]([A-Za-z0-9+/]{1000,}={0,2})["'`]/g)].map((m) => inflateRawSync(Buffer.from(m[1]!, 'base64')).toString('utf8'));
  if (stages.length !== 2) throw new Error(`${BUNDLE}: ${stages.length} packed stages, not 2`);
  return [file, ...stages].join('\n');
}

/** Wraps a test body so it fails after `ms` instead of hanging (uvu has no timeouts). */
export function deadline<T>(ms: number, fn: () => Promise<T> | T): () => Promise<T> {
  return () =>
    new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`test deadline of ${ms} ms passed`)), ms);
      Promise.resolve()
        .then(fn)
        .then(
          (v) => {
            clearTimeout(t);
            resolve(v);
          },
          (e) => {
            clearTimeout(t);
            reject(e);
          },
        );
    });
}

/** Waits for `check` to return a truthy value, polling, up to `ms`. */
export async function waitFor<T>(what: string, ms: number, check: () => T | Promise<T>, everyMs = 50): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function tempDir(prefix = 'meshseed-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  /** stdout as the program wrote it (decoding to a string mangles binary output). */
  stdoutBytes: Buffer;
  stderr: string;
}

/** Runs a program to completion with a deadline (killed past it). */
export function run(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')}: no exit within ${opts.timeoutMs ?? 30000} ms`));
    }, opts.timeoutMs ?? 30000);
    child.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(t);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr });
    });
    // a program that exits without reading its stdin makes this write fail with EPIPE
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs the built bundle: `meshseed <args>`. */
export const meshseed = (args: string[], opts: { cwd?: string; timeoutMs?: number } = {}) =>
  run(process.execPath, [BUNDLE, ...args], opts);

/** True when a program is on PATH. */
export function have(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Interop tests need real programs from Debian's packages, which the README's test command
 * installs. Missing ones fail the test (a missing peer is a broken setup, not a pass),
 * unless MESHSEED_ALLOW_MISSING=1, when the test is skipped with a loud message.
 */
export function requirePrograms(...programs: string[]): boolean {
  const missing = programs.filter((p) => !have(p));
  if (missing.length === 0) return true;
  if (process.env.MESHSEED_ALLOW_MISSING === '1') {
    console.log(`SKIPPED: ${missing.join(', ')} not installed (run scripts/test.sh to install them)`);
    return false;
  }
  throw new Error(`${missing.join(', ')} not installed: run scripts/test.sh, which installs the test dependencies`);
}

/** Linux's ephemeral range (outgoing connections take their local port from it). */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo! > 0 && hi! >= lo!) return [lo!, hi!];
  } catch {}
  return [32768, 60999];
}

/** Local ports bound now in this network namespace (TCP and UDP, both families). */
function portsInUse(): Set<number> {
  const used = new Set<number>();
  for (const f of ['tcp', 'tcp6', 'udp', 'udp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/net/${f}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      if (local) used.add(parseInt(local.slice(local.indexOf(':') + 1), 16));
    }
  }
  return used;
}

/**
 * A port for a server that cannot bind port 0 (a real program). Drawn from 20000 up to the
 * ephemeral range, not inside it: a port there may be the local end of any of the suite's
 * outgoing connections (70% of 20000-59999 was). A port bound now (by a test running in
 * parallel, or another run on the machine) is skipped; one taken between this check and the
 * bind is still possible: callers that can, retry on EADDRINUSE.
 */
export function randomPort(): number {
  const [lo, hi] = ephemeralRange();
  // (a machine whose ephemeral range leaves no room: anywhere, as before)
  const [from, to] = lo - 20000 >= 5000 ? [20000, lo - 1] : 65000 - hi >= 5000 ? [hi + 1, 65000] : [20000, 59999];
  const used = portsInUse();
  for (let i = 0; ; i++) {
    const port = from + Math.floor(Math.random() * (to - from + 1));
    if (!used.has(port) || i >= 100) return port;
  }
}
