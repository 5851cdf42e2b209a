// deadline: 10s
/** The admission policy (util/admission.ts) in tables: no sockets, times passed in. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AddressRateLimit, Admission } from '../../src/util/admission';

test('per-address cap on half-open connections; established ones do not count', () => {
  const a = new Admission<string>({ maxConnections: 100, maxHalfOpenPerAddress: 2, headDeadlineMs: 1000 });
  assert.equal(a.admit('c1', 'A', 0), { ok: true });
  assert.equal(a.admit('c2', 'A', 0), { ok: true });
  assert.equal(a.admit('c3', 'A', 0), { ok: false, reason: 'address' });
  assert.equal(a.admit('d1', 'B', 0), { ok: true });
  a.establish('c1');
  assert.equal(a.admit('c3', 'A', 0), { ok: true });
  a.remove('c2');
  assert.equal(a.admit('c4', 'A', 0), { ok: true });
  assert.is(a.size, 4); // c1 established; c3, c4, d1 half-open
  assert.is(a.halfOpenCount, 3);
});

test('when full, the half-open connection idle the longest is evicted; all established: refused', () => {
  const a = new Admission<string>({ maxConnections: 3, maxHalfOpenPerAddress: 10, headDeadlineMs: 1000 });
  for (const c of ['x', 'y', 'z']) a.admit(c, c, 0);
  a.activity('x'); // x sent a byte: y is now the idlest
  assert.equal(a.admit('n1', 'N', 1), { ok: true, evicted: 'y' });
  a.establish('n1');
  a.establish('z');
  assert.equal(a.admit('n2', 'N', 2), { ok: true, evicted: 'x' });
  a.establish('n2');
  assert.equal(a.admit('n3', 'N', 3), { ok: false, reason: 'full' });
  assert.equal(a.counts, { admitted: 5, evicted: 2, refusedAddress: 0, refusedFull: 1, late: 0 });
});

test('half-open connections past the head deadline are listed once, however active', () => {
  const a = new Admission<string>({ maxConnections: 10, maxHalfOpenPerAddress: 10, headDeadlineMs: 1000 });
  a.admit('old', 'A', 0);
  a.admit('new', 'A', 500);
  a.admit('done', 'A', 0);
  a.establish('done');
  a.activity('old');
  assert.equal(a.late(999), []);
  assert.equal(a.late(1000), ['old']);
  assert.equal(a.late(1000), []);
  assert.equal(a.late(1500), ['new']);
  assert.is(a.size, 1);
});

test('address rate limit: a burst, then the refill rate; addresses forgotten beyond the bound', () => {
  const r = new AddressRateLimit(2, 3, 2);
  assert.equal([0, 0, 0, 0].map(() => r.take('A', 0)), [true, true, true, false]);
  assert.is(r.take('A', 499), false);
  assert.is(r.take('A', 500), true);
  assert.is(r.take('B', 0), true);
  assert.is(r.take('C', 0), true); // A forgotten (oldest), so it starts with a full burst again
  assert.equal([0, 0, 0, 0].map(() => r.take('A', 600)), [true, true, true, false]);
});

test.run();
