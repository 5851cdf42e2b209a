// deadline: 20s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  buildHttpAnnounceUrl,
  decodeUdpAnnounceReply,
  decodeUdpConnectReply,
  encodeUdpAnnounceRequest,
  encodeUdpConnectRequest,
  ipv6,
  parseHttpAnnounceReply,
  percentEncodeBytes,
  udpTransactionId,
  type AnnounceRequest,
} from '../../src/codec/announce-client';
import { encode } from '../../src/codec/bencode';
import { deadline } from '../helpers';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const infoHash = hex('00112233445566778899aabbccddeeff01234567');
const peerId = Buffer.from('-MS0100-abc~def.ghi_', 'latin1');
const req: AnnounceRequest = {
  infoHash,
  peerId,
  port: 6881,
  uploaded: 1234,
  downloaded: 0,
  left: 0,
  event: 'started',
  numwant: 30,
  key: 0xdeadbeef,
};
const b = (v: Parameters<typeof encode>[0]) => encode(v);

test(
  'percent-encoding keeps unreserved bytes only',
  deadline(1000, () => {
    assert.is(percentEncodeBytes(hex('00 41 7a 2d 2e 5f 7e 20 25 ff')), '%00Az-._~%20%25%FF');
  }),
);

test(
  'HTTP announce URL: every parameter, the announce URL query kept, fragment dropped',
  deadline(1000, () => {
    const params =
      'info_hash=%00%11%223DUfw%88%99%AA%BB%CC%DD%EE%FF%01%23Eg&peer_id=-MS0100-abc~def.ghi_&port=6881&uploaded=1234&downloaded=0&left=0&compact=1&no_peer_id=1&numwant=30&key=DEADBEEF&event=started';
    const table: [string, string][] = [
      ['http://t.invalid/announce', `http://t.invalid/announce?${params}`],
      ['http://t.invalid/announce?passkey=abc', `http://t.invalid/announce?passkey=abc&${params}`],
      ['http://t.invalid/announce?', `http://t.invalid/announce?${params}`],
      ['http://t.invalid/a.php?x=1&', `http://t.invalid/a.php?x=1&${params}`],
      ['http://t.invalid:7000/announce#frag', `http://t.invalid:7000/announce?${params}`],
    ];
    for (const [base, want] of table) assert.is(buildHttpAnnounceUrl(base, req), want, base);
    const none = buildHttpAnnounceUrl('http://t.invalid/announce', { ...req, event: 'none', numwant: 9999, trackerId: 'a b' });
    assert.not.match(none, /event=/);
    assert.match(none, /numwant=200&/);
    assert.match(none, /&trackerid=a%20b$/);
    assert.throws(() => buildHttpAnnounceUrl('http://t.invalid/', { ...req, infoHash: infoHash.subarray(1) }));
  }),
);

test(
  'HTTP reply: valid forms',
  deadline(1000, () => {
    const compact = Buffer.concat([hex('0a000001 1ae1'), hex('c0a80102 0050'), hex('0a000003 0000')]);
    const v6 = Buffer.concat([hex('20010db8000000000000000000000001 1ae1'), hex('00000000000000000000ffff0a000005 0051')]);
    const r = parseHttpAnnounceReply(
      b({ interval: 1800, 'min interval': 60, complete: 3, incomplete: 2, 'warning message': 'be\nnice', 'tracker id': 'T1', peers: compact, peers6: v6 }),
    );
    assert.equal(r, {
      ok: true,
      value: {
        interval: 1800,
        minInterval: 60,
        complete: 3,
        incomplete: 2,
        warning: 'be nice',
        trackerId: 'T1',
        peers: [
          { address: '10.0.0.1', port: 6881 },
          { address: '192.168.1.2', port: 80 },
          // port 0 skipped
          { address: '2001:db8::1', port: 6881 },
          { address: '::ffff:10.0.0.5', port: 81 },
        ],
      },
    });
    const dicts = parseHttpAnnounceReply(
      b({ interval: 60, peers: [{ ip: '10.1.2.3', port: 51413, 'peer id': 'x'.repeat(20) }, { ip: 'evil.invalid', port: 1 }, { ip: '::1', port: 2 }] }),
    );
    assert.equal(dicts, { ok: true, value: { interval: 60, peers: [{ address: '10.1.2.3', port: 51413 }, { address: '::1', port: 2 }] } });
    assert.equal(parseHttpAnnounceReply(b({ interval: 5 })), { ok: true, value: { interval: 5, peers: [] } });
    const many = Buffer.alloc(6 * 1000, 1);
    const capped = parseHttpAnnounceReply(b({ interval: 5, peers: many }), 50);
    assert.ok(capped.ok && capped.value.peers.length === 50);
  }),
);

test(
  'HTTP reply: failure reason and malformed replies',
  deadline(1000, () => {
    assert.equal(parseHttpAnnounceReply(b({ 'failure reason': 'unregistered torrent' })), {
      ok: false,
      reason: 'unregistered torrent',
      fromTracker: true,
    });
    const bad: [string, Uint8Array, RegExp][] = [
      ['not bencode', Buffer.from('<html>502 Bad Gateway</html>'), /not bencode/],
      ['empty', Buffer.alloc(0), /not bencode/],
      ['trailing bytes', Buffer.from('d8:intervali5eeXX'), /not bencode/],
      ['a list', b([1, 2]), /not a dictionary/],
      ['negative interval', b({ interval: -1 }), /'interval'/],
      ['string interval', b({ interval: '60' }), /'interval'/],
      ['peers not multiple of 6', b({ interval: 5, peers: Buffer.alloc(7) }), /multiple of 6/],
      ['peers6 not multiple of 18', b({ interval: 5, peers6: Buffer.alloc(17) }), /multiple of 18/],
      ['peers an int', b({ interval: 5, peers: 3 }), /neither/],
      ['peers6 a list', b({ interval: 5, peers6: [] }), /peers6/],
      ['peer not a dict', b({ interval: 5, peers: ['x'] }), /not a dictionary/],
      ['peer port out of range', b({ interval: 5, peers: [{ ip: '1.2.3.4', port: 70000 }] }), /valid ip or port/],
      ['deeply nested', Buffer.from('d1:xllllllllee' + 'e'.repeat(0) + 'eeeeee'), /not bencode/],
    ];
    for (const [name, body, why] of bad) {
      const r = parseHttpAnnounceReply(body);
      assert.is(r.ok, false, name);
      if (!r.ok) {
        assert.match(r.reason, why, name);
        assert.not.ok(r.fromTracker, name);
      }
    }
  }),
);

