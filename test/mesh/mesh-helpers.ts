/**
 * Shared by the mesh scenarios (test/mesh/*.test.ts): processes inside the namespaces of
 * scripts/mesh-sim.sh, a node's UCI config, the stock libtorrent client (lt-client.py).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers';

export const SIM = join(ROOT, 'scripts', 'mesh-sim.sh');
export const LT_CLIENT = join(ROOT, 'test', 'mesh', 'lt-client.py');
/** The "public tracker" of scripts/mesh-sim.sh, behind a blackhole route: it never answers. */
export const PUBLIC_TRACKER = 'http://10.61.9.1:6969/announce';

export interface Proc {
  child: ChildProcess;
  output: () => string;
  events: () => { event: string; t: number; [k: string]: unknown }[];
  exited: Promise<number | null>;
}

export function canMakeNamespaces(prefix: string): boolean {
  const name = `${prefix}-probe${process.pid}`;
  const ok = spawnSync('ip', ['netns', 'add', name], { stdio: 'ignore' }).status === 0;
  if (ok) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  return ok;
}

/** One simulated mesh: namespaces named PREFIX-r, PREFIX-a1, …, and the processes started in them. */
export class Mesh {
  readonly procs: Proc[] = [];
  constructor(readonly prefix: string) {}

  ns(host: string): string {
    return `${this.prefix}-${host}`;
  }

  inNamespace(host: string, cmd: string[], opts: { cwd?: string } = {}): Proc {
    const child = spawn('ip', ['netns', 'exec', this.ns(host), ...cmd], { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd });
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
          .map((l) => JSON.parse(l)),
      exited,
    };
    this.procs.push(p);
    return p;
  }

  /** The stock client: python3-libtorrent, listening on `address`:6881. */
  client(host: string, address: string, torrent: string, save: string, extra: string[] = []): Proc {
    return this.inNamespace(host, ['/usr/bin/python3', LT_CLIENT, '--torrent', torrent, '--save', save, '--listen', `${address}:6881`, ...extra]);
  }

  up(): { status: number | null; stderr: string } {
    spawnSync(SIM, ['down', this.prefix], { stdio: 'ignore' });
    return spawnSync(SIM, ['up', this.prefix], { encoding: 'utf8' });
  }

  /** Kills every process started here and removes the namespaces; true when none is left. */
  down(): boolean {
    for (const p of this.procs) p.child.kill('SIGKILL');
    spawnSync(SIM, ['down', this.prefix], { stdio: 'ignore' });
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    return !new RegExp(`^${this.prefix}-`, 'm').test(left);
  }
}

export interface NodeOptions {
  seeder: boolean;
  meshTrackers: string[];
  /** The node's own tracker (default on). */
  tracker?: boolean;
  /** `list dht.bootstrap` entries (host:port). */
  dhtBootstrap?: string[];
}

/** A node's /etc/config/meshseed, as an operator would write it. */
export function nodeConfig(dir: string, opts: NodeOptions): string {
  const file = join(dir, 'meshseed.conf');
  writeFileSync(
    file,
    `config meshseed 'main'
  option state_dir '${dir}/state'
  option log_level 'info'
config tracker 'tracker'
  option enabled '${opts.tracker === false ? 0 : 1}'
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
config dht 'dht'
${(opts.dhtBootstrap ?? []).map((b) => `  list bootstrap '${b}'`).join('\n')}
`,
  );
  return file;
}

export const sameBytes = (a: string, b: string) => Buffer.compare(readFileSync(a), readFileSync(b)) === 0;
