// deadline: 90s
// Interop: the announcer and a real BitTorrent client (libtorrent through python3-libtorrent)
// meet through a real in-mesh tracker (opentracker), while the torrent's internet tracker is
// unreachable. The client, a leecher, is learnt by the announcer as a candidate; the client
// learns our announced address and port from the tracker and connects there with a
// BitTorrent handshake for the right info hash.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import dgram from 'node:dgram';
import { encode } from '../../src/codec/bencode';
import { HttpAnnounceTransport, UdpAnnounceTransport, gatedLookup } from '../../src/seeder/announce-transport';
import { Announcer, makePeerId } from '../../src/seeder/announcer';
import type { PeerCandidate, SeededTorrent, SeederView } from '../../src/parts';
import { systemClock } from '../../src/util/clock';
import { createLogger } from '../../src/util/log';
import { startOpentracker as startSharedOpentracker } from '../interop/opentracker';
import { aria2Leech } from '../interop/seed-helpers';
import { deadline, requirePrograms, tempDir, waitFor } from '../helpers';

/** What the tests kill at the end: processes, and opentracker through its stop(). */
type Killable = Pick<ChildProcess, 'kill'>;

const PY = '/usr/bin/python3';

/** A libtorrent leecher on 127.0.0.1; prints `listen <port>` and `announced`, re-announces on a `reannounce` line. */
const LEECHER = `
import sys, time, libtorrent as lt
torrent, save = sys.argv[1], sys.argv[2]
s = lt.session({
  'listen_interfaces': '127.0.0.1:0', 'outgoing_interfaces': '127.0.0.1',
  'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
  'allow_multiple_connections_per_ip': True,
  'alert_mask': lt.alert.category_t.all_categories,
})
h = s.add_torrent({'ti': lt.torrent_info(torrent), 'save_path': save})
print('listen', s.listen_port(), flush=True)
import select
while True:
  for a in s.pop_alerts():
    if isinstance(a, lt.tracker_reply_alert):
      print('announced', flush=True)
    elif isinstance(a, lt.tracker_error_alert):
      print('tracker error', a.message(), flush=True)
  r, _, _ = select.select([sys.stdin], [], [], 0.1)
  if r:
    line = sys.stdin.readline()
    if not line:
      break
    if line.strip() == 'reannounce':
      h.force_reannounce(0, -1, lt.reannounce_flags_t.ignore_min_interval)
`;


/** Debian's opentracker (test/interop/opentracker.ts) for the hashes of `dir`/whitelist; killed with the children. */
async function startOpentracker(dir: string, children: Killable[]): Promise<number> {
  const hashes = readFileSync(join(dir, 'whitelist'), 'utf8').split('\n').filter(Boolean);
  const ot = await startSharedOpentracker(dir, hashes);
  children.push({ kill: () => (ot.stop(), true) });
  return ot.port;
}

/** A TCP server standing in for the seeder's listen port: records the first 68 bytes (the BitTorrent handshake) of each connection. */
async function handshakeListener(servers: net.Server[]): Promise<{ port: number; handshakes: Buffer[] }> {
  const handshakes: Buffer[] = [];
  const listener = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 68) {
        handshakes.push(buf.subarray(0, 68));
        sock.destroy();
      }
    });
    sock.on('error', () => {});
  });
  servers.push(listener);
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', () => r()));
  return { port: (listener.address() as net.AddressInfo).port, handshakes };
}

function oneFileTorrent() {
  const data = Buffer.alloc(40000, 7);
  const info = { length: data.length, name: 'mesh.bin', 'piece length': 65536, pieces: createHash('sha1').update(data).digest() };
  const infoHash = createHash('sha1').update(encode(info)).digest();
  return { info, infoHash, hashHex: infoHash.toString('hex') };
}

function seededTorrent(infoHash: Buffer, tiers: string[][]): SeededTorrent {
  return { infoHashHex: infoHash.toString('hex'), infoHash, private: false, announceTiers: tiers, uploaded: () => 0, downloaded: () => 0, left: () => 0 };
}

