// deadline: 90s
// `meshseed status` end to end against a running `meshseed daemon`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { get } from 'node:http';
import { BUNDLE, deadline, meshseed, run, tempDir, waitFor } from '../helpers';

const CONFIG = "config tracker 'tracker'\n  option enabled 0\nconfig seeder 'seeder'\n  option enabled 0\nconfig lpd 'lpd'\n  option enabled 0\nconfig dht 'dht'\n  option enabled 0\n";

/** `meshseed daemon ARGS`, its output kept; stop() ends it (SIGTERM) unless it has exited. */
function spawnDaemon(args: string[]): { child: ChildProcess; log: () => string; exited: Promise<number | null>; stop(): Promise<unknown> } {
  const child = spawn(process.execPath, [BUNDLE, 'daemon', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  child.stdout!.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const stop = () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    return exited;
  };
  return { child, log: () => log, exited, stop };
}

function startDaemon(dir: string) {
  const cfg = join(dir, 'meshseed');
  writeFileSync(cfg, CONFIG);
  return spawnDaemon(['--config', cfg, '--state-dir', join(dir, 'state')]);
}

test(
  'status asks the running daemon; --json is stable; no daemon gives a clear error and exit 1',
  deadline(45000, async () => {
    const dir = tempDir();
    const state = join(dir.path, 'state');
    const sock = join(state, 'meshseed.sock');
    const d = startDaemon(dir.path);
    try {
      await waitFor('daemon start', 10000, () => /info: started/.test(d.log()));
      await waitFor('control socket', 10000, () => existsSync(sock));
      const table = await meshseed(['status', '--state-dir', state]);
      assert.is(table.code, 0, table.stderr);
      assert.match(table.stdout, new RegExp(`^meshseed \\d+\\.\\d+\\.\\d+, pid ${d.child.pid}, up \\d+s\\n`));
      assert.match(table.stdout, /no torrents \(the seeder is not running\)/);
      // the state dir from the config file works as well as the flag
      const cfg2 = join(dir.path, 'other');
      writeFileSync(cfg2, `config meshseed 'main'\n  option state_dir '${state}'\n`);
      const json = await meshseed(['status', '--config', cfg2, '--json']);
      assert.is(json.code, 0, json.stderr);
      const v = JSON.parse(json.stdout);
      assert.equal(Object.keys(v), ['version', 'pid', 'uptimeS', 'torrents', 'totals', 'parts', 'config', 'memory', 'services']);
      assert.equal(v.config, { reloadRefused: null, restartNeeded: [] });
      // the daemon's memory, Linux's split of its resident set included
      assert.equal(Object.keys(v.memory), ['rss', 'rssAnon', 'rssFile', 'rssPeak', 'heapTotal', 'heapUsed', 'codeSpace', 'external', 'arrayBuffers']);
      assert.ok(v.memory.rssAnon > 0 && v.memory.rssFile > 0 && v.memory.heapUsed > 0 && v.memory.heapUsed <= v.memory.heapTotal, JSON.stringify(v.memory));
      // LPD, the DHT and the introductions idle while off, so a reload can switch them on; they
      // are shown off (with the setting that says so), not running, and not logged as started
      assert.equal(v.parts, {
        dht: { state: 'off', reason: 'dht.enabled is 0' },
        introductions: { state: 'off', reason: 'lpd.enabled is 0: introductions need LPD' },
        lpd: { state: 'off', reason: 'lpd.enabled is 0' },
      });
      assert.match(d.log(), /info: started with nothing to do: every part is disabled; not working: dht \(off: dht\.enabled is 0\), introductions \(off: [^)]*\), lpd \(off: lpd\.enabled is 0\)/);
      assert.is(v.pid, d.child.pid);
      assert.equal(v.totals, { torrents: 0, peers: 0, uploadRate: 0, uploaded: 0 });
      // a reload refused (a bad file) and a setting that waits for a restart are shown
      const cfg = join(dir.path, 'meshseed');
      writeFileSync(cfg, CONFIG + "config seeder 'seeder'\n  option upload_rate 'fast'\n");
      d.child.kill('SIGHUP');
      await waitFor('the reload refused', 10000, () => /reload refused/.test(d.log()));
      const refused = await meshseed(['status', '--state-dir', state]);
      assert.match(refused.stdout, new RegExp(`^reload refused \\d+ s ago: 1 problem\\(s\\) in ${cfg}; running on the settings before \\(check with: meshseed check-config\\)\n  meshseed\\.seeder\\.upload_rate: 'fast' is not a whole number \\(line \\d+\\)$`, 'm'));
      writeFileSync(cfg, CONFIG + "config seeder 'seeder'\n  option listen_port '7001'\n");
      d.child.kill('SIGHUP');
      await waitFor('the reload', 10000, () => /info: reloaded/.test(d.log()));
      const waiting = JSON.parse((await meshseed(['status', '--state-dir', state, '--json'])).stdout);
      assert.equal(waiting.config, { reloadRefused: null, restartNeeded: [{ setting: 'seeder.listen_port', running: 6881, file: 7001 }] });
      assert.match((await meshseed(['status', '--state-dir', state])).stdout, /^restart needed for: seeder\.listen_port \(running 6881, file 7001\)$/m);
      d.child.kill('SIGTERM');
      assert.is(await d.exited, 0);
      assert.not.ok(existsSync(sock), 'socket removed at stop');
      const none = await meshseed(['status', '--state-dir', state]);
      assert.is(none.code, 1);
      // run from this clone (dist/meshseed.js beside package.json): the hint is npm start
      assert.is(none.stderr.trim(), `meshseed: no daemon listening on ${sock}: is it running? start it with: npm start (in ${dirname(dirname(BUNDLE))})`);
      const noneJson = await meshseed(['status', '--state-dir', state, '--json']);
      assert.is(noneJson.code, 1);
      assert.equal(JSON.parse(noneJson.stdout), { error: `no daemon listening on ${sock}: is it running? start it with: npm start (in ${dirname(dirname(BUNDLE))})`, code: 'EDAEMON' });
      const bad = await meshseed(['status', '--state-dir', state, '--watch', 'soon']);
      assert.is(bad.code, 2);
      const missing = await meshseed(['status', '--config', join(dir.path, 'nope')]);
      assert.is(missing.code, 1);
      assert.match(missing.stderr, /nope: cannot read: no such file: give the right --config or --state-dir/);
    } finally {
      d.child.kill('SIGKILL');
      dir.remove();
    }
  }),
);

