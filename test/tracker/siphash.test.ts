// deadline: 5s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SipHash24 } from '../../src/util/siphash';

// The reference implementation's vectors (vectors.h): key 00..0f, message 00..len-1, tag little-endian.
const VECTORS: [number, string][] = [
  [0, '310e0edd47db6f72'],
  [1, 'fd67dc93c539f874'],
  [7, '37d1018bf50002ab'],
  [8, '6224939a79f5f593'],
  [15, 'e545be4961ca29a1'],
  [63, '724506eb4c328a95'],
];

test('SipHash-2-4 matches the reference vectors (short, one block, block boundaries, long)', () => {
  const h = new SipHash24(Uint8Array.from({ length: 16 }, (_, i) => i));
  const out = new Uint8Array(8);
  for (const [len, want] of VECTORS) {
    h.hash(Uint8Array.from({ length: 64 }, (_, i) => i), len, out);
    assert.is(Buffer.from(out).toString('hex'), want, `length ${len}`);
  }
});

test('a 15-byte key is refused', () => {
  assert.throws(() => new SipHash24(new Uint8Array(15)), /16 bytes/);
});

test.run();
