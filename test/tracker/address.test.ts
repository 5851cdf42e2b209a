// deadline: 10s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addressBytes, addressText, localizeLoopbackPeers } from '../../src/tracker/address';

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

test('loopback peers: kept for loopback requesters, given as the local address to others, else left out', () => {
  const v4 = (a: number[], port: number) => [...a, port >> 8, port & 255];
  const compact = Uint8Array.from([...v4([10, 0, 0, 5], 6881), ...v4([127, 0, 0, 1], 6882)]);
  const lo = Uint8Array.from([127, 0, 0, 1]);
  const mesh = Uint8Array.from([10, 61, 1, 10]);
  const client = Uint8Array.from([10, 61, 2, 20]);
  assert.is(localizeLoopbackPeers(compact, 6, lo, lo), compact);
  assert.equal([...localizeLoopbackPeers(compact, 6, client, mesh)], [...v4([10, 0, 0, 5], 6881), ...v4([10, 61, 1, 10], 6882)]);
  assert.equal([...localizeLoopbackPeers(compact, 6, client)], v4([10, 0, 0, 5], 6881));
  assert.equal([...localizeLoopbackPeers(compact, 6, client, lo)], v4([10, 0, 0, 5], 6881));
  const six = new Uint8Array(18);
  six[15] = 1; // ::1
  six[17] = 7;
  assert.is(localizeLoopbackPeers(six, 18, client).length, 0);
  const noLoopback = Uint8Array.from(v4([10, 0, 0, 5], 6881));
  assert.is(localizeLoopbackPeers(noLoopback, 6, client, mesh), noLoopback);
});

test.run();
