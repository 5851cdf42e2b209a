// deadline: 60s
/**
 * Issue 13, item 1: a torrent with one file of 40,000 path components took 32 s to parse
 * (the "file is also a folder" check joined every path prefix) and logged an 80 KB line.
 * Paths are now bounded in depth and length, the check is linear, log lines are capped.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_PATH_BYTES, MAX_PATH_DEPTH, parseMetainfo } from '../../src/codec/metainfo';
import { MeshseedError } from '../../src/errors';
import { MAX_LOG_MESSAGE, createLogger } from '../../src/util/log';
import { PL, hashes, multiInfo, torrent } from '../fixtures/hostile-torrents';

const refusal = (bytes: Uint8Array): MeshseedError => {
  try {
    parseMetainfo(bytes);
  } catch (err) {
    return err as MeshseedError;
  }
  throw new Error('parsed');
};

test('one file 40,000 components deep is refused at once, naming the depth', () => {
  const t0 = performance.now();
  const err = refusal(torrent(multiInfo({ pieces: hashes(1), files: [{ length: 1, path: Array(40000).fill('a') }] })));
  console.log(`40,000-component path refused in ${(performance.now() - t0).toFixed(1)} ms`);
  assert.is(err.code, 'EMETAINFO');
  assert.match(err.message, new RegExp(`info\\.files\\[0\\]\\.path has 40000 components, more than ${MAX_PATH_DEPTH}`));
});

test('a path longer than PATH_MAX bytes is refused', () => {
  const path = Array(MAX_PATH_DEPTH).fill('x'.repeat(40)); // 128 × 41 bytes > 4096
  const err = refusal(torrent(multiInfo({ pieces: hashes(1), files: [{ length: 1, path }] })));
  assert.match(err.message, new RegExp(`is ${128 * 41 - 1} bytes long, more than ${MAX_PATH_BYTES}`));
});

test('many deep files parse in time linear in their components (the old check was quadratic)', () => {
  // 4,000 files at the deepest allowed path: the old check joined 4,000 × 127 prefixes of up
  // to 127 components each (about 32 million component copies)
  const files = Array.from({ length: 4000 }, (_, i) => ({ length: 1, path: [...Array(MAX_PATH_DEPTH - 1).fill('d'), `f${i}`] }));
  const bytes = torrent(multiInfo({ 'piece length': PL, pieces: hashes(1), files }));
  const t0 = performance.now();
  const m = parseMetainfo(bytes);
  console.log(`4,000 files × ${MAX_PATH_DEPTH} components (${(bytes.length / 1024).toFixed(0)} KiB) parsed in ${(performance.now() - t0).toFixed(0)} ms`);
  assert.is(m.files.length, 4000);
  // a file under a folder that is also a file, at depth, is still found
  const clash = [...files.slice(0, 10), { length: 1, path: Array(MAX_PATH_DEPTH - 1).fill('d') }];
  assert.match(refusal(torrent(multiInfo({ pieces: hashes(1), files: clash }))).message, /'d(\/d)+' is both a file and a folder/);
  const clash2 = [{ length: 1, path: ['d', 'e'] }, { length: 1, path: ['d', 'e', 'f'] }];
  assert.match(refusal(torrent(multiInfo({ pieces: hashes(1), files: clash2 }))).message, /'d\/e' is both a file and a folder/);
  const dup = [{ length: 1, path: ['d', 'e'] }, { length: 1, path: ['d', 'e'] }];
  assert.match(refusal(torrent(multiInfo({ pieces: hashes(1), files: dup }))).message, /info\.files\[1\]: two files have the path 'd\/e'/);
  const proto = [{ length: 1, path: ['__proto__', 'x'] }, { length: 1, path: ['constructor'] }, { length: 1, path: ['toString', 'y'] }];
  assert.is(parseMetainfo(torrent(multiInfo({ pieces: hashes(1), files: proto }))).files.length, 3);
});

test('log lines are one line of at most MAX_LOG_MESSAGE characters of message', () => {
  const lines: string[] = [];
  const log = createLogger('info', (l) => lines.push(l)).child('seeder');
  log.warn(`x.torrent: not seeded: ${'a/'.repeat(40000)}`);
  log.warn('two\nlines\r');
  assert.is(lines.length, 2);
  assert.ok(lines[0]!.length < MAX_LOG_MESSAGE + 100, `${lines[0]!.length} characters`);
  assert.match(lines[0]!, /^warn: seeder: x\.torrent: not seeded: a\/a\/.*… \(\d+ more characters\)$/);
  assert.is(lines[1], 'warn: seeder: two\\nlines\\r');
});

test.run();
