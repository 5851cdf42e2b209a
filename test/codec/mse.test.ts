// deadline: 20s
/** MSE receiving side: a full handshake against the test initiator, and malformed ones refused. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { CRYPTO_PLAINTEXT, CRYPTO_RC4, MseError, MseInitiator, MseResponder, Rc4, mseTorrentKey } from '../../src/codec/mse';

const infoHash = randomBytes(20);
const find = (k: string) => (k === mseTorrentKey(infoHash) ? infoHash : undefined);
const throws = (fn: () => unknown, re: RegExp) => {
  try {
    fn();
  } catch (e) {
    assert.instance(e, MseError);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected ${re}`);
};

test('RC4 matches the RFC 6229 test vector (key 0102030405, offset 0)', () => {
  const out = new Rc4(Uint8Array.from([1, 2, 3, 4, 5]), 0).crypt(new Uint8Array(16));
  assert.is(Buffer.from(out).toString('hex'), 'b2396305f03dc027ccc3524a0a1118a8');
});

test('a full handshake, split at every byte: plaintext selected, IA and what follows come out in the clear', () => {
  const a = new MseInitiator(infoHash);
  const b = new MseResponder(find);
  let sent = Buffer.alloc(0);
  for (const byte of a.hello) {
    const o = b.push(Uint8Array.of(byte));
    if (o.send) sent = Buffer.concat([sent, o.send]);
  }
  assert.ok(sent.length >= 96);
  const ia = Buffer.from('the BitTorrent handshake would be here');
  const step3 = Buffer.concat([a.step3(sent, ia), Buffer.from('then plain')]);
  let reply = Buffer.alloc(0);
  let payload: Uint8Array | undefined;
  for (const byte of step3) {
    if (payload) {
      payload = Buffer.concat([payload, Uint8Array.of(byte)]);
      continue;
    }
    const o = b.push(Uint8Array.of(byte));
    if (o.send) reply = Buffer.concat([reply, o.send]);
    if (o.payload) payload = o.payload;
  }
  assert.is(Buffer.from(payload!).toString(), 'the BitTorrent handshake would be herethen plain');
  assert.is(a.readSelect(reply), CRYPTO_PLAINTEXT);
  assert.is(Buffer.compare(Buffer.from(b.infoHash!), infoHash), 0);
});

function upTo3(provide = CRYPTO_PLAINTEXT | CRYPTO_RC4, hash = infoHash) {
  const a = new MseInitiator(hash, provide);
  const b = new MseResponder(find);
  const yb = b.push(a.hello).send!;
  return { a, b, yb };
}

test('a peer offering RC4 only gets RC4 for the whole stream, both ways', () => {
  const { a, b, yb } = upTo3(CRYPTO_RC4);
  const out = b.push(Buffer.concat([a.step3(yb, Buffer.from('IA')), a.encryptNext(Buffer.from(' and more'))]));
  assert.is(a.readSelect(out.send!), CRYPTO_RC4);
  assert.is(Buffer.from(out.payload!).toString(), 'IA and more');
  assert.ok(b.cipher);
  const later = b.cipher!.decrypt.crypt(Uint8Array.from(a.encryptNext(Buffer.from('next message'))));
  assert.is(Buffer.from(later).toString(), 'next message');
  const reply = b.cipher!.encrypt.crypt(Uint8Array.from(Buffer.from('our handshake')));
  assert.is(Buffer.from(a.decryptNext(reply)).toString(), 'our handshake');
});

test('refused: a torrent we do not seed, no known method, a bad verification constant, too much padding', () => {
  const other = upTo3(CRYPTO_PLAINTEXT, randomBytes(20));
  throws(() => other.b.push(other.a.step3(other.yb, Buffer.alloc(68))), /do not seed/);
  const none = upTo3(0x08);
  throws(() => none.b.push(none.a.step3(none.yb, Buffer.alloc(68))), /offers no method/);
  const vc = upTo3();
  const bad = vc.a.step3(vc.yb, Buffer.alloc(68));
  bad[40]! ^= 1; // first byte of the encrypted VC
  throws(() => vc.b.push(bad), /verification constant/);
  const noSync = new MseResponder(find);
  noSync.push(new MseInitiator(infoHash).hello);
  throws(() => noSync.push(randomBytes(600)), /no MSE synchronisation hash/);
  throws(() => new MseResponder(find).push(Buffer.alloc(96)), /bad Diffie-Hellman key/);
});

test.run();
