// deadline: 420s
/**
 * files/etc/init.d/meshseed, the firewall rules and the removal script, run under busybox
 * ash with OpenWrt's helpers stood in for (fixtures/openwrt-stubs.sh): the procd calls are
 * recorded and checked, with a config written as a router would have it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { BUNDLE, ROOT, deadline, requirePrograms, tempDir, waitFor } from '../helpers';
import { exec } from './tar';

const INIT = join(ROOT, 'files', 'etc', 'init.d', 'meshseed');
const FIREWALL = join(ROOT, 'files', 'usr', 'share', 'meshseed', 'firewall.sh');
const STUBS = join(ROOT, 'test', 'package', 'fixtures', 'openwrt-stubs.sh');
const SHIPPED = readFileSync(join(ROOT, 'files', 'etc', 'config', 'meshseed'), 'utf8');

requirePrograms('busybox');
// Each start or reload runs `meshseed check-config` (a node start of the bundle): seconds each
// on a loaded machine (the firewall test's four calls passed 40 s at load 25), hence a minute
// or a minute and a half per test; they pass in a few seconds on a quiet one.

interface Router {
  dir: string;
  remove(): void;
}
const routers: { remove(): void }[] = [];
test.after(() => routers.forEach((r) => r.remove()));

/** A folder standing for the router: uci/ (config files), storage/ (the disk). */
function router(edits: Record<string, string> = {}, network?: string): Router {
  const t = tempDir('meshseed-init-');
  routers.push(t);
  mkdirSync(join(t.path, 'uci'));
  mkdirSync(join(t.path, 'storage'));
  let conf = SHIPPED.replaceAll('/mnt/meshseed', join(t.path, 'storage'));
  for (const [line, replacement] of Object.entries(edits)) {
    assert.ok(conf.includes(line), `shipped config has '${line}'`);
    conf = conf.replace(line, replacement);
  }
  writeFileSync(join(t.path, 'uci', 'meshseed'), conf);
  if (network) writeFileSync(join(t.path, 'uci', 'network'), network);
  return { dir: t.path, remove: t.remove };
}

