/**
 * Message Stream Encryption (MSE, "protocol encryption"), both sides. aria2,
 * libtorrent and Transmission open connections with an MSE handshake by default and retry
 * in plain text only after it fails, which costs each connection a second or more; a
 * client set to "encryption required" never retries, and Transmission 3.00 set to
 * "encryption preferred" (its default) offers RC4 only and, after a failure, retries with
 * a handshake still run through its old cipher, which no one can read. So meshseed answers
 * the MSE handshake: when the peer offers plaintext (crypto_provide bit 0x01) it selects
 * it, and only the handshake itself is RC4-encrypted; a peer that offers RC4 only gets RC4
 * for the whole stream (`cipher`), which costs a copy and a pass over every byte sent.
 * When meshseed dials (MseInitiator) it offers both and takes what the peer selects: a peer
 * set to "encryption required" (Transmission) or RC4 only (libtorrent's allowed_enc_level)
 * selects RC4. seeder/outgoing-encryption.ts decides when a dial uses MSE at all.
 *
 * The handshake, A the connecting peer and B the receiving one (spec: "Message Stream Encryption",
 * Azureus/Vuze wiki, as implemented by libtorrent, Transmission and aria2):
 *   1 A→B  Ya (96 bytes), PadA (0–512 bytes)
 *   2 B→A  Yb (96 bytes), PadB (0–512 bytes)
 *   3 A→B  HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
 *          ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
 *   4 B→A  ENCRYPT(VC, crypto_select, len(PadD), PadD), then the payload stream
 * Y = G^X mod P (768-bit prime P, G = 2), S the shared secret, SKEY the info hash,
 * HASH = SHA-1, ENCRYPT = RC4 keyed SHA-1('keyA' | 'keyB', S, SKEY) with its first 1024
 * bytes discarded, VC = 8 zero bytes. IA carries the start of the BitTorrent handshake.
 *
 * Pure state machines: bytes in, bytes to send and decrypted payload out. Every length is
 * bounded (pads ≤ 512, IA ≤ MAX_IA, the synchronisation searches ≤ 512 + 20 or 512 + 8
 * bytes) before anything is buffered.
 */
import { createHash, randomBytes } from 'node:crypto';

/** MSE's 768-bit prime (the Oakley group 1 prime). */
const P = BigInt(
  '0xFFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563',
);
const G = 2n;
export const DH_LENGTH = 96;
export const MAX_PAD = 512;
/** The initial payload is the 68-byte BitTorrent handshake, perhaps with a few messages. */
export const MAX_IA = 4096;
export const CRYPTO_PLAINTEXT = 0x01;
export const CRYPTO_RC4 = 0x02;
const VC_LENGTH = 8;
/** Int32Array words hold their first byte lowest (x86, arm, aarch64: every platform Node runs on for OpenWrt). */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** The peer's Diffie-Hellman public key, the first DH_LENGTH bytes; throws on one outside (1, P-1). */
function publicKeyOf(buf: Buffer): bigint {
  const y = BigInt(`0x${buf.subarray(0, DH_LENGTH).toString('hex')}`);
  if (y <= 1n || y >= P - 1n) throw new MseError('bad Diffie-Hellman key');
  return y;
}

export class MseError extends Error {
  override readonly name = 'MseError';
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  base %= mod;
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % mod;
    base = (base * base) % mod;
    exp >>= 1n;
  }
  return result;
}

const toBytes = (n: bigint): Buffer => Buffer.from(n.toString(16).padStart(DH_LENGTH * 2, '0'), 'hex');
const sha1 = (...parts: (string | Uint8Array)[]): Buffer => {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** RC4: the handshake's few hundred bytes, and the whole stream of a connection that selected it. */
export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;
  constructor(key: Uint8Array, discard = 1024) {
    for (let k = 0; k < 256; k++) this.s[k] = k;
    for (let k = 0, j = 0; k < 256; k++) {
      j = (j + this.s[k]! + key[k % key.length]!) & 255;
      [this.s[k], this.s[j]] = [this.s[j]!, this.s[k]!];
    }
    this.crypt(new Uint8Array(discard));
  }
  /** En- or decrypts in place and returns the same bytes. */
  crypt(b: Uint8Array): Uint8Array {
    // i and j in locals, each state byte read once; four bytes XORed at a time where the
    // buffer is aligned (a socket's chunk is): 2.2 CPU s per GiB (bench/rc4.mjs). The
    // keystream step is written out twice on purpose: one loop for both paths measured
    // 20 to 40 % slower.
    const s = this.s;
    let i = this.i;
    let j = this.j;
    let n = 0;
    const len = b.length;
    if (LITTLE_ENDIAN && (b.byteOffset & 3) === 0 && len >= 4) {
      const words = new Int32Array(b.buffer, b.byteOffset, len >> 2);
      for (let w = 0; w < words.length; w++) {
        let k = 0;
        for (let shift = 0; shift < 32; shift += 8) {
          i = (i + 1) & 255;
          const si = s[i]!;
          j = (j + si) & 255;
          const sj = s[j]!;
          s[i] = sj;
          s[j] = si;
          k |= s[(si + sj) & 255]! << shift;
        }
        words[w]! ^= k;
      }
      n = words.length << 2;
    }
    for (; n < len; n++) {
      i = (i + 1) & 255;
      const si = s[i]!;
      j = (j + si) & 255;
      const sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      b[n]! ^= s[(si + sj) & 255]!;
    }
    this.i = i;
    this.j = j;
    return b;
  }
}

