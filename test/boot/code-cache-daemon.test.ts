// deadline: 90s
// The built bundle with MESHSEED_CODE_CACHE (what the init script sets): the first start
// writes V8's code cache once every part started, the next start compiles from it, and a
// damaged, stale or foreign file is ignored (the daemon starts from source) and replaced.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { BUNDLE, deadline, randomPort, tempDir, waitFor } from '../helpers';
import { frameCodeCache, nativeCrc32, unframeCodeCache } from '../../src/boot/code-cache';
import { joinStageCaches, splitStageCaches } from '../../src/boot/stages';

const dir = tempDir('meshseed-code-cache-');
const state = join(dir.path, 'state');

/** Runs the daemon until its log matches `until`, stops it (SIGTERM), returns the log. */
async function daemonUntil(until: RegExp, env: NodeJS.ProcessEnv = { MESHSEED_CODE_CACHE: state }): Promise<string> {
  const child = spawn(
    process.execPath,
    [BUNDLE, 'daemon', '--state-dir', state, '--log-level', 'debug', '--tracker-port', String(randomPort()), '--tracker-address', '127.0.0.1', '--seeder-enabled', '0', '--lpd-enabled', '0', '--dht-enabled', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  let log = '';
  let gone = false;
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  void exited.then(() => (gone = true));
  try {
    await waitFor(`${until} in the log`, 20000, () => until.test(log) || gone);
  } finally {
    child.kill('SIGTERM');
  }
  assert.is(await exited, 0, log);
  assert.match(log, until);
  return log;
}

const caches = () => readdirSync(state).filter((n) => n.endsWith('.v8cache'));

test(
  'first start writes the cache once started; the next compiles from it and writes nothing',
  deadline(30000, async () => {
    let log = await daemonUntil(/code cache: \S+ written \(/);
    assert.match(log, /code cache: none yet/);
    // written after every part started
    assert.ok(log.indexOf('started (') < log.search(/code cache: \S+ written/), log);
    const [file] = caches();
    assert.match(file!, new RegExp(`^meshseed-[0-9a-f]{16}-${process.version.replace(/\./g, '\\.')}-${process.arch}\\.v8cache$`));
    const bytes = readFileSync(join(state, file!));
    log = await daemonUntil(/started \(/);
    assert.match(log, new RegExp(`code cache: compiled from .*${file}`));
    assert.not.match(log, /code cache: \S+ written/);
    assert.equal(readFileSync(join(state, file!)), bytes);
  }),
);

test(
  'a damaged cache is not run: the daemon starts from source and writes a good one',
  deadline(30000, async () => {
    const [file] = caches();
    const path = join(state, file!);
    const bytes = readFileSync(path);
    bytes[bytes.length >> 1]! ^= 0xff;
    writeFileSync(path, bytes);
    let log = await daemonUntil(/code cache: \S+ written \(/);
    assert.match(log, /not used: checksum mismatch \(damaged\)/);
    writeFileSync(path, bytes.subarray(0, 100));
    log = await daemonUntil(/code cache: \S+ written \(/);
    assert.match(log, /not used: truncated/);
    log = await daemonUntil(/started \(/);
    assert.match(log, /code cache: compiled from/);
  }),
);

test(
  'other node flags: V8 refuses the cache, the daemon starts and writes its own',
  deadline(30000, async () => {
    // (not a heap flag: those are set back to their defaults before anything compiles, heap-flags.ts)
    const log = await daemonUntil(/code cache: \S+ written \(/, { MESHSEED_CODE_CACHE: state, NODE_OPTIONS: '--stack-trace-limit=20' });
    assert.match(log, /not used: refused by V8/);
  }),
);

test(
  'the heap flags do not change the cache: one written with them is used without them',
  deadline(30000, async () => {
    await daemonUntil(/code cache: \S+ written \(/, { MESHSEED_CODE_CACHE: state, NODE_OPTIONS: '--max-semi-space-size=1 --max-old-space-size=64' });
    const log = await daemonUntil(/started \(/);
    assert.match(log, /code cache: compiled from/);
    // one payload, both stages: stage 1's compiled before the port, stage 2's after
    const file = unframeCodeCache(readFileSync(join(state, caches()[0]!)), nativeCrc32(zlib));
    assert.ok('payload' in file);
    const stages = splitStageCaches((file as { payload: Uint8Array }).payload);
    assert.ok('one' in stages && stages.one.length > 0 && stages.two.length > 0, JSON.stringify(stages));
  }),
);

test(
  'a cache without stage 2\'s part is used for stage 1 and written again, whole',
  deadline(30000, async () => {
    const path = join(state, caches()[0]!);
    const file = unframeCodeCache(readFileSync(path), nativeCrc32(zlib)) as { payload: Uint8Array };
    const stages = splitStageCaches(file.payload) as { one: Uint8Array; two: Uint8Array };
    writeFileSync(path, frameCodeCache(joinStageCaches(stages.one, new Uint8Array(0)), nativeCrc32(zlib)));
    const log = await daemonUntil(/code cache: \S+ written \(/);
    assert.match(log, /code cache: compiled from/);
    const again = splitStageCaches((unframeCodeCache(readFileSync(path), nativeCrc32(zlib)) as { payload: Uint8Array }).payload);
    assert.ok('two' in again && again.two.length > 0);
  }),
);

test(
  'a cache of another bundle or Node is removed when this one is written; none without MESHSEED_CODE_CACHE',
  deadline(30000, async () => {
    const stale = 'meshseed-0000000000000000-v18.0.0-x64.v8cache';
    writeFileSync(join(state, stale), 'old');
    for (const f of caches()) if (f !== stale) writeFileSync(join(state, f), 'damaged');
    await daemonUntil(/code cache: \S+ written \(/);
    assert.not.ok(caches().includes(stale));
    assert.is(caches().length, 1);
    const log = await daemonUntil(/started \(/, { MESHSEED_CODE_CACHE: '' });
    assert.not.match(log, /code cache/);
  }),
);

test.after(() => dir.remove());
test.run();