test(
  'UDP connect: request bytes and replies',
  deadline(1000, () => {
    assert.equal(Buffer.from(encodeUdpConnectRequest(0x01020304)), hex('0000041727101980 00000000 01020304'));
    const ok = hex('00000000 01020304 1122334455667788');
    assert.is(udpTransactionId(ok), 0x01020304);
    assert.equal(decodeUdpConnectReply(ok, 0x01020304), { ok: true, value: 0x1122334455667788n });
    assert.equal(decodeUdpConnectReply(Buffer.concat([ok, hex('00')]), 0x01020304), { ok: true, value: 0x1122334455667788n });
    assert.equal(decodeUdpConnectReply(Buffer.concat([hex('00000003 01020304'), Buffer.from('go away')]), 0x01020304), {
      ok: false,
      reason: 'go away',
      fromTracker: true,
    });
    const bad: [string, Uint8Array][] = [
      ['short', hex('00000000 010203')],
      ['truncated id', hex('00000000 01020304 11223344')],
      ['other transaction', hex('00000000 01020305 1122334455667788')],
      ['announce action', hex('00000001 01020304 1122334455667788')],
    ];
    for (const [name, d] of bad) {
      const r = decodeUdpConnectReply(d, 0x01020304);
      assert.is(r.ok, false, name);
      assert.not.ok(!r.ok && r.fromTracker, name);
    }
    assert.is(udpTransactionId(hex('000000')), undefined);
  }),
);

test(
  'UDP announce: request bytes',
  deadline(1000, () => {
    const d = encodeUdpAnnounceRequest(0x1122334455667788n, 7, { ...req, downloaded: 5, left: 6, uploaded: 2 ** 40, numwant: 1000 });
    assert.equal(
      Buffer.from(d).toString('hex'),
      '1122334455667788' + '00000001' + '00000007' + infoHash.toString('hex') + peerId.toString('hex') +
        '0000000000000005' + '0000000000000006' + '0000010000000000' + '00000002' + '00000000' + 'deadbeef' + '000000c8' + '1ae1',
    );
    const stopped = Buffer.from(encodeUdpAnnounceRequest(1n, 7, { ...req, event: 'stopped' }));
    assert.is(stopped.readUInt32BE(80), 3);
    assert.is(Buffer.from(encodeUdpAnnounceRequest(1n, 7, { ...req, event: 'none' })).readUInt32BE(80), 0);
    assert.is(Buffer.from(encodeUdpAnnounceRequest(1n, 7, { ...req, event: 'paused' })).readUInt32BE(80), 0);
  }),
);

test(
  'UDP announce: replies over IPv4 and IPv6, errors, malformed',
  deadline(1000, () => {
    const head = hex('00000001 00000007 00000708 00000002 00000005');
    assert.equal(decodeUdpAnnounceReply(Buffer.concat([head, hex('0a000001 1ae1 7f000001 0000')]), 7, 4), {
      ok: true,
      value: { interval: 1800, incomplete: 2, complete: 5, peers: [{ address: '10.0.0.1', port: 6881 }] },
    });
    assert.equal(decodeUdpAnnounceReply(Buffer.concat([head, hex('fe800000000000000000000000000001 0001')]), 7, 6), {
      ok: true,
      value: { interval: 1800, incomplete: 2, complete: 5, peers: [{ address: 'fe80::1', port: 1 }] },
    });
    assert.equal(decodeUdpAnnounceReply(Buffer.concat([hex('00000003 00000007'), Buffer.from('torrent not allowed')]), 7, 4), {
      ok: false,
      reason: 'torrent not allowed',
      fromTracker: true,
    });
    const bad: [string, Uint8Array, 4 | 6][] = [
      ['short header', head.subarray(0, 19), 4],
      ['ipv4 peers not multiple of 6', Buffer.concat([head, hex('0a0000011a')]), 4],
      ['ipv6 tracker sending 6-byte peers', Buffer.concat([head, hex('0a000001 1ae1')]), 6],
      ['other transaction', Buffer.concat([hex('00000001 00000008'), head.subarray(8)]), 4],
      ['connect action', Buffer.concat([hex('00000000'), head.subarray(4)]), 4],
      ['tiny', hex('0000'), 4],
    ];
    for (const [name, d, fam] of bad) assert.is(decodeUdpAnnounceReply(d, 7, fam).ok, false, name);
  }),
);

test(
  'IPv6 text is RFC 5952',
  deadline(1000, () => {
    const table: [string, string][] = [
      ['00000000000000000000000000000001', '::1'],
      ['00000000000000000000000000000000', '::'],
      ['20010db8000000010000000000000001', '2001:db8:0:1::1'],
      ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
      ['20010db8000100010001000100010001', '2001:db8:1:1:1:1:1:1'],
      ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ];
    for (const [h, want] of table) assert.is(ipv6(hex(h), 0), want, h);
  }),
);

test.run();