test(
  'after a SIGKILL the next daemon takes the stale socket over; --watch refreshes until SIGINT',
  deadline(30000, async () => {
    const dir = tempDir();
    const state = join(dir.path, 'state');
    const sock = join(state, 'meshseed.sock');
    const first = startDaemon(dir.path);
    const second = { d: undefined as ReturnType<typeof startDaemon> | undefined };
    let watch: ChildProcess | undefined;
    try {
      await waitFor('control socket', 10000, () => existsSync(sock));
      first.child.kill('SIGKILL');
      await first.exited;
      assert.ok(existsSync(sock), 'a SIGKILLed daemon leaves its socket behind');
      second.d = startDaemon(dir.path);
      await waitFor('second daemon start', 10000, () => /info: started/.test(second.d!.log()));
      assert.not.match(second.d.log(), /control: cannot start/);
      watch = spawn(process.execPath, [BUNDLE, 'status', '--state-dir', state, '--json', '--watch', '0.5'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      watch.stdout!.on('data', (c) => (out += c));
      const watchExit = new Promise<number | null>((r) => watch!.on('exit', (c) => r(c)));
      const frames = await waitFor('three refreshes', 15000, () => {
        const lines = out.split('\n').filter((l) => l.startsWith('{'));
        return lines.length >= 3 ? lines : undefined;
      });
      for (const f of frames!) assert.is(JSON.parse(f).pid, second.d.child.pid);
      watch.kill('SIGINT');
      assert.is(await watchExit, 0);
    } finally {
      watch?.kill('SIGKILL');
      first.child.kill('SIGKILL');
      second.d?.child.kill('SIGKILL');
      dir.remove();
    }
  }),
);

test(
  'a second daemon on the same state folder refuses to start; status --watch into a closed pipe ends quietly',
  deadline(30000, async () => {
    const dir = tempDir();
    const state = join(dir.path, 'state');
    const d = startDaemon(dir.path);
    try {
      await waitFor('daemon start', 10000, () => /info: started/.test(d.log()));
      await waitFor('control socket', 10000, () => existsSync(join(state, 'meshseed.sock')));
      const second = await run(process.execPath, [BUNDLE, 'daemon', '--config', join(dir.path, 'meshseed'), '--state-dir', state], { timeoutMs: 15000 });
      assert.is(second.code, 1, second.stderr);
      assert.match(second.stderr, /another meshseed daemon is listening on .*: not starting a second daemon/);
      assert.not.match(second.stderr, /\n\s+at /, 'no stack trace');
      // `status --watch | head -n 1`: the reader goes away after one line
      const piped = await run('sh', ['-c', `${process.execPath} ${BUNDLE} status --watch 1 --state-dir ${state} | head -n 1; echo "rc=\${PIPESTATUS:-done}"`], { timeoutMs: 15000 });
      assert.match(piped.stdout, /^meshseed \d/);
      assert.not.match(piped.stderr, /EPIPE|at .*meshseed\.js/, piped.stderr);
      d.child.kill('SIGTERM');
      assert.is(await d.exited, 0, 'the first daemon is unharmed and stops cleanly');
    } finally {
      d.child.kill('SIGKILL');
      dir.remove();
    }
  }),
);

/** The body of a GET. */
const getText = (url: string) =>
  new Promise<string>((resolve, reject) =>
    get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject),
  );

test(
  'a tracker whose port is taken: the daemon runs, status says "tracker: not running (port N in use), retrying", and the tracker starts once the port is free',
  deadline(40000, async () => {
    const dir = tempDir();
    const state = join(dir.path, 'state');
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '0.0.0.0', r));
    const port = (blocker.address() as AddressInfo).port;
    const d = spawnDaemon(['--state-dir', state, '--tracker-port', String(port), '--seeder-enabled', '0', '--lpd-enabled', '0', '--dht-enabled', '0']);
    const log = d.log;
    try {
      await waitFor('the failed start', 10000, () => /tracker: cannot start: .*; retrying in 5 s/.test(log()));
      await waitFor('the daemon up', 10000, () => /info: started/.test(log()));
      await waitFor('control socket', 10000, () => existsSync(join(state, 'meshseed.sock')));
      const table = await meshseed(['status', '--state-dir', state]);
      assert.is(table.code, 0, table.stderr);
      assert.is(table.stdout.split('\n')[1], `tracker: not running (port ${port} in use), retrying`);
      const json = JSON.parse((await meshseed(['status', '--state-dir', state, '--json'])).stdout);
      assert.equal(json.parts.tracker, { state: 'retrying', reason: `port ${port} in use`, attempts: 1, retryInS: 5 });
      await new Promise((r) => blocker.close(r));
      const t0 = Date.now();
      await waitFor('the tracker started on retry', 20000, () => /tracker: started after \d+ failed attempt/.test(log()));
      console.log(`  tracker started ${Date.now() - t0} ms after its port was freed`);
      const after = await meshseed(['status', '--state-dir', state, '--json']);
      assert.equal(JSON.parse(after.stdout).parts.tracker, { state: 'running' });
      const stats = await getText(`http://127.0.0.1:${port}/stats.json`);
      assert.equal(JSON.parse(stats).parts.tracker, { state: 'running' });
    } finally {
      blocker.close();
      await d.stop();
      dir.remove();
    }
  }),
);

