// deadline: 30s
// The control socket on a real Unix socket in a temp folder, and the status view as a table.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ControlServer, INIT_SCRIPT, MAX_REQUEST_BYTES, controlSocketPath, requestStatus, startHint } from '../../src/control/control-socket';
import { formatBytes, formatDuration, renderStatus, statusView, trackerSummary } from '../../src/control/status-view';
import type { TorrentAnnounceStatus } from '../../src/seeder/announcer';
import { createLogger } from '../../src/util/log';
import { MeshseedError } from '../../src/errors';
import { deadline, tempDir } from '../helpers';

const quiet = createLogger('error', () => {});

/** Sends raw bytes, returns what the server wrote before closing. */
function raw(path: string, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const s = net.connect(path, () => s.write(bytes));
    s.setEncoding('utf8');
    s.on('data', (d) => (out += d));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}

test(
  'answers one status request per connection; the socket is 0600 and removed at close',
  deadline(5000, async () => {
    const dir = tempDir();
    const path = controlSocketPath(join(dir.path, 'state'));
    let t = 1000;
    const server = new ControlServer({ log: quiet, status: () => ({ seeder: { torrents: [] } }), now: () => t }, { path });
    try {
      await server.start();
      assert.is(statSync(path).mode & 0o777, 0o600);
      t += 61_000;
      const doc = await requestStatus(path);
      assert.equal(doc, { version: doc.version, pid: process.pid, uptimeS: 61, services: { seeder: { torrents: [] } } });
      assert.match(doc.version, /^\d+\.\d+\.\d+/);
      assert.equal(JSON.parse(await raw(path, 'not json\n')), { ok: false, error: 'request is not JSON' });
      assert.equal(JSON.parse(await raw(path, '{"command":"shutdown"}\n')), { ok: false, error: 'unknown command "shutdown"' });
      assert.equal(JSON.parse(await raw(path, 'x'.repeat(MAX_REQUEST_BYTES + 10))), {
        ok: false,
        error: `request longer than ${MAX_REQUEST_BYTES} bytes`,
      });
    } finally {
      await server.close();
    }
    assert.not.ok(existsSync(path));
    dir.remove();
  }),
);

test(
  'a stale socket file is replaced; a live daemon is not; a file that is not a socket is refused',
  deadline(5000, async () => {
    const dir = tempDir();
    const path = controlSocketPath(dir.path);
    // stale: a socket file left by a daemon killed with SIGKILL
    const owner = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((r) => owner.stdout!.once('data', () => r()));
    owner.kill('SIGKILL');
    await new Promise<void>((r) => owner.once('exit', () => r()));
    assert.ok(existsSync(path));
    const first = new ControlServer({ log: quiet, status: () => ({}) }, { path });
    await first.start();
    assert.ok((await requestStatus(path)).pid > 0);
    // a second daemon on the same state dir is refused
    const second = new ControlServer({ log: quiet, status: () => ({}) }, { path });
    try {
      await second.start();
      assert.unreachable('second daemon started');
    } catch (e) {
      assert.instance(e, MeshseedError);
      assert.match((e as Error).message, /another meshseed daemon is listening on/);
    }
    await first.close();
    writeFileSync(path, 'not a socket');
    try {
      await new ControlServer({ log: quiet, status: () => ({}) }, { path }).start();
      assert.unreachable('regular file replaced');
    } catch (e) {
      assert.match((e as Error).message, /exists and is not a socket: remove it/);
    }
    const long = new ControlServer({ log: quiet, status: () => ({}) }, { path: join(dir.path, 'x'.repeat(120), 'meshseed.sock') });
    try {
      await long.start();
      assert.unreachable('long path');
    } catch (e) {
      assert.match((e as Error).message, /use a shorter state_dir/);
    }
    dir.remove();
  }),
);

