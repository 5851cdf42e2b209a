// deadline: 240s
/**
 * Crash safety of mirror mode: the daemon is killed with SIGKILL at 20 random moments while
 * it downloads from a (rate-limited) libtorrent seeder, and restarted each time. After every
 * kill, each piece the resume data claims is hashed from disk: none may be wrong (a piece is
 * recorded only after its bytes were written and fsync'ed). In the end the data is byte for
 * byte the seeder's.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMetainfo, type Metainfo } from '../../src/codec/metainfo';
import { bitIsSet } from '../../src/codec/peer-wire';
import { decodeResume } from '../../src/storage/resume-data';
import { BUNDLE, ROOT, deadline, randomPort, requirePrograms, tempDir, waitFor } from '../helpers';
import { makeData, makeTorrent, startOpentracker, treeDigest } from './seed-helpers';

/** The info hash mktorrent gives `name` (a throw-away torrent: opentracker must list it first). */
async function infoHashOf(dir: string, name: string): Promise<string> {
  const tracker = 'http://127.0.0.1:1/announce';
  return (await makeTorrent(dir, name, join(dir, `${name}.probe.torrent`), tracker)).infoHash;
}

const PY = '/usr/bin/python3';
const KILLS = 20;

/** The torrent's data as on disk now (missing bytes as zeros). */
function dataOnDisk(meta: Metainfo, dir: string): Buffer {
  const out = Buffer.alloc(meta.length);
  for (const f of meta.files) {
    const p = join(dir, meta.name, ...f.path);
    if (!existsSync(p)) continue;
    readFileSync(p).copy(out, f.offset, 0, Math.min(f.length, Number.MAX_SAFE_INTEGER));
  }
  return out;
}

/** Pieces the resume data claims whose bytes on disk do not match their hash. */
function wrongClaims(meta: Metainfo, resumeFile: string, dataDir: string): { claimed: number; wrong: number[] } {
  if (!existsSync(resumeFile)) return { claimed: 0, wrong: [] };
  const r = decodeResume(readFileSync(resumeFile), meta.infoHash, meta.files.length, meta.pieceCount);
  if (!r) return { claimed: 0, wrong: [] }; // unreadable resume data is never trusted (full check)
  const data = dataOnDisk(meta, dataDir);
  let claimed = 0;
  const wrong: number[] = [];
  for (let i = 0; i < meta.pieceCount; i++) {
    if (!bitIsSet(r.verified, i)) continue;
    claimed++;
    const d = createHash('sha1').update(data.subarray(i * meta.pieceLength, Math.min(meta.length, (i + 1) * meta.pieceLength))).digest();
    if (!d.equals(Buffer.from(meta.pieces.subarray(i * 20, i * 20 + 20)))) wrong.push(i);
  }
  return { claimed, wrong };
}

test(
  `kill -9 at ${KILLS} random moments during a download: no wrong piece is ever claimed, the data ends byte-identical`,
  deadline(230_000, async () => {
    if (!requirePrograms(PY, 'mktorrent')) return;
    const tmp = tempDir('meshseed-mirror-crash-');
    const base = tmp.path;
    for (const d of ['torrents', 'data', 'state', 'src']) mkdirSync(join(base, d));
    const src = makeData(join(base, 'src'), 'crash', [15_000_017, 1_500_000, 77]);
    // the daemon finds the seeder through opentracker after each restart (and dials it)
    const tracker = await startOpentracker(join(base, 'tracker'), [await infoHashOf(join(base, 'src'), 'crash')]);
    const t = await makeTorrent(join(base, 'src'), 'crash', join(base, 'torrents', 'crash.torrent'), tracker.announceUrl);
    const meta = parseMetainfo(readFileSync(t.file));
    const resumeFile = join(base, 'state', 'resume', `${meta.infoHashHex}.resume`);
    const daemonPort = randomPort();
    // 384 KiB/s: the 16 MiB take about 43 s of downloading, spread over the 20 runs
    const seeder = spawn(PY, [join(ROOT, 'test', 'interop', 'lt-seeder.py'), '--torrent', t.file, '--data', join(base, 'src'), '--port', String(randomPort()), '--announce', '--upload-limit', String(384 * 1024)]);
    let seederLog = '';
    seeder.stdout.on('data', (d) => (seederLog += d));
    seeder.stderr.on('data', (d) => (seederLog += d));
    let daemon: ChildProcess | undefined;
    try {
      await waitFor('the libtorrent seeder', 30_000, () => seederLog.includes('ready'));
      const startDaemon = () => {
        const c = spawn(process.execPath, [
          BUNDLE, 'daemon', '--tracker-enabled', '0', '--lpd-enabled', '0', '--dht-enabled', '0',
          '--state-dir', join(base, 'state'), '--seeder-torrent-dir', join(base, 'torrents'), '--seeder-data-dir', join(base, 'data'),
          '--seeder-listen-port', String(daemonPort), '--seeder-upload-rate', '0', '--log-level', 'debug',
        ]);
        let log = '';
        c.stdout!.on('data', (d) => (log += d));
        c.stderr!.on('data', (d) => (log += d));
        const exited = new Promise<void>((r) => c.on('exit', () => r()));
        return { c, log: () => log, exited };
      };
      let totalClaimed = 0;
      for (let k = 1; k <= KILLS; k++) {
        const d = startDaemon();
        daemon = d.c;
        await waitFor('the daemon to listen', 15_000, () => /listening for peers/.test(d.log()));
        // a random moment: 0.3 to 4 s into the run (checking, or downloading)
        const at = 300 + Math.random() * 3700;
        await new Promise((r) => setTimeout(r, at));
        if (/download complete/.test(d.log())) {
          console.log(`  run ${k}: the download completed before its kill`);
        }
        d.c.kill('SIGKILL');
        await d.exited;
        const { claimed, wrong } = wrongClaims(meta, resumeFile, join(base, 'data'));
        totalClaimed = claimed;
        assert.equal(wrong, [], `after kill ${k} (at ${at.toFixed(0)} ms) the resume data claims pieces that are wrong on disk: ${wrong.join(', ')}\n${d.log()}`);
        if (/download complete/.test(d.log())) break;
      }
      console.log(`  ${totalClaimed} of ${meta.pieceCount} pieces claimed by the resume data after the last kill`);
      const d = startDaemon();
      daemon = d.c;
      await waitFor('the download to complete', 120_000, () => /crash: download complete|crash: seeding \(/.test(d.log()));
      d.c.kill('SIGTERM');
      await d.exited;
      assert.equal(treeDigest(join(base, 'data', 'crash')), treeDigest(src));
      assert.equal(wrongClaims(meta, resumeFile, join(base, 'data')).claimed, meta.pieceCount, 'a clean stop records every piece');
    } finally {
      daemon?.kill('SIGKILL');
      seeder.kill('SIGKILL');
      tracker.stop();
      tmp.remove();
    }
  }),
);

test.run();
