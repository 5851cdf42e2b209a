/**
 * BEP 15 connection ids with no per-client state: an HMAC of the sender's address and port
 * and a time slot, under a secret drawn at start.
 *
 * BEP 15: "A client can use a connection ID until one minute after it has received it.
 * Trackers should accept the connection ID until two minutes after it has been send."
 * Real clients reuse ids longer (uTorrent about 5 minutes, REFERENCE.md), so a slot lasts
 * SLOT_MS and the current and previous slots are accepted: an id is good for 3 to 6 minutes.
 * The low bit of the first byte carries the slot's parity, so checking an id costs one HMAC.
 * Ids cannot be forged without the secret and expire by themselves.
 */
import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';

export const SLOT_MS = 3 * 60_000;

export class ConnectionIds {
  private readonly secret: KeyObject;
  private readonly scratch = Buffer.alloc(1 + 16 + 2 + 8);

  constructor(secret: Uint8Array = randomBytes(32)) {
    this.secret = createSecretKey(Buffer.from(secret));
  }

  private mac(slot: number, address: Uint8Array, port: number): Buffer {
    const s = this.scratch;
    s.fill(0);
    s[0] = address.length;
    s.set(address, 1);
    s.writeUInt16BE(port, 17);
    s.writeUInt32BE(Math.floor(slot / 0x100000000), 19);
    s.writeUInt32BE(slot >>> 0, 23);
    const id = createHmac('sha256', this.secret).update(s).digest().subarray(0, 8);
    id[0] = (id[0]! & 0xfe) | (slot & 1);
    return id;
  }

  /** A fresh id for this sender (address: 4 or 16 bytes). */
  issue(nowMs: number, address: Uint8Array, port: number): Uint8Array {
    return this.mac(Math.floor(nowMs / SLOT_MS), address, port);
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
