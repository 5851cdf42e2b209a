// deadline: 150s
/**
 * Mirror mode tells the truth: two Seeders on loopback, one seeding (rate-limited so a download
 * can be caught midway), one mirroring. A node never claims a piece it has not verified: not
 * in `left` (what trackers get), status progress, the bitfield or `have`s; not after turning
 * mirror mode off mid-download, not after a crash and a restart with mirror mode off. Data
 * copied in by hand during a download is checked and only the rest is downloaded. Two nodes
 * that dial each other at once keep one connection.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from '../../src/codec/bencode';
import { parseMetainfo, type Metainfo } from '../../src/codec/metainfo';
import { bitIsSet } from '../../src/codec/peer-wire';
import { defaultSettings, type Settings } from '../../src/config/settings';
import { Seeder } from '../../src/seeder/seeder';
import { spaceMessage } from '../../src/seeder/mirror';
import { systemClock } from '../../src/util/clock';
import { createLogger } from '../../src/util/log';
import { deadline, tempDir, waitFor } from '../helpers';
import { RawPeer } from './raw-peer';

const PIECE = 16 * 1024;
const PIECES = 64;

/** A 1 MiB torrent of random bytes. */
function makeTorrent(name: string) {
  const data = randomBytes(PIECES * PIECE);
  const hashes: Buffer[] = [];
  for (let at = 0; at < data.length; at += PIECE) hashes.push(createHash('sha1').update(data.subarray(at, at + PIECE)).digest());
  const bytes = encode({ info: { length: data.length, name, 'piece length': PIECE, pieces: Buffer.concat(hashes) } });
  return { name, bytes, data, meta: parseMetainfo(bytes) };
}
type Torrent = ReturnType<typeof makeTorrent>;

interface Node {
  dir: string;
  seeder: Seeder;
  settings: Settings;
  logs: string[];
  /** Puts the .torrent in the watch folder (renamed in). */
  watch(t: Torrent): void;
  status(t: Torrent): ReturnType<Seeder['status']>['torrents'][number] | undefined;
}

async function node(dir: string, over: Partial<Settings>, extra: { freeBytes?: () => Promise<number> } = {}): Promise<Node> {
  for (const d of ['torrents', 'data', 'state']) mkdirSync(join(dir, d), { recursive: true });
  const settings: Settings = {
    ...defaultSettings(),
    'main.state_dir': join(dir, 'state'),
    'seeder.torrent_dir': join(dir, 'torrents'),
    'seeder.data_dir': join(dir, 'data'),
    ...over,
  };
  const logs: string[] = [];
  const seeder = new Seeder({ clock: systemClock, log: createLogger('debug', (l) => logs.push(l)), ports: [0], host: '127.0.0.1', ...extra }, settings);
  await seeder.start();
  return {
    dir,
    seeder,
    settings,
    logs,
    watch(t) {
      const file = join(dir, 'torrents', `${t.name}.torrent`);
      writeFileSync(`${file}.part`, t.bytes);
      renameSync(`${file}.part`, file);
    },
    status: (t) => seeder.status().torrents.find((x) => x.infoHash === t.meta.infoHashHex),
  };
}

/** Pieces whose bytes on disk match their hash. */
function goodPieces(meta: Metainfo, file: string): Set<number> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return new Set();
  }
  const good = new Set<number>();
  for (let i = 0; i < meta.pieceCount; i++) {
    const d = createHash('sha1').update(bytes.subarray(i * PIECE, (i + 1) * PIECE)).digest();
    if (d.equals(Buffer.from(meta.pieces.subarray(i * 20, i * 20 + 20)))) good.add(i);
  }
  return good;
}

/** The pieces a fresh peer is told we have (bitfield; no fast extension so always a bitfield). */
async function claimed(n: Node, t: Torrent): Promise<Set<number>> {
  const peer = await RawPeer.connect(n.seeder.listenPort()!, t.meta.pieceCount);
  try {
    peer.hello(t.meta.infoHash, { fast: false });
    const bf = await peer.waitMessage('bitfield');
    const out = new Set<number>();
    for (let i = 0; i < t.meta.pieceCount; i++) if (bitIsSet(bf.bits, i)) out.add(i);
    return out;
  } finally {
    peer.close();
  }
}

