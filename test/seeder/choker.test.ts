// deadline: 20s
/** The seed choker, driven by a simulated clock. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Choker, ROTATE_MS } from '../../src/seeder/choker';

test('free slots go at once to interested peers, the rest wait in line', () => {
  const c = new Choker<string>(2);
  assert.equal(c.interested('a', 0), { choke: [], unchoke: ['a'] });
  assert.equal(c.interested('b', 0), { choke: [], unchoke: ['b'] });
  assert.equal(c.interested('c', 0), { choke: [], unchoke: [] });
  assert.equal(c.waitingPeers, ['c']);
  // a peer leaving frees its slot for the next in line
  assert.equal(c.remove('a', 100), { choke: [], unchoke: ['c'] });
  assert.equal(c.notInterested('b', 200), { choke: ['b'], unchoke: [] });
});

test('round-robin: every interested peer gets a turn, slots never exceeded', () => {
  const slots = 4;
  const c = new Choker<number>(slots);
  const peers = Array.from({ length: 10 }, (_, i) => i);
  for (const p of peers) c.interested(p, 0);
  const turns = new Map<number, number>();
  for (let now = ROTATE_MS; now <= ROTATE_MS * 30; now += ROTATE_MS) {
    const d = c.tick(now);
    assert.is(d.choke.length, 1, 'one slot rotates per tick');
    assert.is(d.unchoke.length, 1);
    assert.is(c.unchokedPeers.length, slots);
    for (const p of d.unchoke) turns.set(p, (turns.get(p) ?? 0) + 1);
  }
  for (const p of peers) assert.ok((turns.get(p) ?? 0) >= 2, `peer ${p} had ${turns.get(p) ?? 0} turns`);
  const counts = [...turns.values()];
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `turns uneven: ${counts}`);
});

test('no rotation before a peer has held its slot for the rotation period, or with nobody waiting', () => {
  const c = new Choker<string>(1);
  c.interested('a', 0);
  c.interested('b', 5000);
  assert.equal(c.tick(ROTATE_MS - 1), { choke: [], unchoke: [] });
  assert.equal(c.tick(ROTATE_MS), { choke: ['a'], unchoke: ['b'] });
  const alone = new Choker<string>(1);
  alone.interested('x', 0);
  assert.equal(alone.tick(10 * ROTATE_MS), { choke: [], unchoke: [] });
});

test('fewer slots after a reload choke the longest unchoked', () => {
  const c = new Choker<string>(3);
  c.interested('a', 0);
  c.interested('b', 10);
  c.interested('c', 20);
  assert.equal(c.setSlots(1, 30), { choke: ['a', 'b'], unchoke: [] });
  assert.equal(c.unchokedPeers, ['c']);
  assert.equal(c.setSlots(3, 40).unchoke, ['a', 'b']);
});

test.run();
