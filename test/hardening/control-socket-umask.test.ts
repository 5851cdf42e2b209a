// deadline: 20s
/**
 * Issue 13, item 7: the control socket is private from the instant bind() creates it, even
 * under `umask 000` (a chmod after listen() left a gap in which another user could connect).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { ControlServer, controlSocketPath } from '../../src/control/control-socket';
import { createLogger } from '../../src/util/log';
import { deadline, tempDir } from '../helpers';

test(
  'under umask 000 the socket file is owner-only as soon as listen() has bound it; the umask is restored',
  deadline(5000, async () => {
    const dir = tempDir();
    const path = controlSocketPath(join(dir.path, 'state'));
    const server = new ControlServer({ log: createLogger('error', () => {}), status: () => ({}) }, { path });
    const seen: number[] = [];
    const listen = net.Server.prototype.listen;
    // bind() for a Unix socket happens inside listen(), synchronously: look at the file at
    // the first moment another process could see it, before any callback runs
    net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
      const r = (listen as (...a: unknown[]) => net.Server).apply(this, args);
      if (args[0] === path) seen.push(lstatSync(path).mode & 0o777);
      return r;
    } as typeof listen;
    const old = process.umask(0);
    try {
      await server.start();
      assert.is(seen.length, 1);
      assert.is(seen[0]! & 0o077, 0, `mode ${seen[0]!.toString(8)}: no access for group or others`);
      assert.is(lstatSync(path).mode & 0o777, 0o600);
      assert.is(process.umask(), 0, 'the process umask is given back');
    } finally {
      net.Server.prototype.listen = listen;
      process.umask(old);
      await server.close();
      dir.remove();
    }
  }),
);

test.run();
