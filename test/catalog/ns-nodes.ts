/** Helpers for the catalog tests that run whole meshseed daemons inside network namespaces. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE } from '../helpers';
import { parseMetainfo } from '../../src/codec/metainfo';

export function daemonIn(ns: string, config: string): { child: ChildProcess; log: () => string; stop(): Promise<void> } {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, BUNDLE, 'daemon', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return {
    child,
    log: () => log,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

export function nodeConfig(dir: string, address: string, extra: string): string {
  const file = join(dir, 'meshseed.conf');
  writeFileSync(
    file,
    `config meshseed 'main'
  option state_dir '${dir}/state'
  option log_level 'info'
config tracker 'tracker'
  option port '6969'
  list address '${address}'
  option allowed_dir '${dir}/torrents'
config seeder 'seeder'
  option torrent_dir '${dir}/torrents'
  option data_dir '${dir}/data'
  option upload_rate '0'
${extra}
config lpd 'lpd'
  option enabled '0'
`,
  );
  return file;
}

/**
 * The info hashes of the .torrent files in a watch folder the daemon is changing: a file it
 * removes (or renames) between our readdir and our read is gone, not an error. A file that
 * does not parse is one: the daemon writes them atomically (temp file, then rename).
 */
export function hashesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const hashes: string[] = [];
  for (const n of readdirSync(dir)) {
    if (!n.endsWith('.torrent')) continue;
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(dir, n));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    hashes.push(parseMetainfo(bytes).infoHashHex);
  }
  return hashes.sort();
}

/** Node A's and node B's folders (torrents, data, state) under `base`. */
export function nodeDirs(base: string): { a: string; b: string } {
  const a = join(base, 'a');
  const b = join(base, 'b');
  for (const n of [a, b]) for (const d of ['torrents', 'data', 'state']) mkdirSync(join(n, d), { recursive: true });
  return { a, b };
}
