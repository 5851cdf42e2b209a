// deadline: 60s
/**
 * Issue 13, items 6 and 9: a config file is checked before it is read; `show` prints a
 * `creation date` that is no valid date; UCI section names that are Object.prototype
 * properties are plain unknown sections.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadUciFile } from '../../src/config/resolve';
import { parseUci } from '../../src/config/uci';
import { applyUci } from '../../src/config/resolve';
import { parseMetainfo } from '../../src/codec/metainfo';
import { formatMetainfo } from '../../src/torrent/describe';
import { deadline, meshseed, tempDir } from '../helpers';
import { singleInfo, torrent } from '../fixtures/hostile-torrents';

test(
  'check-config --config /dev/zero is refused at once (not a regular file)',
  deadline(20000, async () => {
    const r = await meshseed(['check-config', '--config', '/dev/zero'], { timeoutMs: 15000 });
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stdout + r.stderr, /\/dev\/zero: cannot read: not a regular file/);
  }),
);

test('a FIFO, a folder and a 2 MiB file are refused before reading', () => {
  const dir = tempDir();
  try {
    const fifo = join(dir.path, 'fifo');
    spawnSync('mkfifo', [fifo]);
    // opening a FIFO with no writer would block: the check must not hang on it
    const big = join(dir.path, 'big');
    writeFileSync(big, '#'.repeat(2 << 20));
    assert.match(loadUciFile(fifo).problems[0]!.message, /not a regular file/);
    assert.match(loadUciFile(dir.path).problems[0]!.message, /cannot read/);
    assert.match(loadUciFile(big).problems[0]!.message, /larger than 1 MiB \(2097152 bytes\)/);
    assert.match(loadUciFile(join(dir.path, 'none')).problems[0]!.message, /no such file/);
  } finally {
    dir.remove();
  }
});

test("UCI sections named 'constructor', '__proto__', 'toString' are sections like any other: not the named one, so ignored with a problem", () => {
  for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    const { problems, settings } = applyUci(parseUci(`config tracker '${name}'\n\toption port '7000'\n`), 'x');
    assert.equal(problems, [{ where: `meshseed.${name}`, message: `section '${name}' of type tracker is ignored: only config tracker 'tracker' is read`, line: 1 }], name);
    assert.is(settings['tracker.port'], 6969, name);
    assert.is(({} as Record<string, unknown>).port, undefined, 'no prototype touched');
    const other = applyUci(parseUci(`config bogus '${name}'\n`), 'x').problems;
    assert.is(other.length, 1, name);
    assert.match(other[0]!.message, /^unknown section/, `${name}: ${other[0]!.message}`);
  }
});

test('show prints a creation date that is no valid date as the number', () => {
  const m = parseMetainfo(torrent(singleInfo(), { 'creation date': 9007199254740991 }));
  assert.match(formatMetainfo(m), /created:\s+9007199254740991\n/);
  const ok = parseMetainfo(torrent(singleInfo(), { 'creation date': 1700000000 }));
  assert.match(formatMetainfo(ok), /created:\s+2023-11-14T22:13:20Z/);
});

test(
  'meshseed show exits 0 on creation date 2^53-1',
  deadline(20000, async () => {
    const dir = tempDir();
    try {
      const f = join(dir.path, 'd.torrent');
      writeFileSync(f, torrent(singleInfo(), { 'creation date': 9007199254740991 }));
      const r = await meshseed(['show', f]);
      assert.is(r.code, 0, r.stderr);
      assert.match(r.stdout, /9007199254740991/);
    } finally {
      dir.remove();
    }
  }),
);

test.run();