/** Every view of what `n` has says exactly the pieces verified on disk, and not all of them. */
async function assertTruth(n: Node, t: Torrent, what: string): Promise<Set<number>> {
  const good = goodPieces(t.meta, join(n.dir, 'data', t.name));
  const st = n.status(t)!;
  const bits = await claimed(n, t);
  const offered = n.seeder.torrent(t.meta.infoHashHex);
  console.log(`  ${what}: ${good.size} of ${PIECES} pieces good on disk; state ${st.state}; ${st.message}`);
  assert.ok(good.size < PIECES, `${what}: the test caught the download midway`);
  assert.is.not(st.state, 'seeding', what);
  assert.is(st.piecesAvailable, good.size, `${what}: status pieces`);
  assert.is(st.progress, good.size / PIECES, `${what}: status progress`);
  assert.is(offered?.left(), (PIECES - good.size) * PIECE, `${what}: left (what trackers are told)`);
  assert.equal([...bits].sort((a, b) => a - b), [...good].sort((a, b) => a - b), `${what}: bitfield`);
  assert.not.match(st.message ?? '', /failed verification/, `${what}: pieces never fetched are not "failed"`);
  return good;
}

const candidate = (t: Torrent, port: number) => ({ infoHashHex: t.meta.infoHashHex, address: '127.0.0.1', port, source: 'tracker' as const });

/** A source seeding torrent `name` (upload limited to `rate` KiB/s) and a mirror `b` downloading it, not yet told of each other. */
async function pair(name: string, rate: number) {
  const tmp = tempDir('meshseed-truth-');
  const t = makeTorrent(name);
  const src = await node(join(tmp.path, 'src'), { 'seeder.download': false, 'seeder.upload_rate': rate });
  const b = await node(join(tmp.path, 'b'), {});
  writeFileSync(join(src.dir, 'data', t.name), t.data);
  src.watch(t);
  b.watch(t);
  await waitFor('source seeding, b downloading', 10_000, () => src.status(t)?.state === 'seeding' && b.status(t)?.state === 'downloading');
  return {
    tmp,
    t,
    src,
    b,
    /** `n` learns of the source. */
    meet: (n: Node) => n.seeder.addCandidates([candidate(t, src.seeder.listenPort()!)]),
    /** The source goes full speed and `n` downloads the rest from it. */
    finish: async (n: Node) => {
      await src.seeder.reload({ ...src.settings, 'seeder.upload_rate': 0 });
      await n.seeder.reload({ ...n.settings, 'seeder.download': true });
      n.seeder.addCandidates([candidate(t, src.seeder.listenPort()!)]);
      await waitFor('seeding', 30_000, () => n.status(t)?.state === 'seeding', 100);
      assert.ok(readFileSync(join(n.dir, 'data', t.name)).equals(t.data), 'byte-identical');
    },
    close: async () => {
      await b.seeder.close();
      await src.seeder.close();
      tmp.remove();
    },
  };
}

test(
  'mirror mode turned off mid-download (reload 1→0): only verified pieces are claimed, after the next look too; 0→1 downloads the rest',
  deadline(60_000, async () => {
    const p = await pair('half', 64);
    const { t, b } = p;
    try {
      p.meet(b);
      await waitFor('b midway', 20_000, () => (b.status(t)?.piecesAvailable ?? 0) >= 8);
      const mark = b.logs.length;
      await b.seeder.reload({ ...b.settings, 'seeder.download': false });
      // the next look at the files (our own writes changed their mtime) must not turn them into "seeding"
      await waitFor(
        'b to look at its files again',
        15_000,
        () => b.status(t)?.state === 'seeding' || b.logs.slice(mark).some((l) => /half: (\d+ file\(s\) changed by our own writes|looked again|files changed on disk)/.test(l)),
      );
      const good = await assertTruth(b, t, 'after reload 1→0');
      assert.is(b.status(t)!.state, 'missing data');
      assert.match(b.status(t)!.message!, new RegExp(`^${good.size} of 64 pieces verified \\(\\d+%\\), seeding those, download off \\(seeder\\.download 0\\)`));
      assert.not.ok(b.logs.some((l) => /half: seeding/.test(l)), 'never logged as seeding');
      // mirror mode back on: the download restarts and completes
      await p.finish(b);
    } finally {
      await p.close();
    }
  }),
);

test(
  'a crash mid-download, then a restart with mirror mode off: only verified pieces are claimed, holes are "not downloaded yet"',
  deadline(60_000, async () => {
    const p = await pair('crash', 64);
    const { t, b } = p;
    let after: Node | undefined;
    try {
      p.meet(b);
      await waitFor('b midway', 20_000, () => (b.status(t)?.piecesAvailable ?? 0) >= 8);
      // what a kill -9 leaves: the data file and resume data as they are on disk now
      const image = join(p.tmp.path, 'image');
      for (const d of ['torrents', 'data', 'state']) cpSync(join(b.dir, d), join(image, d), { recursive: true });
      await b.seeder.close();
      after = await node(image, { 'seeder.download': false });
      await waitFor('checked after the crash', 15_000, () => ['missing data', 'seeding'].includes(after!.status(t)?.state ?? ''), 100);
      await assertTruth(after, t, 'restart with download 0');
      assert.match(after.status(t)!.message!, /piece\(s\) not downloaded yet/);
      // mirror mode on: the rest is downloaded
      await p.finish(after);
    } finally {
      await after?.seeder.close();
      await p.close();
    }
  }),
);

