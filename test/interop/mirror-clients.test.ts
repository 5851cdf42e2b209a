// deadline: 480s
/**
 * Mirror mode against other real clients: meshseed downloads a multi-file torrent byte for
 * byte from aria2, qBittorrent-nox (both on loopback) and Transmission (only inside a network
 * namespace this test creates and removes), each the only seeder. Each seeder announces to
 * Debian's opentracker first; meshseed then starts, hears of it from the torrent's tracker
 * and dials it in plain text (meshseed dials each peer a tracker names once per announce, so
 * a seeder must be seeding before meshseed starts). Each seeder has an address other than
 * the one meshseed dials from: Transmission and libtorrent (qBittorrent) refuse a connection
 * from their own address. Download times are printed (the machine is shared: no threshold).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deadline, requirePrograms, tempDir, waitFor } from '../helpers';
import { writeTransmissionConfig } from './transmission';
import {
  aria2Leech,
  createNamespace,
  makeData,
  makeTorrent,
  randomPort,
  startDaemon,
  startOpentracker,
  treeDigest,
  waitForPeers,
  type Tracker,
} from './seed-helpers';

const SIZES = [5_000_017, 123_457, 5];

interface Seeder {
  stop(): void;
  log(): string;
  /** Seeding (not just announced): meshseed dials each peer a tracker names once. */
  ready?(): boolean;
}

/** Runs `cmd` (through `prefix`), keeping the tail of its output. */
function spawnSeeder(prefix: string[], cmd: string, args: string[]): Seeder & { child: ChildProcess } {
  const child = prefix.length ? spawn(prefix[0]!, [...prefix.slice(1), cmd, ...args]) : spawn(cmd, args);
  let log = '';
  // progress lines end in \r: keep the last of each run, and only the tail
  const add = (d: Buffer) => (log = (log + String(d).replace(/[^\n]*\r(?=[^\n])/g, '')).slice(-4000));
  child.stdout!.on('data', add);
  child.stderr!.on('data', add);
  return { child, log: () => log, stop: () => void child.kill('SIGKILL') };
}

/**
 * The shared scenario: data and torrent made, opentracker started (on `host`, through
 * `prefix`), `startSeeder` seeds the data from `srcDir` until the tracker lists it, then
 * meshseed (through `prefix`) downloads it from that seeder alone.
 */
async function mirrorFrom(
  name: string,
  opts: { host?: string; prefix?: string[]; startSeeder(torrent: string, srcDir: string, base: string): Seeder },
): Promise<void> {
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
    const daemon = await startDaemon(base, ['--seeder-upload-rate', '0'], { waitSeeding: false, ...(opts.prefix ? { prefix: opts.prefix } : {}) });
    cleanups.push(() => daemon.stop());
    const started = Date.now();
    await waitFor('the download to complete', 150_000, () => new RegExp(`${name}: download complete`).test(daemon.log()), 200).catch((e) => {
      throw new Error(`${(e as Error).message}\n--- seeder:\n${seeder.log()}\n--- meshseed:\n${daemon.log().slice(-6000)}`);
    });
    const wall = Date.now() - started;
    await waitFor('seeding', 10_000, () => new RegExp(`${name}: seeding \\(`).test(daemon.log()));
    assert.equal(treeDigest(join(base, 'data', name)), treeDigest(src));
    assert.match(daemon.log(), new RegExp(`${name}: download started: 4\\.9 MiB missing`));
    console.log(`  ${name}: ${(wall / 1000).toFixed(1)} s after the daemon listened; ${/download complete: .*/.exec(daemon.log())![0]}`);
  } finally {
    for (const c of cleanups.reverse()) await c();
    tmp.remove();
  }
}

test(
  'meshseed downloads a multi-file torrent from aria2 alone, byte for byte',
  deadline(200_000, async () => {
    if (!requirePrograms('aria2c', 'opentracker', 'mktorrent')) return;
    await mirrorFrom('aria2-mirror', {
      startSeeder: (torrent, srcDir) => {
        // aria2Leech's options (DHT, LPD, PEX off, loopback), then check the data and seed for ever
        const args = aria2Leech(srcDir, torrent, 0).filter((a) => !a.startsWith('--seed-time') && !a.startsWith('--bt-stop-timeout') && !a.startsWith('--console-log-level'));
        return spawnSeeder([], 'aria2c', ['-V', '--seed-ratio=0', '--console-log-level=notice', ...args]);
      },
    });
  }),
);

