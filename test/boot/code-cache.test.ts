// deadline: 20s
// The code cache file's checks (src/boot/code-cache.ts): a cache is used only when its
// name, magic, length and checksum all match; anything else is reported, never run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as zlib from 'node:zlib';
import {
  CODE_CACHE_HEADER_BYTES,
  codeCacheChecksum,
  codeCacheFileName,
  frameCodeCache,
  isCodeCacheFileName,
  nativeCrc32,
  unframeCodeCache,
} from '../../src/boot/code-cache';

const payload = Uint8Array.from({ length: 1003 }, (_, i) => (i * 31 + 7) & 0xff);
const crc32 = nativeCrc32(zlib);

test('the name holds the bundle hash, Node version and architecture, and nothing that is not a plain file name', () => {
  assert.is(codeCacheFileName('0123abcd', 'v20.20.2', 'x64'), 'meshseed-0123abcd-v20.20.2-x64.v8cache');
  assert.is(codeCacheFileName('ab', 'v1/../x', 'arm 64'), 'meshseed-ab-v1_.._x-arm_64.v8cache');
  assert.ok(isCodeCacheFileName('meshseed-ab-v18.20.0-arm64.v8cache'));
  assert.not.ok(isCodeCacheFileName('meshseed.sock'));
  assert.not.ok(isCodeCacheFileName('tracker.json'));
});

for (const [name, sum] of [
  ['FNV-1a', undefined],
  ['CRC-32', crc32],
] as const) {
  test(`${name}: a framed cache gives its payload back; every damage is refused`, () => {
    const file = frameCodeCache(payload, sum);
    assert.is(file.length, payload.length + CODE_CACHE_HEADER_BYTES);
    const ok = unframeCodeCache(file, sum);
    assert.ok('payload' in ok);
    assert.equal(Array.from((ok as { payload: Uint8Array }).payload), Array.from(payload));
    // one bit anywhere in the payload
    for (const at of [CODE_CACHE_HEADER_BYTES, CODE_CACHE_HEADER_BYTES + 500, file.length - 1]) {
      const bad = file.slice();
      bad[at]! ^= 0x10;
      assert.equal(unframeCodeCache(bad, sum), { problem: 'checksum mismatch (damaged)' }, `bit at ${at}`);
    }
    // torn, grown, empty, not ours
    assert.match((unframeCodeCache(file.subarray(0, 600), sum) as { problem: string }).problem, /^truncated \(588 of 1003 bytes\)/);
    assert.match((unframeCodeCache(Buffer.concat([file, Buffer.from('x')]), sum) as { problem: string }).problem, /^truncated/);
    assert.equal(unframeCodeCache(new Uint8Array(0), sum), { problem: 'too short (0 bytes)' });
    const other = file.slice();
    other[0] = 0x7f;
    assert.equal(unframeCodeCache(other, sum), { problem: 'not a meshseed code cache' });
  });
}

test('a CRC-32 cache read by a Node without zlib.crc32 is refused, not trusted', () => {
  if (!crc32) return; // this Node cannot write one
  assert.equal(unframeCodeCache(frameCodeCache(payload, crc32)), { problem: 'checked by CRC-32, which this Node lacks' });
  assert.is(nativeCrc32({}), undefined);
});

test('the FNV-1a checksum reads unaligned bytes as aligned ones, and tail bytes count', () => {
  const buf = new Uint8Array(payload.length + 1);
  buf.set(payload, 1);
  assert.is(codeCacheChecksum(buf.subarray(1)), codeCacheChecksum(payload));
  const longer = Uint8Array.from([...payload, 0]);
  assert.is.not(codeCacheChecksum(longer), codeCacheChecksum(payload));
  // FNV-1a's offset basis for no bytes
  assert.is(codeCacheChecksum(new Uint8Array(0)), 0x811c9dc5);
});

test.run();
