// deadline: 150s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { BUNDLE, deadline, meshseed, run, tempDir, waitFor } from '../helpers';

test(
  'the bundle runs alone in an empty folder (no node_modules)',
  deadline(20000, async () => {
    const dir = tempDir();
    try {
      copyFileSync(BUNDLE, join(dir.path, 'meshseed.js'));
      const r = await run(process.execPath, [join(dir.path, 'meshseed.js'), '--version'], { cwd: dir.path });
      assert.is(r.code, 0, r.stderr);
      assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+$/);
      const help = await run(process.execPath, [join(dir.path, 'meshseed.js'), '--help'], { cwd: dir.path });
      assert.is(help.code, 0);
      assert.match(help.stdout, /check-config/);
    } finally {
      dir.remove();
    }
  }),
);

test(
  'exit codes: 2 for bad usage with a one-line error, no stack',
  deadline(20000, async () => {
    for (const args of [['frobnicate'], ['check-config', '--bogus'], ['check-config', 'extra'], []]) {
      const r = await meshseed(args);
      assert.is(r.code, 2, args.join(' '));
      if (args.length) {
        assert.is(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
        assert.not.match(r.stderr, /\bat .*\.js:\d+/);
      }
    }
  }),
);

test(
  'daemon --config with a file that is not there exits 1 instead of running on defaults',
  deadline(20000, async () => {
    const r = await meshseed(['daemon', '--config', '/nonexistent/meshseed.conf']);
    assert.is(r.code, 1);
    assert.is(r.stderr.trim(), 'meshseed: --config /nonexistent/meshseed.conf: no such file');
  }),
);

test(
  'every command has --help',
  // one node start per command (a dozen; seconds each on a loaded machine), two at a time
  deadline(60000, async () => {
    const main = await meshseed(['--help']);
    const names = [...main.stdout.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]!);
    assert.ok(names.length >= 2, main.stdout);
    const queue = [...names];
    const worker = async () => {
      for (let name = queue.shift(); name; name = queue.shift()) {
        const r = await meshseed([name, '--help']);
        assert.is(r.code, 0, name);
        assert.match(r.stdout, new RegExp(`Usage: meshseed ${name}`));
        assert.match(r.stdout, /Example/);
      }
    };
    await Promise.all([worker(), worker()]);
  }),
);

test(
  'check-config: 0 on the shipped file, 1 with each problem on its own line',
  deadline(20000, async () => {
    const ok = await meshseed(['check-config', '--config', 'files/etc/config/meshseed']);
    assert.is(ok.code, 0, ok.stdout + ok.stderr);
    const dir = tempDir();
    try {
      const f = join(dir.path, 'meshseed');
      writeFileSync(f, "config tracker 'tracker'\n  option port 'x'\n  option interval 5\nconfig seeder 'seeder'\n  option upload_rate 'fast\n");
      const r = await meshseed(['check-config', '--config', f]);
      assert.is(r.code, 1);
      assert.equal(r.stdout.trim().split('\n'), [
        "meshseed.tracker.port: 'x' is not a whole number (line 2)",
        'meshseed.tracker.interval: 5 is out of range 30..86400 s (line 3)',
        `${f}: unterminated single quote (line 5)`,
        // the built-in relative folders: fine for the daemon, refused by the init script
        ...['state_dir', 'torrent_dir', 'data_dir'].map((o) => `warning: meshseed.${o === 'state_dir' ? 'main' : 'seeder'}.${o}: './${o.replace('_dir', '').replace('torrent', 'torrents')}' is not an absolute folder (the built-in default, for a development machine): the init script refuses it; give one such as /mnt/meshseed/${o.replace('_dir', '').replace('torrent', 'torrents')}`),
      ]);
    } finally {
      dir.remove();
    }
  }),
);

