// deadline: 10s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addressBytes, addressText } from '../../src/tracker/address';

test('IPv4, IPv6, IPv4-mapped and zone ids', () => {
  assert.equal([...addressBytes('10.0.0.1')!], [10, 0, 0, 1]);
  assert.equal([...addressBytes('::ffff:192.168.1.2')!], [192, 168, 1, 2]);
  const v6 = addressBytes('fe80::1%eth0')!;
  assert.is(v6.length, 16);
  assert.is(v6[0], 0xfe);
  assert.is(v6[15], 1);
  assert.is(addressText(addressBytes('2001:db8:0:0:1:0:0:1')!), '2001:db8::1:0:0:1');
  assert.is(addressText(addressBytes('::1')!), '::1');
  assert.is(addressText(addressBytes('::')!), '::');
  assert.is(addressText(addressBytes('1:2:3:4:5:6:7:8')!), '1:2:3:4:5:6:7:8');
  assert.is(addressText(new Uint8Array([127, 0, 0, 1])), '127.0.0.1');
});

test('not addresses', () => {
  for (const s of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1..2.3', 'a.b.c.d', '1.2.3.4 ', 'example.invalid', ':::', '1:2:3:4:5:6:7:8:9'])
    assert.is(addressBytes(s), undefined, s);
});

test.run();
