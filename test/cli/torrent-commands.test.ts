// deadline: 240s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HOSTILE_TORRENTS } from '../fixtures/hostile-torrents';
import { BUNDLE, deadline, meshseed, requirePrograms, run, tempDir } from '../helpers';

const noStack = (s: string) => assert.not.match(s, /\bat .*(\.js|\.cjs|\.ts):\d+/);
const oneLine = (s: string, what: string) => assert.is(s.trim().split('\n').length, 1, `${what}: ${s}`);

test(
  'show: every hostile torrent exits 1 with one line on stderr, no stack',
  deadline(180000, async () => {
    const dir = tempDir();
    try {
      // two at a time (one per core): fifty node processes at once on a shared machine
      // pass the per-run deadline without saying anything about meshseed
      const one = async ([name, bytes, re]: (typeof HOSTILE_TORRENTS)[number], i: number) => {
        const f = join(dir.path, `hostile-${i}.torrent`);
        writeFileSync(f, bytes);
        const r = await meshseed(['show', f]);
        assert.is(r.code, 1, `${name}: ${r.stdout}${r.stderr}`);
        oneLine(r.stderr, name);
        noStack(r.stderr);
        assert.match(r.stderr, new RegExp(`^meshseed: ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
        assert.match(r.stderr, re, name);
        assert.is(r.stdout, '');
      };
      let next = 0;
      const worker = async () => {
        while (next < HOSTILE_TORRENTS.length) {
          const i = next++;
          await one(HOSTILE_TORRENTS[i]!, i);
        }
      };
      await Promise.all([worker(), worker()]);
      const missing = await meshseed(['show', join(dir.path, 'nope.torrent')]);
      assert.is(missing.code, 1);
      oneLine(missing.stderr, 'missing file');
      const usage = await meshseed(['show']);
      assert.is(usage.code, 2);
    } finally {
      dir.remove();
    }
  }),
);

test(
  'create: skips dot-files, CVS, core, Thumbs.db, desktop.ini; files in byte order; show and show --json agree',
  deadline(30000, async () => {
    const dir = tempDir();
    try {
      const d = join(dir.path, 'pub');
      for (const sub of ['pub/sub', 'pub/CVS', 'pub/.git', 'pub/Z']) mkdirSync(join(dir.path, sub), { recursive: true });
      const put = (p: string, n: number) => writeFileSync(join(d, p), randomBytes(n));
      put('sub/b.bin', 70000);
      put('a-c', 10);
      put('Z/x', 3);
      put('empty', 0);
      put('CVS/Entries', 5);
      put('.git/config', 5);
      put('.hidden', 5);
      put('core', 5);
      put('Thumbs.db', 5);
      put('desktop.ini', 5);
      put('sub/.dot', 5);
      const out = join(dir.path, 'pub.torrent');
      const r = await meshseed(['create', '-a', 'http://127.0.0.1:1/announce,udp://127.0.0.1:2', '-a', 'http://tracker.invalid/announce', '-w', 'http://ws.invalid/pub/', '-c', 'a comment', '-s', 'SRC', '-p', '-l', '15', '-o', out, d]);
      assert.is(r.code, 0, r.stderr);
      assert.match(r.stdout, /info hash [0-9a-f]{40}/);
      assert.match(r.stderr, /hashing: 100% \(/); // not a terminal: plain lines
      const j = JSON.parse((await meshseed(['show', '--json', out])).stdout);
      assert.equal(
        j.files.map((f: { path: string }) => f.path),
        ['Z/x', 'a-c', 'empty', 'sub/b.bin'],
      );
      assert.is(j.name, 'pub');
      assert.is(j.pieceLength, 32768);
      assert.is(j.pieceCount, 3);
      assert.is(j.length, 70013);
      assert.ok(j.private);
      assert.is(j.source, 'SRC');
      assert.is(j.comment, 'a comment');
      assert.match(j.createdBy, /^meshseed \d/);
      assert.ok(Math.abs(j.creationDate - Date.now() / 1000) < 3600);
      assert.equal(j.trackers, [['http://127.0.0.1:1/announce', 'udp://127.0.0.1:2'], ['http://tracker.invalid/announce']]);
      assert.equal(j.webSeeds, ['http://ws.invalid/pub/']);
      const text = await meshseed(['show', out]);
      assert.is(text.code, 0);
      assert.match(text.stdout, new RegExp(`info hash:\\s+${j.infoHash}`));
      assert.match(text.stdout, /tier 2: http:\/\/tracker\.invalid\/announce/);
      assert.match(text.stdout, /pub\/sub\/b\.bin \(70000 bytes\)/);
    } finally {
      dir.remove();
    }
  }),
);

test(
  'create: refuses to overwrite without -f, -q prints nothing, bad flags exit 2, default output <name>.torrent',
  deadline(30000, async () => {
    const dir = tempDir();
    try {
      const f = join(dir.path, 'data.bin');
      writeFileSync(f, randomBytes(1000));
      const first = await meshseed(['create', '-q', '-d', f], { cwd: dir.path });
      assert.is(first.code, 0, first.stderr);
      assert.is(first.stdout + first.stderr, '');
      const out = join(dir.path, 'data.bin.torrent');
      assert.ok(existsSync(out));
      const before = readFileSync(out);
      assert.is(JSON.parse((await meshseed(['show', '--json', out])).stdout).creationDate, null); // -d
      const nd = join(dir.path, 'nd.torrent');
      assert.is((await meshseed(['create', '-q', '--no-date', '-o', nd, f])).code, 0);
      assert.is(JSON.parse((await meshseed(['show', '--json', nd])).stdout).creationDate, null);
      const again = await meshseed(['create', '-q', '-c', 'changed', f], { cwd: dir.path });
      assert.is(again.code, 1);
      oneLine(again.stderr, 'refused overwrite');
      assert.match(again.stderr, /exists \(use -f to overwrite it\)/);
      assert.equal(readFileSync(out), before);
      const forced = await meshseed(['create', '-q', '-f', '-c', 'changed', f], { cwd: dir.path });
      assert.is(forced.code, 0, forced.stderr);
      assert.not.equal(readFileSync(out), before);
      for (const args of [['-l', '13', f], ['-l', 'x', f], ['-a', 'tracker.invalid', f], [], [f, f], ['-n', '../x', f], ['--bogus', f]]) {
        const r = await meshseed(['create', '-o', join(dir.path, 'x.torrent'), ...args], { cwd: dir.path });
        assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        oneLine(r.stderr, args.join(' '));
      }
      const nofolder = await meshseed(['create', '-o', join(dir.path, 'no', 'such', 'x.torrent'), f], { cwd: dir.path });
      assert.is(nofolder.code, 1);
      assert.match(nofolder.stderr, /cannot write .*ENOENT/);
      assert.not.match(nofolder.stderr, /hashing/); // refused before hashing, not after
      const single = await meshseed(['verify', out, f]); // the data file itself
      assert.is(single.code, 0, single.stdout + single.stderr);
      assert.match(single.stdout, /^data\.bin: ok, 1 of 1 pieces match, 100\.0% complete$/m);
      const none = await meshseed(['create', join(dir.path, 'nope')], { cwd: dir.path });
      assert.is(none.code, 1);
      oneLine(none.stderr, 'missing target');
      const empty = join(dir.path, 'empty');
      mkdirSync(empty);
      writeFileSync(join(empty, '.only-hidden'), 'x');
      const e = await meshseed(['create', empty], { cwd: dir.path });
      assert.is(e.code, 1);
      assert.match(e.stderr, /holds no files to publish/);
    } finally {
      dir.remove();
    }
  }),
);

test(
  'create on a terminal draws one progress bar on stderr, redrawn in place',
  deadline(30000, async () => {
    if (!requirePrograms('script')) return;
    const dir = tempDir();
    try {
      const f = join(dir.path, 'tty.bin');
      writeFileSync(f, randomBytes(3 << 20));
      // script(1) gives the command a pseudo-terminal; its stdout and stderr both land in ours
      const cmd = `${process.execPath} ${BUNDLE} create -d -l 15 -a http://127.0.0.1:1/announce -o ${join(dir.path, 'tty.torrent')} ${f}`;
      const r = await run('script', ['-qec', cmd, '/dev/null']);
      assert.is(r.code, 0, r.stdout);
      assert.match(r.stdout, /\rhashing \[#{30}\] 100% 3\.00 MiB of 3\.00 MiB/);
      assert.not.match(r.stdout, /hashing: \d+%/); // no plain lines on a terminal
      assert.is(r.stdout.match(/100%/g)!.length, 1);
      assert.match(r.stdout, /\x1b\[K\r?\n\S*tty\.torrent: tty\.bin/); // the bar line ends before the summary
    } finally {
      dir.remove();
    }
  }),
);

test(
  'verify: 0 when intact; damaged, missing and short files named, percentage, exit 1',
  deadline(30000, async () => {
    const dir = tempDir();
    try {
      const data = join(dir.path, 'data');
      const d = join(data, 'set');
      mkdirSync(join(d, 'sub'), { recursive: true });
      const pl = 32768;
      writeFileSync(join(d, 'a.bin'), randomBytes(pl * 4));
      writeFileSync(join(d, 'sub', 'b.bin'), randomBytes(pl * 4));
      writeFileSync(join(d, 'c.bin'), randomBytes(pl * 2));
      const t = join(dir.path, 'set.torrent');
      assert.is((await meshseed(['create', '-q', '-l', '15', '-o', t, d])).code, 0);
      // the folder holding the data, and the data folder itself, both work
      for (const p of [data, d]) {
        const ok = await meshseed(['verify', t, p]);
        assert.is(ok.code, 0, ok.stdout + ok.stderr);
        assert.match(ok.stdout, /^set: ok, 10 of 10 pieces match, 100\.0% complete$/m);
      }
      // one damaged byte in a.bin (piece 1), c.bin cut short, sub/b.bin missing
      const a = readFileSync(join(d, 'a.bin'));
      a[pl + 7] ^= 0xff;
      writeFileSync(join(d, 'a.bin'), a);
      truncateSync(join(d, 'c.bin'), pl + 10);
      const { unlinkSync } = await import('node:fs');
      unlinkSync(join(d, 'sub', 'b.bin'));
      const bad = await meshseed(['verify', '-q', t, data]);
      assert.is(bad.code, 1);
      assert.is(bad.stderr, '');
      const lines = bad.stdout.trim().split('\n');
      // files in the order of the torrent: a.bin, c.bin, sub/b.bin
      assert.equal(lines, [
        'set/a.bin: damaged: 1 of 4 pieces do not match',
        `set/c.bin: short: ${pl + 10} of ${pl * 2} bytes`,
        'set/sub/b.bin: missing',
        'set: 4 of 10 pieces match, 40.0% complete',
      ]);
      const hostile = join(dir.path, 'h.torrent');
      writeFileSync(hostile, HOSTILE_TORRENTS[0]![1]);
      const h = await meshseed(['verify', hostile, data]);
      assert.is(h.code, 1);
      oneLine(h.stderr, 'hostile verify');
      assert.is((await meshseed(['verify', t])).code, 2);
      const nowhere = await meshseed(['verify', t, join(dir.path, 'nope')]);
      assert.is(nowhere.code, 1);
      oneLine(nowhere.stderr, 'no data path');
    } finally {
      dir.remove();
    }
  }),
);

test(
  'reannounce: trackers replaced or a tier added, info hash unchanged, hostile file left alone',
  deadline(30000, async () => {
    const dir = tempDir();
    try {
      const f = join(dir.path, 'x.bin');
      writeFileSync(f, randomBytes(5000));
      const t = join(dir.path, 'x.torrent');
      assert.is((await meshseed(['create', '-q', '-a', 'http://127.0.0.1:1/announce', '-c', 'keep', '-o', t, f])).code, 0);
      const show = async () => JSON.parse((await meshseed(['show', '--json', t])).stdout);
      const before = await show();
      const r = await meshseed(['reannounce', 'http://127.0.0.1:2/announce,udp://127.0.0.1:3', t]);
      assert.is(r.code, 0, r.stderr);
      let j = await show();
      assert.is(j.infoHash, before.infoHash);
      assert.equal(j.trackers, [['http://127.0.0.1:2/announce', 'udp://127.0.0.1:3']]);
      assert.is(j.comment, 'keep');
      assert.is(j.creationDate, before.creationDate);
      assert.is((await meshseed(['reannounce', '-q', '--tier', '--first', 'http://127.0.0.1:4/announce', t])).code, 0);
      j = await show();
      assert.equal(j.trackers, [['http://127.0.0.1:4/announce'], ['http://127.0.0.1:2/announce', 'udp://127.0.0.1:3']]);
      assert.is(j.infoHash, before.infoHash);
      const h = join(dir.path, 'h.torrent');
      const hostileBytes = HOSTILE_TORRENTS[0]![1];
      writeFileSync(h, hostileBytes);
      const mixed = await meshseed(['reannounce', 'http://127.0.0.1:5/announce', h, t]);
      assert.is(mixed.code, 1);
      oneLine(mixed.stderr, 'hostile reannounce');
      assert.equal(readFileSync(h), Buffer.from(hostileBytes));
      assert.equal((await show()).trackers, [['http://127.0.0.1:5/announce']]); // the good one is still done
      assert.is((await meshseed(['reannounce', 'http://127.0.0.1:5/announce'])).code, 2);
      assert.is((await meshseed(['reannounce', '--first', 'http://127.0.0.1:5/announce', t])).code, 2);
    } finally {
      dir.remove();
    }
  }),
);

test.run();