test(
  'meshseed downloads a multi-file torrent from qBittorrent-nox alone, byte for byte',
  deadline(200_000, async () => {
    if (!requirePrograms('qbittorrent-nox', 'opentracker', 'mktorrent')) return;
    await mirrorFrom('qbt-mirror', {
      startSeeder: (torrent, srcDir, base) => {
        const profile = join(base, 'qbt');
        const port = randomPort();
        mkdirSync(join(profile, 'qBittorrent', 'config'), { recursive: true });
        writeFileSync(
          join(profile, 'qBittorrent', 'config', 'qBittorrent.conf'),
          [
            '[LegalNotice]',
            'Accepted=true',
            '[BitTorrent]',
            'Session\\DHTEnabled=false',
            'Session\\LSDEnabled=false',
            'Session\\PeXEnabled=false',
            `Session\\Port=${port}`,
            'Session\\Interface=lo',
            'Session\\InterfaceName=lo',
            // an address of its own: the tracker also hands it its own address, libtorrent bans
            // the self-connection, and with one connection per address it would then refuse
            // meshseed's dials from that same 127.0.0.1
            'Session\\InterfaceAddress=127.0.0.2',
            'Session\\Encryption=0',
            'Session\\AnonymousModeEnabled=false',
            'Session\\QueueingSystemEnabled=false',
            '[Network]',
            'PortForwardingEnabled=false',
            '[Preferences]',
            'Connection\\UPnP=false',
            // no geolocation database download (nothing leaves loopback)
            'Connection\\ResolvePeerCountries=false',
            'WebUI\\Address=127.0.0.1',
            'WebUI\\LocalHostAuth=false',
            '',
          ].join('\n'),
        );
        const qbt = spawnSeeder([], 'qbittorrent-nox', [
          `--profile=${profile}`,
          `--webui-port=${randomPort()}`,
          `--torrenting-port=${port}`,
          `--save-path=${srcDir}`,
          '--add-paused=false',
          '--skip-dialog=true',
          torrent,
        ]);
        const logFile = join(profile, 'qBittorrent', 'data', 'logs', 'qbittorrent.log');
        return { ...qbt, log: () => qbt.log() + (existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-3000) : '') };
      },
    });
  }),
);

test(
  'meshseed downloads a multi-file torrent from Transmission alone, byte for byte (in a namespace)',
  deadline(200_000, async () => {
    if (!requirePrograms('transmission-cli', 'opentracker', 'mktorrent', 'ip')) return;
    // meshseed, opentracker and Transmission each on an address of the namespace's loopback
    const net = `10.${200 + (process.pid % 50)}.${(process.pid >> 6) % 250}`;
    const [seedIp, trackerIp, clientIp] = [`${net}.1`, `${net}.2`, `${net}.3`];
    const ns = createNamespace(`msmirror${process.pid}`, [seedIp, trackerIp, clientIp]);
    try {
      // Transmission drops a connection that comes from its own address, which is the source
      // the kernel picks for a local destination: meshseed's dials to it come from seedIp
      const r = spawnSync('ip', ['-n', `msmirror${process.pid}`, 'route', 'change', 'table', 'local', 'local', clientIp, 'dev', 'lo', 'proto', 'kernel', 'scope', 'host', 'src', seedIp], { encoding: 'utf8' });
      assert.is(r.status, 0, r.stderr);
      await mirrorFrom('tr-mirror', {
        host: trackerIp,
        prefix: ns.exec,
        startSeeder: (torrent, srcDir, base) => {
          // encryption "preferred" (Transmission's default): it takes meshseed's plain text
          writeTransmissionConfig(join(base, 'trconf'), clientIp);
          const tr = spawnSeeder(ns.exec, 'transmission-cli', ['-g', join(base, 'trconf'), '-w', srcDir, '-p', String(randomPort()), '-ep', torrent]);
          // it announces while it still checks its data, and refuses peers until it is done
          return { ...tr, ready: () => tr.log().includes('Seeding') };
        },
      });
    } finally {
      ns.remove();
    }
  }),
);

test.run();
