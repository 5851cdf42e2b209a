// deadline: 240s
/**
 * Mirror mode against libtorrent (python3-libtorrent), on loopback: meshseed downloads a
 * multi-file torrent byte for byte from libtorrent as the only seeder, then a libtorrent
 * client downloads it from meshseed alone; a hostile seeder that answers requests with
 * random bytes is banned, and the download completes from an honest libtorrent.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { parseMetainfo } from '../../src/codec/metainfo';
import { PeerWireFramer, decodeMessage, encodeHandshake, encodeMessage } from '../../src/codec/peer-wire';
import { join } from 'node:path';
import { ROOT, deadline, randomPort, requirePrograms, run, tempDir, waitFor } from '../helpers';
import { makeData, makeTorrent, startDaemon, treeDigest } from './seed-helpers';

const PY = '/usr/bin/python3';
const SEEDER = join(ROOT, 'test', 'interop', 'lt-seeder.py');
const LT = join(ROOT, 'test', 'interop', 'lt-download.py');

function setup(name: string, sizes?: number[]) {
  const tmp = tempDir(`meshseed-mirror-lt-${name}-`);
  for (const d of ['torrents', 'data', 'state', 'src', 'dl']) mkdirSync(join(tmp.path, d));
  const src = makeData(join(tmp.path, 'src'), name, sizes);
  return { tmp, base: tmp.path, src };
}

/** A libtorrent seeder of `torrent` from `data`, dialling `peers`; resolves once it seeds. */
async function ltSeeder(torrent: string, data: string, peers: string[], extra: string[] = []): Promise<{ child: ChildProcess; port: number; log(): string; stop(): void }> {
  const port = randomPort();
  const child = spawn(PY, [SEEDER, '--torrent', torrent, '--data', data, '--port', String(port), ...peers.flatMap((p) => ['--peer', p]), ...extra]);
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  let dead = false;
  child.on('exit', () => (dead = true));
  await waitFor('the libtorrent seeder', 30_000, () => dead || log.includes('ready'));
  if (dead) throw new Error(`libtorrent seeder died:\n${log}`);
  return { child, port, log: () => log, stop: () => void child.kill('SIGKILL') };
}

test(
  'meshseed downloads a multi-file torrent from libtorrent, then libtorrent downloads it from meshseed alone',
  deadline(90_000, async () => {
    if (!requirePrograms(PY, 'mktorrent')) return;
    const { tmp, base, src } = setup('lt-mirror', [5_000_017, 123_457, 5]);
    try {
      const t = await makeTorrent(join(base, 'src'), 'lt-mirror', join(base, 'torrents', 'lt-mirror.torrent'));
      const daemon = await startDaemon(base, ['--seeder-upload-rate', '0'], { waitSeeding: false });
      try {
        const seeder = await ltSeeder(t.file, join(base, 'src'), [`127.0.0.1:${daemon.port}`]);
        try {
          await waitFor('the download to complete', 60_000, () => /lt-mirror: download complete/.test(daemon.log()));
          await waitFor('seeding', 10_000, () => /lt-mirror: seeding \(/.test(daemon.log()));
        } finally {
          seeder.stop();
        }
        assert.equal(treeDigest(join(base, 'data', 'lt-mirror')), treeDigest(src));
        assert.match(daemon.log(), /lt-mirror: download started: 4\.9 MiB missing/);
        console.log(`  ${/download complete: .*/.exec(daemon.log())![0]}`);
        // the mirror is now the only seed
        const r = await run(PY, [LT, '--torrent', t.file, '--save', join(base, 'dl'), '--peer', `127.0.0.1:${daemon.port}`, '--timeout', '40'], { timeoutMs: 50_000 });
        assert.is(r.code, 0, `libtorrent failed:\n${r.stdout}${r.stderr}\n${daemon.log()}`);
        assert.equal(treeDigest(join(base, 'dl', 'lt-mirror')), treeDigest(src));
      } finally {
        await daemon.stop();
      }
    } finally {
      tmp.remove();
    }
  }),
);

/**
 * A hostile seeder: says it has every piece, unchokes, and answers each request with random
 * bytes. From `localAddress` (a loopback address of its own: bans are by address).
 */
function hostileSeeder(port: number, infoHash: Uint8Array, pieceCount: number, localAddress: string): Promise<{ socket: Socket; served: () => number; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    let served = 0;
    let closed = false;
    const framer = new PeerWireFramer(1 << 21);
    const socket = connect({ port, host: '127.0.0.1', localAddress }, () => {
      socket.write(encodeHandshake({ infoHash, peerId: Buffer.from('-XX0000-hostilehosti'), extension: false, fast: true }));
      resolve({ socket, served: () => served, closed: () => closed });
    });
    socket.once('error', reject);
    socket.on('close', () => (closed = true));
    socket.on('data', (d) =>
      framer.push(
        d,
        () => {
          socket.write(encodeMessage({ type: 'haveAll' }));
          socket.write(encodeMessage({ type: 'unchoke' }));
        },
        (body) => {
          const m = decodeMessage(body, { pieceCount });
          if (m.type !== 'request') return;
          served++;
          socket.write(encodeMessage({ type: 'piece', index: m.index, begin: m.begin, block: randomBytes(m.length) }));
        },
      ),
    );
  });
}

test(
  'a seeder sending wrong blocks is banned; the download completes from the honest one',
  deadline(90_000, async () => {
    if (!requirePrograms(PY, 'mktorrent')) return;
    const { tmp, base, src } = setup('lt-hostile', [4_000_000, 1000, 7]);
    try {
      const t = await makeTorrent(join(base, 'src'), 'lt-hostile', join(base, 'torrents', 'lt-hostile.torrent'));
      const meta = parseMetainfo(readFileSync(t.file));
      const daemon = await startDaemon(base, ['--seeder-upload-rate', '0'], { waitSeeding: false });
      try {
        await waitFor('the download to start', 20_000, () => /lt-hostile: download started/.test(daemon.log()));
        const hostile = await hostileSeeder(daemon.port, meta.infoHash, meta.pieceCount, '127.0.0.2');
        await waitFor('the hostile seeder to be banned', 30_000, () => /peer 127\.0\.0\.2 banned/.test(daemon.log()));
        await waitFor('the hostile seeder to be disconnected', 5_000, () => hostile.closed());
        console.log(`  hostile seeder answered ${hostile.served()} requests before its ban`);
        // it may not come back
        const again = await hostileSeeder(daemon.port, meta.infoHash, meta.pieceCount, '127.0.0.2');
        await waitFor('the banned seeder to be refused', 5_000, () => again.closed());
        const honest = await ltSeeder(t.file, join(base, 'src'), [`127.0.0.1:${daemon.port}`], ['--host', '127.0.0.3']);
        try {
          await waitFor('the download to complete', 60_000, () => /lt-hostile: download complete/.test(daemon.log()));
        } finally {
          honest.stop();
        }
        assert.equal(treeDigest(join(base, 'data', 'lt-hostile')), treeDigest(src));
        assert.not.match(daemon.log(), /peer 127\.0\.0\.3 banned/);
      } finally {
        await daemon.stop();
      }
    } finally {
      tmp.remove();
    }
  }),
);

test.run();
