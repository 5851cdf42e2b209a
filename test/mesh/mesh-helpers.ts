/**
 * The namespace mesh of scripts/mesh-sim.sh for the mesh tests: processes inside its hosts,
 * meshseed node configs, the libtorrent client. Every process started here is killed by
 * `killAll` (the tests call it in `finally`, before `mesh-sim.sh down`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers';

export const SIM = join(ROOT, 'scripts', 'mesh-sim.sh');
export const LT_CLIENT = join(ROOT, 'test', 'mesh', 'lt-client.py');
/** The "public tracker": its network is a blackhole in the router. */
export const PUBLIC_TRACKER = 'http://10.61.9.1:6969/announce';
export const NODE_A = '10.61.1.10';
export const NODE_B = '10.61.2.10';
export const trackerOf = (node: string) => `http://${node}:6969/announce`;

export function canMakeNamespaces(prefix: string): boolean {
  const name = `${prefix}-probe${process.pid}`;
  const ok = spawnSync('ip', ['netns', 'add', name], { stdio: 'ignore' }).status === 0;
  if (ok) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  return ok;
}

export interface ClientEvent {
  event: string;
  t: number;
  ip?: string;
  port?: number;
  peers?: number;
  [k: string]: unknown;
}

export interface Proc {
  child: ChildProcess;
  output: () => string;
  /** The JSON lines the process printed (lt-client.py's events). */
  events: () => ClientEvent[];
  exited: Promise<number | null>;
}

const procs: Proc[] = [];

/** Runs `cmd` in host `host` (a1, b2, …) of the mesh named `prefix`. */
export function inNamespace(prefix: string, host: string, cmd: string[], opts: { cwd?: string } = {}): Proc {
  const child = spawn('ip', ['netns', 'exec', `${prefix}-${host}`, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const p: Proc = {
    child,
    output: () => out,
    events: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as ClientEvent),
    exited,
  };
  procs.push(p);
  return p;
}

export function killAll(): void {
  for (const p of procs.splice(0)) p.child.kill('SIGKILL');
}

export function nodeConfig(dir: string, opts: { seeder: boolean; meshTrackers: string[]; lookupTrackers?: string[]; logLevel?: string }): string {
  const file = join(dir, 'meshseed.conf');
  writeFileSync(
    file,
    `config meshseed 'main'
  option state_dir '${dir}/state'
  option log_level '${opts.logLevel ?? 'info'}'
config tracker 'tracker'
  option port '6969'
  option interval '30'
config seeder 'seeder'
  option enabled '${opts.seeder ? 1 : 0}'
  option torrent_dir '${dir}/torrents'
  option data_dir '${dir}/data'
  option upload_rate '0'
${opts.meshTrackers.map((u) => `  list mesh_tracker '${u}'`).join('\n')}
config lpd 'lpd'
  list interface 'eth0'
  option ipv6 '0'
${(opts.lookupTrackers ?? []).map((u) => `  list lookup_tracker '${u}'`).join('\n')}
`,
  );
  return file;
}

/** A python3-libtorrent client in `host`, listening on `address`:6881. */
export const ltClient = (prefix: string, host: string, address: string, torrent: string, save: string, extra: string[] = []) =>
  inNamespace(prefix, host, ['/usr/bin/python3', LT_CLIENT, '--torrent', torrent, '--save', save, '--listen', `${address}:6881`, ...extra]);

export const sameBytes = (a: string, b: string) => Buffer.compare(readFileSync(a), readFileSync(b)) === 0;

/** The median of a few numbers (the README's mesh table quotes medians). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