/** HASH('req2', SKEY) for an info hash: how the connecting peer names its torrent. */
export const mseTorrentKey = (infoHash: Uint8Array): string => sha1('req2', infoHash).toString('hex');

/** The RC4 streams of a connection that selected RC4: `decrypt` what comes in, `encrypt` what goes out. */
export interface StreamCipher {
  decrypt: Rc4;
  encrypt: Rc4;
}

export interface MseOutput {
  /** Bytes to send to the peer now. */
  send?: Uint8Array;
  /** The handshake is over: these bytes (decrypted IA and anything after it) are the plain stream. */
  payload?: Uint8Array;
}

/**
 * The receiving side of the MSE handshake. `findTorrent(HASH('req2', SKEY) hex)` names the
 * torrent by its info hash, or undefined for one we do not seed.
 */
export class MseResponder {
  private buf = Buffer.alloc(0);
  private state: 'ya' | 'sync' | 'skey' | 'header' | 'ia' | 'done' = 'ya';
  private secret: Buffer | undefined;
  private readonly x = BigInt(`0x${randomBytes(20).toString('hex')}`);
  private req1: Buffer | undefined;
  private decrypt: Rc4 | undefined;
  private encrypt: Rc4 | undefined;
  private iaLength = 0;
  private padCLength = -1;
  private provide = 0;
  infoHash: Uint8Array | undefined;
  /** Set when RC4 was selected: the rest of the connection goes through it. */
  cipher: StreamCipher | undefined;

  constructor(private readonly findTorrent: (req2Hex: string) => Uint8Array | undefined) {}

