// deadline: 60s
/**
 * scripts/build-feed.sh: Packages and Packages.gz for a folder of ipks, with the fields
 * opkg-lede reads (the control file, then Filename, Size, SHA256sum), parsed back here.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ROOT, deadline, requirePrograms, tempDir } from '../helpers';
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

/** The usign fingerprint of a signify/usign public key or signature file: the 8 key-number bytes after 'Ed', hex, no leading zeros (usign -F). */
function fingerprint(file: string): string {
  const bytes = Buffer.from(readFileSync(file, 'utf8').split('\n')[1]!, 'base64');
  assert.is(bytes.subarray(0, 2).toString('latin1'), 'Ed');
  return bytes.subarray(2, 10).toString('hex').replace(/^0+(?=.)/, '');
}

test(
  'build-feed --key signs Packages (usign = signify format): the signature checks against the key pair, not against a changed index or another key',
  deadline(30000, async () => {
    requirePrograms('signify-openbsd');
    const { dir } = await feedWithIpk();
    const keys = tempDir('meshseed-keys-');
    dirs.push(keys);
    const pub = join(keys.path, 'feed.pub');
    const sec = join(keys.path, 'feed.sec');
    let r = await exec('signify-openbsd', ['-G', '-n', '-p', pub, '-s', sec]);
    assert.is(r.code, 0, r.stderr);
    r = await exec('sh', [join(ROOT, 'scripts', 'build-feed.sh'), '--key', sec, dir]);
    assert.is(r.code, 0, r.stderr);
    const fp = fingerprint(pub);
    assert.match(r.stdout, new RegExp(`Packages\\.sig: signed by key ${fp}; routers need its public key as /etc/opkg/keys/${fp}`));
    const sig = join(dir, 'Packages.sig');
    assert.is(fingerprint(sig), fp, 'the signature names the key');
    const verify = (p: string) => exec('signify-openbsd', ['-V', '-q', '-p', p, '-m', join(dir, 'Packages'), '-x', sig]);
    assert.is((await verify(pub)).code, 0);
    // another key does not verify it
    const otherPub = join(keys.path, 'other.pub');
    r = await exec('signify-openbsd', ['-G', '-n', '-p', otherPub, '-s', join(keys.path, 'other.sec')]);
    assert.is(r.code, 0, r.stderr);
    assert.is.not((await verify(otherPub)).code, 0);
    // nor a changed index
    writeFileSync(join(dir, 'Packages'), readFileSync(join(dir, 'Packages'), 'utf8').replace(/^Size: \d+/m, 'Size: 1'));
    assert.is.not((await verify(pub)).code, 0);
    // a run without a key removes the stale signature
    r = await exec('sh', [join(ROOT, 'scripts', 'build-feed.sh'), dir]);
    assert.is(r.code, 0, r.stderr);
    assert.not.ok(existsSync(sig));
    // a missing key is a clear error
    r = await exec('sh', [join(ROOT, 'scripts', 'build-feed.sh'), '--key', join(keys.path, 'none.sec'), dir]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /build-feed: no secret key .*none\.sec/);
  }),
);

test.run();
