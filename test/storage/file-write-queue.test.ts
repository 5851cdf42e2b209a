// deadline: 20s
/** A file's writes one at a time, those waiting joined into one pwritev: tables, an injected write, then a real file. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { FileWriteQueue, joinRuns, MAX_JOINED_BUFFERS, MAX_JOINED_BYTES, writeFully, type WritevFn } from '../../src/storage/file-write-queue';
import { deadline, tempDir } from '../helpers';

const w = (position: number, length: number) => ({ position, data: new Uint8Array(length) });
const shape = (runs: { position: number; data: Uint8Array }[][]) => runs.map((r) => r.map((x) => `${x.position}+${x.data.length}`).join(' '));

test('joinRuns: writes that follow each other join; a gap, the buffer count or the byte bound cut the run', () => {
  assert.equal(shape(joinRuns([])), []);
  assert.equal(shape(joinRuns([w(0, 10), w(10, 10), w(20, 5)])), ['0+10 10+10 20+5']);
  assert.equal(shape(joinRuns([w(0, 10), w(30, 10), w(40, 10)])), ['0+10', '30+10 40+10']);
  // the same position twice (written again): not joined, order kept
  assert.equal(shape(joinRuns([w(0, 10), w(0, 10)])), ['0+10', '0+10']);
  const many = Array.from({ length: MAX_JOINED_BUFFERS + 3 }, (_, i) => w(i, 1));
  assert.equal(
    joinRuns(many).map((r) => r.length),
    [MAX_JOINED_BUFFERS, 3],
  );
  const half = MAX_JOINED_BYTES / 2;
  assert.equal(
    joinRuns([w(0, half), w(half, half), w(2 * half, 1)]).map((r) => r.length),
    [2, 1],
  );
  // a single write larger than the bound is still written, alone
  assert.equal(
    joinRuns([w(0, 1), w(1, MAX_JOINED_BYTES + 1), w(MAX_JOINED_BYTES + 2, 1)]).map((r) => r.length),
    [1, 1, 1],
  );
});

test('writeFully: short writes go on from where they stopped, across buffers', async () => {
  const file = Buffer.alloc(20);
  const calls: string[] = [];
  // writes at most 7 bytes per call
  const writev: WritevFn = async (bufs, pos) => {
    calls.push(`${pos}:${bufs.map((b) => b.length).join(',')}`);
    let n = 0;
    for (const b of bufs) {
      const k = Math.min(b.length, 7 - n);
      file.set(b.subarray(0, k), pos + n);
      n += k;
      if (n === 7) break;
    }
    return n;
  };
  const a = Buffer.from('abcdefghij');
  const b = Buffer.from('KLMNO');
  await writeFully(writev, [a, new Uint8Array(0), b], 3);
  assert.is(file.subarray(3, 18).toString(), 'abcdefghijKLMNO');
  assert.equal(calls, ['3:10,5', '10:3,5', '17:1']);
  // a write that writes nothing is an error, not a loop
  try {
    await writeFully(async () => 0, [a], 0);
    assert.unreachable('should throw');
  } catch (err) {
    assert.match((err as Error).message, /wrote nothing/);
  }
});

test(
  'FileWriteQueue: one write in flight; those that arrive meanwhile go out joined, in file order; an error fails only its run',
  deadline(5_000, async () => {
    const calls: { pos: number; lengths: number[] }[] = [];
    let release: (() => void) | undefined;
    let inFlight = 0;
    let most = 0;
    const writev: WritevFn = async (bufs, pos) => {
      inFlight++;
      most = Math.max(most, inFlight);
      calls.push({ pos, lengths: bufs.map((b) => b.length) });
      await new Promise<void>((r) => (release = r));
      inFlight--;
      if (pos === 1000) throw new Error('ENOSPC: no space left on device');
      return bufs.reduce((n, b) => n + b.length, 0);
    };
    const q = new FileWriteQueue(writev);
    const done: string[] = [];
    const track = (name: string, p: Promise<void>) =>
      p.then(
        () => done.push(`${name} ok`),
        (e: Error) => done.push(`${name} ${e.message.slice(0, 6)}`),
      );
    const first = track('p0', q.write(0, new Uint8Array(100)));
    assert.ok(q.busy);
    // while p0 is written: p2, p1 (out of order), a gap, and a piece whose write will fail
    const rest = [
      track('p2', q.write(200, new Uint8Array(100))),
      track('p1', q.write(100, new Uint8Array(100))),
      track('p5', q.write(500, new Uint8Array(100))),
      track('bad', q.write(1000, new Uint8Array(100))),
      q.write(1000, new Uint8Array(0)), // empty: nothing to write
    ];
    const next = async () => {
      while (!release) await new Promise((r) => setImmediate(r));
      const r = release;
      release = undefined;
      r();
    };
    await next();
    await first;
    await next(); // p1 + p2 joined
    await next(); // p5
    await next(); // bad
    await Promise.all(rest);
    assert.equal(
      calls.map((c) => `${c.pos}:${c.lengths.join(',')}`),
      ['0:100', '100:100,100', '500:100', '1000:100'],
    );
    assert.is(most, 1, 'one write in flight at a time');
    assert.is(q.calls, 4);
    assert.equal(done.sort(), ['bad ENOSPC', 'p0 ok', 'p1 ok', 'p2 ok', 'p5 ok']);
    assert.not.ok(q.busy);
  }),
);

test(
  'FileWriteQueue on a real file: 64 pieces written at once land byte-identical, in fewer calls',
  deadline(10_000, async () => {
    const tmp = tempDir('meshseed-write-queue-');
    try {
      const path = join(tmp.path, 'data.bin');
      const fh = await open(path, 'w+');
      const piece = 16 * 1024;
      const data = randomBytes(64 * piece);
      const q = new FileWriteQueue(async (bufs, pos) => (await fh.writev(bufs, pos)).bytesWritten);
      // in a shuffled order, all at once
      const order = [...Array(64).keys()].sort((a, b) => ((a * 37) % 64) - ((b * 37) % 64));
      await Promise.all(order.map((i) => q.write(i * piece, data.subarray(i * piece, (i + 1) * piece))));
      await fh.close();
      assert.ok(readFileSync(path).equals(data), 'the file holds every piece at its place');
      assert.ok(q.calls < 64, `joined: ${q.calls} calls for 64 pieces`);
    } finally {
      tmp.remove();
    }
  }),
);

test.run();
