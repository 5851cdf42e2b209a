// deadline: 90s
/**
 * scripts/build-ipk.sh: the .ipk as opkg-lede reads it (a gzip'd tar, not ar, of debian-binary,
 * data.tar.gz and control.tar.gz), unpacked with tar and read header by header, built twice to
 * the same bytes, its bundle run with this machine's node; and openwrt-feed/Makefile kept in step
 * with package.json and the ipk.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ROOT, deadline, requirePrograms, tempDir } from '../helpers';
import { exec as run, member, parseControl, readTarGz, type TarEntry } from './tar';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; license: string };
const makefile = readFileSync(join(ROOT, 'openwrt-feed', 'Makefile'), 'utf8');
const mkvar = (name: string) => new RegExp(`^${name}:=(.*)$`, 'm').exec(makefile)?.[1];
const release = mkvar('PKG_RELEASE')!;
const ipkName = `meshseed_${pkg.version}-r${release}_all.ipk`;

const dirs: { path: string; remove(): void }[] = [];
async function buildIpk(): Promise<{ dir: string; ipk: Buffer }> {
  const dir = tempDir('meshseed-ipk-');
  dirs.push(dir);
  // npm test has built dist/meshseed.js; rebuilding it here would race the other test files.
  const r = await run('sh', [join(ROOT, 'scripts', 'build-ipk.sh'), '--no-build', '--out', dir.path, '--source-url', 'https://feed.example.invalid/meshseed/'], {
    timeoutMs: 60000,
  });
  assert.is(r.code, 0, r.stdout + r.stderr);
  return { dir: dir.path, ipk: readFileSync(join(dir.path, ipkName)) };
}

let first: { dir: string; ipk: Buffer };
test.before(async () => {
  first = await buildIpk();
});
test.after(() => {
  for (const d of dirs) d.remove();
});

const outer = () => readTarGz(first.ipk);
const data = () => readTarGz(member(outer(), './data.tar.gz').data);
const control = () => readTarGz(member(outer(), './control.tar.gz').data);
const controlFields = () => parseControl(member(control(), './control').data.toString('utf8'));

function assertPackaged(entries: TarEntry[], what: string) {
  for (const e of entries) {
    assert.is(e.magic, 'ustar  \0', `${what} ${e.name}: GNU tar header, not POSIX/pax`);
    assert.ok(e.type === '0' || e.type === '5', `${what} ${e.name}: plain file or folder, got type ${e.type}`);
    assert.is(e.uid, 0, `${what} ${e.name} uid`);
    assert.is(e.gid, 0, `${what} ${e.name} gid`);
    assert.is(e.uname, '', `${what} ${e.name}: numeric owner only`);
    assert.is(e.mtime, Number(controlFields().get('SourceDateEpoch')), `${what} ${e.name} mtime`);
  }
  const names = entries.map((e) => e.name);
  assert.equal(names, [...names].sort(), `${what} members sorted`);
}

test(
  'the ipk is a gzip\'d GNU tar (not ar) of debian-binary, data.tar.gz and control.tar.gz',
  deadline(10000, () => {
    assert.equal([...first.ipk.subarray(0, 2)], [0x1f, 0x8b], 'gzip magic');
    assert.is.not(gunzipSync(first.ipk).subarray(0, 7).toString('latin1'), '!<arch>');
    const entries = outer();
    assert.equal(
      entries.map((e) => e.name),
      ['./debian-binary', './data.tar.gz', './control.tar.gz'],
    );
    for (const e of entries) {
      assert.is(e.magic, 'ustar  \0', e.name);
      assert.is(e.uid, 0);
      assert.is(e.gid, 0);
      assert.is(e.mode, 0o644, e.name);
    }
    assert.is(member(entries, './debian-binary').data.toString('latin1'), '2.0\n');
    // gzip -n: no name and no time in the gzip header
    for (const gz of [first.ipk, member(entries, './data.tar.gz').data, member(entries, './control.tar.gz').data]) {
      assert.is(gz[3]! & 0x08, 0, 'no FNAME flag');
      assert.is(gz.readUInt32LE(4), 0, 'MTIME 0');
    }
  }),
);

test(
  'the tar program lists the members with owner 0/0',
  deadline(10000, async () => {
    const r = await run('tar', ['-tvzf', join(first.dir, ipkName)]);
    assert.is(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.is(lines.length, 3);
    for (const l of lines) assert.match(l, /^-rw-r--r-- 0\/0 /);
  }),
);

test(
  'data.tar.gz: the installed files with their modes, GNU headers, owner 0, sorted, one mtime',
  deadline(10000, () => {
    const entries = data();
    assertPackaged(entries, 'data');
    const files = new Map(entries.filter((e) => e.type === '0').map((e) => [e.name, e.mode]));
    assert.equal(
      Object.fromEntries(files),
      {
        './etc/config/meshseed': 0o644,
        './etc/init.d/meshseed': 0o755,
        './etc/uci-defaults/90-meshseed-firewall': 0o755,
        './usr/bin/meshseed': 0o755,
        './usr/lib/meshseed/meshseed.js': 0o644,
        './usr/share/meshseed/firewall.sh': 0o644,
      },
    );
    for (const e of entries.filter((x) => x.type === '5')) assert.is(e.mode, 0o755, e.name);
    assert.equal(member(entries, './usr/lib/meshseed/meshseed.js').data, readFileSync(join(ROOT, 'dist', 'meshseed.js')));
    assert.equal(member(entries, './etc/config/meshseed').data, readFileSync(join(ROOT, 'files', 'etc', 'config', 'meshseed')));
  }),
);

test(
  'control.tar.gz: control fields, conffiles and the maintainer scripts',
  deadline(10000, () => {
    const entries = control();
    assertPackaged(entries, 'control');
    assert.equal(
      entries.filter((e) => e.type === '0').map((e) => [e.name, e.mode]),
      [
        ['./conffiles', 0o644],
        ['./control', 0o644],
        ['./postinst', 0o755],
        ['./postrm', 0o755],
        ['./prerm', 0o755],
        ['./prerm-pkg', 0o644],
      ],
    );
    assert.is(member(entries, './conffiles').data.toString(), '/etc/config/meshseed\n');
    const f = controlFields();
    assert.equal(
      [...f.keys()],
      [
        'Package',
        'Version',
        'Depends',
        'Source',
        'SourceName',
        'License',
        'Section',
        'SourceDateEpoch',
        'Maintainer',
        'Require-User',
        'Architecture',
        'Installed-Size',
        'Description',
      ],
    );
    assert.is(f.get('Package'), 'meshseed');
    assert.is(f.get('Version'), `${pkg.version}-r${release}`);
    assert.match(f.get('Version')!, /^\d+\.\d+\.\d+-r\d+$/);
    // libc, which OpenWrt adds to every package, then the Makefile's DEPENDS without the +
    const depends = /^\s+DEPENDS:=(.*)$/m.exec(makefile)![1]!.trim().split(/\s+/).map((d) => d.replace(/^\+/, ''));
    assert.is(f.get('Depends'), ['libc', ...depends].join(', '));
    assert.is(f.get('Depends'), 'libc, node');
    assert.is(f.get('License'), pkg.license);
    assert.is(f.get('Section'), 'net');
    assert.is(f.get('Architecture'), 'all');
    assert.is(f.get('Maintainer'), mkvar('PKG_MAINTAINER'));
    assert.match(f.get('SourceDateEpoch')!, /^\d+$/);
    // no fixed ids: OpenWrt's add_group_and_user allocates free ones for user:group
    assert.is(f.get('Require-User'), 'meshseed:meshseed');
    const size = gunzipSync(member(outer(), './data.tar.gz').data).length;
    assert.is(f.get('Installed-Size'), String(size), 'Installed-Size is the uncompressed data tar');
    // the description says where Node exists, honestly
    const d = f.get('Description')!;
    for (const s of ['24.10', 'Node 20', '23.05', 'Node 18', 'aarch64', 'MIPS', '25.12']) assert.ok(d.includes(s), s);
    // control text ends with a newline and has no empty line (Packages uses empty lines)
    const text = member(entries, './control').data.toString();
    assert.ok(text.endsWith('\n') && !text.includes('\n\n'));
  }),
);

test(
  'maintainer scripts call OpenWrt\'s default_postinst/default_prerm; removal work skips image builds',
  deadline(10000, () => {
    const c = control();
    const postinst = member(c, './postinst').data.toString();
    const prerm = member(c, './prerm').data.toString();
    const prermPkg = member(c, './prerm-pkg').data.toString();
    assert.match(postinst, /^#!\/bin\/sh\n/);
    assert.match(postinst, /\. "\$\{IPKG_INSTROOT\}\/lib\/functions\.sh"\ndefault_postinst "\$0" "\$@"\n$/);
    assert.match(prerm, /\. "\$\{IPKG_INSTROOT\}\/lib\/functions\.sh"\ndefault_prerm "\$0" "\$@"\n$/);
    assert.match(prermPkg, /\[ -n "\$IPKG_INSTROOT" \] \|\|/);
  }),
);

test(
  'a second build gives the same bytes',
  deadline(60000, async () => {
    const second = await buildIpk();
    assert.ok(first.ipk.equals(second.ipk), 'ipk bytes differ between two builds');
    const rel = `meshseed-${pkg.version}.tar.gz`;
    assert.ok(readFileSync(join(first.dir, rel)).equals(readFileSync(join(second.dir, rel))), 'release tarball differs');
  }),
);

test(
  'the bundle taken out of the ipk runs --help and check-config on the shipped config',
  deadline(30000, async () => {
    requirePrograms('tar');
    const root = tempDir('meshseed-ipk-root-');
    dirs.push(root);
    let r = await run('tar', ['-xzf', join(first.dir, ipkName), '-C', root.path]);
    assert.is(r.code, 0, r.stderr);
    r = await run('tar', ['-xzf', join(root.path, 'data.tar.gz'), '-C', root.path]);
    assert.is(r.code, 0, r.stderr);
    const js = join(root.path, 'usr', 'lib', 'meshseed', 'meshseed.js');
    const help = await run(process.execPath, [js, '--help'], { cwd: root.path });
    assert.is(help.code, 0, help.stderr);
    assert.match(help.stdout, /daemon/);
    const check = await run(process.execPath, [js, 'check-config', '--config', join(root.path, 'etc', 'config', 'meshseed')], {
      cwd: root.path,
    });
    assert.is(check.code, 0, check.stdout + check.stderr);
    // tar kept the executable bits
    for (const p of ['etc/init.d/meshseed', 'usr/bin/meshseed', 'etc/uci-defaults/90-meshseed-firewall']) {
      assert.is(statSync(join(root.path, p)).mode & 0o777, 0o755, p);
    }
  }),
);

test(
  'openwrt-feed/Makefile: version and license as package.json, installs what the ipk holds',
  deadline(10000, () => {
    assert.is(mkvar('PKG_VERSION'), pkg.version, 'PKG_VERSION follows package.json');
    assert.is(mkvar('PKG_LICENSE'), pkg.license);
    assert.match(release, /^\d+$/);
    assert.match(makefile, /^include \$\(TOPDIR\)\/rules\.mk$/m);
    assert.match(makefile, /^\s+PKGARCH:=all$/m);
    assert.match(makefile, /^\s+DEPENDS:=\+node$/m);
    assert.match(makefile, /^\s+SECTION:=net$/m);
    assert.match(makefile, /^\s+USERID:=meshseed:meshseed$/m);
    assert.match(makefile, /^\s+URL:=https:\/\/\S+$/m);
    assert.match(makefile, /^PKG_SOURCE_URL:=https:\/\/\S+\/$/m);
    assert.not.match(makefile, /skip/i);
    assert.match(makefile, /^define Package\/meshseed\/conffiles\n\/etc\/config\/meshseed\nendef$/m);
    assert.match(makefile, /^\$\(eval \$\(call BuildPackage,meshseed\)\)$/m);
    const userid = /USERID:=(.*)/.exec(makefile)![1];
    assert.is(controlFields().get('Require-User'), userid);
    // every file the ipk installs, the Makefile installs (same place, same mode class)
    const installs = [...makefile.matchAll(/\$\((INSTALL_BIN|INSTALL_DATA|INSTALL_CONF)\) \$\(PKG_BUILD_DIR\)\/(\S+) \$\(1\)(\S+)/g)].map(
      (m) => {
        const dest = m[3]!.endsWith('/') ? m[3]! + m[2]!.split('/').pop() : m[3]!;
        return [`.${dest}`, m[1] === 'INSTALL_BIN' ? 0o755 : 0o644] as const;
      },
    );
    const files = data()
      .filter((e) => e.type === '0')
      .map((e) => [e.name, e.mode] as const);
    assert.equal(Object.fromEntries(installs), Object.fromEntries(files));
    // the release tarball the Makefile downloads holds every file it installs
    const tarball = readTarGz(readFileSync(join(first.dir, `meshseed-${pkg.version}.tar.gz`))).map((e) => e.name);
    for (const m of makefile.matchAll(/\$\(PKG_BUILD_DIR\)\/(\S+)/g)) {
      assert.ok(tarball.includes(`meshseed-${pkg.version}/${m[1]}`), `release tarball lacks ${m[1]}`);
    }
    // the license file it names is in the tarball
    assert.is(mkvar('PKG_LICENSE_FILES'), 'LICENSE');
    // the Makefile's postrm is the ipk's postrm
    const postrm = /^define Package\/meshseed\/postrm\n([\s\S]*?)\nendef$/m.exec(makefile)![1]!.replace(/\$\$/g, '$');
    assert.is(postrm + '\n', readFileSync(join(ROOT, 'scripts', 'ipk', 'postrm'), 'utf8'));
    // the Makefile's prerm is the ipk's prerm-pkg ($$ is make's escape for $)
    const prerm = /^define Package\/meshseed\/prerm\n([\s\S]*?)\nendef$/m.exec(makefile)![1]!.replace(/\$\$/g, '$');
    assert.is(prerm + '\n', readFileSync(join(ROOT, 'scripts', 'ipk', 'prerm-pkg'), 'utf8'));
  }),
);

test(
  'the package\'s shell scripts parse under busybox ash',
  deadline(20000, async () => {
    requirePrograms('busybox');
    const scripts = [
      'files/etc/init.d/meshseed',
      'files/etc/uci-defaults/90-meshseed-firewall',
      'files/usr/bin/meshseed',
      'files/usr/share/meshseed/firewall.sh',
      'scripts/build-ipk.sh',
      'scripts/build-feed.sh',
      ...readdirSync(join(ROOT, 'scripts', 'ipk')).map((f) => `scripts/ipk/${f}`),
    ];
    for (const s of scripts) {
      const r = await run('busybox', ['ash', '-n', join(ROOT, s)]);
      assert.is(r.code, 0, `${s}: ${r.stderr}`);
    }
    // and a broken one does not, so the check can fail
    const r = await run('busybox', ['ash', '-n', '-c', 'if then fi']);
    assert.is.not(r.code, 0);
  }),
);

test(
  'the feed Makefile build-ipk writes: the template with the release tarball\'s sha256 as PKG_HASH and the given source URL',
  deadline(10000, () => {
    const feed = readFileSync(join(first.dir, 'feed', 'net', 'meshseed', 'Makefile'), 'utf8');
    const sha = createHash('sha256').update(readFileSync(join(first.dir, `meshseed-${pkg.version}.tar.gz`))).digest('hex');
    assert.match(feed, new RegExp(`^PKG_HASH:=${sha}$`, 'm'));
    assert.match(feed, /^PKG_SOURCE_URL:=https:\/\/feed\.example\.invalid\/meshseed\/$/m);
    // the rest is the template, line for line
    const strip = (t: string) => t.split('\n').filter((l) => !/^PKG_(HASH|SOURCE_URL):=/.test(l));
    assert.equal(strip(feed), strip(makefile));
    assert.match(makefile, /^PKG_HASH:=@PKG_HASH@$/m, 'the template has a placeholder, never skip');
  }),
);

test(
  'postrm removes the package\'s folders once opkg has removed the files, and keeps one that is not empty',
  deadline(10000, async () => {
    requirePrograms('busybox');
    const root = tempDir('meshseed-postrm-');
    dirs.push(root);
    const postrm = member(control(), './postrm').data.toString();
    mkdirSync(join(root.path, 'usr', 'lib', 'meshseed'), { recursive: true });
    mkdirSync(join(root.path, 'usr', 'share', 'meshseed'), { recursive: true });
    writeFileSync(join(root.path, 'usr', 'share', 'meshseed', 'operator-notes'), 'kept');
    const r = await run('busybox', ['ash', '-c', postrm], { env: { PATH: process.env.PATH, IPKG_INSTROOT: root.path } });
    assert.is(r.code, 0, r.stderr);
    assert.not.ok(existsSync(join(root.path, 'usr', 'lib', 'meshseed')));
    assert.ok(existsSync(join(root.path, 'usr', 'share', 'meshseed', 'operator-notes')));
    assert.ok(existsSync(join(root.path, 'usr', 'lib')));
  }),
);

test.run();
