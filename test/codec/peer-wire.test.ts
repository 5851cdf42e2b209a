// deadline: 20s
import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BLOCK_SIZE,
  HANDSHAKE_LENGTH,
  MAX_EXTENDED_LENGTH,
  PeerWireError,
  PeerWireFramer,
  decodeExtendedHandshake,
  decodeHandshake,
  decodeMessage,
  decodeMetadataMessage,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMessage,
  encodeMetadataMessage,
  makeBitfield,
  maxMessageLength,
  type Message,
} from '../../src/codec/peer-wire';
import {
  PEX_MAX_ADDED,
  decodeCompactPeers,
  decodePex,
  encodeCompactPeer,
  encodePex,
  formatIPv6,
} from '../../src/codec/pex';
import { encode } from '../../src/codec/bencode';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const limits = { pieceCount: 10 };
const ih = Buffer.alloc(20, 0xab);
const pid = Buffer.from('-MS0100-abcdefghijkl');
const throws = (fn: () => unknown, re: RegExp) => {
  try {
    fn();
  } catch (e) {
    assert.instance(e, PeerWireError);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected an error matching ${re}`);
};

test('handshake: reserved bits for extension (byte 5, 0x10) and fast (byte 7, 0x04)', () => {
  const b = encodeHandshake({ infoHash: ih, peerId: pid, extension: true, fast: true });
  assert.is(b.length, HANDSHAKE_LENGTH);
  assert.is(b[0], 19);
  assert.is(Buffer.from(b.subarray(1, 20)).toString(), 'BitTorrent protocol');
  assert.equal([...b.subarray(20, 28)], [0, 0, 0, 0, 0, 0x10, 0, 0x04]);
  const h = decodeHandshake(b);
  assert.equal([h.extension, h.fast, h.dht], [true, true, false]);
  assert.is(hex(h.infoHash), hex(ih));
  assert.is(hex(h.peerId), hex(pid));
  const plain = decodeHandshake(encodeHandshake({ infoHash: ih, peerId: pid, extension: false, fast: false }));
  assert.equal([plain.extension, plain.fast], [false, false]);
});

test('handshake: another protocol or length is refused', () => {
  const b = Buffer.from(encodeHandshake({ infoHash: ih, peerId: pid, extension: true, fast: true }));
  b.write('X', 1);
  throws(() => decodeHandshake(b), /not a BitTorrent handshake/);
  throws(() => decodeHandshake(b.subarray(0, 67)), /handshake of 67 bytes/);
});

// every message: encoded bytes, decoded back
const table: [string, Message, string][] = [
  ['keep-alive', { type: 'keepAlive' }, '00000000'],
  ['choke', { type: 'choke' }, '0000000100'],
  ['unchoke', { type: 'unchoke' }, '0000000101'],
  ['interested', { type: 'interested' }, '0000000102'],
  ['not interested', { type: 'notInterested' }, '0000000103'],
  ['have', { type: 'have', index: 9 }, '000000050400000009'],
  ['bitfield', { type: 'bitfield', bits: Uint8Array.from([0xff, 0xc0]) }, '0000000305ffc0'],
  ['request', { type: 'request', index: 1, begin: 16384, length: 16384 }, '0000000d06000000010000400000004000'],
  ['piece', { type: 'piece', index: 2, begin: 0, block: Uint8Array.from([1, 2, 3]) }, '0000000c07000000020000000010203'.replace('0010203', '00010203')],
  ['cancel', { type: 'cancel', index: 1, begin: 0, length: 16384 }, '0000000d08000000010000000000004000'],
  ['port', { type: 'port', port: 6881 }, '00000003091ae1'],
  ['suggest (BEP 6)', { type: 'suggest', index: 3 }, '000000050d00000003'],
  ['have all (BEP 6)', { type: 'haveAll' }, '000000010e'],
  ['have none (BEP 6)', { type: 'haveNone' }, '000000010f'],
  ['reject (BEP 6)', { type: 'reject', index: 1, begin: 0, length: 16384 }, '0000000d10000000010000000000004000'],
  ['allowed fast (BEP 6)', { type: 'allowedFast', index: 4 }, '000000051100000004'],
  ['extended (BEP 10)', { type: 'extended', extId: 0, payload: Buffer.from('de') }, '000000041400' + '6465'],
];
for (const [name, m, wire] of table) {
  test(`message ${name}: encodes and decodes`, () => {
    const b = encodeMessage(m);
    assert.is(hex(b), wire);
    assert.is(Buffer.from(b).readUInt32BE(0), b.length - 4, 'length prefix');
    const back = decodeMessage(b.subarray(4), limits);
    const norm = (x: Message) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, v instanceof Uint8Array ? hex(v) : v]));
    assert.equal(norm(back), norm(m));
  });
}

const malformed: [string, string, RegExp][] = [
  ['unknown id', '15', /unknown message id 21/],
  ['choke with a payload', '0000', /choke of 1 payload bytes, expected 0/],
  ['have too short', '04000000', /have of 3 payload bytes, expected 4/],
  ['have past the last piece', '040000000a', /past the last piece/],
  ['request too long', '06' + '00'.repeat(13), /request of 13 payload bytes/],
  ['cancel too short', '08' + '00'.repeat(11), /cancel of 11 payload bytes/],
  ['reject too long', '10' + '00'.repeat(13), /reject of 13 payload bytes/],
  ['bitfield too short', '05ff', /bitfield of 1 bytes, expected 2/],
  ['bitfield too long', '05ffc000', /bitfield of 3 bytes, expected 2/],
  ['bitfield with spare bits set', '05ffe0', /spare bits set/],
  ['piece without a header', '070000000100', /piece message of 5 payload bytes/],
  ['piece larger than a block', '07' + '00'.repeat(8 + BLOCK_SIZE + 1), /piece message of/],
  ['port too short', '0900', /port of 1 payload bytes/],
  ['have all with a payload', '0e00', /haveAll of 1 payload bytes/],
  ['extended without a sub-id', '14', /extended message of 0 payload bytes/],
  ['extended too large', '14' + '00'.repeat(MAX_EXTENDED_LENGTH + 1), /extended message of/],
];
for (const [name, b, re] of malformed) test(`malformed ${name} is refused`, () => throws(() => decodeMessage(Buffer.from(b, 'hex'), limits), re));

test('bitfield of exact length with spare bits zero', () => {
  const bits = makeBitfield(10, (i) => i !== 3);
  assert.is(hex(bits), 'efc0');
  assert.is(makeBitfield(8, () => true).length, 1);
  assert.is(hex(makeBitfield(9, () => true)), 'ff80');
});

test('framer: handshake then messages, split at every byte', () => {
  const hs = encodeHandshake({ infoHash: ih, peerId: pid, extension: true, fast: false });
  const stream = Buffer.concat([hs, encodeMessage({ type: 'interested' }), encodeMessage({ type: 'keepAlive' }), encodeMessage({ type: 'request', index: 1, begin: 0, length: 16384 })]);
  const f = new PeerWireFramer(maxMessageLength(limits));
  const got: string[] = [];
  for (let i = 0; i < stream.length; i++)
    f.push(stream.subarray(i, i + 1), (h) => got.push(`hs ${h.extension}`), (b) => got.push(decodeMessage(b, limits).type));
  assert.equal(got, ['hs true', 'interested', 'keepAlive', 'request']);
  assert.is(f.bufferedBytes, 0);
});

test('framer: any cut of the stream gives the same messages, a whole message a view of the input, cut pieces reassembled (transientPieces)', () => {
  const hs = encodeHandshake({ infoHash: ih, peerId: pid, extension: true, fast: true });
  const block = (n: number) => Buffer.from(Array.from({ length: BLOCK_SIZE }, (_, i) => (i * 7 + n) & 255));
  const messages: Message[] = [
    { type: 'bitfield', bits: Uint8Array.from([0xff, 0x80]) },
    { type: 'keepAlive' },
    { type: 'piece', index: 1, begin: 0, block: block(1) },
    { type: 'have', index: 3 },
    { type: 'piece', index: 1, begin: BLOCK_SIZE, block: block(2) },
    { type: 'keepAlive' },
    { type: 'piece', index: 2, begin: 0, block: block(3) },
  ];
  const stream = Buffer.concat([hs, ...messages.map(encodeMessage)]);
  const show = (m: Message) => (m.type === 'piece' ? `piece ${m.index} ${m.begin} ${createHash('sha1').update(m.block).digest('hex')}` : JSON.stringify(m));
  const want = messages.map((m) => show(decodeMessage(encodeMessage(m).subarray(4), limits)));
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n) + 1;
  for (const transientPieces of [false, true])
    for (let round = 0; round < 200; round++) {
      const f = new PeerWireFramer(maxMessageLength(limits), true, { transientPieces });
      const got: string[] = [];
      const kept: Uint8Array[] = [];
      let handshakes = 0;
      for (let at = 0; at < stream.length; ) {
        // a few rounds cut at every byte around the frame boundaries, the rest at random sizes
        const n = round < 3 ? 1 + round : rand(round % 2 ? 40 : 3 * BLOCK_SIZE);
        // each read in a fresh buffer, scribbled over after the push (as a reused read buffer would be)
        const chunk = Buffer.from(stream.subarray(at, at + n));
        f.push(chunk, () => handshakes++, (b) => {
          got.push(show(decodeMessage(b, limits)));
          if (b[0] !== 7) kept.push(b);
        });
        chunk.fill(0xee);
        at += n;
      }
      assert.is(handshakes, 1);
      assert.equal(got, want);
      assert.is(f.bufferedBytes, 0);
      // messages other than pieces stay the caller's once delivered (a cut one is not overwritten by a later cut)
      if (round < 3) assert.ok(kept.every((b) => b[0] !== 0xee || b.length === 0));
    }
});

test('framer (transientInput): every body but a piece is the caller\'s to keep, whole or cut, when the read buffer is reused', () => {
  const messages: Message[] = [
    { type: 'bitfield', bits: Uint8Array.from([0xff, 0x80]) },
    { type: 'have', index: 3 },
    { type: 'piece', index: 1, begin: 0, block: Buffer.alloc(BLOCK_SIZE, 5) },
    { type: 'extended', extId: 2, payload: Buffer.from('d5:added0:e') },
    { type: 'request', index: 2, begin: 0, length: BLOCK_SIZE },
  ];
  const stream = Buffer.concat(messages.map(encodeMessage));
  for (const size of [1, 7, 100, stream.length]) {
    const f = new PeerWireFramer(maxMessageLength(limits), false, { transientPieces: true, transientInput: true });
    const read = Buffer.alloc(size);
    const kept: Uint8Array[] = [];
    for (let at = 0; at < stream.length; at += size) {
      // one read buffer for every read, scribbled over after each push
      const n = stream.copy(read, 0, at, at + size);
      f.push(read.subarray(0, n), () => {}, (b) => {
        if (b[0] !== 7) kept.push(b);
      });
      read.fill(0xee);
    }
    assert.equal(
      kept.map((b) => JSON.stringify(decodeMessage(b, limits))),
      messages.filter((m) => m.type !== 'piece').map((m) => JSON.stringify(decodeMessage(encodeMessage(m).subarray(4), limits))),
      `reads of ${size} bytes`,
    );
  }
});

test('framer: an oversized length is refused after 4 bytes, before buffering', () => {
  const f = new PeerWireFramer(maxMessageLength(limits), false);
  throws(() => f.push(Buffer.from('7fffffff', 'hex'), () => {}, () => {}), /message length 2147483647 is more than the largest legal/);
  const g = new PeerWireFramer(maxMessageLength(limits), false);
  // the largest legal message for a small torrent: an extended message
  throws(() => g.push(Buffer.from((maxMessageLength(limits) + 1).toString(16).padStart(8, '0'), 'hex'), () => {}, () => {}), /more than the largest legal/);
});

test('framer: largest legal message bounds follow the torrent (bitfield of its size, a 16 KiB piece)', () => {
  assert.is(maxMessageLength({ pieceCount: 8 }), 1 + MAX_EXTENDED_LENGTH);
  // 2 million pieces: the bitfield (250000 bytes + id) is the largest legal message
  assert.is(maxMessageLength({ pieceCount: 2_000_000 }), 1 + 250_000);
  assert.ok(maxMessageLength(limits) >= 9 + BLOCK_SIZE);
});

test('framer: garbage instead of a handshake fails on the first byte', () => {
  const f = new PeerWireFramer(100);
  throws(() => f.push(Buffer.from('GET / HTTP/1.1\r\n'), () => {}, () => {}), /not a BitTorrent handshake/);
});

test('extension handshake (BEP 10): every field round-trips', () => {
  const payload = encodeExtendedHandshake({
    m: new Map([['ut_pex', 2], ['ut_metadata', 1]]),
    metadataSize: 31234,
    port: 6881,
    version: 'meshseed 0.1.0',
    yourIp: Uint8Array.from([10, 0, 0, 7]),
    reqq: 250,
    uploadOnly: true,
  });
  assert.is(
    Buffer.from(payload).toString('latin1'),
    'd1:md11:ut_metadatai1e6:ut_pexi2ee13:metadata_sizei31234e1:pi6881e4:reqqi250e11:upload_onlyi1e1:v14:meshseed 0.1.06:yourip4:\x0a\x00\x00\x07e',
  );
  const h = decodeExtendedHandshake(payload);
  assert.equal([...h.m], [['ut_metadata', 1], ['ut_pex', 2]]);
  assert.equal([h.metadataSize, h.port, h.version, h.reqq, h.uploadOnly], [31234, 6881, 'meshseed 0.1.0', 250, true]);
  assert.equal([...h.yourIp!], [10, 0, 0, 7]);
});

test('extension handshake: ill-typed optional fields are ignored, bad bencode refused', () => {
  const h = decodeExtendedHandshake(encode({ m: { ut_pex: 999, ut_metadata: 3 }, p: 70000, reqq: 'x', metadata_size: -1 }));
  assert.equal([...h.m], [['ut_metadata', 3]]);
  assert.equal([h.port, h.reqq, h.metadataSize], [undefined, undefined, undefined]);
  throws(() => decodeExtendedHandshake(Buffer.from('d1:mi1e')), /extension handshake/);
  throws(() => decodeExtendedHandshake(encode({ m: 5 })), /m is not a dict/);
  throws(() => decodeExtendedHandshake(encode([1])), /not a dict/);
});

test('ut_metadata (BEP 9): request, data, reject', () => {
  const req = encodeMetadataMessage({ msgType: 'request', piece: 0 });
  assert.is(Buffer.from(req).toString(), 'd8:msg_typei0e5:piecei0ee');
  assert.equal(decodeMetadataMessage(req), { msgType: 'request', piece: 0 });
  const data = Buffer.alloc(100, 7);
  const d = encodeMetadataMessage({ msgType: 'data', piece: 1, totalSize: 16384 + 100, data });
  assert.ok(Buffer.from(d).toString('latin1').startsWith('d8:msg_typei1e5:piecei1e10:total_sizei16484ee\x07'));
  assert.is(d.length, 'd8:msg_typei1e5:piecei1e10:total_sizei16484ee'.length + 100);
  const back = decodeMetadataMessage(d);
  assert.is(back.msgType, 'data');
  assert.is((back as { data: Uint8Array }).data.length, 100);
  assert.equal(decodeMetadataMessage(encodeMetadataMessage({ msgType: 'reject', piece: 2 })), { msgType: 'reject', piece: 2 });
});

test('ut_metadata: malformed messages are refused', () => {
  throws(() => decodeMetadataMessage(encode({ msg_type: 0 })), /piece missing/);
  throws(() => decodeMetadataMessage(encode({ msg_type: 0, piece: -1 })), /out of range/);
  throws(() => decodeMetadataMessage(encode({ msg_type: 7, piece: 0 })), /msg_type 7 unknown/);
  throws(() => decodeMetadataMessage(Buffer.concat([encode({ msg_type: 0, piece: 0 }), Buffer.from('x')])), /trailing bytes/);
  throws(() => decodeMetadataMessage(Buffer.concat([encode({ msg_type: 1, piece: 0, total_size: 10 }), Buffer.alloc(9)])), /data of 9 bytes, expected 10/);
  throws(() => decodeMetadataMessage(encode({ msg_type: 1, piece: 0, total_size: 1 << 30 })), /total_size/);
  throws(() => decodeMetadataMessage(Buffer.from('d8:msg_type')), /ut_metadata/);
});

test('compact peers (BEP 23/7) and IPv6 text', () => {
  assert.is(hex(encodeCompactPeer('10.0.0.2', 6881)!), '0a0000021ae1');
  assert.is(hex(encodeCompactPeer('fd00::1', 1)!), 'fd000000000000000000000000000001' + '0001');
  assert.equal(decodeCompactPeers(Buffer.from('0a0000021ae1', 'hex'), 4), [{ address: '10.0.0.2', port: 6881 }]);
  assert.equal(decodeCompactPeers(encodeCompactPeer('2001:db8::5:0:7', 80)!, 6), [{ address: '2001:db8::5:0:7', port: 80 }]);
  assert.is(formatIPv6([0, 0, 0, 0, 0, 0, 0, 1]), '::1');
  assert.is(formatIPv6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 0]), '2001:db8:0:0:1::');
  throws(() => decodeCompactPeers(Buffer.alloc(7), 4), /not a multiple of 6/);
});

test('ut_pex (BEP 11): added, added.f, added6, dropped round-trip; at most 50 added', () => {
  const m = {
    added: [
      { address: '10.0.0.2', port: 6881, flags: 0x10 },
      { address: 'fd00::2', port: 51413, flags: 0x02 },
    ],
    dropped: [{ address: '10.0.0.9', port: 1 }],
  };
  const b = encodePex(m);
  const s = Buffer.from(b).toString('latin1');
  for (const k of ['5:added6:', '7:added.f1:\x10', '6:added618:', '8:added6.f1:\x02', '7:dropped6:', '8:dropped60:']) assert.ok(s.includes(k), k);
  const back = decodePex(b);
  assert.equal(back.added, m.added);
  assert.equal(back.dropped, [{ address: '10.0.0.9', port: 1 }]);
  const many = Array.from({ length: PEX_MAX_ADDED + 1 }, (_, i) => ({ address: `10.0.1.${i}`, port: 1000 }));
  throws(() => encodePex({ added: many, dropped: [] }), /at most 50/);
  throws(() => decodePex(encode({ added: Buffer.alloc(7) })), /not a multiple of 6/);
  throws(() => decodePex(encode({ added: Buffer.alloc(6 * 201) })), /more than 200/);
  throws(() => decodePex(encode({ added: 5 })), /not a string/);
});

test.run();
