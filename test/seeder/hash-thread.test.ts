// deadline: 30s
/** The hash thread: when it starts and ends (a clock-driven table), and a real worker hashing moved buffers. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { BLOCK_SIZE } from '../../src/codec/peer-wire';
import { HashThread, HashThreadError, IDLE_MS, wantsHashThread, type WorkerLike } from '../../src/seeder/hash-thread';
import { PieceBuffers } from '../../src/seeder/piece-buffers';
import { PiecePool } from '../../src/seeder/piece-pool';
import { ManualClock } from '../../src/util/clock';
import { memoryLogger } from '../tracker/fixtures';
import { waitFor } from '../helpers';

const MiB = 2 ** 20;
const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

/** A worker that hashes nothing until told; it answers or fails on command. */
function fakeWorker() {
  const on: Record<string, ((x: never) => void)[]> = {};
  const posted: { id: number; buf: ArrayBuffer; size: number }[] = [];
  let terminated = 0;
  const w: WorkerLike = {
    // moved as node moves it: the sender's ArrayBuffer is detached
    postMessage: (m, transfer) => void posted.push(structuredClone(m, { transfer }) as (typeof posted)[0]),
    on: (event: string, fn: (x: never) => void) => void (on[event] ??= []).push(fn),
    terminate: async () => (terminated++, 0),
    unref: () => undefined,
  } as WorkerLike;
  const emit = (event: string, x?: unknown) => on[event]?.forEach((fn) => fn(x as never));
  return {
    w,
    posted,
    emit,
    get terminated() {
      return terminated;
    },
    answer(i: number) {
      const m = posted[i]!;
      const d = createHash('sha1').update(new Uint8Array(m.buf, 0, m.size)).digest();
      emit('message', { id: m.id, buf: m.buf, digest: d.buffer.slice(d.byteOffset, d.byteOffset + 20) });
    },
  };
}

test('wantsHashThread: only fast enough, only with 2 or more cores, never when off', () => {
  const table: [number, number, number, boolean][] = [
    // bytes/s, from MiB/s, cores, wanted
    [200 * MiB, 64, 2, true],
    [64 * MiB, 64, 4, true],
    [63 * MiB, 64, 4, false],
    [200 * MiB, 64, 1, false],
    [200 * MiB, 0, 8, false],
    [1, 1, 2, false],
  ];
  for (const [rate, from, cores, want] of table) assert.is(wantsHashThread(rate, from, cores), want, `${rate / MiB} MiB/s, from ${from}, ${cores} cores`);
});

test('starts on demand, ends after IDLE_MS without demand (not while a piece is on it), not on one core', async () => {
  const clock = new ManualClock();
  const fake = fakeWorker();
  let spawned = 0;
  const t = new HashThread({ clock, log: memoryLogger(), cores: 2, spawn: () => (spawned++, fake.w) }, { fromMiBps: 64 });
  t.demand(10 * MiB);
  assert.is(spawned, 0, 'too slow: no thread');
  t.demand(100 * MiB);
  assert.is(spawned, 1);
  assert.not.ok(t.ready, 'not before it is online');
  fake.emit('online');
  assert.ok(t.ready);
  t.demand(100 * MiB);
  assert.is(spawned, 1, 'one thread');
  // a piece on it keeps it past the idle time
  const buf = Buffer.allocUnsafeSlow(BLOCK_SIZE).fill(7);
  assert.ok(t.canTake(buf));
  const p = t.digest(buf, BLOCK_SIZE);
  assert.is(buf.length, 0, 'the buffer moved to the thread');
  clock.advance(IDLE_MS);
  t.tick(clock.now());
  assert.is(fake.terminated, 0);
  fake.answer(0);
  const r = await p;
  assert.is(r.digest.toString('hex'), sha1(Buffer.alloc(BLOCK_SIZE, 7)));
  assert.is(r.buf.length, BLOCK_SIZE, 'the same bytes come back');
  t.tick(clock.now());
  assert.is(fake.terminated, 1, 'idle: ended');
  assert.not.ok(t.ready);
  // one core: never
  const one = new HashThread({ clock, log: memoryLogger(), cores: 1, spawn: () => (spawned++, fake.w) }, { fromMiBps: 64 });
  one.demand(1000 * MiB);
  assert.is(spawned, 1);
});

