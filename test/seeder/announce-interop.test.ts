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
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { encode } from '../../src/codec/bencode';
import { HttpAnnounceTransport, TrackerError, UdpAnnounceTransport, gatedLookup } from '../../src/seeder/announce-transport';
import { Announcer, makePeerId } from '../../src/seeder/announcer';
import type { PeerCandidate, SeededTorrent, SeederView } from '../../src/parts';
import { systemClock } from '../../src/util/clock';
import { createLogger } from '../../src/util/log';
import { deadline, requirePrograms, tempDir, waitFor } from '../helpers';

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

test(
  'libtorrent and the announcer find each other through opentracker while the internet tracker is unreachable',
  deadline(60000, async () => {
    if (!requirePrograms('opentracker', PY)) return;
    const dir = tempDir('meshseed-announce-interop-');
    chmodSync(dir.path, 0o755);
    const children: ChildProcess[] = [];
    const servers: net.Server[] = [];
    let announcer: Announcer | undefined;
    try {
      // a one-piece torrent whose only tracker is the in-mesh opentracker
      const data = Buffer.alloc(40000, 7);
      const info = { length: data.length, name: 'mesh.bin', 'piece length': 65536, pieces: createHash('sha1').update(data).digest() };
      const infoHash = createHash('sha1').update(encode(info)).digest();
      const hashHex = infoHash.toString('hex');
      writeFileSync(join(dir.path, 'whitelist'), hashHex + '\n');

      // opentracker on a random port (retried)
      let otPort = 0;
      const http = new HttpAnnounceTransport({ clock: systemClock, lookup: gatedLookup(systemClock) }, { timeoutMs: 2000, maxBodyBytes: 65536 });
      for (let attempt = 0; attempt < 10 && !otPort; attempt++) {
        const port = 20000 + Math.floor(Math.random() * 40000);
        const ot = spawn('opentracker', ['-i', '127.0.0.1', '-p', String(port), '-P', String(port), '-d', dir.path, '-w', '/whitelist'], { stdio: 'ignore' });
        children.push(ot);
        let exited = false;
        ot.on('exit', () => (exited = true));
        const up = await waitFor('opentracker', 5000, async () => {
          if (exited) return 'exited';
          try {
            await http.announce(new URL(`http://127.0.0.1:${port}/announce`), {
              infoHash: Buffer.alloc(20, 0xee),
              peerId: makePeerId('0.0.0'),
              port: 1,
              uploaded: 0,
              downloaded: 0,
              left: 0,
              event: 'none',
              numwant: 0,
              key: 0,
            });
            return 'up';
          } catch (e) {
            return e instanceof TrackerError && e.fromTracker ? 'up' : undefined;
          }
        });
        if (up === 'up') otPort = port;
      }
      assert.ok(otPort, 'opentracker started');
      const meshUrl = `http://127.0.0.1:${otPort}/announce`;
      writeFileSync(join(dir.path, 'mesh.torrent'), encode({ announce: meshUrl, info }));

      // where "our seeder" listens: a TCP server that records handshakes
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
      const ourPort = (listener.address() as net.AddressInfo).port;
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
      const torrent: SeededTorrent = {
        infoHashHex: hashHex,
        infoHash,
        private: false,
        announceTiers: [[`http://127.0.0.1:${closedPort}/announce`]],
        uploaded: () => 0,
        downloaded: () => 0,
        left: () => 0,
      };
      const seeder: SeederView = {
        listenPort: () => ourPort,
        torrents: () => [torrent],
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
      const hs = await waitFor('a handshake from libtorrent', 20000, () => handshakes[0]);
      assert.is(hs[0], 19);
      assert.is(hs.subarray(1, 20).toString('latin1'), 'BitTorrent protocol');
      assert.is(hs.subarray(28, 48).toString('hex'), hashHex);
    } finally {
      await announcer?.close();
      for (const c of children) c.kill('SIGKILL');
      for (const s of servers) s.close();
      dir.remove();
    }
  }),
);

test.run();
