/**
 * SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed pseudo-random function with a 128-bit key
 * and a 64-bit output, designed for short messages. The tracker's connection ids use it instead
 * of an HMAC: an id must be unforgeable without the key (a PRF is exactly that) and is checked
 * on every UDP datagram, where creating a node:crypto HMAC object costs several microseconds and
 * this costs a few hundred nanoseconds, with no allocation.
 *
 * 64-bit words are kept as two unsigned 32-bit halves (hi, lo); messages are read little-endian,
 * as the specification says. Checked against the reference implementation's test vectors.
 */
export class SipHash24 {
  private readonly k0h: number;
  private readonly k0l: number;
  private readonly k1h: number;
  private readonly k1l: number;
  // state, as fields so no call allocates
  private v0h = 0;
  private v0l = 0;
  private v1h = 0;
  private v1l = 0;
  private v2h = 0;
  private v2l = 0;
  private v3h = 0;
  private v3l = 0;

  /** `key`: 16 bytes. */
  constructor(key: Uint8Array) {
    if (key.length !== 16) throw new RangeError('SipHash key must be 16 bytes');
    this.k0l = le32(key, 0);
    this.k0h = le32(key, 4);
    this.k1l = le32(key, 8);
    this.k1h = le32(key, 12);
  }

  /** The 64-bit tag of `msg[0..len)`, written little-endian into out[at..at+8). */
  hash(msg: Uint8Array, len: number, out: Uint8Array, at = 0): void {
    this.v0h = this.k0h ^ 0x736f6d65;
    this.v0l = this.k0l ^ 0x70736575;
    this.v1h = this.k1h ^ 0x646f7261;
    this.v1l = this.k1l ^ 0x6e646f6d;
    this.v2h = this.k0h ^ 0x6c796765;
    this.v2l = this.k0l ^ 0x6e657261;
    this.v3h = this.k1h ^ 0x74656462;
    this.v3l = this.k1l ^ 0x79746573;
    const full = len - (len % 8);
    for (let i = 0; i < full; i += 8) this.block(le32(msg, i + 4), le32(msg, i));
    // last block: the remaining bytes, and the length's low byte in the top byte
    let lo = 0;
    let hi = (len & 0xff) << 24;
    for (let i = full, s = 0; i < len; i++, s += 8) {
      if (s < 32) lo |= msg[i]! << s;
      else hi |= msg[i]! << (s - 32);
    }
    this.block(hi >>> 0, lo >>> 0);
    this.v2l = (this.v2l ^ 0xff) >>> 0;
    for (let r = 0; r < 4; r++) this.round();
    const h = (this.v0h ^ this.v1h ^ this.v2h ^ this.v3h) >>> 0;
    const l = (this.v0l ^ this.v1l ^ this.v2l ^ this.v3l) >>> 0;
    out[at] = l & 0xff;
    out[at + 1] = (l >>> 8) & 0xff;
    out[at + 2] = (l >>> 16) & 0xff;
    out[at + 3] = l >>> 24;
    out[at + 4] = h & 0xff;
    out[at + 5] = (h >>> 8) & 0xff;
    out[at + 6] = (h >>> 16) & 0xff;
    out[at + 7] = h >>> 24;
  }

  private block(mh: number, ml: number): void {
    this.v3h = (this.v3h ^ mh) >>> 0;
    this.v3l = (this.v3l ^ ml) >>> 0;
    this.round();
    this.round();
    this.v0h = (this.v0h ^ mh) >>> 0;
    this.v0l = (this.v0l ^ ml) >>> 0;
  }

  private round(): void {
    let v0h = this.v0h, v0l = this.v0l, v1h = this.v1h, v1l = this.v1l;
    let v2h = this.v2h, v2l = this.v2l, v3h = this.v3h, v3l = this.v3l;
    let l: number, t: number;
    // v0 += v1; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
    l = v0l + v1l;
    v0h = (v0h + v1h + (l > 0xffffffff ? 1 : 0)) >>> 0;
    v0l = l >>> 0;
    t = ((v1h << 13) | (v1l >>> 19)) >>> 0;
    v1l = ((v1l << 13) | (v1h >>> 19)) >>> 0;
    v1h = t;
    v1h = (v1h ^ v0h) >>> 0;
    v1l = (v1l ^ v0l) >>> 0;
    t = v0h;
    v0h = v0l;
    v0l = t;
    // v2 += v3; v3 = rotl(v3, 16) ^ v2
    l = v2l + v3l;
    v2h = (v2h + v3h + (l > 0xffffffff ? 1 : 0)) >>> 0;
    v2l = l >>> 0;
    t = ((v3h << 16) | (v3l >>> 16)) >>> 0;
    v3l = ((v3l << 16) | (v3h >>> 16)) >>> 0;
    v3h = t;
    v3h = (v3h ^ v2h) >>> 0;
    v3l = (v3l ^ v2l) >>> 0;
    // v0 += v3; v3 = rotl(v3, 21) ^ v0
    l = v0l + v3l;
    v0h = (v0h + v3h + (l > 0xffffffff ? 1 : 0)) >>> 0;
    v0l = l >>> 0;
    t = ((v3h << 21) | (v3l >>> 11)) >>> 0;
    v3l = ((v3l << 21) | (v3h >>> 11)) >>> 0;
    v3h = t;
    v3h = (v3h ^ v0h) >>> 0;
    v3l = (v3l ^ v0l) >>> 0;
    // v2 += v1; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)
    l = v2l + v1l;
    v2h = (v2h + v1h + (l > 0xffffffff ? 1 : 0)) >>> 0;
    v2l = l >>> 0;
    t = ((v1h << 17) | (v1l >>> 15)) >>> 0;
    v1l = ((v1l << 17) | (v1h >>> 15)) >>> 0;
    v1h = t;
    v1h = (v1h ^ v2h) >>> 0;
    v1l = (v1l ^ v2l) >>> 0;
    t = v2h;
    v2h = v2l;
    v2l = t;
    this.v0h = v0h; this.v0l = v0l; this.v1h = v1h; this.v1l = v1l;
    this.v2h = v2h; this.v2l = v2l; this.v3h = v3h; this.v3l = v3l;
  }
}

function le32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}