test('a buffer that does not own its ArrayBuffer is not taken', () => {
  const t = new HashThread({ clock: new ManualClock(), log: memoryLogger(), cores: 2 }, { fromMiBps: 64 });
  assert.not.ok(t.canTake(Buffer.allocUnsafeSlow(64).subarray(1)));
  assert.not.ok(t.canTake(Buffer.from('abc')), 'a slice of node`s shared pool');
  assert.ok(t.canTake(Buffer.allocUnsafeSlow(64)));
});

test('the thread failing: pieces on it are lost with a HashThreadError, and it is not started again', async () => {
  const clock = new ManualClock();
  const fake = fakeWorker();
  let spawned = 0;
  const log = memoryLogger();
  const t = new HashThread({ clock, log, cores: 2, spawn: () => (spawned++, fake.w) }, { fromMiBps: 1 });
  t.demand(10 * MiB);
  fake.emit('online');
  const p = t.digest(Buffer.allocUnsafeSlow(1024), 1024);
  fake.emit('error', new Error('out of memory'));
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof HashThreadError, String(err));
  assert.not.ok(t.ready);
  t.demand(10 * MiB);
  assert.is(spawned, 1, 'not started again');
  assert.ok(log.lines.some((l) => /hash thread failed: out of memory/.test(l)), log.lines.join('\n'));
});

test('piece buffers with a real hash thread: a web seed piece is hashed there, its bytes come back, the pool count holds', async () => {
  const L = 4 * BLOCK_SIZE;
  const pool = new PiecePool({ soft: 8 * L, hard: 8 * L });
  const t = new HashThread({ clock: new ManualClock(), log: memoryLogger(), cores: 2 }, { fromMiBps: 1 });
  try {
    t.demand(10 * MiB);
    await waitFor('the thread to be online', 10_000, () => t.ready, 5);
    const data = randomBytes(3 * L - 100);
    const buffers = new PieceBuffers(L, (i) => Math.min(L, data.length - i * L), { soft: 4, hard: 8 }, pool, t);
    for (let i = 0; i < 3; i++) {
      const size = Math.min(L, data.length - i * L);
      const buf = buffers.open(i)!;
      data.copy(buf, 0, i * L, i * L + size);
      // a web seed's bytes: hashTo leaves them to the thread
      buffers.hashTo(i, size);
    }
    const waiting = [0, 1, 2].map((i) => buffers.digest(i));
    assert.is(t.inFlight, 3, 'the three pieces are on the thread, not hashed on the main thread');
    const digests = await Promise.all(waiting);
    for (let i = 0; i < 3; i++) {
      const want = data.subarray(i * L, Math.min(data.length, (i + 1) * L));
      assert.is(digests[i]!.toString('hex'), sha1(want), `piece ${i}`);
      assert.ok(buffers.data(i).subarray(0, want.length).equals(want), `piece ${i}'s bytes are back`);
    }
    assert.is(t.inFlight, 0);
    for (let i = 0; i < 3; i++) buffers.release(i);
    assert.is(pool.inUse, 0);
    // the thread gone with a piece on it: the piece leaves the buffers, the pool's count is right
    const buf = buffers.open(0)!;
    buf.fill(1);
    const lost = buffers.digest(0);
    t.close();
    const err = await lost.then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof HashThreadError, String(err));
    assert.not.ok(buffers.has(0));
    assert.is(pool.inUse, 0);
    // without the thread: hashed here, as before
    const again = buffers.open(1)!;
    again.fill(2);
    buffers.hashTo(1, L);
    assert.is((await buffers.digest(1)).toString('hex'), sha1(Buffer.alloc(L, 2)));
  } finally {
    t.close();
  }
});

test.run();
