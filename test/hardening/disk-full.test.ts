// deadline: 30s
/**
 * Issue 13, item 8: honest logs when the disk is full. On a small tmpfs this test mounts
 * (and always unmounts), filled to the last page: the tracker says its totals were NOT saved,
 * resume writes leave no temporary files, both retry and say when a write works again.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { encode } from '../../src/codec/bencode';
import { parseMetainfo } from '../../src/codec/metainfo';
import { TrackerService } from '../../src/tracker/tracker-service';
import { FilePool } from '../../src/storage/file-pool';
import { ReadCache } from '../../src/storage/read-cache';
import { TorrentStorage } from '../../src/storage/torrent-storage';
import { ManualClock } from '../../src/util/clock';
import { deadline, tempDir } from '../helpers';
import { memoryLogger, trackerSettings } from '../tracker/fixtures';

/** Mounts a 256 KiB tmpfs at `<tmp>/full`, fills it, runs `fn`, always unmounts. */
async function onFullDisk(fn: (dir: string, free: () => void, fill: () => void) => Promise<void>): Promise<void> {
  const tmp = tempDir('meshseed-full-');
  const dir = join(tmp.path, 'full');
  mkdirSync(dir);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0755', 'tmpfs', dir], { encoding: 'utf8' });
  if (m.status !== 0) {
    tmp.remove();
    throw new Error(`cannot mount a tmpfs (this test needs root): ${m.stderr}`);
  }
  const filler = join(dir, 'filler');
  const fill = () => {
    try {
      writeFileSync(filler, Buffer.alloc(1 << 20));
    } catch (err) {
      assert.is((err as NodeJS.ErrnoException).code, 'ENOSPC');
    }
  };
  try {
    mkdirSync(join(dir, 'resume'));
    fill();
    await fn(dir, () => rmSync(filler), fill);
  } finally {
    spawnSync('umount', [dir]);
    tmp.remove();
  }
}

test(
  'tracker: a state file that cannot be written is logged once, retried, and close() says the totals were NOT saved',
  deadline(15000, () =>
    onFullDisk(async (dir, free, fill) => {
      const log = memoryLogger();
      const t = new TrackerService({ log, clock: new ManualClock() }, trackerSettings(dir));
      await t.start();
      assert.is(t.saveState(true), false);
      assert.is(t.saveState(true), false);
      assert.is(log.lines.filter((l) => /cannot write state file .*ENOSPC.*retrying/.test(l)).length, 1, log.lines.join('\n'));
      assert.equal(readdirSync(dir).filter((n) => n.includes('tmp')), [], 'no temporary file left');
      free();
      assert.is(t.saveState(true), true);
      assert.ok(log.lines.some((l) => /state file .* written again/.test(l)));
      fill();
      rmSync(join(dir, 'tracker.json')); // the space it held is taken too
      fill();
      await t.close();
      const last = log.lines[log.lines.length - 1]!;
      assert.match(last, /download totals NOT saved \(cannot write .*tracker\.json\)/);
      assert.not.ok(log.lines.some((l) => /download totals saved/.test(l)), log.lines.join('\n'));
      assert.equal(readdirSync(dir).filter((n) => n.includes('tmp')), []);
    }),
  ),
);

test(
  'seeder: resume data that cannot be written leaves no 0-byte .tmp file and is written at a later flush',
  deadline(15000, () =>
    onFullDisk(async (dir, free) => {
      const data = tempDir('meshseed-full-data-');
      try {
        const bytes = randomBytes(40000);
        writeFileSync(join(data.path, 'f.bin'), bytes);
        const pieces = Buffer.concat([0, 1, 2].map((p) => createHash('sha1').update(bytes.subarray(p * 16384, (p + 1) * 16384)).digest()));
        const meta = parseMetainfo(encode({ info: { name: 'f.bin', 'piece length': 16384, length: 40000, pieces } }));
        const log = memoryLogger();
        const resumeDir = join(dir, 'resume');
        const s = new TorrentStorage({ pool: new FilePool(2), cache: new ReadCache(1 << 20), log, resumeDir }, meta, data.path);
        await s.start();
        assert.ok(s.complete);
        assert.equal(readdirSync(resumeDir), [], 'no .tmp file left behind');
        await s.flush();
        assert.is(log.lines.filter((l) => /cannot write resume data .*ENOSPC.*retrying later/.test(l)).length, 1, log.lines.join('\n'));
        free();
        await s.flush();
        assert.equal(readdirSync(resumeDir), [`${meta.infoHashHex}.resume`]);
        assert.ok(log.lines.some((l) => /resume data .* written again/.test(l)));
        assert.ok(existsSync(s.resumeFile));
        await s.close();
      } finally {
        data.remove();
      }
    }),
  ),
);

test.run();