test(
  'the client: a clear error when no daemon listens',
  deadline(5000, async () => {
    const dir = tempDir();
    try {
      await requestStatus(join(dir.path, 'meshseed.sock'));
      assert.unreachable();
    } catch (e) {
      assert.instance(e, MeshseedError);
      assert.is((e as MeshseedError).code, 'EDAEMON');
      // this machine has no init script: the hint is the command that runs the daemon
      assert.not.ok(existsSync(INIT_SCRIPT));
      assert.match((e as Error).message, `no daemon listening on ${join(dir.path, 'meshseed.sock')}: is it running? start it with: `);
    } finally {
      dir.remove();
    }
  }),
);

test('the start hint: the init script where it exists, npm start in a clone, else meshseed daemon', () => {
  const dir = tempDir();
  try {
    const script = join(dir.path, 'meshseed');
    const installed = '/usr/lib/meshseed/meshseed.js';
    assert.is(startHint(script, installed), 'start it with: meshseed daemon');
    assert.is(startHint(script, undefined), 'start it with: meshseed daemon');
    // a clone: dist/meshseed.js beside package.json
    mkdirSync(join(dir.path, 'clone', 'dist'), { recursive: true });
    const bundle = join(dir.path, 'clone', 'dist', 'meshseed.js');
    assert.is(startHint(script, bundle), 'start it with: meshseed daemon', 'no package.json: not a clone');
    writeFileSync(join(dir.path, 'clone', 'package.json'), '{}');
    assert.is(startHint(script, bundle), `start it with: npm start (in ${join(dir.path, 'clone')})`);
    writeFileSync(script, '#!/bin/sh /etc/rc.common\n');
    assert.is(startHint(script, bundle), `start it with: ${script} start`);
  } finally {
    dir.remove();
  }
});

const H1 = '11'.repeat(20);
const H2 = '22'.repeat(20);
const tier = (kind: 'torrent' | 'mesh' | 'self', ...states: ('ok' | 'failing' | 'pending')[]) => ({
  kind,
  trackers: states.map((state, i) => ({ url: `http://t${i}.invalid/announce`, state, failures: state === 'failing' ? 3 : 0 })),
});
const ann = (mode: TorrentAnnounceStatus['mode'], ...tiers: ReturnType<typeof tier>[]): TorrentAnnounceStatus => ({
  infoHash: H1,
  private: mode === 'private',
  mode,
  tiers,
});

test(
  'tracker summary per announce mode',
  deadline(1000, () => {
    const table: [TorrentAnnounceStatus, string][] = [
      [ann('internet', tier('torrent', 'ok', 'failing'), tier('torrent', 'failing'), tier('mesh', 'ok')), 'internet 1/2 ok, mesh ok'],
      [ann('in-mesh', tier('torrent', 'failing'), tier('mesh', 'failing', 'ok'), tier('self', 'ok')), 'IN-MESH (internet 0/1 ok), mesh ok'],
      [ann('in-mesh', tier('torrent', 'failing'), tier('mesh', 'failing')), 'IN-MESH (internet 0/1 ok), mesh failing'],
      [ann('in-mesh', tier('torrent', 'failing')), 'IN-MESH (internet 0/1 ok)'],
      [ann('internet', tier('torrent', 'pending'), tier('self', 'pending')), 'internet 0/1 ok, mesh pending'],
      [ann('private', tier('torrent', 'ok')), 'private 1/1 ok'],
      [ann('mesh-only', tier('mesh', 'ok')), 'mesh ok'],
      [ann('mesh-only'), 'no trackers'],
    ];
    for (const [a, want] of table) assert.is(trackerSummary(a), want);
  }),
);

