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
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deadline, requirePrograms } from '../helpers';
import { writeTransmissionConfig } from './transmission';
import { aria2Leech, randomPort } from './seed-helpers';
import { inTransmissionNamespace, mirrorFrom, spawnSeeder } from './mirror-helpers';

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
    await inTransmissionNamespace('msmirror', (ips, exec) =>
      mirrorFrom('tr-mirror', {
        host: ips.trackerIp,
        prefix: exec,
        startSeeder: (torrent, srcDir, base) => {
          // encryption "preferred" (Transmission's default): it takes meshseed's plain text
          writeTransmissionConfig(join(base, 'trconf'), ips.clientIp);
          const tr = spawnSeeder(exec, 'transmission-cli', ['-g', join(base, 'trconf'), '-w', srcDir, '-p', String(randomPort()), '-ep', torrent]);
          // it announces while it still checks its data, and refuses peers until it is done
          return { ...tr, ready: () => tr.log().includes('Seeding') };
        },
      }),
    );
  }),
);

test.run();
