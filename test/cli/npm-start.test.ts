// deadline: 60s
/**
 * `npm start` (package.json's start script) runs the daemon on this machine only: every socket
 * it listens on, TCP and UDP, is bound to 127.0.0.1. The sockets are read from the kernel's
 * tables (/proc/net/{tcp,tcp6,udp,udp6}), matched to the daemon's own file descriptors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE, ROOT, deadline, randomPort, tempDir, waitFor } from '../helpers';

/** The daemon flags of the start script: what follows `meshseed.js daemon`. */
function startFlags(): string[] {
  const script: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start;
  const m = /dist\/meshseed\.js daemon(.*)$/.exec(script);
  assert.ok(m, `start script runs the daemon: ${script}`);
  return m![1]!.trim().split(/\s+/).filter(Boolean);
}

/** Local address:port of every socket of `pid` in a listening state (TCP LISTEN, any bound UDP). */
function listeningSockets(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const out: string[] = [];
  for (const table of ['tcp', 'tcp6', 'udp', 'udp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9]!)) continue;
      if (table.startsWith('tcp') && f[3] !== '0A') continue; // 0A: LISTEN
      const [hex, port] = f[1]!.split(':');
      out.push(`${table} ${addressOf(hex!)}:${parseInt(port!, 16)}`);
    }
  }
  return out.sort();
}

/** /proc/net's hex address (little-endian words) as text. */
function addressOf(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
  if (bytes.length === 4) return [...bytes].join('.');
  const words = [];
  for (let i = 0; i < 16; i += 2) words.push(bytes.readUInt16BE(i).toString(16));
  return words.join(':');
}

test(
  'npm start: the tracker, the seeder and the DHT listen on 127.0.0.1 only; LPD is off',
  deadline(40_000, async () => {
    const dir = tempDir('meshseed-npm-start-');
    const trackerPort = randomPort();
    const peerPort = randomPort();
    const child = spawn(
      process.execPath,
      [
        BUNDLE,
        'daemon',
        ...startFlags(),
        '--state-dir', join(dir.path, 'state'),
        '--seeder-torrent-dir', join(dir.path, 'torrents'),
        '--seeder-data-dir', join(dir.path, 'data'),
        '--tracker-allowed-dir', join(dir.path, 'torrents'),
        '--tracker-port', String(trackerPort),
        '--seeder-listen-port', String(peerPort),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir.path },
    );
    let log = '';
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    try {
      await waitFor('the daemon started', 20_000, () => /info: started/.test(log));
      const sockets = listeningSockets(child.pid!);
      console.log(`  npm start listens on: ${sockets.join(', ')}`);
      assert.ok(sockets.includes(`tcp 127.0.0.1:${trackerPort}`), sockets.join(', '));
      assert.ok(sockets.includes(`udp 127.0.0.1:${trackerPort}`), sockets.join(', '));
      const peer = sockets.find((s) => s.startsWith('tcp 127.0.0.1:') && s !== `tcp 127.0.0.1:${trackerPort}`);
      assert.ok(peer, `a peer-wire socket: ${sockets.join(', ')}`);
      assert.ok(sockets.some((s) => s.startsWith('udp 127.0.0.1:') && s !== `udp 127.0.0.1:${trackerPort}`), `a DHT socket: ${sockets.join(', ')}`);
      for (const s of sockets) assert.match(s, /^(tcp|udp) 127\.0\.0\.1:\d+$/, `only loopback: ${s}`);
      assert.match(log, /lpd \(off: lpd\.enabled is 0\)/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      dir.remove();
    }
  }),
);

test.run();
