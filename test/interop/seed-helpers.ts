/**
 * Shared by the seeder's interop tests: test data, torrents made with mktorrent, meshseed's
 * daemon as a child process, opentracker (whitelist-only in Debian) and a network namespace
 * for Transmission. Everything runs on loopback or inside a namespace the test creates.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { request } from 'node:http';
import { BUNDLE, waitFor, run } from '../helpers';
import { parseMetainfo } from '../../src/codec/metainfo';

/** A multi-file data set: odd sizes so pieces straddle files, a nested folder, a tiny file. */
export function makeData(dataDir: string, name: string, sizes = [3_000_017, 123_457, 5]): string {
  const root = join(dataDir, name);
  mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
  const paths = ['a.bin', join('sub', 'b.txt'), join('sub', 'deeper', 'c')];
  sizes.forEach((n, i) => writeFileSync(join(root, paths[i % paths.length]!), randomBytes(n)));
  return root;
}

/** mktorrent with a given announce URL and 64 KiB pieces; returns the path and the info hash. */
export async function makeTorrent(
  dataDir: string,
  name: string,
  out: string,
  announce = 'http://127.0.0.1:1/announce',
  pieceLog2 = 16,
): Promise<{ file: string; infoHash: string }> {
  const r = await run('mktorrent', ['-l', String(pieceLog2), '-a', announce, '-o', out, name], { cwd: dataDir, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`mktorrent failed: ${r.stderr}`);
  return { file: out, infoHash: parseMetainfo(readFileSync(out)).infoHashHex };
}

/** Every file under `dir`, relative path → SHA-256, to compare two trees byte for byte. */
export function treeDigest(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

import { randomPort } from '../helpers';
export { randomPort };

export interface Daemon {
  port: number;
  child: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts `meshseed daemon` with only the seeder and waits until it listens. `prefix` runs
 * it through another program (`ip netns exec NS`).
 */
export async function startDaemon(
  base: string,
  extra: string[] = [],
  opts: { prefix?: string[]; waitSeeding?: boolean; trackerPort?: number } = {},
): Promise<Daemon> {
  for (let attempt = 0; ; attempt++) {
    const port = randomPort();
    const args = [
      BUNDLE,
      'daemon',
      ...(opts.trackerPort ? ['--tracker-enabled', '1', '--tracker-port', String(opts.trackerPort)] : ['--tracker-enabled', '0']),
      '--lpd-enabled', '0',
      '--dht-enabled', '0',
      '--state-dir', join(base, 'state'),
      '--seeder-torrent-dir', join(base, 'torrents'),
      '--seeder-data-dir', join(base, 'data'),
      '--seeder-listen-port', String(port),
      '--log-level', 'debug',
      ...extra,
    ];
    const prefix = opts.prefix ?? [];
    const child = prefix.length ? spawn(prefix[0]!, [...prefix.slice(1), process.execPath, ...args]) : spawn(process.execPath, args);
    let log = '';
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    let dead = false;
    void exited.then(() => (dead = true));
    await waitFor('the daemon to listen', 15_000, () => dead || /listening for peers on port \d+/.test(log));
    const m = /listening for peers on port (\d+)/.exec(log);
    if (!m || (Number(m[1]) !== port && attempt < 5)) {
      // busy port: another test took it; try another
      child.kill('SIGKILL');
      await exited;
      if (attempt >= 5) throw new Error(`daemon did not start:\n${log}`);
      continue;
    }
    const d: Daemon = {
      port: Number(m[1]),
      child,
      log: () => log,
      stop: async () => {
        if (!dead) child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (!dead) child.kill('SIGKILL');
      },
    };
    if (opts.trackerPort) {
      // the tracker's port is the caller's (it may be in a torrent already): a port someone
      // else holds is retried by the daemon (5 s, then longer); past that, say so
      await waitFor(`the tracker to listen on port ${opts.trackerPort}`, 20_000, () => /tracker: listening on /.test(log) || dead).catch((e) => {
        throw new Error(`${(e as Error).message}\n${log}`);
      });
    }
    if (opts.waitSeeding !== false) await waitFor('the daemon to seed', 30_000, () => /: seeding \(/.test(log) || dead);
    return d;
  }
}

export { startOpentracker, waitForPeers, type Opentracker as Tracker } from './opentracker';

/** aria2c downloading `torrent` into `dir` on loopback, DHT, LPD and PEX off; exits when done. */
export function aria2Leech(dir: string, torrent: string, stopTimeoutS: number, iface = '127.0.0.1'): string[] {
  return [
    `--dir=${dir}`,
    '--enable-dht=false',
    '--enable-dht6=false',
    '--bt-enable-lpd=false',
    '--enable-peer-exchange=false',
    '--seed-time=0',
    `--listen-port=${randomPort()}`,
    `--interface=${iface}`,
    '--summary-interval=0',
    '--console-log-level=warn',
    `--bt-stop-timeout=${stopTimeoutS}`,
    torrent,
  ];
}

const pct = (hex: string) => hex.replace(/../g, '%$&');

/** Announces a seed to a tracker with one HTTP GET (the announcer part does this in the daemon). */
export function announceSeed(trackerUrl: string, infoHash: string, port: number, localAddress?: string): Promise<string> {
  const url = `${trackerUrl}?info_hash=${pct(infoHash)}&peer_id=-MS0000-${randomBytes(6).toString('hex')}&port=${port}&uploaded=0&downloaded=0&left=0&compact=1&event=started&numwant=0`;
  return new Promise((resolve, reject) => {
    const req = request(url, { ...(localAddress ? { localAddress } : {}), timeout: 5000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d) => (body += d));
      res.on('end', () => (body.includes('failure') ? reject(new Error(`tracker refused: ${body}`)) : resolve(body)));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A network namespace with its own loopback; removed by `remove()` and at process exit. */
export function createNamespace(name: string, addresses: string[]): { exec: string[]; remove(): void } {
  const sh = (cmd: string[]) => {
    const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr}`);
  };
  sh(['ip', 'netns', 'add', name]);
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    // processes still inside would keep it alive: kill them first
    const pids = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean);
    for (const p of pids) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {}
    }
    spawnSync('ip', ['netns', 'del', name]);
  };
  process.on('exit', remove);
  try {
    sh(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
    for (const a of addresses) sh(['ip', '-n', name, 'addr', 'add', `${a}/32`, 'dev', 'lo']);
  } catch (e) {
    remove();
    throw e;
  }
  return { exec: ['ip', 'netns', 'exec', name], remove };
}
