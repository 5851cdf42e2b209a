/**
 * The namespace mesh of scripts/mesh-sim.sh for the mesh tests: processes inside its hosts,
 * meshseed node configs, the libtorrent client. Every process started here is killed by
 * `killAll` (the tests call it in `finally`, before `mesh-sim.sh down`).
 */
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ROOT, meshseed, tempDir, waitFor } from '../helpers';
import { alive } from '../lpd/netns';

export const SIM = join(ROOT, 'scripts', 'mesh-sim.sh');
export const LT_CLIENT = join(ROOT, 'test', 'mesh', 'lt-client.py');
/** The "public tracker": its network is a blackhole in the router. */
export const PUBLIC_TRACKER = 'http://10.61.9.1:6969/announce';
export const NODE_A = '10.61.1.10';
export const NODE_B = '10.61.2.10';
export const trackerOf = (node: string) => `http://${node}:6969/announce`;

/**
 * The namespace prefix of one test process: `env` when set (scripts/mesh-sim.sh passes its
 * own), else `base` plus this process's pid, so two test runs on one machine never share a
 * mesh. Meshes of `base` whose pid is gone (a run killed before its teardown) are removed
 * first. Interface names are `<prefix>-vr2` at most: a 4-letter base and a 7-digit pid fit
 * the kernel's 15 characters.
 */
export function meshPrefix(env: string | undefined, base: string): string {
  if (env) return env;
  const stale = new Set<string>();
  const re = new RegExp(`^(${base}(\\d+))-`);
  for (const line of spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n')) {
    const m = re.exec(line);
    if (m && !alive(Number(m[2]))) stale.add(m[1]!);
  }
  for (const p of stale) spawnSync(SIM, ['down', p], { stdio: 'ignore' });
  return `${base}${process.pid}`;
}

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

export interface NodeOptions {
  seeder: boolean;
  meshTrackers: string[];
  lookupTrackers?: string[];
  logLevel?: string;
  /** The node's own tracker (default on). */
  tracker?: boolean;
  /** `list dht.bootstrap` entries (host:port). */
  dhtBootstrap?: string[];
  /** `seeder.download` (mirror mode; unset: the default, on). */
  download?: boolean;
}

/** A node's /etc/config/meshseed, as an operator would write it. */
export function nodeConfig(dir: string, opts: NodeOptions): string {
  const file = join(dir, 'meshseed.conf');
  writeFileSync(
    file,
    `config meshseed 'main'
  option state_dir '${dir}/state'
  option log_level '${opts.logLevel ?? 'info'}'
config tracker 'tracker'
  option enabled '${opts.tracker === false ? 0 : 1}'
  option port '6969'
  option interval '30'
config seeder 'seeder'
  option enabled '${opts.seeder ? 1 : 0}'
  option torrent_dir '${dir}/torrents'
  option data_dir '${dir}/data'
  option upload_rate '0'
${opts.download === undefined ? '' : `  option download '${opts.download ? 1 : 0}'\n`}${opts.meshTrackers.map((u) => `  list mesh_tracker '${u}'`).join('\n')}
config lpd 'lpd'
  list interface 'eth0'
  option ipv6 '0'
${(opts.lookupTrackers ?? []).map((u) => `  list lookup_tracker '${u}'`).join('\n')}
config dht 'dht'
${(opts.dhtBootstrap ?? []).map((b) => `  list bootstrap '${b}'`).join('\n')}
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

export interface MeshSetup {
  dir: ReturnType<typeof tempDir>;
  /** Node A's and node B's folders (state, torrents, data). */
  a: string;
  b: string;
  /** The file node A seeds (3 MiB and a bit) and its torrent, also in node A's torrent_dir. */
  content: string;
  torrent: string;
}

/** A fresh mesh named `prefix`, the nodes' folders, and the content with one tier per tracker in `tiers`. */
export async function setUpMesh(prefix: string, tempPrefix: string, tiers: string[]): Promise<MeshSetup> {
  const dir = tempDir(tempPrefix);
  try {
    return await prepare(prefix, dir, tiers);
  } catch (err) {
    await tearDownMesh(prefix, { dir }, true);
    throw err;
  }
}

async function prepare(prefix: string, dir: ReturnType<typeof tempDir>, tiers: string[]): Promise<MeshSetup> {
  spawnSync(SIM, ['down', prefix], { stdio: 'ignore' });
  chmodSync(dir.path, 0o755);
  const up = spawnSync(SIM, ['up', prefix], { encoding: 'utf8' });
  assert.is(up.status, 0, up.stderr);
  const a = join(dir.path, 'a');
  const b = join(dir.path, 'b');
  for (const d of [a, b]) for (const s of ['state', 'torrents', 'data']) mkdirSync(join(d, s), { recursive: true });
  const content = join(a, 'data', 'openwrt-mesh.img');
  writeFileSync(content, randomBytes(3 * 1024 * 1024 + 12345));
  const torrent = join(dir.path, 'openwrt-mesh.torrent');
  const made = await meshseed(['create', '-q', '-l', '16', ...tiers.flatMap((u) => ['-a', u]), '-o', torrent, content]);
  assert.is(made.code, 0, made.stderr);
  writeFileSync(join(a, 'torrents', 'openwrt-mesh.torrent'), readFileSync(torrent));
  return { dir, a, b, content, torrent };
}

/**
 * Kills every process started here, removes the mesh and the folder; asserts no namespace is
 * left (unless `failing`: the test's own error is the one to report). A process killed a
 * moment ago can still hold its namespace: `down` is repeated until the namespaces are gone,
 * for a few seconds at most.
 */
export async function tearDownMesh(prefix: string, setup: { dir: { remove(): void } } | undefined, failing = false): Promise<void> {
  killAll();
  // only this mesh's hosts: another test's mesh may share a prefix
  const mine = new RegExp(`^${prefix}-(r|r2|a1|a2|b1|b2|b3|c1|c2)\\b`, 'm');
  const left = () => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  try {
    await waitFor(`the ${prefix} namespaces removed`, 5000, () => {
      spawnSync(SIM, ['down', prefix], { stdio: 'ignore' });
      return !mine.test(left());
    }, 200).catch(() => {});
  } finally {
    setup?.dir.remove();
  }
  if (!failing) assert.not.match(left(), mine, `no namespace left behind:\n${left()}`);
}
