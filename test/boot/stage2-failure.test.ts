// deadline: 40s
// The daemon's tracker listens before stage 2 (the other parts' modules) is loaded. When
// loading stage 2 throws (simulated: a preload makes vm.Script refuse the stage-2 source, as
// a module failing at load would), the daemon must close what it opened and exit non-zero
// with the message, not stay half-started (the tracker answering, SIGTERM held forever).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE, deadline, randomPort, tempDir } from '../helpers';

const dir = tempDir('meshseed-stage2-failure-');
const children: { kill(): boolean }[] = [];

const PRELOAD = `const vm = require('node:vm');
const Real = vm.Script;
vm.Script = class extends Real {
  constructor(source, options) {
    if (String(options && options.filename).endsWith('#stage2')) throw new Error('stage 2 refused by the test');
    super(source, options);
  }
};
`;

test(
  'stage 2 failing to load after the tracker listens: the daemon closes its ports and exits 1',
  deadline(30000, async () => {
    const preload = join(dir.path, 'fail-stage2.cjs');
    writeFileSync(preload, PRELOAD);
    const child = spawn(
      process.execPath,
      ['-r', preload, BUNDLE, 'daemon', '--state-dir', join(dir.path, 'state'), '--tracker-port', String(randomPort()), '--tracker-address', '127.0.0.1', '--seeder-enabled', '0', '--lpd-enabled', '0', '--dht-enabled', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    // no timer of its own: a daemon that stays up fails on the test's deadline (and is killed after)
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    assert.match(log, /tracker: listening on/);
    assert.match(log, /meshseed: stage 2 refused by the test/);
    assert.is(code, 1, log);
  }),
);

test.after(() => {
  for (const c of children) c.kill();
  dir.remove();
});
test.run();
