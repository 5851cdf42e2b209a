// deadline: 20s
/** BEP 5 KRPC messages: what reaches the DHT package and what is dropped before it. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encode } from '../../src/codec/bencode';
import { MAX_KRPC_DATAGRAM, checkKrpc, outgoingKind } from '../../src/codec/krpc';

const id = Buffer.alloc(20, 1);
const ih = Buffer.alloc(20, 2);
const q = (name: string, a: Record<string, unknown>) => encode({ t: Buffer.from('aa'), y: 'q', q: name, a: { id, ...a } } as never);
const r = (body: Record<string, unknown>) => encode({ t: Buffer.from('aa'), y: 'r', r: { id, ...body } } as never);

test('the four BEP 5 queries, well formed, pass with their method', () => {
  assert.equal(checkKrpc(q('ping', {})), { ok: true, y: 'q', q: 'ping' });
  assert.equal(checkKrpc(q('find_node', { target: id })), { ok: true, y: 'q', q: 'find_node' });
  assert.equal(checkKrpc(q('get_peers', { info_hash: ih })), { ok: true, y: 'q', q: 'get_peers' });
  assert.equal(checkKrpc(q('announce_peer', { info_hash: ih, port: 6881, token: Buffer.alloc(20) })), { ok: true, y: 'q', q: 'announce_peer' });
  assert.equal(checkKrpc(q('announce_peer', { info_hash: ih, implied_port: 1, token: Buffer.alloc(4) })), { ok: true, y: 'q', q: 'announce_peer' });
});

test('replies and errors pass when their fields have BEP 5 sizes', () => {
  assert.equal(checkKrpc(r({})), { ok: true, y: 'r' });
  assert.equal(checkKrpc(r({ nodes: Buffer.alloc(26 * 8), token: Buffer.alloc(8) })), { ok: true, y: 'r' });
  assert.equal(checkKrpc(r({ values: [Buffer.alloc(6), Buffer.alloc(6)] })), { ok: true, y: 'r' });
  assert.equal(checkKrpc(encode({ t: Buffer.from('aa'), y: 'e', e: [201, 'A Generic Error Ocurred'] } as never)), { ok: true, y: 'e' });
});

test('shapes the package would choke on are dropped as malformed', () => {
  const bad: [string, Uint8Array][] = [
    ['not bencode', Buffer.from('hello')],
    ['a list', encode([1, 2] as never)],
    ['no t', encode({ y: 'q', q: 'ping', a: { id } } as never)],
    ['long t', encode({ t: Buffer.alloc(17), y: 'q', q: 'ping', a: { id } } as never)],
    ['y is a number', encode({ t: 'aa', y: 1 } as never)],
    ['unknown y', encode({ t: 'aa', y: 'z' } as never)],
    ['short id', q('ping', { id: Buffer.alloc(19) })],
    ['info_hash an integer', q('get_peers', { info_hash: 5 })],
    ['target missing', q('find_node', {})],
    ['a not a dict', encode({ t: 'aa', y: 'q', q: 'ping', a: [id] } as never)],
    ['announce without token', q('announce_peer', { info_hash: ih, port: 1 })],
    ['announce port 0', q('announce_peer', { info_hash: ih, port: 0, token: Buffer.alloc(4) })],
    ['announce port 70000', q('announce_peer', { info_hash: ih, port: 70000, token: Buffer.alloc(4) })],
    ['announce port a string', q('announce_peer', { info_hash: ih, port: '1', token: Buffer.alloc(4) })],
    ['huge token', q('announce_peer', { info_hash: ih, port: 1, token: Buffer.alloc(65) })],
    ['nodes not a multiple of 26', r({ nodes: Buffer.alloc(27) })],
    ['values of IPv6 size', r({ values: [Buffer.alloc(18)] })],
    ['values not a list', r({ values: Buffer.alloc(6) })],
    ['reply without id', encode({ t: 'aa', y: 'r', r: {} } as never)],
    ['error not a list', encode({ t: 'aa', y: 'e', e: 'x' } as never)],
    ['error code a string', encode({ t: 'aa', y: 'e', e: ['x', 'y'] } as never)],
    ['too deep', encode({ t: 'aa', y: 'r', r: { id, x: [[[[[1]]]]] } } as never)],
    ['duplicate key', Buffer.from(`d1:ad2:id20:${'x'.repeat(20)}e1:q4:ping1:t2:aa1:t2:bb1:y1:qe`, 'latin1')],
    ['trailing bytes', Buffer.concat([q('ping', {}), Buffer.from('x')])],
  ];
  for (const [what, bytes] of bad) assert.equal(checkKrpc(bytes), { ok: false, reason: 'malformed' }, what);
});

test('BEP 44 get/put and unknown methods are not served; oversized datagrams are not read', () => {
  assert.equal(checkKrpc(q('get', { target: id })), { ok: false, reason: 'method' });
  assert.equal(checkKrpc(q('put', { v: 'x', token: Buffer.alloc(4) })), { ok: false, reason: 'method' });
  assert.equal(checkKrpc(q('vote', {})), { ok: false, reason: 'method' });
  assert.equal(checkKrpc(Buffer.alloc(MAX_KRPC_DATAGRAM + 1, 0x64)), { ok: false, reason: 'size' });
});

test('outgoing messages are told apart by their last key', () => {
  assert.is(outgoingKind(q('ping', {})), 'q');
  assert.is(outgoingKind(r({})), 'r');
  assert.is(outgoingKind(encode({ t: 'aa', y: 'e', e: [201, 'x'] } as never)), 'e');
  assert.is(outgoingKind(Buffer.from('garbage')), undefined);
});

test.run();
