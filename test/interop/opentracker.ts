/**
 * Debian's opentracker as a reference tracker for tests. It is built whitelist-only: the
 * hashes go to its whitelist file (it chroots into `dir` and drops to nobody, so `dir` must be
 * enterable by anyone). It starts answering before it has read the whitelist (a thread of its
 * own), so it counts as up only once it accepts an announce for the first listed hash.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomPort, waitFor } from '../helpers';

export interface Opentracker {
  port: number;
  announceUrl: string;
  stop(): void;
}

/**
 * Starts opentracker on `host` at a random port (retried). `prefix` runs it elsewhere, e.g.
 * `['ip', 'netns', 'exec', NAME]`; the readiness probe runs there too.
 */
export async function startOpentracker(dir: string, hashes: string[], host = '127.0.0.1', prefix: string[] = []): Promise<Opentracker> {
  if (hashes.length === 0) throw new Error('opentracker needs at least one whitelisted hash');
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'whitelist'), hashes.map((h) => `${h}\n`).join(''), { mode: 0o644 });
  const first = hashes[0]!.replace(/../g, '%$&');
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = randomPort();
    const args = ['-i', host, '-p', String(port), '-P', String(port), '-w', '/whitelist', '-d', dir];
    const child = prefix.length ? spawn(prefix[0]!, [...prefix.slice(1), 'opentracker', ...args], { stdio: 'ignore' }) : spawn('opentracker', args, { stdio: 'ignore' });
    let dead = false;
    child.on('exit', () => (dead = true));
    // a peer that stops at once: accepted only when the whitelist is loaded, and leaves no trace
    const url = `http://${host}:${port}/announce?info_hash=${first}&peer_id=-MS0000-probeprobepr&port=1&uploaded=0&downloaded=0&left=0&event=stopped&numwant=0&compact=1`;
    const probe = `fetch(${JSON.stringify(url)}).then(r=>r.text()).then(t=>process.stdout.write(t.includes('failure')?'refused':'ok'),()=>process.stdout.write('down'))`;
    // each probe starts node (a second or more on a loaded machine): a generous window; a
    // busy port makes opentracker exit, and another port is tried
    const up = await waitFor('opentracker with its whitelist loaded', 20_000, () => {
      if (dead) return 'dead';
      const r = spawnSync(prefix[0] ?? process.execPath, [...prefix.slice(1), ...(prefix.length ? [process.execPath] : []), '-e', probe], { encoding: 'utf8', timeout: 5000 });
      return r.stdout === 'ok' ? 'up' : undefined;
    }, 100).catch((e: Error) => {
      child.kill('SIGKILL');
      throw e;
    });
    if (up === 'up') return { port, announceUrl: `http://${host}:${port}/announce`, stop: () => void child.kill('SIGKILL') };
    child.kill('SIGKILL');
  }
  throw new Error('opentracker did not start (or never loaded its whitelist) on any of 5 ports');
}

/**
 * Waits until the tracker lists `count` peers of `infoHash` (its scrape: seeds and leechers,
 * as a client may announce before it has checked its data), so a client that announces after
 * that is sure to hear of them. `prefix` as for startOpentracker.
 */
export async function waitForPeers(tracker: Opentracker, infoHash: string, count = 1, ms = 60_000, prefix: string[] = []): Promise<void> {
  const url = `${tracker.announceUrl.replace(/announce$/, 'scrape')}?info_hash=${infoHash.replace(/../g, '%$&')}`;
  const probe = `fetch(${JSON.stringify(url)}).then(r=>r.arrayBuffer()).then(b=>process.stdout.write(String([...Buffer.from(b).toString('latin1').matchAll(/(?:8:complete|10:incomplete)i(\\d+)e/g)].reduce((n,m)=>n+Number(m[1]),0))),()=>process.stdout.write('down'))`;
  await waitFor(`${count} peer(s) on the tracker`, ms, () => {
    const r = spawnSync(prefix[0] ?? process.execPath, [...prefix.slice(1), ...(prefix.length ? [process.execPath] : []), '-e', probe], { encoding: 'utf8', timeout: 3000 });
    return Number(r.stdout) >= count || undefined;
  }, 250);
}
