// deadline: 20s
/** MSE: the receiving side against the scripted initiator, the connecting side's state machine against the responder, and malformed handshakes refused. */
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

test('RC4 four bytes at a time (aligned) equals RC4 a byte at a time, at any offset and length', () => {
  const key = Buffer.from('meshseed-rc4-key-0123');
  for (const [off, len] of [[0, 3], [0, 4], [1, 9], [4, 1000], [3, 4097], [0, 65536]] as const) {
    const fill = (b: Uint8Array) => b.map((_, k) => (k * 7) & 255);
    const words = fill(new Uint8Array(off + len + 8));
    const bytes = Uint8Array.from(words);
    const a = new Rc4(key);
    a.crypt(words.subarray(off, off + len));
    a.crypt(words.subarray(off + len));
    const b = new Rc4(key);
    for (let n = off; n < bytes.length; n++) b.crypt(bytes.subarray(n, n + 1));
    assert.is(Buffer.compare(Buffer.from(words), Buffer.from(bytes)), 0, `offset ${off}, length ${len}`);
  }
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

// ---- the connecting side (MseInitiator.push), as the daemon dials ----

/** Runs initiator `a` against responder `b`, feeding each side's output to the other in chunks of `chunk`. */
function converse(a: MseInitiator, b: MseResponder, chunk: number, after = Buffer.alloc(0)) {
  const feed = (side: { push(d: Uint8Array): { send?: Uint8Array; payload?: Uint8Array } }, bytes: Uint8Array) => {
    let send = Buffer.alloc(0);
    let payload: Uint8Array | undefined;
    for (let at = 0; at < bytes.length; at += chunk) {
      const piece = bytes.subarray(at, at + chunk);
      if (payload) {
        payload = Buffer.concat([payload, piece]);
        continue;
      }
      const o = side.push(piece);
      if (o.send) send = Buffer.concat([send, o.send]);
      if (o.payload) payload = o.payload;
    }
    return { send, payload };
  };
  const yb = feed(b, a.hello); // Yb, PadB
  const step3 = feed(a, yb.send);
  const step4 = feed(b, step3.send);
  const end = feed(a, Buffer.concat([step4.send, after]));
  return { ia: step4.payload, payload: end.payload };
}

test('the initiator: a full handshake split at every byte, plaintext selected, IA delivered, what follows in the clear', () => {
  const hs = Buffer.from('\x13BitTorrent protocol and the rest of our handshake');
  const a = new MseInitiator(infoHash, CRYPTO_PLAINTEXT | CRYPTO_RC4, 0, hs);
  const r = converse(a, new MseResponder(find), 1, Buffer.from('their handshake'));
  assert.is(Buffer.from(r.ia!).toString(), hs.toString());
  assert.is(Buffer.from(r.payload!).toString(), 'their handshake');
  assert.is(a.selected, CRYPTO_PLAINTEXT);
  assert.is(a.cipher, undefined);
});

test('the initiator offering RC4 only: RC4 selected, both streams agree, in one chunk', () => {
  const a = new MseInitiator(infoHash, CRYPTO_RC4, 512, Buffer.from('IA'));
  const b = new MseResponder(find);
  const r = converse(a, b, 1 << 16);
  assert.is(Buffer.from(r.ia!).toString(), 'IA');
  assert.is(a.selected, CRYPTO_RC4);
  assert.ok(a.cipher && b.cipher);
  const there = b.cipher!.decrypt.crypt(a.cipher!.encrypt.crypt(Uint8Array.from(Buffer.from('request'))));
  assert.is(Buffer.from(there).toString(), 'request');
  const back = a.cipher!.decrypt.crypt(b.cipher!.encrypt.crypt(Uint8Array.from(Buffer.from('piece'))));
  assert.is(Buffer.from(back).toString(), 'piece');
});

/** Step 2 and step 4 from a real responder, for tampering: [Yb, PadB] and step 4's 14 bytes. */
function replies(provide = CRYPTO_PLAINTEXT) {
  const a = new MseInitiator(infoHash, provide, 0, Buffer.from('IA'));
  const b = new MseResponder(find);
  const two = b.push(a.hello).send!;
  const yb = Buffer.from(two.subarray(0, 96));
  const step3 = a.push(yb).send!;
  const four = Buffer.from(b.push(step3).send!);
  return { a, yb, four };
}

test('the initiator finds ENCRYPT(VC) after a PadB of 512 bytes, and gives up past it', () => {
  const ok = replies();
  const out = ok.a.push(Buffer.concat([randomBytes(512), ok.four]));
  assert.ok(out.payload);
  assert.is(ok.a.selected, CRYPTO_PLAINTEXT);
  const late = replies();
  throws(() => late.a.push(Buffer.concat([randomBytes(513), late.four])), /no MSE verification constant within 520 bytes/);
  const none = replies();
  throws(() => none.a.push(randomBytes(2000)), /no MSE verification constant/);
});

test('the initiator refuses a bad Yb, a method it did not offer, a PadD over 512 bytes', () => {
  throws(() => new MseInitiator(infoHash).push(Buffer.alloc(96)), /bad Diffie-Hellman key/);
  throws(() => new MseInitiator(infoHash).push(Buffer.alloc(96, 0xff)), /bad Diffie-Hellman key/);
  const rc4 = replies(CRYPTO_PLAINTEXT);
  rc4.four[11]! ^= CRYPTO_PLAINTEXT ^ CRYPTO_RC4; // select RC4, which we did not offer (a stream cipher: flip the bits)
  throws(() => rc4.a.push(rc4.four), /crypto_select 0x2 is not one method we offered/);
  const both = replies(CRYPTO_PLAINTEXT | CRYPTO_RC4);
  both.four[11]! ^= 0x02; // select 0x03
  throws(() => both.a.push(both.four), /crypto_select 0x3/);
  const pad = replies();
  pad.four[12]! ^= 0x08; // len(PadD) = 2048
  throws(() => pad.a.push(pad.four), /PadD longer than 512/);
  throws(() => new MseInitiator(infoHash, CRYPTO_RC4, 513), /too long/);
});

test.run();
