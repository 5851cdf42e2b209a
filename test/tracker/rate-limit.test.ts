// deadline: 10s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AddressRateLimit } from '../../src/tracker/rate-limit';
import { ConnectionIds, SLOT_MS } from '../../src/tracker/connection-id';

const a = (n: number) => new Uint8Array([10, 0, 0, n]);
const six = (prefix: number, host: number) => {
  const b = new Uint8Array(16);
  b[0] = 0xfd;
  b[7] = prefix;
  b[15] = host;
  return b;
};

test('token bucket: a burst of twice the rate, then the rate, per address', () => {
  const r = new AddressRateLimit(10);
  let ok = 0;
  for (let i = 0; i < 100; i++) if (r.take(0, a(1))) ok++;
  assert.is(ok, 20, 'burst');
  assert.ok(r.take(0, a(2)), 'another address has its own bucket');
  assert.not.ok(r.take(50, a(1)), '50 ms refills half a token');
  assert.ok(r.take(100, a(1)), '100 ms refills one');
  let later = 0;
  for (let t = 1000; t < 11000; t += 10) if (r.take(t, a(1))) later++;
  // 9 tokens saved up between 100 ms and 1 s, then 10/s for 10 s
  assert.ok(later >= 108 && later <= 110, `10 s at 10/s: ${later}`);
});

test('IPv6: the /64 shares one bucket; 0 switches the limit off', () => {
  const r = new AddressRateLimit(5);
  let ok = 0;
  for (let h = 0; h < 50; h++) if (r.take(0, six(1, h))) ok++;
  assert.is(ok, 10);
  assert.ok(r.take(0, six(2, 0)));
  const off = new AddressRateLimit(0);
  for (let i = 0; i < 1000; i++) assert.ok(off.take(0, a(1)));
});

test('connection ids: bound to address and port, good for the current and previous slot only, unforgeable', () => {
  const ids = new ConnectionIds(new Uint8Array(32).fill(7));
  const t0 = 5 * SLOT_MS + 1000;
  const id = ids.issue(t0, a(1), 6881);
  assert.ok(ids.check(t0, id, a(1), 6881));
  assert.ok(ids.check(t0 + SLOT_MS, id, a(1), 6881), 'next slot');
  assert.not.ok(ids.check(t0 + 2 * SLOT_MS, id, a(1), 6881), 'two slots later');
  assert.not.ok(ids.check(t0, id, a(2), 6881), 'other address');
  assert.not.ok(ids.check(t0, id, a(1), 6882), 'other port');
  const flipped = Uint8Array.from(id);
  flipped[7]! ^= 1;
  assert.not.ok(ids.check(t0, flipped, a(1), 6881));
  assert.not.ok(new ConnectionIds(new Uint8Array(32).fill(8)).check(t0, id, a(1), 6881), 'another secret');
  assert.not.ok(ids.check(t0, id.subarray(0, 7), a(1), 6881));
});

test.run();