test(
  'libtorrent and the announcer find each other through opentracker while the internet tracker is unreachable',
  deadline(60000, async () => {
    if (!requirePrograms('opentracker', PY)) return;
    const dir = tempDir('meshseed-announce-interop-');
    chmodSync(dir.path, 0o755);
    const children: Killable[] = [];
    const servers: net.Server[] = [];
    let announcer: Announcer | undefined;
    try {
      // a one-piece torrent whose only tracker is the in-mesh opentracker
      const { info, infoHash, hashHex } = oneFileTorrent();
      writeFileSync(join(dir.path, 'whitelist'), hashHex + '\n');

      const otPort = await startOpentracker(dir.path, children);
      const meshUrl = `http://127.0.0.1:${otPort}/announce`;
      writeFileSync(join(dir.path, 'mesh.torrent'), encode({ announce: meshUrl, info }));

      // where "our seeder" listens: a TCP server that records handshakes
      const { port: ourPort, handshakes } = await handshakeListener(servers);
      const closedPort = await new Promise<number>((resolve) => {
        const s = net.createServer().listen(0, '127.0.0.1', () => {
          const p = (s.address() as net.AddressInfo).port;
          s.close(() => resolve(p));
        });
      });

      // 1. the real client joins the mesh swarm as a leecher
      const leecher = spawn(PY, ['-c', LEECHER, join(dir.path, 'mesh.torrent'), join(dir.path, 'dl')], { stdio: ['pipe', 'pipe', 'pipe'] });
      children.push(leecher);
      let out = '';
      leecher.stdout!.on('data', (d) => (out += d));
      leecher.stderr!.on('data', (d) => (out += d));
      const lport = Number((await waitFor('libtorrent listening', 15000, () => /^listen (\d+)$/m.exec(out)))![1]);
      await waitFor('libtorrent announced', 15000, () => /^announced$/m.test(out));

      // 2. the announcer: the torrent's own tracker is a closed port; the mesh tracker is opentracker over UDP
      const candidates: PeerCandidate[] = [];
      const torrent = seededTorrent(infoHash, [[`http://127.0.0.1:${closedPort}/announce`]]);
      const seeder: SeederView = {
        listenPort: () => ourPort,
        torrents: () => [torrent],
        torrent: () => undefined,
        addCandidates: (p) => candidates.push(...p),
        onTorrentsChanged: () => {},
      };
      const lookup = gatedLookup(systemClock);
      const lines: string[] = [];
      announcer = new Announcer(
        {
          clock: systemClock,
          log: createLogger('info', (l) => lines.push(l)),
          seeder,
          transports: { 'http:': new HttpAnnounceTransport({ clock: systemClock, lookup }), 'udp:': new UdpAnnounceTransport({ clock: systemClock, lookup }) },
        },
        { meshTrackers: [`udp://127.0.0.1:${otPort}/announce`], peerId: makePeerId('0.1.0'), numwant: 50, maxInFlight: 4 },
      );
      announcer.start();
      const found = await waitFor('libtorrent as a candidate', 15000, () => candidates.find((c) => c.port === lport));
      assert.equal(found, { infoHashHex: hashHex, address: '127.0.0.1', port: lport, source: 'tracker' });
      await waitFor('the switch to in-mesh', 15000, () => lines.some((l) => /announcing in-mesh only/.test(l)));

      // 3. the client asks the tracker again and connects to the port we announced
      leecher.stdin!.write('reannounce\n');
      const hs = await waitFor('a plain handshake from libtorrent', 20000, () =>
        handshakes.find((h) => h[0] === 19 && h.subarray(1, 20).toString('latin1') === 'BitTorrent protocol'),
      );
      assert.is(hs!.subarray(28, 48).toString('hex'), hashHex);
    } finally {
      await announcer?.close();
      for (const c of children) c.kill('SIGKILL');
      for (const s of servers) s.close();
      dir.remove();
    }
  }),
);

test(
  'aria2c finds the announced seeder through opentracker while the internet tracker (a silent UDP port) never answers',
  deadline(60000, async () => {
    if (!requirePrograms('opentracker', 'aria2c')) return;
    const dir = tempDir('meshseed-announce-interop-');
    chmodSync(dir.path, 0o755);
    const children: Killable[] = [];
    const servers: net.Server[] = [];
    const silent = dgram.createSocket('udp4');
    let announcer: Announcer | undefined;
    try {
      const { info, infoHash, hashHex } = oneFileTorrent();
      writeFileSync(join(dir.path, 'whitelist'), hashHex + '\n');
      const otPort = await startOpentracker(dir.path, children);
      writeFileSync(join(dir.path, 'mesh.torrent'), encode({ announce: `http://127.0.0.1:${otPort}/announce`, info }));
      const { port: ourPort, handshakes } = await handshakeListener(servers);
      await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
      const torrent = seededTorrent(infoHash, [[`udp://127.0.0.1:${silent.address().port}/announce`]]);
      const lookup = gatedLookup(systemClock);
      let meshAnswered = false;
      announcer = new Announcer(
        {
          clock: systemClock,
          log: createLogger('error', () => {}),
          seeder: { listenPort: () => ourPort, torrents: () => [torrent], torrent: () => undefined, addCandidates: () => {}, onTorrentsChanged: () => {} },
          transports: { 'http:': new HttpAnnounceTransport({ clock: systemClock, lookup }), 'udp:': new UdpAnnounceTransport({ clock: systemClock, lookup }) },
        },
        { meshTrackers: [`http://127.0.0.1:${otPort}/announce`], peerId: makePeerId('0.1.0'), numwant: 50, maxInFlight: 4 },
      );
      announcer.start();
      await waitFor('the in-mesh announce', 10000, () => {
        const st = announcer!.status().torrents[0]!;
        meshAnswered = st.tiers.find((t) => t.kind === 'mesh')!.trackers[0]!.state === 'ok';
        return meshAnswered;
      });
      // the internet tracker is still being waited for (2 + 4 + 8 s of retransmissions)
      assert.is(announcer.status().torrents[0]!.tiers[0]!.trackers[0]!.state, 'announcing');
      const aria = spawn('aria2c', aria2Leech(join(dir.path, 'dl'), join(dir.path, 'mesh.torrent'), 60), { stdio: 'ignore' });
      children.push(aria);
      // aria2 opens with an encrypted (MSE) handshake; dropped, it retries in plain text
      const hs = await waitFor('a plain handshake from aria2c', 30000, () =>
        handshakes.find((h) => h[0] === 19 && h.subarray(1, 20).toString('latin1') === 'BitTorrent protocol'),
      );
      assert.is(hs!.subarray(28, 48).toString('hex'), hashHex);
    } finally {
      await announcer?.close();
      for (const c of children) c.kill('SIGKILL');
      for (const s of servers) s.close();
      silent.close();
      dir.remove();
    }
  }),
);

test.run();
