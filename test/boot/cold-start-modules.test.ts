// deadline: 60s
// A cold start opens the tracker's port before it loads what the port does not need: the
// built daemon, with torrents in its watch folder and the seeder on, is watched by a preload
// that lists Node's built-in modules loaded when the tracker's TCP port starts listening.
// node:crypto (15 internal modules), node:fs/promises, node:v8 and perf_hooks come after.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE, deadline, randomPort, tempDir, waitFor } from '../helpers';

/** Preload: at the first listen on `port`, prints the built-in modules loaded so far. */
const PRELOAD = `
const net = require('node:net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const o = args[0];
  const port = typeof o === 'object' && o !== null ? o.port : o;
  if (Number(port) === Number(process.env.WATCH_PORT)) {
    const mods = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
    process.stderr.write('BUILTINS-AT-LISTEN ' + mods.join(',') + '\\n');
  }
  return listen.apply(this, args);
};
`;

test(
  'the tracker listens before node:crypto, node:fs/promises, node:v8 and perf_hooks are loaded',
  deadline(40000, async () => {
    const dir = tempDir('meshseed-cold-');
    try {
      const preload = join(dir.path, 'preload.js');
      writeFileSync(preload, PRELOAD);
      for (const d of ['torrents', 'data', 'state']) mkdirSync(join(dir.path, d));
      const port = randomPort();
      const child = spawn(
        process.execPath,
        ['-r', preload, BUNDLE, 'daemon', '--state-dir', join(dir.path, 'state'), '--seeder-torrent-dir', join(dir.path, 'torrents'), '--seeder-data-dir', join(dir.path, 'data'),
          '--seeder-listen-port', String(port + 1), '--tracker-port', String(port), '--tracker-address', '127.0.0.1', '--lpd-enabled', '0', '--dht-enabled', '0'],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WATCH_PORT: String(port), MESHSEED_CODE_CACHE: join(dir.path, 'state') } },
      );
      let log = '';
      child.stdout.on('data', (d) => (log += d));
      child.stderr.on('data', (d) => (log += d));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      try {
        await waitFor('every part started', 30000, () => /started \(/.test(log));
      } finally {
        child.kill('SIGTERM');
      }
      assert.is(await exited, 0, log);
      const line = /BUILTINS-AT-LISTEN (.*)/.exec(log);
      assert.ok(line, log);
      const loaded = new Set(line![1]!.split(','));
      assert.ok(loaded.has('net'), 'the list is read at the listen');
      for (const m of ['crypto', 'fs/promises', 'v8', 'perf_hooks']) assert.not.ok(loaded.has(m), `${m} loaded before the tracker listens`);
    } finally {
      dir.remove();
    }
  }),
);

test.run();