test(
  'status view: seeder and announcer joined by info hash, totals, stable JSON, the table',
  deadline(1000, () => {
    const v = statusView({
      version: '0.1.0',
      pid: 42,
      uptimeS: 3 * 3600 + 12 * 60,
      services: {
        seeder: {
          torrents: [
            { infoHash: H1, name: 'openwrt-24.10.0-x86-64-generic-ext4-combined.img.gz', state: 'seeding', peers: 3, uploadRate: 123392, uploaded: 1288490189 },
            { infoHash: H2, name: 'wikipedia_fr.zim', state: 'no data', peers: 0, uploadRate: 0, uploaded: 0, message: 'data/wikipedia_fr.zim: no such file' },
            { infoHash: '', name: 'broken.torrent', file: 'torrents/broken.torrent', state: 'error', peers: 0, uploadRate: 0, uploaded: 0, message: 'not bencode' },
          ],
        },
        announcer: { torrents: [ann('internet', tier('torrent', 'ok'), tier('mesh', 'ok')), { ...ann('in-mesh', tier('torrent', 'failing'), tier('mesh', 'ok')), infoHash: H2 }] },
      },
    });
    assert.equal(v.totals, { torrents: 3, peers: 3, uploadRate: 123392, uploaded: 1288490189 });
    assert.is(v.torrents[0]!.infoHash, null);
    assert.equal(Object.keys(v), ['version', 'pid', 'uptimeS', 'torrents', 'totals', 'parts', 'config', 'services']);
    assert.equal(Object.keys(v.torrents[0]!), ['infoHash', 'name', 'state', 'peers', 'uploadRate', 'uploaded', 'progress', 'downloadRate', 'downloaded', 'etaS', 'webSeeds', 'error', 'announce']);
    assert.equal(
      renderStatus(v).split('\n'),
      [
        'meshseed 0.1.0, pid 42, up 3h12m',
        'TORRENT                           STATE        PEERS      UP RATE   UPLOADED  TRACKERS',
        'broken.torrent                    error            0        0 B/s        0 B  -',
        '  not bencode',
        'openwrt-24.10.0-x86-64-generic-…  seeding          3  120.5 KiB/s    1.2 GiB  internet 1/1 ok, mesh ok',
        'wikipedia_fr.zim                  no data          0        0 B/s        0 B  IN-MESH (internet 0/1 ok), mesh ok',
        '  data/wikipedia_fr.zim: no such file',
        'TOTAL (3 torrents)                                 3  120.5 KiB/s    1.2 GiB',
      ],
    );
    // an announcer without a seeder: rows from the announcer alone, unknowns shown as -
    const only = statusView({ version: '0.1.0', pid: 1, uptimeS: 5, services: { announcer: { torrents: [ann('mesh-only', tier('mesh', 'ok'))] } } });
    assert.equal(only.torrents[0]!.peers, null);
    assert.match(renderStatus(only), new RegExp(`${H1.slice(0, 31)}…  -                -            -          -  mesh ok`));
    assert.is(renderStatus(statusView({ version: '0.1.0', pid: 1, uptimeS: 5, services: {} })).split('\n')[1], 'no torrents (the seeder is not running)');
  }),
);

test(
  'status view: a duplicate .torrent (an error with the seeded torrent\'s hash) has its own row and its hash',
  deadline(1000, () => {
    const v = statusView({
      version: '0.1.0',
      pid: 1,
      uptimeS: 5,
      services: {
        seeder: {
          torrents: [
            { infoHash: H1, name: 'a', file: 't/a.torrent', state: 'seeding', peers: 2, uploadRate: 0, uploaded: 0 },
            { infoHash: H1, name: 'copy.torrent', file: 't/copy.torrent', state: 'error', peers: 0, uploadRate: 0, uploaded: 0, message: 'the same torrent as t/a.torrent' },
          ],
        },
      },
    });
    assert.equal(
      v.torrents.map((t) => [t.name, t.infoHash, t.state, t.peers]),
      [
        ['a', H1, 'seeding', 2],
        ['copy.torrent', H1, 'error', 0],
      ],
    );
  }),
);

test(
  'sizes and durations',
  deadline(1000, () => {
    assert.equal([0, 1023, 1024, 1536, 5 * 2 ** 30].map(formatBytes), ['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '5.0 GiB']);
    assert.equal([0, 59, 61, 3600, 90061].map(formatDuration), ['0s', '59s', '1m01s', '1h00m', '1d1h']);
  }),
);

test.run();
