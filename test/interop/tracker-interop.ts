/** Shared pieces of the tracker interop tests: a payload, its torrents, real client processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers';
import { parseMetainfo } from '../../src/codec/metainfo';

export const LT_SCRIPT = join(ROOT, 'test', 'interop', 'tracker-lt.py');
export const PY = '/usr/bin/python3';

/** A random payload in `<dir>/seed/<name>` and one torrent per announce URL (same info hash). */
export async function makePayload(dir: string, name: string, bytes: number, urls: Record<string, string>, opts: { private?: boolean } = {}) {
  const seedDir = join(dir, 'seed');
  mkdirSync(seedDir, { recursive: true });
  const file = join(seedDir, name);
  writeFileSync(file, randomBytes(bytes));
  const torrents: Record<string, string> = {};
  let hex = '';
  for (const [k, url] of Object.entries(urls)) {
    const out = join(dir, `${k}.torrent`);
    await sh('mktorrent', ['-a', url, '-l', '16', '-d', ...(opts.private ? ['-p'] : []), '-o', out, file]);
    const m = parseMetainfo(readFileSync(out));
    if (hex && m.infoHashHex !== hex) throw new Error('torrents differ in info hash');
    hex = m.infoHashHex;
    torrents[k] = out;
  }
  return { seedDir, file, torrents, infoHashHex: hex, infoHash: Buffer.from(hex, 'hex') };
}

export interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  kill(): Promise<number | null>;
}

export function start(cmd: string, args: string[], opts: { cwd?: string } = {}): Proc {
  const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) =>
    child.on('close', (code, signal) => {
      // a null exit code alone says nothing: say which signal ended it (a crash, or our kill)
      if (signal) out += `\n[${cmd} ended by ${signal}]\n`;
      r(code);
    }),
  );
  return {
    child,
    output: () => out,
    exited,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}

import { randomPort } from '../helpers';
export { randomPort };

/**
 * aria2c with DHT, LPD and PEX off: the tracker is its only source of peers.
 *
 * aria2 1.36 has UDP tracker support only with its DHT switched on ("--enable-dht ... also
 * enables UDP tracker support"). `udpTracker` is therefore only for an aria2 inside a test's
 * network namespace (DHT never runs on the machine's own interfaces); its DHT node starts
 * with an empty routing table in a fresh file and no entry point, so it contacts nobody.
 */
export function aria2Args(o: { dir: string; port: number; torrent: string; seed: boolean; address?: string; udpTracker?: boolean }): string[] {
  return [
    '--no-conf',
    ...(o.udpTracker ? ['--enable-dht=true', `--dht-file-path=${o.dir}/.dht-empty.dat`, `--dht-listen-port=${randomPort()}`] : ['--enable-dht=false']),
    '--enable-dht6=false',
    '--bt-enable-lpd=false',
    '--enable-peer-exchange=false',
    `--listen-port=${o.port}`,
    ...(o.address ? [`--interface=${o.address}`] : []),
    '--file-allocation=none',
    '--summary-interval=0',
    '--console-log-level=warn',
    '--bt-tracker-connect-timeout=5',
    '--bt-tracker-timeout=5',
    '--seed-ratio=0.0',
    ...(o.seed ? ['--check-integrity=true', '--seed-time=5'] : ['--seed-time=0']),
    '-d',
    o.dir,
    o.torrent,
  ];
}

/** The JSON lines a tracker-lt.py process printed. */
export function ltEvents(p: Proc): Record<string, unknown>[] {
  return p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Runs a short command to completion (stdin closed: helpers' run() can hit EPIPE when a child exits at once). */
export async function sh(cmd: string, args: string[], timeoutMs = 20000): Promise<string> {
  const p = start(cmd, args);
  const t = setTimeout(() => void p.kill(), timeoutMs);
  const status = await p.exited;
  clearTimeout(t);
  if (status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${status}: ${p.output()}`);
  return p.output();
}
