/**
 * BEP 15 connection ids with no per-client state: a keyed pseudo-random function (SipHash-2-4,
 * src/util/siphash.ts) of the sender's address and port and a time slot, under a 128-bit
 * secret drawn when the first id is made or checked (node:crypto is loaded then, after the
 * tracker's ports opened).
 *
 * BEP 15: "A client can use a connection ID until one minute after it has received it.
 * Trackers should accept the connection ID until two minutes after it has been send."
 * Real clients reuse ids longer (uTorrent about 5 minutes), so a slot lasts
 * SLOT_MS and the current and previous slots are accepted: an id is good for 3 to 6 minutes.
 * The low bit of the first byte carries the slot's parity, so checking an id costs one PRF
 * call. Ids cannot be forged without the secret and expire by themselves.
 *
 * Every announce and scrape datagram is checked, so the check allocates nothing: one SipHash
 * object made at start, one scratch message and one scratch tag reused (an HMAC from
 * node:crypto needs a new object per call, several microseconds each).
 */
import { nodeCrypto } from '../util/lazy-modules.js';
import { SipHash24 } from '../util/siphash.js';

export const SLOT_MS = 3 * 60_000;

export class ConnectionIds {
  private prf: SipHash24 | undefined;
  /** length | address (16) | port (2) | slot (8) */
  private readonly scratch = new Uint8Array(1 + 16 + 2 + 8);
  private readonly tag = new Uint8Array(8);

  private readonly secret: Uint8Array | undefined;

  /** `secret`: at least 16 bytes (the first 16 are the key); default: 16 random bytes, drawn at first use. */
  constructor(secret?: Uint8Array) {
    if (secret && secret.length < 16) throw new RangeError('connection id secret must be at least 16 bytes');
    this.secret = secret?.slice(0, 16);
  }

  /** The id for this sender and slot, in `this.tag`. */
  private mac(slot: number, address: Uint8Array, port: number): Uint8Array {
    const s = this.scratch;
    s.fill(0);
    s[0] = address.length;
    s.set(address, 1);
    s[17] = port >>> 8;
    s[18] = port & 0xff;
    const hi = Math.floor(slot / 0x100000000);
    const lo = slot >>> 0;
    s[19] = hi >>> 24;
    s[20] = (hi >>> 16) & 0xff;
    s[21] = (hi >>> 8) & 0xff;
    s[22] = hi & 0xff;
    s[23] = lo >>> 24;
    s[24] = (lo >>> 16) & 0xff;
    s[25] = (lo >>> 8) & 0xff;
    s[26] = lo & 0xff;
    const id = this.tag;
    this.prf ??= new SipHash24(this.secret ?? nodeCrypto().randomBytes(16));
    this.prf.hash(s, s.length, id);
    id[0] = (id[0]! & 0xfe) | (slot & 1);
    return id;
  }

  /** A fresh id for this sender (address: 4 or 16 bytes). */
  issue(nowMs: number, address: Uint8Array, port: number): Uint8Array {
    return this.mac(Math.floor(nowMs / SLOT_MS), address, port).slice();
  }

  /** True for an id issued to this sender in the current or previous slot. */
  check(nowMs: number, id: Uint8Array, address: Uint8Array, port: number): boolean {
    if (id.length !== 8) return false;
    const current = Math.floor(nowMs / SLOT_MS);
    const slot = (id[0]! & 1) === (current & 1) ? current : current - 1;
    if (slot < 0) return false;
    const want = this.mac(slot, address, port);
    let diff = 0;
    for (let i = 0; i < 8; i++) diff |= want[i]! ^ id[i]!;
    return diff === 0;
  }
}
