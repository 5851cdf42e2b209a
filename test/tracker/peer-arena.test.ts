// deadline: 20s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CAPACITIES, capacityClass, PeerArena, PeerList } from '../../src/tracker/peer-arena';

const RECORD = 8;

/** An arena over `lists`, each record tagged with its list and a serial number (4 bytes each). */
function setup(n: number) {
  const lists = Array.from({ length: n }, () => new PeerList());
  const arena = new PeerArena(RECORD, () => lists);
  const view = () => new DataView(arena.bytes.buffer, arena.bytes.byteOffset, arena.bytes.length);
  const add = (l: number, serial: number) => {
    const slot = arena.append(lists[l]!);
    const o = (lists[l]!.at + slot) * RECORD;
    view().setUint32(o, l);
    view().setUint32(o + 4, serial);
  };
  /** The serials of list `l`, in slot order (checking every record is tagged with `l`). */
  const serials = (l: number) => {
    const out: number[] = [];
    for (let i = 0; i < lists[l]!.count; i++) {
      const o = (lists[l]!.at + i) * RECORD;
      assert.is(view().getUint32(o), l, `list ${l} slot ${i} belongs to it`);
      out.push(view().getUint32(o + 4));
    }
    return out;
  };
  return { lists, arena, add, serials };
}

test('capacity classes: every count up to 8, even counts to 16, then steps of at most 1.25× (plus rounding)', () => {
  assert.equal(CAPACITIES.slice(0, 13), [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20]);
  for (let k = 12; k < CAPACITIES.length; k++) assert.ok(CAPACITIES[k]! <= Math.ceil((CAPACITIES[k - 1]! * 1.25) / 4) * 4);
  const cases: [number, number][] = [
    [1, 1],
    [8, 8],
    [9, 10],
    [10, 10],
    [17, 20],
  ];
  for (const [n, cap] of cases) assert.is(CAPACITIES[capacityClass(n)], cap, `${n} records`);
  for (let n = 1; n < 100_000; n += 97) {
    const c = capacityClass(n);
    assert.ok(CAPACITIES[c]! >= n && (c === 0 || CAPACITIES[c - 1]! < n), `smallest class for ${n}`);
    assert.ok(CAPACITIES[c]! <= Math.max(n * 1.25 + 4, 8), `at most a fifth wasted at ${n}`);
  }
});

test('lists keep their records through growth, removal (last moves into the hole), free-list reuse and rebuilds', () => {
  const { lists, arena, add, serials } = setup(50);
  const model: number[][] = lists.map(() => []);
  let seed = 7;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  let serial = 0;
  for (let step = 0; step < 40_000; step++) {
    const l = rand(lists.length);
    // lists grow to a few hundred records, then shrink: segments move, free up and get reused
    if (rand(100) < (step < 20_000 ? 70 : 35) || model[l]!.length === 0) {
      add(l, ++serial);
      model[l]!.push(serial);
    } else {
      const i = rand(model[l]!.length);
      arena.remove(lists[l]!, i);
      const m = model[l]!;
      m[i] = m[m.length - 1]!;
      m.pop();
    }
    if (step % 997 === 0) arena.compactIfWasteful();
  }
  for (let l = 0; l < lists.length; l++) assert.equal(serials(l), model[l], `list ${l}`);
  assert.is(arena.records, model.reduce((n, m) => n + m.length, 0));
  // no two lists share a record
  const owner = new Map<number, number>();
  lists.forEach((list, l) => {
    for (let i = 0; i < CAPACITIES[list.cls]!; i++) {
      assert.is(owner.get(list.at + i), undefined, `record ${list.at + i} of list ${l} is not another list's`);
      owner.set(list.at + i, l);
    }
  });
});

test('a list filling up at the end of the buffer grows in place; the buffer follows the records down', () => {
  const { lists, arena, add, serials } = setup(2);
  for (let i = 0; i < 10_000; i++) add(0, i);
  assert.ok(arena.byteLength <= 10_000 * RECORD * 1.6, `10,000 records in ${arena.byteLength / RECORD} (growth by a quarter, one list)`);
  add(1, 1);
  for (let i = 0; i < 9_990; i++) arena.remove(lists[0]!, 0);
  assert.ok(arena.compactIfWasteful(), 'mostly empty: rebuilt');
  assert.ok(arena.byteLength <= 1024 * RECORD, `${arena.byteLength / RECORD} records left for 11`);
  assert.is(serials(0).length, 10);
  assert.equal(serials(1), [1]);
  assert.not.ok(arena.compactIfWasteful(), 'nothing more to gain');
  arena.clear(lists[0]!);
  arena.clear(lists[0]!);
  assert.is(arena.records, 1);
  assert.is(lists[0]!.cls, -1, 'an emptied list holds no segment');
});

test.run();
