// deadline: 10s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ScratchBuffer } from '../../src/util/scratch-buffer';

test('scratch buffer: one view per length over the same bytes, a new buffer after renew, lengths bounded', () => {
  const s = new ScratchBuffer(16, 2);
  s.bytes.write('abcdefgh', 'latin1');
  const four = s.view(4);
  assert.is(four.toString('latin1'), 'abcd');
  assert.ok(s.view(4) === four, 'the same view for the same length');
  s.bytes[0] = 0x7a;
  assert.is(four.toString('latin1'), 'zbcd', 'a view, not a copy');
  assert.throws(() => s.view(17), /17 bytes of a 16-byte/);
  s.view(5);
  s.view(6); // a third length: the views are made afresh
  assert.ok(s.view(4) !== four);
  const kept = s.bytes;
  s.renew();
  assert.ok(s.bytes !== kept && s.bytes.length === 16, 'a new buffer');
  s.bytes[0] = 0x41;
  assert.is(kept[0], 0x7a, 'what was kept elsewhere is left alone');
  assert.ok(s.view(4).buffer === s.bytes.buffer, 'views of the new buffer');
});

test.run();