test(
  'data copied in by hand while downloading is checked; only what is still missing is downloaded; no peers is said plainly',
  deadline(60_000, async () => {
    const p = await pair('copied', 0);
    const { t, src, b } = p;
    try {
      assert.is(b.status(t)!.message, 'downloading 0%, no peers yet');
      const started = b.logs.findIndex((l) => /copied: download started/.test(l));
      assert.ok(started >= 0);
      assert.not.ok(
        b.logs.slice(0, started).some((l) => l.startsWith('warn:')),
        `no warning before the download starts:\n${b.logs.join('\n')}`,
      );
      // the first 40 pieces copied in by hand (the rest of the file is garbage)
      const copy = Buffer.concat([t.data.subarray(0, 40 * PIECE), randomBytes(24 * PIECE)]);
      writeFileSync(join(p.tmp.path, 'copy.part'), copy);
      renameSync(join(p.tmp.path, 'copy.part'), join(b.dir, 'data', t.name));
      await waitFor('the copied pieces checked and the download restarted', 20_000, () => (b.status(t)?.piecesAvailable ?? 0) === 40 && b.status(t)?.state === 'downloading', 100);
      assert.is(b.seeder.torrent(t.meta.infoHashHex)?.left(), 24 * PIECE);
      assert.match(b.status(t)!.message!, /^downloading 62%, no peers (yet|now)$/);
      await p.finish(b);
      const uploaded = src.status(t)!.uploaded;
      console.log(`  the source uploaded ${uploaded} bytes for 24 missing pieces (${24 * PIECE} bytes)`);
      assert.is(uploaded, 24 * PIECE, 'only the missing pieces were downloaded');
    } finally {
      await p.close();
    }
  }),
);

test(
  'two nodes that dial each other at once keep one connection, the same on both sides',
  deadline(40_000, async () => {
    const p = await pair('twice', 32);
    const { t, src: a, b } = p;
    try {
      // each learns of the other at the same moment: both dial
      a.seeder.addCandidates([candidate(t, b.seeder.listenPort()!)]);
      b.seeder.addCandidates([candidate(t, a.seeder.listenPort()!)]);
      // the handshakes are long done once a few pieces came (32 KiB/s: about 2 s)
      await waitFor('b to get pieces', 20_000, () => b.status(t)!.piecesAvailable >= 4, 100);
      const dup = (n: Node) => n.logs.filter((l) => /a second connection to the same peer/.test(l)).length;
      console.log(`  peers: a ${a.status(t)?.peers}, b ${b.status(t)?.peers}; duplicate closed by a: ${dup(a)}, by b: ${dup(b)}`);
      assert.is(a.status(t)?.peers, 1);
      assert.is(b.status(t)?.peers, 1);
      assert.ok(dup(a) + dup(b) > 0, 'both dialled: a duplicate was closed');
      // and the one left carries the download
      const have = b.status(t)!.piecesAvailable;
      await waitFor('b to get more pieces', 20_000, () => b.status(t)!.piecesAvailable > have, 100);
      assert.is(a.status(t)?.peers, 1);
    } finally {
      await p.close();
    }
  }),
);

test(
  'free space: the message names seeder.min_free_mb when the reserve, not the data, is what does not fit',
  deadline(20_000, async () => {
    assert.is(spaceMessage(10 << 20, 64, 1000 << 20), undefined);
    assert.is(spaceMessage(10 << 20, 64, 40 << 20), 'waiting: seeder.min_free_mb (needs 74 MiB, 40 MiB free: 10.0 MiB of data fits, but min_free_mb=64 must stay free)');
    assert.match(spaceMessage(10 << 20, 64, 4 << 20)!, /^waiting: disk full \(needs 74 MiB, 4 MiB free; seeder\.min_free_mb=64 kept free\)$/);
    const tmp = tempDir('meshseed-truth-');
    const t = makeTorrent('reserve');
    const b = await node(join(tmp.path, 'b'), { 'seeder.min_free_mb': 10_000_000 }, { freeBytes: async () => 78_188 * 1024 * 1024 });
    try {
      b.watch(t);
      await waitFor('waiting', 10_000, () => b.status(t)?.state === 'waiting');
      assert.match(b.status(t)!.message!, /^waiting: seeder\.min_free_mb \(needs 10000001 MiB, 78188 MiB free: .* min_free_mb=10000000 must stay free\)$/);
    } finally {
      await b.seeder.close();
      tmp.remove();
    }
  }),
);

test.run();