  push(data: Uint8Array): MseOutput {
    if (this.state === 'done') throw new MseError('handshake already complete');
    this.buf = Buffer.concat([this.buf, data]);
    const out: MseOutput = {};
    for (;;) {
      if (this.state === 'ya') {
        if (this.buf.length < DH_LENGTH) return out;
        const ya = publicKeyOf(this.buf);
        this.secret = toBytes(modPow(ya, this.x, P));
        this.req1 = sha1('req1', this.secret);
        this.buf = this.buf.subarray(DH_LENGTH);
        const yb = toBytes(modPow(G, this.x, P));
        out.send = Buffer.concat([yb, randomBytes(Math.floor(Math.random() * 64))]);
        this.state = 'sync';
        continue;
      }
      if (this.state === 'sync') {
        // PadA (≤ 512 bytes) then HASH('req1', S)
        const at = this.buf.indexOf(this.req1!);
        if (at < 0) {
          if (this.buf.length >= MAX_PAD + 20) throw new MseError('no MSE synchronisation hash within 532 bytes');
          return out;
        }
        if (at > MAX_PAD) throw new MseError('MSE padding longer than 512 bytes');
        this.buf = this.buf.subarray(at + 20);
        this.state = 'skey';
        continue;
      }
      if (this.state === 'skey') {
        if (this.buf.length < 20) return out;
        const req3 = sha1('req3', this.secret!);
        const req2 = Buffer.alloc(20);
        for (let i = 0; i < 20; i++) req2[i] = this.buf[i]! ^ req3[i]!;
        this.infoHash = this.findTorrent(req2.toString('hex'));
        if (!this.infoHash) throw new MseError('MSE handshake for a torrent we do not seed');
        this.buf = this.buf.subarray(20);
        this.decrypt = new Rc4(sha1('keyA', this.secret!, this.infoHash));
        this.encrypt = new Rc4(sha1('keyB', this.secret!, this.infoHash));
        this.state = 'header';
        continue;
      }
      if (this.state === 'header') {
        // VC (8), crypto_provide (4), len(PadC) (2), PadC, len(IA) (2)
        if (this.padCLength < 0) {
          if (this.buf.length < VC_LENGTH + 6) return out;
          const head = Buffer.from(this.decrypt!.crypt(Uint8Array.from(this.buf.subarray(0, VC_LENGTH + 6))));
          if (!head.subarray(0, VC_LENGTH).equals(Buffer.alloc(VC_LENGTH))) throw new MseError('bad MSE verification constant');
          this.provide = head.readUInt32BE(VC_LENGTH);
          this.padCLength = head.readUInt16BE(VC_LENGTH + 4);
          if (this.padCLength > MAX_PAD) throw new MseError('MSE PadC longer than 512 bytes');
          this.buf = this.buf.subarray(VC_LENGTH + 6);
        }
        if (this.buf.length < this.padCLength + 2) return out;
        this.decrypt!.crypt(Uint8Array.from(this.buf.subarray(0, this.padCLength)));
        const len = Buffer.from(this.decrypt!.crypt(Uint8Array.from(this.buf.subarray(this.padCLength, this.padCLength + 2))));
        this.iaLength = len.readUInt16BE(0);
        if (this.iaLength > MAX_IA) throw new MseError(`MSE initial payload of ${this.iaLength} bytes`);
        this.buf = this.buf.subarray(this.padCLength + 2);
        const select = this.provide & CRYPTO_PLAINTEXT ? CRYPTO_PLAINTEXT : this.provide & CRYPTO_RC4 ? CRYPTO_RC4 : 0;
        if (!select) throw new MseError(`MSE crypto_provide 0x${this.provide.toString(16)} offers no method we know`);
        const reply = Buffer.alloc(VC_LENGTH + 6); // VC, crypto_select, len(PadD) = 0
        reply.writeUInt32BE(select, VC_LENGTH);
        if (select === CRYPTO_RC4) this.cipher = { decrypt: this.decrypt!, encrypt: this.encrypt! };
        out.send = out.send ? Buffer.concat([out.send, this.encrypt!.crypt(reply)]) : this.encrypt!.crypt(reply);
        this.state = 'ia';
        continue;
      }
      if (this.state === 'ia') {
        if (this.buf.length < this.iaLength) return out;
        const ia = this.decrypt!.crypt(Uint8Array.from(this.buf.subarray(0, this.iaLength)));
        // after IA the peer speaks the method we selected
        const rest = Uint8Array.from(this.buf.subarray(this.iaLength));
        out.payload = Buffer.concat([ia, this.cipher ? this.cipher.decrypt.crypt(rest) : rest]);
        this.buf = Buffer.alloc(0);
        this.state = 'done';
        return out;
      }
      return out;
    }
  }
}

/**
 * The connecting side (A): what the daemon sends when it dials a peer over MSE. `hello` is
 * step 1 (Ya, PadA); `push` takes what the peer sends (Yb, PadB, then step 4) and answers
 * step 3 carrying `ia` (our BitTorrent handshake) as soon as Yb is in. The spec leaves A to
 * find step 4 by searching for ENCRYPT(VC): "Since PadB length is unknown, A will be able to
 * resynchronize on ENCRYPT(VC)", with PadB at most 512 bytes, so the search is bounded to
 * 512 + 8 bytes after Yb. crypto_select must name exactly one method we offered.
 *
 * The methods `step3`, `readSelect`, `encryptNext` and `decryptNext` script the same
 * handshake by hand, for tests that play a misbehaving initiator.
 */
export class MseInitiator {
  private readonly x = BigInt(`0x${randomBytes(20).toString('hex')}`);
  readonly hello: Buffer;
  private encrypt: Rc4 | undefined;
  private decrypt: Rc4 | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private state: 'yb' | 'sync' | 'select' | 'padD' | 'done' = 'yb';
  /** ENCRYPT(VC) as the peer's first step 4 bytes must read. */
  private vcPattern: Buffer | undefined;
  private padDLength = 0;
  /** What the peer chose (CRYPTO_PLAINTEXT or CRYPTO_RC4), once step 4 is read. */
  selected = 0;
  /** Set when the peer selected RC4: the rest of the connection goes through it. */
  cipher: StreamCipher | undefined;

  constructor(
    private readonly infoHash: Uint8Array,
    private readonly provide = CRYPTO_PLAINTEXT | CRYPTO_RC4,
    padA = 37,
    /** The initial payload sent in step 3 (for `push`): the BitTorrent handshake. */
    private readonly ia: Uint8Array = new Uint8Array(0),
  ) {
    if (padA > MAX_PAD || ia.length > MAX_IA) throw new MseError('PadA or IA too long');
    this.hello = Buffer.concat([toBytes(modPow(G, this.x, P)), randomBytes(padA)]);
  }

