// deadline: 180s
/**
 * Issue 13, item 2: a valid 50,000-file torrent killed the daemon under the init script's
 * 64 MiB heap (and again at every respawn). Now: stats run a few at a time, file problems are
 * summarised, and a torrent over seeder.max_files is refused before it is decoded, with an
 * error line in the status. `show` reads such torrents too.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from '../../src/codec/bencode';
import { countFiles, parseMetainfo } from '../../src/codec/metainfo';
import { BUNDLE, deadline, meshseed, randomPort, tempDir, waitFor } from '../helpers';

function manyFiles(n: number, name: string): Uint8Array {
  const files = Array.from({ length: n }, (_, i) => ({ length: 1000 + (i % 7), path: [`folder-${i % 100}`, `map-tile-${i}-z12.png`] }));
  const total = files.reduce((a, f) => a + f.length, 0);
  const pl = 262144;
  return encode({ announce: 'http://127.0.0.1:1/announce', info: { name, 'piece length': pl, pieces: new Uint8Array(20 * Math.ceil(total / pl)), files } });
}

test('countFiles counts info.files without decoding; parseMetainfo refuses over maxFiles, naming the setting', () => {
  const t = manyFiles(1200, 'x');
  assert.is(countFiles(t), 1200);
  assert.is(countFiles(t, 1001), 1001);
  assert.is(countFiles(encode({ info: { name: 'a', length: 1 } })), undefined);
  assert.is(countFiles(new Uint8Array(Buffer.from('d4:infod5:filesli1e'))), undefined); // truncated: the parser says why
  assert.is(parseMetainfo(t, { maxFiles: 1200 }).files.length, 1200);
  assert.throws(() => parseMetainfo(t, { maxFiles: 1000, limitName: 'seeder.max_files' }), /more than 1000 files \(the limit seeder\.max_files; raise it/);
});

test(
  'under a 64 MiB heap the daemon seeds a 50,000-file torrent and refuses a 60,000-file one with an error in the status',
  deadline(110_000, async () => {
    const dir = tempDir('meshseed-bigtorrent-');
    for (const d of ['torrents', 'data', 'state']) mkdirSync(join(dir.path, d));
    writeFileSync(join(dir.path, 'torrents', 'fifty.torrent'), manyFiles(50_000, 'fifty'));
    writeFileSync(join(dir.path, 'torrents', 'sixty.torrent'), manyFiles(60_000, 'sixty'));
    const child = spawn(
      process.execPath,
      ['--max-old-space-size=64', BUNDLE, 'daemon', '--state-dir', 'state', '--seeder-torrent-dir', 'torrents', '--seeder-data-dir', 'data', '--lpd-enabled', '0', '--dht-enabled', '0', '--seeder-download', '0',
        '--tracker-port', String(randomPort()), '--seeder-listen-port', String(randomPort())],
      { cwd: dir.path, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let exit: number | null | undefined;
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => (exit = code));
    try {
      await waitFor('both torrents handled', 90_000, () => exit !== undefined || (/sixty\.torrent: not seeded/.test(out) && /fifty: missing data/.test(out)), 200);
      assert.is(exit, undefined, `the daemon died:\n${out.slice(-2000)}`);
      assert.match(out, /sixty\.torrent: not seeded: more than 50000 files \(the limit seeder\.max_files/);
      assert.match(out, /fifty: missing data in data: 0 of \d+ pieces verified \(0%\)[^:]*: folder-0\/map-tile-0-z12\.png \(missing\)/);
      const longest = Math.max(...out.split('\n').map((l) => l.length));
      assert.ok(longest < 2000, `a log line of ${longest} characters`);
      const st = await meshseed(['status', '--json', '--state-dir', join(dir.path, 'state')]);
      assert.is(st.code, 0, st.stderr);
      const doc = JSON.parse(st.stdout);
      const sixty = doc.torrents.find((t: { name: string }) => /sixty/.test(t.name));
      assert.is(sixty.state, 'error');
      assert.match(sixty.error, /more than 50000 files/);
      assert.is(doc.torrents.find((t: { name: string }) => t.name === 'fifty').state, 'missing data');
    } finally {
      child.kill('SIGTERM');
      await waitFor('the daemon to stop', 15_000, () => exit !== undefined);
      dir.remove();
    }
    assert.is(exit, 0, out.slice(-2000));
  }),
);

test(
  'meshseed show reads a 60,000-file torrent (under a 64 MiB heap too)',
  deadline(60_000, async () => {
    const dir = tempDir('meshseed-bigshow-');
    try {
      const f = join(dir.path, 'sixty.torrent');
      writeFileSync(f, manyFiles(60_000, 'sixty'));
      const { run } = await import('../helpers');
      const r = await run(process.execPath, ['--max-old-space-size=64', BUNDLE, 'show', f], { timeoutMs: 50_000 });
      assert.is(r.code, 0, r.stderr.slice(-1000));
      assert.match(r.stdout, /files:\s+60000\n/);
    } finally {
      dir.remove();
    }
  }),
);

test.run();
