// deadline: 60s
/**
 * scripts/build-feed.sh: Packages and Packages.gz for a folder of ipks, with the fields
 * opkg-lede reads (the control file, then Filename, Size, SHA256sum), parsed back here.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ROOT, deadline, tempDir } from '../helpers';
import { exec, member, parseControl, readTarGz } from './tar';

const dirs: { remove(): void }[] = [];
test.after(() => dirs.forEach((d) => d.remove()));

async function feedWithIpk() {
  const dir = tempDir('meshseed-feed-');
  dirs.push(dir);
  const b = await exec('sh', [join(ROOT, 'scripts', 'build-ipk.sh'), '--no-build', '--out', dir.path], { timeoutMs: 60000 });
  assert.is(b.code, 0, b.stdout + b.stderr);
  const ipk = /(meshseed_\S+_all\.ipk)/.exec(b.stdout)![1]!.split('/').pop()!;
  return { dir: dir.path, ipk };
}

function parsePackages(text: string): Map<string, string>[] {
  assert.ok(text.endsWith('\n\n'), 'the last entry ends with an empty line');
  return text
    .slice(0, -2)
    .split('\n\n')
    .map((entry) => parseControl(entry + '\n'));
}

test(
  'Packages lists each ipk with its control fields, Filename, Size and SHA256sum; Packages.gz is the same text',
  deadline(30000, async () => {
    const { dir, ipk } = await feedWithIpk();
    // a second package file, so the order and the separation of entries are tested too
    const other = ipk.replace('meshseed_', 'meshseed-copy_');
    copyFileSync(join(dir, ipk), join(dir, other));
    const r = await exec('sh', [join(ROOT, 'scripts', 'build-feed.sh'), dir]);
    assert.is(r.code, 0, r.stderr);
    const text = readFileSync(join(dir, 'Packages'), 'utf8');
    assert.is(gunzipSync(readFileSync(join(dir, 'Packages.gz'))).toString('utf8'), text);
    const entries = parsePackages(text);
    assert.equal(
      entries.map((e) => e.get('Filename')),
      [ipk, other].sort(),
    );
    const control = parseControl(
      member(readTarGz(member(readTarGz(readFileSync(join(dir, ipk))), './control.tar.gz').data), './control').data.toString(),
    );
    for (const e of entries) {
      const file = join(dir, e.get('Filename')!);
      assert.is(e.get('Size'), String(statSync(file).size));
      assert.is(e.get('SHA256sum'), createHash('sha256').update(readFileSync(file)).digest('hex'));
      for (const [k, v] of control) assert.is(e.get(k), v, k);
      assert.equal([...e.keys()].slice(-3), ['Filename', 'Size', 'SHA256sum']);
    }
  }),
);

test(
  'build-feed refuses a folder with no ipk and a file that is not one',
  deadline(20000, async () => {
    const empty = tempDir('meshseed-feed-');
    dirs.push(empty);
    let r = await exec('sh', [join(ROOT, 'scripts', 'build-feed.sh'), empty.path]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /no \.ipk/);
    writeFileSync(join(empty.path, 'bad_1.0-r1_all.ipk'), 'not a package');
    r = await exec('sh', [join(ROOT, 'scripts', 'build-feed.sh'), empty.path]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /bad_1\.0-r1_all\.ipk is not an ipk/);
  }),
);

test.run();
