/**
 * Shared by the mirror-mode interop tests: a real client seeds a multi-file torrent and
 * announces it to Debian's opentracker; meshseed then starts, hears of it from the torrent's
 * tracker, dials it and downloads the torrent byte for byte. Transmission runs only inside a
 * network namespace the test creates and removes (`inTransmissionNamespace`).
 */
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, waitFor } from '../helpers';
import { createNamespace, makeData, makeTorrent, startDaemon, startOpentracker, treeDigest, waitForPeers, type Tracker } from './seed-helpers';

export const SIZES = [5_000_017, 123_457, 5];

export interface Seeder {
  stop(): void;
  log(): string;
  /** Seeding (not just announced): meshseed dials each peer a tracker names once. */
  ready?(): boolean;
}

/** Runs `cmd` (through `prefix`), keeping the tail of its output. */
export function spawnSeeder(prefix: string[], cmd: string, args: string[]): Seeder & { child: ChildProcess } {
  const child = prefix.length ? spawn(prefix[0]!, [...prefix.slice(1), cmd, ...args]) : spawn(cmd, args);
  let log = '';
  // progress lines end in \r: keep the last of each run, and only the tail
  const add = (d: Buffer) => (log = (log + String(d).replace(/[^\n]*\r(?=[^\n])/g, '')).slice(-4000));
  child.stdout!.on('data', add);
  child.stderr!.on('data', add);
  return { child, log: () => log, stop: () => void child.kill('SIGKILL') };
}

export interface MirrorResult {
  /** The daemon's log (debug level). */
  log: string;
  /** From the daemon's first "listening" to "download complete", ms. */
  wallMs: number;
  /** From the download's start to its first block, s (from the daemon's "download complete" line). */
  firstBlockS: number;
  /** When the first log line matching `re` came, ms after the "download started" line (as the test saw them arrive). */
  at(re: RegExp): number | undefined;
}

/**
 * The shared scenario: data and torrent made, opentracker started (on `host`, through
 * `prefix`), `startSeeder` seeds the data from `srcDir` until the tracker lists it, then
 * meshseed (through `prefix`, with `daemonArgs`) downloads it from that seeder alone.
 */
export async function mirrorFrom(
  name: string,
  opts: { host?: string; prefix?: string[]; daemonArgs?: string[]; startSeeder(torrent: string, srcDir: string, base: string): Seeder },
): Promise<MirrorResult> {
  const tmp = tempDir(`meshseed-mirror-${name}-`);
  const cleanups: (() => unknown)[] = [];
  try {
    const base = tmp.path;
    for (const d of ['torrents', 'data', 'state', 'src']) mkdirSync(join(base, d));
    const src = makeData(join(base, 'src'), name, SIZES);
    const probe = await makeTorrent(join(base, 'src'), name, join(base, 'probe.torrent'));
    const tracker: Tracker = await startOpentracker(join(base, 'ot'), [probe.infoHash], opts.host, opts.prefix);
    cleanups.push(() => tracker.stop());
    const t = await makeTorrent(join(base, 'src'), name, join(base, `${name}.torrent`), tracker.announceUrl);
    const seeder = opts.startSeeder(t.file, join(base, 'src'), base);
    cleanups.push(() => seeder.stop());
    await waitForPeers(tracker, t.infoHash, 1, 60_000, opts.prefix).catch((e) => {
      throw new Error(`${(e as Error).message}\n--- seeder:\n${seeder.log()}`);
    });
    if (seeder.ready) await waitFor('the seeder to seed', 60_000, () => seeder.ready!(), 200);
    copyFileSync(t.file, join(base, 'torrents', `${name}.torrent`));
    const daemon = await startDaemon(base, ['--seeder-upload-rate', '0', ...(opts.daemonArgs ?? [])], { waitSeeding: false, ...(opts.prefix ? { prefix: opts.prefix } : {}) });
    cleanups.push(() => daemon.stop());
    const lines: { at: number; line: string }[] = [];
    let partial = '';
    for (const out of [daemon.child.stdout!, daemon.child.stderr!])
      out.on('data', (d) => {
        const parts = (partial + String(d)).split('\n');
        partial = parts.pop()!;
        for (const line of parts) lines.push({ at: Date.now(), line });
      });
    const started = Date.now();
    await waitFor('the download to complete', 150_000, () => new RegExp(`${name}: download complete`).test(daemon.log()), 200).catch((e) => {
      throw new Error(`${(e as Error).message}\n--- seeder:\n${seeder.log()}\n--- meshseed:\n${daemon.log().slice(-6000)}`);
    });
    const wall = Date.now() - started;
    await waitFor('seeding', 10_000, () => new RegExp(`${name}: seeding \\(`).test(daemon.log()));
    assert.equal(treeDigest(join(base, 'data', name)), treeDigest(src));
    assert.match(daemon.log(), new RegExp(`${name}: download started: 4\\.9 MiB missing`));
    const complete = /download complete: .* in ([\d.]+) s from the first block .*; ([\d.]+) s since it started\)/.exec(daemon.log())!;
    console.log(`  ${name}: ${(wall / 1000).toFixed(1)} s after the daemon listened; ${complete[0]}`);
    const firstAt = (re: RegExp) => lines.find((l) => re.test(l.line))?.at;
    const downloadAt = firstAt(/download started/) ?? started;
    return { log: daemon.log(), wallMs: wall, firstBlockS: Number(complete[2]) - Number(complete[1]), at: (re) => (firstAt(re) ?? NaN) - downloadAt };
  } finally {
    for (const c of cleanups.reverse()) await c();
    tmp.remove();
  }
}

/**
 * A network namespace for Transmission (it runs nowhere else): meshseed, opentracker and
 * Transmission each on an address of the namespace's loopback. Transmission drops a
 * connection that comes from its own address, which is the source the kernel picks for a
 * local destination: meshseed's dials to it come from `seedIp`.
 */
export async function inTransmissionNamespace<T>(tag: string, fn: (ips: { seedIp: string; trackerIp: string; clientIp: string }, exec: string[]) => Promise<T>): Promise<T> {
  const net = `10.${200 + (process.pid % 50)}.${(process.pid >> 6) % 250}`;
  const [seedIp, trackerIp, clientIp] = [`${net}.1`, `${net}.2`, `${net}.3`];
  const name = `${tag}${process.pid}`;
  const ns = createNamespace(name, [seedIp, trackerIp, clientIp]);
  try {
    const r = spawnSync('ip', ['-n', name, 'route', 'change', 'table', 'local', 'local', clientIp, 'dev', 'lo', 'proto', 'kernel', 'scope', 'host', 'src', seedIp], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    return await fn({ seedIp, trackerIp, clientIp }, ns.exec);
  } finally {
    ns.remove();
  }
}
