// deadline: 90s
/**
 * The Seeder service on loopback sockets: the watch folder, missing data, caps, outgoing
 * connections to candidates, IPv4 and IPv6, and hostile peers that must never crash it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, createServer, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from '../../src/codec/bencode';
import { parseMetainfo, type Metainfo } from '../../src/codec/metainfo';
import {
  LOCAL_EXT,
  PeerWireFramer,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMessage,
  encodeMetadataMessage,
  type Handshake,
} from '../../src/codec/peer-wire';
import { defaultSettings, type Settings } from '../../src/config/settings';
import { CRYPTO_PLAINTEXT, MseInitiator } from '../../src/codec/mse';
import { Seeder } from '../../src/seeder/seeder';
import { FALLBACK_PORT_COUNT, peerPorts } from '../../src/seeder/peer-listener';
import { systemClock } from '../../src/util/clock';
import { createLogger } from '../../src/util/log';
import { deadline, tempDir, waitFor } from '../helpers';
import { RawPeer } from './raw-peer';

const PIECE = 16 * 1024;

interface Fixture {
  base: string;
  seeder: Seeder;
  logs: string[];
  settings: Settings;
  addTorrent(name: string, size: number, opts?: { private?: boolean; withData?: boolean }): { meta: Metainfo; data: Buffer; file: string; dataFile: string };
  close(): Promise<void>;
}

async function fixture(over: Partial<Settings> = {}, deps: { host?: string } = { host: '127.0.0.1' }): Promise<Fixture> {
  const tmp = tempDir('meshseed-seeder-');
  const base = tmp.path;
  for (const d of ['torrents', 'data', 'state']) mkdirSync(join(base, d));
  const settings: Settings = {
    ...defaultSettings(),
    'main.state_dir': join(base, 'state'),
    'seeder.torrent_dir': join(base, 'torrents'),
    'seeder.data_dir': join(base, 'data'),
    'seeder.upload_rate': 0,
    ...over,
  };
  const logs: string[] = [];
  const seeder = new Seeder({ clock: systemClock, log: createLogger('debug', (l) => logs.push(l)), ports: [0], ...deps }, settings);
  await seeder.start();
  return {
    base,
    seeder,
    logs,
    settings,
    addTorrent(name, size, opts = {}) {
      const data = randomBytes(size);
      const hashes: Buffer[] = [];
      for (let at = 0; at < size; at += PIECE) hashes.push(createHash('sha1').update(data.subarray(at, at + PIECE)).digest());
      const bytes = encode({ info: { length: size, name, 'piece length': PIECE, pieces: Buffer.concat(hashes), ...(opts.private ? { private: 1 } : {}) } });
      const dataFile = join(base, 'data', name);
      if (opts.withData !== false) writeFileSync(dataFile, data);
      const file = join(base, 'torrents', `${name}.torrent`);
      // written elsewhere then renamed in, as a careful user would
      writeFileSync(`${file}.part`, bytes);
      renameSync(`${file}.part`, file);
      return { meta: parseMetainfo(bytes), data, file, dataFile };
    },
    close: async () => {
      await seeder.close();
      tmp.remove();
    },
  };
}

const stateOf = (s: Seeder, name: string) => s.status().torrents.find((t) => t.name === name)?.state;

test(
  'watch folder: a torrent dropped in starts within seconds, a bad one is reported and stops nothing, a removed one stops and its peers close',
  deadline(20_000, async () => {
    const f = await fixture();
    try {
      let changes = 0;
      f.seeder.onTorrentsChanged(() => changes++);
      writeFileSync(join(f.base, 'torrents', 'bad.torrent'), 'd4:infoi1ee');
      const t = f.addTorrent('one', 5 * PIECE + 7);
      await waitFor('the torrent to be seeded', 8000, () => stateOf(f.seeder, 'one') === 'seeding');
      assert.is(f.seeder.torrents().length, 1);
      assert.is(f.seeder.torrents()[0]!.infoHashHex, t.meta.infoHashHex);
      assert.is(f.seeder.torrents()[0]!.left(), 0);
      assert.ok(changes >= 1);
      const bad = f.seeder.status().torrents.find((x) => x.name === 'bad.torrent');
      assert.is(bad?.state, 'error');
      assert.match(bad!.message!, /info dict/);

      const peer = await RawPeer.connect(f.seeder.listenPort()!, t.meta.pieceCount);
      peer.hello(t.meta.infoHash);
      await peer.waitMessage('haveAll');
      assert.is(f.seeder.status().peers, 1);
      rmSync(t.file);
      await peer.waitClosed(8000);
      await waitFor('the torrent to go', 8000, () => f.seeder.torrents().length === 0);
      assert.ok(f.logs.some((l) => /one: removed/.test(l)));
    } finally {
      await f.close();
    }
  }),
);

test(
  'missing data is reported once and seeded when it appears',
  deadline(30_000, async () => {
    // seed-only (mirror mode off): missing data waits for someone to copy it in
    const f = await fixture({ 'seeder.download': false });
    try {
      const t = f.addTorrent('later', 3 * PIECE, { withData: false });
      await waitFor('missing data state', 8000, () => stateOf(f.seeder, 'later') === 'missing data');
      const st = f.seeder.status().torrents.find((x) => x.name === 'later')!;
      assert.match(st.message!, /0 of 3 pieces verified \(0%\), download off \(seeder\.download 0\): later \(missing\)/);
      assert.is(f.logs.filter((l) => /later: missing data/.test(l)).length, 1);
      assert.is(f.seeder.torrents()[0]!.left(), 3 * PIECE);
      writeFileSync(`${t.dataFile}.tmp`, t.data);
      renameSync(`${t.dataFile}.tmp`, t.dataFile);
      await waitFor('seeding once the data is there', 20_000, () => stateOf(f.seeder, 'later') === 'seeding', 100);
      const peer = await RawPeer.connect(f.seeder.listenPort()!, t.meta.pieceCount);
      peer.hello(t.meta.infoHash);
      peer.send({ type: 'interested' });
      await peer.waitMessage('unchoke');
      peer.send({ type: 'request', index: 1, begin: 0, length: PIECE });
      const piece = await peer.waitMessage('piece');
      assert.is(Buffer.compare(Buffer.from(piece.block), t.data.subarray(PIECE, 2 * PIECE)), 0, 'first served after doubt: verified, then sent');
      peer.close();
    } finally {
      await f.close();
    }
  }),
);

test(
  'mirror mode with max_disk_mb: a torrent that does not fit after the ones before it waits (waiting: over max_disk_mb) until room appears',
  deadline(40_000, async () => {
    const f = await fixture({ 'seeder.max_disk_mb': 1 });
    try {
      const kept = f.addTorrent('kept', 40 * PIECE); // 640 KiB seeded
      await waitFor('kept seeded', 8000, () => stateOf(f.seeder, 'kept') === 'seeding');
      f.addTorrent('first', 16 * PIECE, { withData: false }); // 640 + 256 KiB: fits
      await waitFor('first downloading', 8000, () => stateOf(f.seeder, 'first') === 'downloading');
      f.addTorrent('second', 16 * PIECE, { withData: false }); // 640 + 256 + 256 KiB: does not
      await waitFor('second waiting', 8000, () => stateOf(f.seeder, 'second') === 'waiting');
      const st = f.seeder.status().torrents.find((x) => x.name === 'second')!;
      assert.is(st.message, 'waiting: over max_disk_mb');
      assert.is(stateOf(f.seeder, 'first'), 'downloading');
      assert.is(f.logs.filter((l) => /second: waiting: over max_disk_mb/.test(l)).length, 1);
      // room appears: the seeded torrent leaves torrent_dir; second starts at its next look
      rmSync(kept.file);
      await waitFor('second downloading', 20_000, () => stateOf(f.seeder, 'second') === 'downloading', 100);
    } finally {
      await f.close();
    }
  }),
);

test(
  'hostile peers (garbage, oversized lengths, floods, wrong torrent) are dropped and the seeder keeps serving',
  deadline(30_000, async () => {
    const f = await fixture();
    try {
      const t = f.addTorrent('target', 4 * PIECE);
      await waitFor('seeding', 8000, () => stateOf(f.seeder, 'target') === 'seeding');
      const port = f.seeder.listenPort()!;
      const attacks: ((p: RawPeer) => void)[] = [
        // (not a handshake, so read as MSE: more than PadA allows without the sync hash)
        (p) => p.write(Buffer.from(`GET /announce HTTP/1.1\r\nHost: x\r\nUser-Agent: ${'x'.repeat(700)}\r\n\r\n`)),
        (p) => p.write(randomBytes(100_000)),
        (p) => p.hello(Buffer.alloc(20, 7)), // a torrent we do not seed
        (p) => {
          p.hello(t.meta.infoHash);
          p.write(Buffer.from('7fffffff', 'hex')); // 2 GiB message
        },
        (p) => {
          p.hello(t.meta.infoHash);
          p.write(Buffer.from('0001000014', 'hex')); // a 64 KiB+ extended message length
          p.write(randomBytes(70_000));
        },
        (p) => {
          p.hello(t.meta.infoHash, { fast: false });
          p.send({ type: 'interested' });
          for (let i = 0; i < 2000; i++) p.send({ type: 'request', index: i % 4, begin: 0, length: PIECE });
        },
        (p) => {
          p.hello(t.meta.infoHash);
          p.send({ type: 'request', index: 0, begin: 0, length: 1 << 20 });
        },
        (p) => {
          p.hello(t.meta.infoHash);
          p.write(Buffer.from('0000000305ffff', 'hex')); // bitfield of the wrong size
        },
        (p) => {
          p.hello(t.meta.infoHash);
          p.write(Buffer.from('00000005140062', 'hex')); // broken extension handshake
          p.write(Buffer.from('0000', 'hex'));
        },
      ];
      const peers = await Promise.all(attacks.map(() => RawPeer.connect(port, t.meta.pieceCount)));
      attacks.forEach((a, i) => a(peers[i]!));
      for (const p of peers) await p.waitClosed(10_000);
      assert.ok(f.logs.some((l) => /closed: message length 2147483647/.test(l)));

      // a fast peer flooding requests gets every one answered, and keeps its connection
      const flood = await RawPeer.connect(port, t.meta.pieceCount);
      flood.hello(t.meta.infoHash);
      flood.send({ type: 'interested' });
      await flood.waitMessage('unchoke');
      const n = 1000;
      for (let i = 0; i < n; i++) flood.send({ type: 'request', index: i % 4, begin: 0, length: PIECE });
      await waitFor('an answer to every request', 15_000, () => flood.messages.filter((m) => m.type === 'piece' || m.type === 'reject').length >= n);
      assert.ok(flood.messages.some((m) => m.type === 'reject'), 'overflow past reqq rejected');
      assert.not.ok(flood.closed);
      flood.close();

      // and a well-behaved peer still gets correct data
      const good = await RawPeer.connect(port, t.meta.pieceCount);
      good.hello(t.meta.infoHash);
      good.send({ type: 'interested' });
      await good.waitMessage('unchoke');
      good.send({ type: 'request', index: 3, begin: 100, length: 1000 });
      const piece = await good.waitMessage('piece');
      assert.is(Buffer.compare(Buffer.from(piece.block), t.data.subarray(3 * PIECE + 100, 3 * PIECE + 1100)), 0);
      good.close();
    } finally {
      await f.close();
    }
  }),
);

test(
  'a peer that floods metadata requests and never reads is dropped, not buffered for',
  deadline(30_000, async () => {
    const f = await fixture();
    try {
      const t = f.addTorrent('flooded', 40 * PIECE);
      await waitFor('seeding', 8000, () => stateOf(f.seeder, 'flooded') === 'seeding');
      const p = await RawPeer.connect(f.seeder.listenPort()!, t.meta.pieceCount);
      p.hello(t.meta.infoHash);
      p.send({ type: 'extended', extId: 0, payload: encodeExtendedHandshake({ m: new Map([['ut_metadata', 3]]) }) });
      p.socket.pause(); // never reads again
      const request = encodeMessage({ type: 'extended', extId: LOCAL_EXT.ut_metadata, payload: encodeMetadataMessage({ msgType: 'request', piece: 0 }) });
      const burst = Buffer.concat(Array.from({ length: 1000 }, () => request));
      for (let i = 0; i < 400 && !p.socket.destroyed; i++) {
        p.socket.write(burst);
        await new Promise((r) => setImmediate(r));
      }
      await waitFor('the seeder to drop the peer', 20_000, () => f.logs.some((l) => /closed: does not read what we send/.test(l)), 50);
      p.close();
    } finally {
      await f.close();
    }
  }),
);

test(
  'an incoming MSE handshake is answered with plaintext selected, then the peer wire follows',
  deadline(15_000, async () => {
    const f = await fixture();
    try {
      const t = f.addTorrent('mse', 3 * PIECE);
      await waitFor('seeding', 8000, () => stateOf(f.seeder, 'mse') === 'seeding');
      const p = await RawPeer.connect(f.seeder.listenPort()!, t.meta.pieceCount);
      // speak MSE by hand, then read the plain stream with the peer's own framer
      const raw: Buffer[] = [];
      p.socket.removeAllListeners('data');
      p.socket.on('data', (d) => raw.push(d));
      const a = new MseInitiator(t.meta.infoHash);
      p.write(a.hello);
      await waitFor('Yb', 5000, () => Buffer.concat(raw).length >= 96);
      const hs = encodeHandshake({ infoHash: t.meta.infoHash, peerId: Buffer.from('-XX0000-msemsemsemse'), extension: false, fast: true });
      const yb = Buffer.concat(raw);
      raw.length = 0;
      p.write(a.step3(yb, hs));
      // after Yb and PadB (< 64 bytes), 14 encrypted bytes (VC, crypto_select, len(PadD) = 0), then plain
      await waitFor('the BitTorrent handshake', 5000, () => Buffer.concat(raw).includes('BitTorrent protocol'));
      const all = Buffer.concat(raw);
      const at = all.indexOf('\x13BitTorrent protocol');
      assert.is(a.readSelect(all.subarray(at - 14, at)), CRYPTO_PLAINTEXT);
      const plain = new PeerWireFramer(1 << 20);
      const types: string[] = [];
      plain.push(all.subarray(at), () => types.push('handshake'), (b) => types.push(String(b[0])));
      assert.equal(types.slice(0, 2), ['handshake', '14']); // have_all
      p.close();
    } finally {
      await f.close();
    }
  }),
);

test(
  'caps: max_peers_per_torrent and upload slots',
  deadline(20_000, async () => {
    const f = await fixture({ 'seeder.max_peers_per_torrent': 2, 'seeder.upload_slots': 1 });
    try {
      const t = f.addTorrent('capped', 2 * PIECE);
      await waitFor('seeding', 8000, () => stateOf(f.seeder, 'capped') === 'seeding');
      const port = f.seeder.listenPort()!;
      const peers: RawPeer[] = [];
      for (let i = 0; i < 3; i++) {
        const p = await RawPeer.connect(port, t.meta.pieceCount);
        p.hello(t.meta.infoHash);
        peers.push(p);
        if (i < 2) {
          await p.waitMessage('haveAll');
          p.send({ type: 'interested' });
        }
      }
      await peers[2]!.waitClosed();
      await peers[0]!.waitMessage('unchoke');
      // peer 1's interest is handled before its request, which a choked peer sees rejected
      peers[1]!.send({ type: 'request', index: 0, begin: 0, length: 100 });
      await peers[1]!.waitMessage('reject');
      assert.not.ok(peers[1]!.messages.some((m) => m.type === 'unchoke'), 'one upload slot');
      assert.is(f.seeder.status().torrents[0]!.unchoked, 1);
      // the slot passes on when the unchoked peer leaves
      peers[0]!.close();
      await peers[1]!.waitMessage('unchoke');
      peers[1]!.close();
    } finally {
      await f.close();
    }
  }),
);

test(
  'outgoing: candidates are dialled, handshaken, and offered the torrent; private torrents take no PEX or LPD peers',
  deadline(20_000, async () => {
    const f = await fixture();
    const server = createServer();
    try {
      const pub = f.addTorrent('pub', 2 * PIECE);
      const priv = f.addTorrent('priv', 2 * PIECE, { private: true });
      await waitFor('seeding', 8000, () => stateOf(f.seeder, 'pub') === 'seeding' && stateOf(f.seeder, 'priv') === 'seeding');
      const got: { hs: Handshake; bytes: Buffer; socket: Socket }[] = [];
      server.on('connection', (socket) => {
        const framer = new PeerWireFramer(1 << 20);
        let bytes = Buffer.alloc(0);
        socket.on('data', (d) => {
          bytes = Buffer.concat([bytes, d]);
          framer.push(d, (hs) => {
            got.push({ hs, bytes, socket });
            socket.write(encodeHandshake({ infoHash: hs.infoHash, peerId: Buffer.alloc(20, 5), extension: true, fast: true }));
          }, () => {});
          const entry = got.find((g) => g.socket === socket);
          if (entry) entry.bytes = bytes;
        });
        socket.on('error', () => {});
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      f.seeder.addCandidates([
        { infoHashHex: priv.meta.infoHashHex, address: '127.0.0.1', port, source: 'pex' },
        { infoHashHex: priv.meta.infoHashHex, address: '127.0.0.1', port, source: 'lpd' },
        { infoHashHex: 'ff'.repeat(20), address: '127.0.0.1', port, source: 'tracker' },
        { infoHashHex: pub.meta.infoHashHex, address: '127.0.0.1', port, source: 'lpd' },
      ]);
      await waitFor('our handshake and have_all', 8000, () => got.length === 1 && got[0]!.bytes.length >= 68 + 5);
      assert.is(Buffer.from(got[0]!.hs.infoHash).toString('hex'), pub.meta.infoHashHex);
      assert.ok(got[0]!.hs.extension && got[0]!.hs.fast);
      await waitFor('one peer connected', 5000, () => f.seeder.status().torrents.find((x) => x.name === 'pub')!.peers === 1);
      assert.is(f.seeder.status().torrents.find((x) => x.name === 'priv')!.peers, 0);
      // a private torrent's own tracker may give peers
      f.seeder.addCandidates([{ infoHashHex: priv.meta.infoHashHex, address: '127.0.0.1', port, source: 'tracker' }]);
      await waitFor('the private torrent to connect', 8000, () => got.length === 2);
      assert.is(Buffer.from(got[1]!.hs.infoHash).toString('hex'), priv.meta.infoHashHex);
      for (const g of got) g.socket.destroy();
    } finally {
      server.close();
      await f.close();
    }
  }),
);

test(
  'a busy listen_port: the next port of the fallback list is taken and logged',
  deadline(15_000, async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const busyPort = (busy.address() as { port: number }).port;
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const freePort = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const tmp = tempDir('meshseed-seeder-port-');
    const logs: string[] = [];
    const settings = { ...defaultSettings(), 'main.state_dir': join(tmp.path, 's'), 'seeder.torrent_dir': join(tmp.path, 't'), 'seeder.data_dir': join(tmp.path, 'd'), 'seeder.listen_port': busyPort };
    const seeder = new Seeder({ clock: systemClock, log: createLogger('info', (l) => logs.push(l)), host: '127.0.0.1', fallbackPorts: [busyPort, freePort] }, settings);
    try {
      await seeder.start();
      assert.is(seeder.listenPort(), freePort);
      assert.ok(logs.some((l) => l.includes(`port ${busyPort} is busy; listening on ${freePort} instead`)), logs.join('\n'));
      assert.ok(logs.some((l) => /cannot read the watch folder/.test(l)), 'a missing watch folder is reported, not fatal');
    } finally {
      await seeder.close();
      busy.close();
      tmp.remove();
    }
  }),
);

test('the ports tried: listen_port, then the 8 after it (the range the firewall rule opens), none past 65535', () => {
  assert.equal(peerPorts(6881), [6881, 6882, 6883, 6884, 6885, 6886, 6887, 6888, 6889]);
  assert.equal(peerPorts(17881), [17881, 17882, 17883, 17884, 17885, 17886, 17887, 17888, 17889]);
  assert.equal(peerPorts(65533), [65533, 65534, 65535]);
  assert.is(peerPorts(1).length, 1 + FALLBACK_PORT_COUNT);
});

test(
  'seeder.address: the seeder listens there only; a busy listen_port falls back within listen_port+1..+8, never to 6882',
  deadline(15_000, async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const busyPort = (busy.address() as { port: number }).port;
    const tmp = tempDir('meshseed-seeder-addr-');
    const logs: string[] = [];
    const settings = {
      ...defaultSettings(),
      'main.state_dir': join(tmp.path, 's'),
      'seeder.torrent_dir': join(tmp.path, 't'),
      'seeder.data_dir': join(tmp.path, 'd'),
      'seeder.listen_port': busyPort,
      'seeder.address': ['127.0.0.1'],
    };
    const seeder = new Seeder({ clock: systemClock, log: createLogger('info', (l) => logs.push(l)) }, settings);
    try {
      await seeder.start();
      const port = seeder.listenPort()!;
      assert.ok(port > busyPort && port <= busyPort + FALLBACK_PORT_COUNT, `took ${port}`);
      assert.ok(logs.some((l) => l.includes(`listening for peers on 127.0.0.1 port ${port}`)), logs.join('\n'));
      // bound to loopback only: this machine's other addresses do not answer
      const other = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal);
      if (other) {
        const refused = await new Promise<boolean>((r) => {
          const c = connect({ host: other.address, port }, () => (c.destroy(), r(false)));
          c.once('error', () => r(true));
        });
        assert.ok(refused, `${other.address}:${port} refused`);
      } else console.log('no non-loopback IPv4 address here: the other-address check is skipped');
    } finally {
      await seeder.close();
      busy.close();
      tmp.remove();
    }
  }),
);

test(
  'a reload changes limits and slots without dropping peers',
  deadline(20_000, async () => {
    const f = await fixture({ 'seeder.upload_slots': 1, 'seeder.upload_rate': 100 });
    try {
      const t = f.addTorrent('reload', 2 * PIECE);
      await waitFor('seeding', 8000, () => stateOf(f.seeder, 'reload') === 'seeding');
      const peers = await Promise.all([0, 1].map(() => RawPeer.connect(f.seeder.listenPort()!, t.meta.pieceCount)));
      for (const p of peers) {
        p.hello(t.meta.infoHash);
        await p.waitMessage('haveAll');
        p.send({ type: 'interested' });
      }
      await waitFor('one unchoked', 5000, () => f.seeder.status().torrents[0]!.unchoked === 1);
      await f.seeder.reload({ ...f.settings, 'seeder.upload_slots': 2, 'seeder.upload_rate': 0, 'seeder.torrent_upload_rate': 50 });
      await Promise.all(peers.map((p) => p.waitMessage('unchoke')));
      const st = f.seeder.status();
      assert.equal([st.uploadLimit, st.torrentUploadLimit, st.peers], [0, 50 * 1024, 2]);
      assert.not.ok(peers.some((p) => p.closed));
      for (const p of peers) p.close();
    } finally {
      await f.close();
    }
  }),
);

test(
  'listens on IPv4 and IPv6 at once',
  deadline(20_000, async () => {
    const f = await fixture({}, {});
    try {
      const t = f.addTorrent('dual', PIECE);
      await waitFor('seeding', 8000, () => stateOf(f.seeder, 'dual') === 'seeding');
      for (const host of ['127.0.0.1', '::1']) {
        let p: RawPeer;
        try {
          p = await RawPeer.connect(f.seeder.listenPort()!, t.meta.pieceCount, host);
        } catch (e) {
          if (host === '::1' && /EADDRNOTAVAIL|EAFNOSUPPORT|ENETUNREACH/.test(String(e))) {
            console.log('SKIPPED: no IPv6 loopback on this machine');
            continue;
          }
          throw e;
        }
        p.hello(t.meta.infoHash);
        await p.waitMessage('haveAll');
        p.close();
      }
      assert.ok(f.logs.some((l) => /peer 127\.0\.0\.1:\d+/.test(l)), 'IPv4-mapped addresses are shown as IPv4');
    } finally {
      await f.close();
    }
  }),
);

test(
  'a torrent already in the folder under another name is reported, not seeded twice',
  deadline(15_000, async () => {
    const f = await fixture();
    try {
      const t = f.addTorrent('dup', PIECE);
      await waitFor('seeding', 8000, () => stateOf(f.seeder, 'dup') === 'seeding');
      copyFileSync(t.file, join(f.base, 'torrents', 'copy.torrent'));
      await waitFor('the duplicate reported', 8000, () => f.seeder.status().torrents.some((x) => x.state === 'error' && /same torrent/.test(x.message ?? '')));
      assert.is(f.seeder.torrents().length, 1);
    } finally {
      await f.close();
    }
  }),
);

test(
  'a duplicate .torrent shows its info hash, and its error goes when the file is removed',
  deadline(20_000, async () => {
    const f = await fixture();
    try {
      const t = f.addTorrent('orig', 2 * PIECE);
      await waitFor('seeding', 8000, () => stateOf(f.seeder, 'orig') === 'seeding');
      const dup = join(f.base, 'torrents', 'copy.torrent');
      copyFileSync(t.file, dup);
      const row = (await waitFor('the duplicate reported', 8000, () => f.seeder.status().torrents.find((x) => x.file === dup)))!;
      assert.is(row.state, 'error');
      assert.is(row.infoHash, t.meta.infoHashHex);
      assert.match(row.message!, /the same torrent as .*orig\.torrent/);
      rmSync(dup);
      await waitFor('the duplicate gone from status', 8000, () => !f.seeder.status().torrents.some((x) => x.file === dup));
      assert.is(stateOf(f.seeder, 'orig'), 'seeding');
    } finally {
      await f.close();
    }
  }),
);

test(
  'missing data says when the data folder itself does not exist; a restart says it uses the resume data',
  deadline(30_000, async () => {
    // seed-only (mirror mode off): missing data waits for someone to copy it in
    const f = await fixture({ 'seeder.download': false });
    try {
      f.addTorrent('kept', 2 * PIECE);
      await waitFor('seeding', 8000, () => stateOf(f.seeder, 'kept') === 'seeding');
      assert.ok(f.logs.some((l) => /kept: added \(\w+\), checking its data/.test(l)), f.logs.join('\n'));
      await f.seeder.close();
      const logs: string[] = [];
      const again = new Seeder({ clock: systemClock, log: createLogger('debug', (l) => logs.push(l)), ports: [0], host: '127.0.0.1' }, f.settings);
      await again.start();
      await waitFor('seeding again', 8000, () => stateOf(again, 'kept') === 'seeding');
      await again.close();
      assert.ok(logs.some((l) => /kept: added \(\w+\), using its resume data/.test(l)), logs.join('\n'));

      const gone = join(f.base, 'no-such-folder');
      const lost = new Seeder({ clock: systemClock, log: createLogger('debug', (l) => logs.push(l)), ports: [0], host: '127.0.0.1' }, { ...f.settings, 'seeder.data_dir': gone, 'main.state_dir': join(f.base, 'state2') });
      await lost.start();
      try {
        await waitFor('missing data', 8000, () => stateOf(lost, 'kept') === 'missing data');
        const st = lost.status().torrents.find((x) => x.name === 'kept')!;
        assert.match(st.message!, new RegExp(`the folder ${gone} does not exist: 0 of 2 pieces verified`));
      } finally {
        await lost.close();
      }
    } finally {
      await f.close().catch(() => {});
    }
  }),
);

test.run();