test(
  'daemon starts, reloads on SIGHUP, refuses a broken file, stops on SIGTERM',
  deadline(30000, async () => {
    const dir = tempDir();
    const cfg = join(dir.path, 'meshseed');
    writeFileSync(cfg, "config meshseed 'main'\n  option log_level info\nconfig tracker 'tracker'\n  option enabled 0\nconfig seeder 'seeder'\n  option enabled 0\nconfig lpd 'lpd'\n  option enabled 0\nconfig dht 'dht'\n  option enabled 0\n");
    const child = spawn(process.execPath, [BUNDLE, 'daemon', '--config', cfg, '--state-dir', join(dir.path, 'state')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stderr.on('data', (d) => (log += d));
    child.stdout.on('data', (d) => (log += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    try {
      await waitFor('start line', 10000, () => /info: started/.test(log));
      writeFileSync(cfg, "config meshseed 'main'\n  option log_level 'loud'\n");
      child.kill('SIGHUP');
      await waitFor('refused reload', 10000, () => /reload refused/.test(log));
      assert.match(log, /meshseed\.main\.log_level: 'loud' is not one of/);
      writeFileSync(cfg, "config meshseed 'main'\n  option log_level debug\nconfig dht 'dht'\n  option enabled 0\n");
      child.kill('SIGHUP');
      await waitFor('reload', 10000, () => /info: reloaded/.test(log));
      child.kill('SIGTERM');
      assert.is(await exited, 0);
      assert.match(log, /info: stopped/);
    } finally {
      child.kill('SIGKILL');
      dir.remove();
    }
  }),
);

test(
  'daemon given a file with problems exits 1 with the lines check-config prints, instead of running on defaults',
  deadline(20000, async () => {
    const dir = tempDir();
    try {
      const f = join(dir.path, 'meshseed');
      writeFileSync(f, "config meshseed 'main'\n  option state_dir '" + join(dir.path, 'state') + "'\nconfig tracker 'tracker'\n  option port '99999'\n");
      const check = await meshseed(['check-config', '--config', f]);
      assert.is(check.code, 1);
      const r = await meshseed(['daemon', '--config', f]);
      assert.is(r.code, 1, r.stdout + r.stderr);
      const lines = (r.stdout + r.stderr).trim().split('\n');
      const problem = check.stdout.split('\n').find((l) => l !== '' && !l.startsWith('warning: '))!;
      assert.ok(lines.includes(`error: config: ${problem}`), lines.join('\n'));
      assert.is(lines.at(-1), `meshseed: not starting: 1 problem(s) in ${f}; fix them and check with: meshseed check-config --config ${f}`);
      assert.not.match(r.stderr, /started/);
    } finally {
      dir.remove();
    }
  }),
);

test(
  'daemon --help gives each setting its default, bounds and unit',
  deadline(20000, async () => {
    const r = await meshseed(['daemon', '--help']);
    assert.is(r.code, 0);
    assert.match(r.stdout, /--tracker-port +Port for both HTTP \(TCP\) and UDP announces\. \[default 6969, 1\.\.65535\]/);
    assert.match(r.stdout, /--seeder-upload-rate +.*\[default 256 KiB\/s, 0\.\.10000000\]/);
    assert.match(r.stdout, /--log-level +.*\[default info; error, warn, info, debug\]/);
    assert.match(r.stdout, /--seeder-mesh-tracker +.*\[list, default none\]/);
  }),
);

test(
  'meshseed config lists every option with the file\'s values; problems after the list and exit 1',
  deadline(20000, async () => {
    const dir = tempDir();
    try {
      const f = join(dir.path, 'meshseed');
      writeFileSync(f, "config tracker 'tracker'\n  option port '7070'\n");
      const ok = await meshseed(['config', '--config', f]);
      assert.is(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /^meshseed\.tracker\.port +7070 \* +\[default 6969, 1\.\.65535\] Port for both/m);
      assert.match(ok.stdout, /^meshseed\.lpd\.ipv6 +1 +\[default 1; 1 or 0\]/m);
      writeFileSync(f, "config tracker 'tracker'\n  option port '99999'\n");
      const bad = await meshseed(['config', '--config', f]);
      assert.is(bad.code, 1);
      assert.match(bad.stdout, /^meshseed\.tracker\.port +6969 +\[default 6969/m);
      assert.is(bad.stderr.trim(), 'meshseed.tracker.port: 99999 is out of range 1..65535 (line 2) (the default is shown)');
    } finally {
      dir.remove();
    }
  }),
);

test(
  '--debug stack traces name the bundle\'s functions (esbuild keepNames), not minified letters',
  deadline(20000, async () => {
    const r = await meshseed(['show', '/nonexistent/x.torrent', '--debug']);
    assert.is(r.code, 1);
    // stage 2's frames (show's code) are meshseed.js#stage2
    const frames = r.stderr.split('\n').filter((l) => /meshseed\.js(#stage2)?:/.test(l));
    assert.ok(frames.length >= 2, r.stderr);
    assert.match(frames[0]!, /^ +at readTorrentFile \(/, r.stderr);
    assert.ok(frames.some((l) => /^ +at main \(/.test(l)), r.stderr);
  }),
);

test.run();