  /** Bytes from the peer; throws MseError on anything the spec does not allow. */
  push(data: Uint8Array): MseOutput {
    if (this.state === 'done') throw new MseError('handshake already complete');
    // a copy either way: the caller's bytes may be valid only during the call (a shared read buffer)
    this.buf = Buffer.concat([this.buf, data]);
    const out: MseOutput = {};
    for (;;) {
      if (this.state === 'yb') {
        if (this.buf.length < DH_LENGTH) return out;
        publicKeyOf(this.buf);
        out.send = this.step3(this.buf.subarray(0, DH_LENGTH), this.ia, Math.floor(Math.random() * 64));
        this.buf = this.buf.subarray(DH_LENGTH);
        this.state = 'sync';
        continue;
      }
      if (this.state === 'sync') {
        // PadB (≤ 512 bytes), then ENCRYPT(VC): search no further than 512 + 8 bytes
        const window = this.buf.subarray(0, MAX_PAD + VC_LENGTH);
        const at = window.indexOf(this.vcPattern!);
        if (at < 0) {
          if (window.length >= MAX_PAD + VC_LENGTH) throw new MseError('no MSE verification constant within 520 bytes after Yb');
          return out;
        }
        this.buf = this.buf.subarray(at);
        this.state = 'select';
        continue;
      }
      if (this.state === 'select') {
        // VC (8), crypto_select (4), len(PadD) (2)
        if (this.buf.length < VC_LENGTH + 6) return out;
        const head = Buffer.from(this.decrypt!.crypt(Uint8Array.from(this.buf.subarray(0, VC_LENGTH + 6))));
        this.selected = head.readUInt32BE(VC_LENGTH);
        this.padDLength = head.readUInt16BE(VC_LENGTH + 4);
        if ((this.selected !== CRYPTO_PLAINTEXT && this.selected !== CRYPTO_RC4) || !(this.selected & this.provide))
          throw new MseError(`MSE crypto_select 0x${this.selected.toString(16)} is not one method we offered`);
        if (this.padDLength > MAX_PAD) throw new MseError('MSE PadD longer than 512 bytes');
        this.buf = this.buf.subarray(VC_LENGTH + 6);
        this.state = 'padD';
        continue;
      }
      if (this.state === 'padD') {
        if (this.buf.length < this.padDLength) return out;
        this.decrypt!.crypt(Uint8Array.from(this.buf.subarray(0, this.padDLength)));
        const rest = Uint8Array.from(this.buf.subarray(this.padDLength));
        if (this.selected === CRYPTO_RC4) this.cipher = { decrypt: this.decrypt!, encrypt: this.encrypt! };
        out.payload = this.cipher ? this.cipher.decrypt.crypt(rest) : rest;
        this.buf = Buffer.alloc(0);
        this.state = 'done';
        return out;
      }
      return out;
    }
  }

  /** Given Yb (the first 96 bytes of the reply), step 3 carrying `ia`. */
  step3(yb: Uint8Array, ia: Uint8Array, padC = 5): Buffer {
    const y = BigInt(`0x${Buffer.from(yb.subarray(0, DH_LENGTH)).toString('hex')}`);
    const s = toBytes(modPow(y, this.x, P));
    this.encrypt = new Rc4(sha1('keyA', s, this.infoHash));
    this.decrypt = new Rc4(sha1('keyB', s, this.infoHash));
    this.vcPattern = Buffer.from(new Rc4(sha1('keyB', s, this.infoHash)).crypt(new Uint8Array(VC_LENGTH)));
    const req2 = sha1('req2', this.infoHash);
    const req3 = sha1('req3', s);
    for (let i = 0; i < 20; i++) req2[i]! ^= req3[i]!;
    const head = Buffer.alloc(VC_LENGTH + 6 + padC + 2);
    head.writeUInt32BE(this.provide, VC_LENGTH);
    head.writeUInt16BE(padC, VC_LENGTH + 4);
    head.writeUInt16BE(ia.length, VC_LENGTH + 6 + padC);
    return Buffer.concat([sha1('req1', s), req2, this.encrypt.crypt(head), this.encrypt.crypt(Uint8Array.from(ia))]);
  }
  /** Decrypts step 4's first 14 bytes: returns crypto_select. */
  readSelect(b: Uint8Array): number {
    const d = Buffer.from(this.decrypt!.crypt(Uint8Array.from(b.subarray(0, VC_LENGTH + 6))));
    if (!d.subarray(0, VC_LENGTH).equals(Buffer.alloc(VC_LENGTH))) throw new MseError('bad VC');
    return d.readUInt32BE(VC_LENGTH);
  }
  /** After RC4 was selected: what we send next, encrypted, and what we receive, decrypted. */
  encryptNext(b: Uint8Array): Uint8Array {
    return this.encrypt!.crypt(Uint8Array.from(b));
  }
  decryptNext(b: Uint8Array): Uint8Array {
    return this.decrypt!.crypt(Uint8Array.from(b));
  }
}
