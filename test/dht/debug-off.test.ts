// deadline: 10s
// bittorrent-dht's `debug` import is the always-off trace in the built daemon: the package's
// traces print nothing, and the bundle never loads node:tty (which `debug` loads at start).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import createTrace from '../../src/dht/debug-off';
import { bundleSource } from '../helpers';

test('a trace is off and prints nothing, whatever it is given', () => {
  const trace = createTrace('bittorrent-dht');
  assert.is(trace.enabled, false);
  const written: unknown[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: unknown) => (written.push(chunk), true)) as typeof process.stderr.write;
  try {
    assert.is(trace('new DHT %s', 'ab'.repeat(20)), undefined);
    trace({ a: 1 }, new Error('x'));
  } finally {
    process.stderr.write = write;
  }
  assert.equal(written, []);
});

test('the built daemon holds bittorrent-dht with the off trace, and never requires node:tty', () => {
  const bundle = bundleSource();
  // the DHT is in the bundle (its namespace is the trace's argument)...
  assert.ok(bundle.includes('bittorrent-dht'), 'bittorrent-dht is bundled');
  // ...and `debug`'s Node entry, which requires tty at load, is not
  assert.not.ok(/require\((\\)?["'`](node:)?tty(\\)?["'`]\)/.test(bundle), 'node:tty is required somewhere in the bundle');
});

test.run();
