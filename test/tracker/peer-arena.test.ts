// deadline: 20s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CAPACITIES, capacityClass, CHUNK, PeerArena, PeerList } from '../../src/tracker/peer-arena';

const RECORD = 8;

/** An arena over `lists`, each record tagged with its list and a serial number (4 bytes each). */
function setup(n: number) {
  const lists = Array.from({ length: n }, () => new PeerList());
  const arena = new PeerArena(RECORD, () => lists);
  const view = (l: number) => new DataView(lists[l]!.bytes.buffer, lists[l]!.bytes.byteOffset, lists[l]!.bytes.length);
  const add = (l: number, serial: number) => {
    const slot = arena.append(lists[l]!);
    const o = (lists[l]!.at + slot) * RECORD;
    view(l).setUint32(o, l);
    view(l).setUint32(o + 4, serial);
  };
  /** The serials of list `l`, in slot order (checking every record is tagged with `l`). */
  const serials = (l: number) => {
    const out: number[] = [];
    for (let i = 0; i < lists[l]!.count; i++) {
      const o = (lists[l]!.at + i) * RECORD;
      assert.is(view(l).getUint32(o), l, `list ${l} slot ${i} belongs to it`);
      out.push(view(l).getUint32(o + 4));
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

test('lists keep their records through growth, removal (last moves into the hole), free-list reuse and compaction', () => {
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
  const owner = new Map<Uint8Array, Map<number, number>>();
  lists.forEach((list, l) => {
    const o = owner.get(list.bytes) ?? new Map<number, number>();
    owner.set(list.bytes, o);
    for (let i = 0; i < CAPACITIES[list.cls]!; i++) {
      assert.is(o.get(list.at + i), undefined, `record ${list.at + i} of list ${l} is not another list's`);
      o.set(list.at + i, l);
    }
  });
});

test('lists filling up one after another grow in place in shared chunks; a big list has its own buffer; the buffers follow the records down', () => {
  const { lists, arena, add, serials } = setup(1001);
  for (let l = 0; l < 1000; l++) for (let i = 0; i < 10; i++) add(l, i);
  const chunks = Math.ceil((1000 * 10) / CHUNK);
  assert.is(arena.byteLength, chunks * CHUNK * RECORD, `10,000 records in ${chunks} chunks, nothing moved`);
  assert.is(new Set(lists.slice(0, 1000).map((l) => l.bytes)).size, chunks);
  for (let i = 0; i < 5000; i++) add(1000, i);
  assert.ok(lists[1000]!.bytes.length <= 5000 * RECORD * 1.25, 'a big list: its own buffer, at most a quarter spare');
  assert.not.ok(arena.compactIfWasteful(), 'nothing to gain');
  for (let l = 0; l < 999; l++) arena.clear(lists[l]!);
  const own = lists[1000]!.bytes;
  for (let i = 0; i < 4990; i++) arena.remove(lists[1000]!, 0);
  assert.is.not(lists[1000]!.bytes, own);
  assert.is(arena.records, 20);
  assert.ok(lists[1000]!.cls < capacityClass(1000), 'a big list three quarters empty left its own buffer');
  assert.ok(arena.compactIfWasteful(), 'mostly empty: compacted');
  assert.is(arena.byteLength, CHUNK * RECORD, 'one chunk left for 20 records');
  assert.equal(serials(999), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.is(serials(1000).length, 10);
  assert.is(lists[1000]!.bytes, lists[999]!.bytes, 'the big list, small again, back in a chunk');
  arena.clear(lists[999]!);
  arena.clear(lists[999]!);
  assert.is(arena.records, 10);
  assert.is(lists[999]!.cls, -1, 'an emptied list holds no segment');
});

test('lists growing all at once (peers arriving in many swarms) leave old segments behind: compaction bounds the waste', () => {
  const { arena, add, serials } = setup(2000);
  for (let n = 0; n < 60; n++) for (let l = 0; l < 2000; l++) add(l, n);
  assert.is(arena.records, 120_000);
  assert.ok(arena.byteLength <= (2 * 120_000 + 5 * CHUNK) * RECORD, `${arena.byteLength / RECORD} records held for 120,000`);
  for (const l of [0, 999, 1999]) assert.equal(serials(l), Array.from({ length: 60 }, (_, i) => i));
});

test.run();