/** Sources the stubs and `script`, then calls `fn`; returns the recorded calls. */
async function call(r: Router, script: string, fn: string, env: Record<string, string> = {}) {
  const record = join(r.dir, 'record');
  writeFileSync(record, '');
  const harness = join(r.dir, 'harness.sh');
  // the router's /usr/bin/meshseed and firewall.sh: this machine's node, the bundle, the
  // repository's copy, reading the test's config where the router's would be
  const cli = join(r.dir, 'meshseed-cli');
  writeFileSync(
    cli,
    `#!/bin/sh\n[ "$1" = check-config ] && [ "$4" = /etc/config/meshseed ] && set -- "$1" "$2" "$3" "$UCI_DIR/meshseed"\nexec "${process.execPath}" "${BUNDLE}" "$@"\n`,
    { mode: 0o755 },
  );
  // 'returned' is recorded when the function returns (not when it exits the shell)
  writeFileSync(harness, `. "${STUBS}"\n. "$1"\nshift\nMESHSEED_CLI="$STUB_CLI"\nFIREWALL_SH="$STUB_FIREWALL_SH"\n"$@"\nrc=$?\nrecord returned $rc\nexit $rc\n`);
  const res = await exec('busybox', ['ash', harness, script, fn], {
    env: {
      PATH: process.env.PATH,
      RECORD: record,
      UCI_DIR: join(r.dir, 'uci'),
      UCI_STATE: join(r.dir, 'uci-state'),
      STUB_CLI: cli,
      STUB_FIREWALL_SH: FIREWALL,
      ...env,
    },
  });
  const calls = readFileSync(record, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t'))
    .filter((c) => c[0] !== 'extra_command'); // registered when the script is sourced
  const returned = calls.some((c) => c[0] === 'returned');
  const recorded = calls.filter((c) => c[0] !== 'returned');
  return { ...res, returned, calls: recorded, named: (name: string) => recorded.filter((c) => c[0] === name) };
}

const NETWORK = `
config interface 'loopback'
	option device 'lo'

config interface 'lan'
	option device 'br-lan'
	option proto 'static'

config interface 'mesh'
	option device 'br-mesh'

config interface 'wan'
	option device 'eth1'

config interface 'bat0'
	option ifname 'bat0'
`;

test(
  'start_service: one instance, node with the heap from UCI, respawn, logs to procd, user, file',
  deadline(60_000, async () => {
    const r = router({ "option max_heap_mb '64'": "option max_heap_mb '96'" });
    const { code, calls, stderr } = await call(r, INIT, 'start_service');
    assert.is(code, 0, stderr);
    const procd = calls.filter((c) => c[0]!.startsWith('procd_'));
    assert.equal(procd, [
      ['procd_open_instance'],
      [
        'procd_set_param',
        'command',
        '/usr/bin/node',
        '--max-old-space-size=96',
        // V8's young generation capped (measured by bench/router.mjs)
        '--max-semi-space-size=1',
        // one V8 helper thread (measured by bench/download.mjs)
        '--v8-pool-size=1',
        '--no-concurrent-recompilation',
        '/usr/lib/meshseed/meshseed.js',
        'daemon',
        '--config',
        '/etc/config/meshseed',
      ],
      ['procd_set_param', 'user', 'meshseed'],
      // the bundle's V8 code cache is kept in the state folder
      ['procd_set_param', 'env', `MESHSEED_CODE_CACHE=${join(r.dir, 'storage', 'state')}`],
      ['procd_set_param', 'file', '/etc/config/meshseed'],
      ['procd_set_param', 'respawn'],
      ['procd_set_param', 'stdout', '1'],
      ['procd_set_param', 'stderr', '1'],
      ['procd_close_instance'],
    ]);
    // never an address-space limit: V8 aborts under one
    assert.not.ok(calls.some((c) => c[1] === 'limits'));
    // the missing folders on the (present) disk were made for the meshseed user
    for (const d of ['state', 'torrents', 'data']) {
      assert.ok(existsSync(join(r.dir, 'storage', d)), d);
      assert.ok(calls.some((c) => c[0] === 'chown' && c[1] === 'meshseed:meshseed' && c[2] === join(r.dir, 'storage', d)));
    }
  }),
);

test(
  'start_service: the shipped heap (64 MiB); a bad value is refused by check-config',
  deadline(60_000, async () => {
    let res = await call(router(), INIT, 'start_service');
    assert.ok(res.named('procd_set_param').some((c) => c[3] === '--max-old-space-size=64'));
    res = await call(router({ "option max_heap_mb '64'": "option max_heap_mb 'lots'" }), INIT, 'start_service');
    assert.is.not(res.code, 0);
    assert.is(res.named('procd_open_instance').length, 0);
    assert.ok(res.named('logger').some((c) => c.includes('daemon.err') && /meshseed\.main\.max_heap_mb: 'lots' is not a whole number/.test(c.at(-1)!)));
  }),
);

test(
  'start_service and reload_service refuse a config with problems: the check-config lines on the terminal and in the log, nothing (re)started',
  deadline(90_000, async () => {
    const r = router({ "option port '6969'": "option port '99999'" });
    const check = await exec(process.execPath, [BUNDLE, 'check-config', '--config', join(r.dir, 'uci', 'meshseed')]);
    assert.is(check.code, 1);
    const problem = check.stdout.trim();
    assert.match(problem, /^meshseed\.tracker\.port: 99999 is out of range 1\.\.65535 \(line \d+\)$/);
    const logged = (res: Awaited<ReturnType<typeof call>>) => res.named('logger').map((c) => [c[1], c[2], c[3], c[4], c[5], c.at(-1)]);
    const started = await call(r, INIT, 'start_service');
    assert.is.not(started.code, 0);
    assert.equal(started.calls.filter((c) => c[0]!.startsWith('procd_')), []);
    assert.equal(logged(started), [
      ['-s', '-t', 'meshseed', '-p', 'daemon.err', problem],
      ['-s', '-t', 'meshseed', '-p', 'daemon.err', '/etc/config/meshseed has problems; not (re)starting (check with: meshseed check-config)'],
    ]);
    // 'start' on a running daemon: procd is not called at all (an empty instance list would stop it)
    const again = await call(r, INIT, 'start_service', { STUB_RUNNING: '1' });
    assert.is(again.code, 1);
    assert.equal(again.calls.filter((c) => c[0]!.startsWith('procd_')), []);
    assert.not.ok(again.returned, 'start_service exits: rc.common never reaches procd_close_service');
    assert.ok(started.returned, 'not running: it returns, so procd still registers the triggers (a fixed file and reload_config start it)');
    for (const running of ['1', '0']) {
      const reloaded = await call(r, INIT, 'reload_service', { STUB_RUNNING: running });
      assert.is.not(reloaded.code, 0);
      assert.equal(reloaded.calls.filter((c) => c[0]!.startsWith('procd_')), [], `running ${running}`);
      assert.equal(logged(reloaded).map((l) => l.at(-1)), [problem, '/etc/config/meshseed has problems; not (re)starting (check with: meshseed check-config)']);
    }
  }),
);

test(
  'restart checks the file first: with problems the running daemon is not stopped (the lines printed and logged); a good file is stopped then started',
  deadline(90_000, async () => {
    const bad = router({ "option port '6969'": "option port '99999'" });
    const refused = await call(bad, INIT, 'restart', { STUB_RUNNING: '1' });
    assert.is.not(refused.code, 0);
    assert.equal(refused.named('stop'), [], 'the running daemon is left alone');
    assert.equal(refused.calls.filter((c) => c[0]!.startsWith('procd_')), []);
    assert.equal(
      refused.named('logger').map((c) => c.at(-1)),
      [
        (await exec(process.execPath, [BUNDLE, 'check-config', '--config', join(bad.dir, 'uci', 'meshseed')])).stdout.trim(),
        '/etc/config/meshseed has problems; not (re)starting (check with: meshseed check-config)',
      ],
    );
    assert.ok(refused.named('logger').every((c) => c[1] === '-s'), 'printed on the terminal too (logger -s)');
    const good = await call(router(), INIT, 'restart', { STUB_RUNNING: '1' });
    assert.is(good.code, 0, good.stderr);
    const order = good.calls.map((c) => c[0]).filter((n) => n === 'stop' || n === 'start' || n === 'procd_open_instance');
    assert.equal(order, ['stop', 'start', 'procd_open_instance']);
    // disabled: no check needed, stop then start (which says it is disabled)
    const off = await call(router({ "option enabled '1'": "option enabled '0'", "option port '6969'": "option port '99999'" }), INIT, 'restart', { STUB_RUNNING: '1' });
    assert.equal(off.calls.map((c) => c[0]).filter((n) => n === 'stop' || n === 'start'), ['stop', 'start']);
  }),
);

test(
  'start_service gives folders that exist (made by root) to the meshseed user, the folder only',
  deadline(60_000, async () => {
    const r = router();
    for (const d of ['state', 'torrents', 'data']) mkdirSync(join(r.dir, 'storage', d));
    const res = await call(r, INIT, 'start_service');
    assert.is(res.code, 0, res.stderr);
    assert.equal(
      res.named('chown'),
      ['state', 'torrents', 'data'].map((d) => ['chown', 'meshseed:meshseed', join(r.dir, 'storage', d)]),
    );
  }),
);

test(
  'start_service: enabled 0 starts nothing and says why',
  deadline(60_000, async () => {
    const { code, calls, named } = await call(router({ "option enabled '1'": "option enabled '0'" }), INIT, 'start_service');
    assert.is(code, 0);
    assert.is(calls.filter((c) => c[0]!.startsWith('procd_')).length, 0);
    assert.match(named('logger')[0]!.at(-1)!, /disabled \(meshseed\.main\.enabled is 0\)/);
  }),
);

test(
  'start_service: folders on a disk under /mnt that is not mounted: no instance, a clear message',
  deadline(60_000, async () => {
    const mnt = `/mnt/meshseed-test-${process.pid}-absent`;
    const r = router({ [`option data_dir '`]: `option data_dir '${mnt}/data' #` });
    const { code, calls, named } = await call(r, INIT, 'start_service');
    assert.is.not(code, 0);
    assert.is(calls.filter((c) => c[0]!.startsWith('procd_')).length, 0);
    const log = named('logger')[0]!;
    assert.ok(log.includes('daemon.err'));
    assert.match(log.at(-1)!, new RegExp(`${mnt} is not mounted \\(meshseed\\.seeder\\.data_dir is ${mnt}/data\\)`));
    // the mount trigger works only for a disk with a mount section in fstab: the message says how
    assert.match(log.at(-1)!, new RegExp(`give the disk a mount section with target ${mnt} in /etc/config/fstab`));
    assert.not.ok(existsSync(mnt));
    // with the seeder off, its folders do not matter
    const off = router({
      [`option data_dir '`]: `option data_dir '${mnt}/data' #`,
      "config seeder 'seeder'\n\toption enabled '1'": "config seeder 'seeder'\n\toption enabled '0'",
    });
    const res = await call(off, INIT, 'start_service');
    assert.is(res.code, 0, res.stderr);
    assert.is(res.named('procd_open_instance').length, 1);
  }),
);

test(
  'start_service: an unset or relative folder is refused by check-config --init (the built-in defaults are for development); plain check-config warns',
  deadline(90_000, async () => {
    for (const [value, shown] of [["''", "'./state' is not an absolute folder (the built-in default, for a development machine)"], ["'state'", "'state' is not an absolute folder"]] as const) {
      const r = router({ "option state_dir '": `option state_dir ${value} #` });
      const { code, calls, named } = await call(r, INIT, 'start_service');
      assert.is.not(code, 0);
      assert.is(calls.filter((c) => c[0]!.startsWith('procd_')).length, 0);
      assert.ok(named('logger')[0]!.at(-1)!.startsWith(`meshseed.main.state_dir: ${shown}: the init script refuses it`), named('logger')[0]!.at(-1)!);
      const plain = await exec(process.execPath, [BUNDLE, 'check-config', '--config', join(r.dir, 'uci', 'meshseed')]);
      assert.is(plain.code, 0, 'the daemon itself takes relative folders');
      assert.match(plain.stdout, new RegExp(`^warning: meshseed\\.main\\.state_dir: ${shown.replace(/[()]/g, '\\$&')}: the init script refuses it`, 'm'));
    }
  }),
);

test(
  'service_triggers: config reload, the disk mount, and the netifd interfaces of the LPD devices',
  deadline(60_000, async () => {
    const r = router({ "#list interface 'br-mesh'": "list interface 'br-mesh'\n\tlist interface 'bat0'" }, NETWORK);
    const { code, calls, stderr } = await call(r, INIT, 'service_triggers');
    assert.is(code, 0, stderr);
    const s = join(r.dir, 'storage');
    assert.equal(calls, [
      ['procd_add_reload_trigger', 'meshseed'],
      ['procd_add_reload_mount_trigger', `${s}/state`, `${s}/torrents`, `${s}/data`],
      ['procd_add_reload_interface_trigger', 'mesh'],
      ['procd_add_reload_interface_trigger', 'bat0'],
    ]);
  }),
);

test(
  'service_triggers: no LPD interface listed means the LAN bridges; a netifd name works too; LPD off adds none',
  deadline(60_000, async () => {
    let res = await call(router({}, NETWORK), INIT, 'service_triggers');
    assert.equal(res.named('procd_add_reload_interface_trigger'), [
      ['procd_add_reload_interface_trigger', 'lan'],
      ['procd_add_reload_interface_trigger', 'mesh'],
    ]);
    res = await call(router({ "#list interface 'br-mesh'": "list interface 'wan'" }, NETWORK), INIT, 'service_triggers');
    assert.equal(res.named('procd_add_reload_interface_trigger'), [['procd_add_reload_interface_trigger', 'wan']]);
    res = await call(
      router({ "config lpd 'lpd'\n\toption enabled '1'": "config lpd 'lpd'\n\toption enabled '0'" }, NETWORK),
      INIT,
      'service_triggers',
    );
    assert.equal(res.named('procd_add_reload_interface_trigger'), []);
    assert.is(res.named('procd_add_reload_trigger').length, 1);
  }),
);

test(
  'reload_service: SIGHUP to a running daemon; a start when it is not running or was disabled',
  deadline(60_000, async () => {
    let res = await call(router(), INIT, 'reload_service', { STUB_RUNNING: '1' });
    assert.equal(res.calls.filter((c) => c[0] !== 'chown' && c[0] !== 'uci'), [['procd_send_signal', 'meshseed', '*', 'HUP']]);
    res = await call(router(), INIT, 'reload_service', { STUB_RUNNING: '0' });
    assert.equal(res.named('start'), [['start']]);
    assert.is(res.named('procd_open_instance').length, 1);
    assert.is(res.named('procd_send_signal').length, 0);
    res = await call(router({ "option enabled '1'": "option enabled '0'" }), INIT, 'reload_service', { STUB_RUNNING: '1' });
    assert.equal(res.named('start'), [['start']], 'a start with no instance makes procd stop it');
    assert.is(res.named('procd_open_instance').length, 0);
    assert.is(res.named('procd_send_signal').length, 0);
  }),
);

test(
  'the command procd is given runs the daemon: started, reloaded by the HUP of reload_service, stopped by TERM',
  deadline(60_000, async () => {
    const off = (part: string) => [`config ${part} '${part}'\n\toption enabled '1'`, `config ${part} '${part}'\n\toption enabled '0'`];
    // every part off: no ports, so nothing here can collide with other tests
    const r = router(
      Object.fromEntries([
        off('tracker'),
        off('seeder'),
        off('lpd'),
      ]),
    );
    const { named } = await call(r, INIT, 'start_service');
    const command = named('procd_set_param').find((c) => c[1] === 'command')!.slice(2);
    // the router's paths, pointed at this machine's node, the bundle and the test's config
    const local: Record<string, string> = {
      '/usr/bin/node': process.execPath,
      '/usr/lib/meshseed/meshseed.js': BUNDLE,
      '/etc/config/meshseed': join(r.dir, 'uci', 'meshseed'),
    };
    const argv = command.map((a) => local[a] ?? a);
    assert.is(argv.filter((a) => Object.values(local).includes(a)).length, 3, argv.join(' '));
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    try {
      await waitFor('the start line', 15000, () => /started/.test(log));
      assert.not.match(log, /error/i);
      child.kill('SIGHUP');
      await waitFor('the reload line', 15000, () => /reloaded/.test(log));
      child.kill('SIGTERM');
      assert.is(await exited, 0, log);
    } finally {
      child.kill('SIGKILL');
    }
  }),
);

async function firewall(r: Router, fn: string, env: Record<string, string> = {}) {
  const res = await call(r, FIREWALL, fn, { STUB_FIREWALL: '1', ...env });
  assert.is(res.code, 0, res.stderr);
  const state = existsSync(join(r.dir, 'uci-state')) ? readFileSync(join(r.dir, 'uci-state'), 'utf8') : '';
  return { ...res, state: state.split('\n').filter(Boolean) };
}

test(
  'firewall: named rules for the tracker, peer and LPD ports on the configured zone; a rerun changes nothing',
  deadline(60_000, async () => {
    const r = router({
      "option firewall_zone 'lan'": "option firewall_zone 'mesh'",
      "option port '6969'": "option port '7000'",
      "option listen_port '6881'": "option listen_port '6990'",
      "config lpd 'lpd'\n\toption enabled '1'": "config lpd 'lpd'\n\toption enabled '0'",
    });
    const once = await firewall(r, 'meshseed_firewall_add');
    assert.equal(once.state, [
      // the DHT (on by default) listens on the seeder's port: UDP on the same range
      'firewall.meshseed_dht.dest_port=6990-6998',
      'firewall.meshseed_dht.enabled=1',
      'firewall.meshseed_dht.name=Allow-meshseed-DHT',
      'firewall.meshseed_dht.proto=udp',
      'firewall.meshseed_dht.src=mesh',
      'firewall.meshseed_dht.target=ACCEPT',
      'firewall.meshseed_dht=rule',
      'firewall.meshseed_lpd.dest_port=6771',
      'firewall.meshseed_lpd.enabled=0',
      'firewall.meshseed_lpd.name=Allow-meshseed-LPD',
      'firewall.meshseed_lpd.proto=udp',
      'firewall.meshseed_lpd.src=mesh',
      'firewall.meshseed_lpd.target=ACCEPT',
      'firewall.meshseed_lpd=rule',
      'firewall.meshseed_peer.dest_port=6990-6998',
      'firewall.meshseed_peer.enabled=1',
      'firewall.meshseed_peer.name=Allow-meshseed-peer',
      'firewall.meshseed_peer.proto=tcp',
      'firewall.meshseed_peer.src=mesh',
      'firewall.meshseed_peer.target=ACCEPT',
      'firewall.meshseed_peer=rule',
      'firewall.meshseed_tracker.dest_port=7000',
      'firewall.meshseed_tracker.enabled=1',
      'firewall.meshseed_tracker.name=Allow-meshseed-tracker',
      'firewall.meshseed_tracker.proto=tcp udp',
      'firewall.meshseed_tracker.src=mesh',
      'firewall.meshseed_tracker.target=ACCEPT',
      'firewall.meshseed_tracker=rule',
    ]);
    assert.equal(once.named('uci').at(-1), ['uci', 'commit', 'firewall']);
    const twice = await firewall(r, 'meshseed_firewall_add');
    assert.equal(twice.state, once.state);
    const removed = await firewall(r, 'meshseed_firewall_remove');
    assert.equal(removed.state, []);
    assert.equal(removed.named('uci').at(-1), ['uci', 'commit', 'firewall']);
  }),
);

test(
  'firewall: the shipped config opens 6969, 6881-6889 (TCP, and UDP for the DHT) and 6771 on lan; a DHT port of its own; no firewall package, no rules',
  deadline(60_000, async () => {
    const r = router();
    const res = await firewall(r, 'meshseed_firewall_add');
    for (const l of [
      'firewall.meshseed_tracker.dest_port=6969',
      'firewall.meshseed_peer.dest_port=6881-6889',
      'firewall.meshseed_dht.dest_port=6881-6889',
      'firewall.meshseed_dht.proto=udp',
      'firewall.meshseed_dht.enabled=1',
      'firewall.meshseed_lpd.dest_port=6771',
      'firewall.meshseed_lpd.enabled=1',
      'firewall.meshseed_tracker.src=lan',
    ]) {
      assert.ok(res.state.includes(l), l);
    }
    const own = await firewall(router({ "config dht 'dht'\n\toption enabled '1'": "config dht 'dht'\n\toption enabled '1'\n\toption port '7881'" }), 'meshseed_firewall_add');
    assert.ok(own.state.includes('firewall.meshseed_dht.dest_port=7881'));
    const off = await firewall(router({ "config dht 'dht'\n\toption enabled '1'": "config dht 'dht'\n\toption enabled '0'" }), 'meshseed_firewall_add');
    assert.ok(off.state.includes('firewall.meshseed_dht.enabled=0'));
    const none = router();
    const res2 = await firewall(none, 'meshseed_firewall_add', { STUB_FIREWALL: '0' });
    assert.equal(res2.state, []);
    assert.match(res2.named('logger')[0]!.at(-1)!, /no \/etc\/config\/firewall/);
  }),
);

test(
  'uci-defaults opens the ports and succeeds (so it is deleted); prerm-pkg closes them on removal only',
  deadline(60_000, async () => {
    const r = router();
    // the scripts source /usr/share/meshseed/firewall.sh: point them at the repository's copy
    const local = (p: string) => {
      const out = join(r.dir, p.replaceAll('/', '_'));
      writeFileSync(out, readFileSync(join(ROOT, p), 'utf8').replaceAll('/usr/share/meshseed/firewall.sh', FIREWALL));
      return out;
    };
    const defaults = local('files/etc/uci-defaults/90-meshseed-firewall');
    const prerm = local('scripts/ipk/prerm-pkg');
    const runScript = (script: string, env: Record<string, string> = {}) => call(r, script, 'true', { STUB_FIREWALL: '1', ...env });
    const state = () => readFileSync(join(r.dir, 'uci-state'), 'utf8').split('\n').filter(Boolean);

    const added = await runScript(defaults);
    assert.is(added.code, 0, added.stderr);
    assert.is(state().filter((l) => l.endsWith('=rule')).length, 4);
    const skips: Record<string, string>[] = [{ PKG_UPGRADE: '1' }, { IPKG_INSTROOT: join(r.dir, 'image') }];
    for (const env of skips) {
      const kept = await runScript(prerm, env);
      assert.is(kept.named('uci').length, 0, JSON.stringify(env));
      assert.is(state().filter((l) => l.endsWith('=rule')).length, 4);
    }
    const removed = await runScript(prerm);
    assert.is(removed.code, 0);
    assert.equal(state(), []);
  }),
);

test(
  'the firewall follows the ports at start and reload: rewritten when they change, untouched (no commit) when not, no duplicates',
  deadline(90_000, async () => {
    const r = router();
    const conf = join(r.dir, 'uci', 'meshseed');
    const fw = { STUB_FIREWALL: '1' };
    const state = () => readFileSync(join(r.dir, 'uci-state'), 'utf8').split('\n').filter(Boolean);
    const started = await call(r, INIT, 'start_service', fw);
    assert.is(started.code, 0, started.stderr);
    assert.ok(state().includes('firewall.meshseed_tracker.dest_port=6969'));
    assert.equal(started.named('uci').at(-1), ['uci', 'commit', 'firewall']);
    writeFileSync(conf, readFileSync(conf, 'utf8').replace("option port '6969'", "option port '7070'").replace("option firewall_zone 'lan'", "option firewall_zone 'mesh'"));
    const reloaded = await call(r, INIT, 'reload_service', { ...fw, STUB_RUNNING: '1' });
    assert.is(reloaded.code, 0, reloaded.stderr);
    assert.equal(reloaded.named('procd_send_signal'), [['procd_send_signal', 'meshseed', '*', 'HUP']]);
    assert.ok(state().includes('firewall.meshseed_tracker.dest_port=7070'));
    assert.not.ok(state().some((l) => l.includes('6969')));
    assert.is(state().filter((l) => l.endsWith('=rule')).length, 4);
    assert.is(state().filter((l) => l.endsWith('.src=mesh')).length, 4);
    // nothing changed: no rule rewritten, no commit, so no firewall reload either
    for (const fn of ['reload_service', 'start_service']) {
      const again = await call(r, INIT, fn, { ...fw, STUB_RUNNING: '1' });
      assert.is(again.code, 0, again.stderr);
      assert.equal(again.named('uci').filter((c) => c[1] !== 'get' && c[1] !== 'show'), [], fn);
    }
  }),
);

test(
  'firewall removal with no firewall config does nothing and says nothing; with one, only its rules go',
  deadline(60_000, async () => {
    const r = router();
    const none = await firewall(r, 'meshseed_firewall_remove', { STUB_FIREWALL: '0' });
    assert.equal(none.named('uci').filter((c) => c[1] !== 'show'), []);
    assert.is(none.stdout + none.stderr, '');
    // no rules of ours in an existing firewall config: nothing deleted, nothing committed
    const empty = await firewall(r, 'meshseed_firewall_remove');
    assert.equal(empty.named('uci').filter((c) => c[1] === 'delete' || c[1] === 'commit'), []);
  }),
);

test.run();
