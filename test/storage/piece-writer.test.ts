// deadline: 20s
/** PieceWriter: pieces written at once to one file are queued behind its write in progress and written together. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PieceWriter } from '../../src/storage/piece-writer';

test('pieces written at once: one write at a time per file, consecutive ones together; the bytes and durability as before', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshseed-piece-writer-'));
  try {
    const PIECE = 64 * 1024;
    // two files: a (5.5 pieces) and b (10.5 pieces); piece 5 spans both
    const files = [
      { path: ['a'], length: 5.5 * PIECE, offset: 0, padding: false },
      { path: ['b'], length: 10.5 * PIECE, offset: 5.5 * PIECE, padding: false },
    ];
    const data = randomBytes(16 * PIECE);
    const writer = new PieceWriter(files, (f) => join(dir, files[f]!.path[0]!), PIECE, { dataDir: dir, followSymlinks: () => false });
    // count the write calls the file handles get
    const probe = await open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { write: (...a: unknown[]) => unknown; writev: (...a: unknown[]) => unknown };
    await probe.close();
    const { write, writev } = proto;
    let calls = 0;
    proto.write = function (this: unknown, ...a: unknown[]) {
      calls++;
      return write.apply(this, a);
    };
    proto.writev = function (this: unknown, ...a: unknown[]) {
      calls++;
      return writev.apply(this, a);
    };
    try {
      // all 16 at once, out of order
      const order = [3, 0, 1, 2, 15, 14, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
      await Promise.all(order.map((i) => writer.write(i, data.subarray(i * PIECE, (i + 1) * PIECE))));
    } finally {
      proto.write = write;
      proto.writev = writev;
    }
    // 17 parts (piece 5 in two), in at most a few writes per file
    assert.ok(calls < 17, `${calls} write calls for 17 parts`);
    assert.ok(calls >= 2, 'at least one write per file');
    for (let i = 0; i < 16; i++) assert.not.ok(writer.durable(i), `piece ${i} not durable before the sync`);
    await writer.sync();
    for (let i = 0; i < 16; i++) assert.ok(writer.durable(i), `piece ${i} durable after the sync`);
    await writer.close();
    assert.ok(Buffer.concat([readFileSync(join(dir, 'a')), readFileSync(join(dir, 'b'))]).equals(data), 'the bytes on disk');
    console.log(`  16 pieces (17 parts) in ${calls} write calls`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
