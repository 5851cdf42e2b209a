// deadline: 20s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decodeUdpRequest,
  decodeUdpResponse,
  encodeAnnounceRequest,
  encodeAnnounceResponse,
  encodeConnectRequest,
  encodeConnectResponse,
  encodeErrorResponse,
  encodeScrapeRequest,
  encodeScrapeResponse,
} from '../../src/codec/tracker-udp';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const HASH = new Uint8Array(20).fill(0xab);
const PEER = new Uint8Array(20).fill(0x2d);
const CID = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);

test('connect request: the BEP 15 bytes', () => {
  const bytes = hex('00000417 27101980 00000000 deadbeef');
  assert.equal(Buffer.from(encodeConnectRequest(0xdeadbeef)), bytes);
  const r = decodeUdpRequest(bytes);
  assert.ok(r.ok && r.request.action === 'connect' && r.request.transactionId === 0xdeadbeef);
  assert.equal(Buffer.from(encodeConnectResponse(0xdeadbeef, CID)), hex('00000000 deadbeef 0102030405060708'));
});

test('announce request: every field at its offset', () => {
  const bytes = encodeAnnounceRequest({
    connectionId: CID,
    transactionId: 7,
    infoHash: HASH,
    peerId: PEER,
    downloaded: 2 ** 40,
    left: 5,
    uploaded: 3,
    event: 'started',
    ip: 0x0a000001,
    key: 99,
    numWant: 30,
    port: 6881,
  });
  assert.is(bytes.length, 98);
  assert.equal(Buffer.from(bytes.subarray(80, 98)), hex('00000002 0a000001 00000063 0000001e 1ae1'));
  const r = decodeUdpRequest(bytes);
  assert.ok(r.ok);
  if (!r.ok || r.request.action !== 'announce') return assert.unreachable();
  const a = r.request;
  assert.equal([...a.connectionId], [...CID]);
  assert.equal([a.transactionId, a.downloaded, a.left, a.uploaded, a.event, a.ip, a.key, a.numWant, a.port], [7, 2 ** 40, 5, 3, 'started', 0x0a000001, 99, 30, 6881]);
  assert.equal([...a.infoHash], [...HASH]);
  assert.is(a.urlData, undefined);
});

test('announce: BEP 41 options tolerated, URLData read, broken options ignored', () => {
  const base = { connectionId: CID, transactionId: 1, infoHash: HASH, peerId: PEER, left: 0, port: 1 };
  const url = Buffer.from('/announce?x=1');
  const opts = Buffer.concat([Buffer.from([1, 2, url.length]), url, Buffer.from([0, 0xff, 0xff])]);
  const r = decodeUdpRequest(encodeAnnounceRequest({ ...base, options: opts }));
  assert.ok(r.ok && r.request.action === 'announce' && r.request.urlData === '/announce?x=1');
  const truncated = decodeUdpRequest(encodeAnnounceRequest({ ...base, options: Buffer.from([2, 50, 65]) }));
  assert.ok(truncated.ok && truncated.request.action === 'announce' && truncated.request.urlData === undefined);
  const unknown = decodeUdpRequest(encodeAnnounceRequest({ ...base, options: Buffer.from([9, 1, 0, 2, 1, 0x2f]) }));
  assert.ok(unknown.ok && unknown.request.action === 'announce' && unknown.request.urlData === '/');
});

test('scrape request up to 74 hashes; more are not read', () => {
  const hashes = Array.from({ length: 80 }, (_, i) => new Uint8Array(20).fill(i));
  const r = decodeUdpRequest(encodeScrapeRequest(CID, 5, hashes));
  assert.ok(r.ok && r.request.action === 'scrape');
  if (!r.ok || r.request.action !== 'scrape') return;
  assert.is(r.request.infoHashes.length, 74);
  assert.is(r.request.infoHashes[73]![0], 73);
});

const malformed: [string, Uint8Array, string][] = [
  ['empty', new Uint8Array(0), 'short'],
  ['15 bytes', new Uint8Array(15), 'short'],
  ['connect with a wrong magic', hex('00000417 27101981 00000000 00000001'), 'bad protocol id'],
  ['announce cut at 97 bytes', encodeAnnounceRequest({ connectionId: CID, transactionId: 1, infoHash: HASH, peerId: PEER, left: 0, port: 1 }).subarray(0, 97), 'short'],
  ['unknown action 4', hex('0102030405060708 00000004 00000001'), 'unknown action'],
  ['error action from a client', hex('0102030405060708 00000003 00000001'), 'unknown action'],
  ['scrape without a hash', hex('0102030405060708 00000002 00000001'), 'bad scrape length'],
  ['scrape with a partial hash', Buffer.concat([hex('0102030405060708 00000002 00000001'), Buffer.alloc(21)]), 'bad scrape length'],
  ['oversize', new Uint8Array(4096), 'oversize'],
];
for (const [name, bytes, reason] of malformed)
  test(`malformed: ${name}`, () => {
    const r = decodeUdpRequest(bytes);
    assert.not.ok(r.ok);
    if (!r.ok) assert.is(r.reason, reason);
  });

test('bad event number refused', () => {
  const bytes = encodeAnnounceRequest({ connectionId: CID, transactionId: 1, infoHash: HASH, peerId: PEER, left: 0, port: 1 });
  new DataView(bytes.buffer).setUint32(80, 4);
  const r = decodeUdpRequest(bytes);
  assert.ok(!r.ok && r.reason === 'bad event');
});

test('responses: announce, scrape, error round trip', () => {
  const peers = new Uint8Array([10, 0, 0, 1, 0x1a, 0xe1]);
  const a = encodeAnnounceResponse({ transactionId: 9, interval: 120, leechers: 3, seeders: 4, peers });
  assert.equal(Buffer.from(a), Buffer.concat([hex('00000001 00000009 00000078 00000003 00000004'), peers]));
  assert.equal(decodeUdpResponse(a), { action: 'announce', transactionId: 9, interval: 120, leechers: 3, seeders: 4, peers });
  const s = encodeScrapeResponse(2, [{ seeders: 1, completed: 2, leechers: 3 }]);
  assert.equal(Buffer.from(s), hex('00000002 00000002 00000001 00000002 00000003'));
  assert.equal(decodeUdpResponse(s), { action: 'scrape', transactionId: 2, entries: [{ seeders: 1, completed: 2, leechers: 3 }] });
  const e = encodeErrorResponse(3, 'torrent not allowed');
  assert.equal(decodeUdpResponse(e), { action: 'error', transactionId: 3, message: 'torrent not allowed' });
});

test.run();