test(
  'the operator moves a tracker off a taken port: after the reload it runs on the new port at once',
  deadline(30000, async () => {
    const dir = tempDir();
    const state = join(dir.path, 'state');
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '0.0.0.0', r));
    const taken = (blocker.address() as AddressInfo).port;
    const cfg = join(dir.path, 'meshseed');
    const config = (port: number) =>
      `config meshseed 'main'\n  option state_dir '${state}'\nconfig tracker 'tracker'\n  option port '${port}'\nconfig seeder 'seeder'\n  option enabled 0\nconfig lpd 'lpd'\n  option enabled 0\n`;
    writeFileSync(cfg, config(taken));
    const d = spawnDaemon(['--config', cfg]);
    const log = d.log;
    try {
      await waitFor('the failed start', 10000, () => /tracker: cannot start: .*; retrying in 5 s/.test(log()) && /info: started/.test(log()));
      // a free port: one the kernel gives, released again
      const probe = createServer();
      await new Promise<void>((r) => probe.listen(0, '0.0.0.0', r));
      const free = (probe.address() as AddressInfo).port;
      await new Promise((r) => probe.close(r));
      writeFileSync(cfg, config(free));
      d.child.kill('SIGHUP');
      // by the reload itself, not by a later retry: its line comes before `reloaded`. (How many
      // attempts failed before depends on the machine: the 5 s retry may come before the
      // signal on a loaded one.)
      await waitFor('the reload', 20000, () => /info: reloaded/.test(log()));
      const started = /tracker: started after \d+ failed attempt/.exec(log());
      assert.ok(started && started.index < log().indexOf('info: reloaded'), `the tracker started by the reload:\n${log()}`);
      const stats = await getText(`http://127.0.0.1:${free}/stats.json`);
      assert.equal(JSON.parse(stats).parts.tracker, { state: 'running' });
    } finally {
      blocker.close();
      await d.stop();
      dir.remove();
    }
  }),
);

test.run();
