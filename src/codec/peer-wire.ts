/**
 * The BitTorrent peer wire, pure: bytes in, messages out, and back.
 *
 *   BEP 3  handshake and the core messages (choke … cancel, port)
 *   BEP 6  fast extension (suggest, have_all, have_none, reject, allowed_fast)
 *   BEP 10 extension protocol (message 20; sub-id 0 is the extension handshake)
 *   BEP 9  ut_metadata (request / data / reject of 16 KiB pieces of the info dict)
 *   (BEP 11 ut_pex lives in pex.ts)
 *
 * Every message is `<length: u32 BE><id: u8><payload>`; a length of 0 is a keep-alive.
 * `MESSAGE_LENGTHS` is the length table every message is checked against before it is
 * dispatched, and `PeerWireFramer` bounds a message's announced length before it buffers a
 * byte of it (the largest legal incoming message is a bitfield of the torrent's size or an
 * extended message, both bounded; a piece message carries at most one 16 KiB block).
 * Malformed input throws `PeerWireError`; the connection owner disconnects on it.
 */
import { decode, decodePrefix, encode, isBytes, isDict, isInt, type BDict, type BValue } from './bencode.js';

export class PeerWireError extends Error {
  override readonly name = 'PeerWireError';
}
const bad = (message: string): never => {
  throw new PeerWireError(message);
};

// ---- BEP 3: handshake ----
/** BEP 3: "the character nineteen (decimal) followed by the string 'BitTorrent protocol'". */
export const PROTOCOL = 'BitTorrent protocol';
export const HANDSHAKE_LENGTH = 1 + 19 + 8 + 20 + 20;
/** BEP 10: "bit 20 from the right" of the reserved bytes, i.e. 0x10 in reserved byte 5. */
export const RESERVED_EXTENSION_BYTE = 5;
export const RESERVED_EXTENSION_BIT = 0x10;
/** BEP 6: "the third least significant bit in the last reserved byte", 0x04 in byte 7. */
export const RESERVED_FAST_BYTE = 7;
export const RESERVED_FAST_BIT = 0x04;
/** BEP 5: DHT 0x01 in byte 7 (never set by meshseed, which runs no DHT node). */
export const RESERVED_DHT_BIT = 0x01;

export interface Handshake {
  infoHash: Uint8Array;
  peerId: Uint8Array;
  extension: boolean;
  fast: boolean;
  dht?: boolean;
}

export function encodeHandshake(h: Handshake): Uint8Array {
  if (h.infoHash.length !== 20 || h.peerId.length !== 20) bad('info hash and peer id must be 20 bytes');
  const out = Buffer.alloc(HANDSHAKE_LENGTH);
  out[0] = 19;
  out.write(PROTOCOL, 1, 'latin1');
  if (h.extension) out[20 + RESERVED_EXTENSION_BYTE] |= RESERVED_EXTENSION_BIT;
  if (h.fast) out[20 + RESERVED_FAST_BYTE] |= RESERVED_FAST_BIT;
  if (h.dht) out[20 + RESERVED_FAST_BYTE] |= RESERVED_DHT_BIT;
  out.set(h.infoHash, 28);
  out.set(h.peerId, 48);
  return out;
}

/** Decodes the 68-byte handshake; throws on another protocol string. */
export function decodeHandshake(b: Uint8Array): Handshake {
  if (b.length !== HANDSHAKE_LENGTH) bad(`handshake of ${b.length} bytes, expected ${HANDSHAKE_LENGTH}`);
  if (b[0] !== 19 || Buffer.from(b.subarray(1, 20)).toString('latin1') !== PROTOCOL) bad('not a BitTorrent handshake');
  return {
    extension: (b[20 + RESERVED_EXTENSION_BYTE]! & RESERVED_EXTENSION_BIT) !== 0,
    fast: (b[20 + RESERVED_FAST_BYTE]! & RESERVED_FAST_BIT) !== 0,
    dht: (b[20 + RESERVED_FAST_BYTE]! & RESERVED_DHT_BIT) !== 0,
    infoHash: Uint8Array.prototype.slice.call(b, 28, 48),
    peerId: Uint8Array.prototype.slice.call(b, 48, 68),
  };
}

// ---- message ids ----
export const MSG = {
  // BEP 3
  choke: 0,
  unchoke: 1,
  interested: 2,
  notInterested: 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  /** BEP 5: the sender's DHT port. */
  port: 9,
  // BEP 6
  suggest: 0x0d,
  haveAll: 0x0e,
  haveNone: 0x0f,
  reject: 0x10,
  allowedFast: 0x11,
  // BEP 10
  extended: 20,
} as const;

/** BEP 3: "All current implementations use 2^14 (16 kiB), and close connections which request an amount greater than that." */
export const BLOCK_SIZE = 16 * 1024;
/** BEP 9: the info dict is served in 16 KiB pieces. */
export const METADATA_PIECE_SIZE = 16 * 1024;
/** Largest info dict we serve or accept metadata_size for (a 64 MiB torrent is the metainfo cap). */
export const MAX_METADATA_SIZE = 64 << 20;
/** Extended messages we accept: handshakes and PEX are a few KiB; a ut_metadata data message is 16 KiB plus its dict. */
export const MAX_EXTENDED_LENGTH = 64 * 1024;

/**
 * The length table: for each id, the exact payload length after the id byte, or a range
 * checked against the torrent (bitfield, piece, extended). Checked before dispatch.
 */
export const MESSAGE_LENGTHS: Record<number, number | 'bitfield' | 'piece' | 'extended'> = {
  [MSG.choke]: 0,
  [MSG.unchoke]: 0,
  [MSG.interested]: 0,
  [MSG.notInterested]: 0,
  [MSG.have]: 4,
  [MSG.bitfield]: 'bitfield',
  [MSG.request]: 12,
  [MSG.piece]: 'piece',
  [MSG.cancel]: 12,
  [MSG.port]: 2,
  [MSG.suggest]: 4,
  [MSG.haveAll]: 0,
  [MSG.haveNone]: 0,
  [MSG.reject]: 12,
  [MSG.allowedFast]: 4,
  [MSG.extended]: 'extended',
};

export type Message =
  | { type: 'keepAlive' }
  | { type: 'choke' | 'unchoke' | 'interested' | 'notInterested' | 'haveAll' | 'haveNone' }
  | { type: 'have' | 'suggest' | 'allowedFast'; index: number }
  | { type: 'bitfield'; bits: Uint8Array }
  | { type: 'request' | 'cancel' | 'reject'; index: number; begin: number; length: number }
  | { type: 'piece'; index: number; begin: number; block: Uint8Array }
  | { type: 'port'; port: number }
  | { type: 'extended'; extId: number; payload: Uint8Array };

const NAMES: Record<number, Message['type']> = Object.fromEntries(
  Object.entries(MSG).map(([k, v]) => [v, k as Message['type']]),
);

/** What the framer and decoder need to know of the torrent to bound lengths. */
export interface WireLimits {
  pieceCount: number;
}

/** Largest legal message length (the u32 prefix) for a torrent of `pieceCount` pieces. */
export function maxMessageLength(limits: WireLimits): number {
  return Math.max(1 + bitfieldLength(limits.pieceCount), 1 + 8 + BLOCK_SIZE, 1 + MAX_EXTENDED_LENGTH);
}

export const bitfieldLength = (pieceCount: number): number => Math.ceil(pieceCount / 8);

/** Decodes one message body (the bytes after the length prefix). Empty body = keep-alive. */
export function decodeMessage(body: Uint8Array, limits: WireLimits): Message {
  if (body.length === 0) return { type: 'keepAlive' };
  const id = body[0]!;
  const rule = MESSAGE_LENGTHS[id];
  if (rule === undefined) return bad(`unknown message id ${id}`);
  const n = body.length - 1;
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const u32 = (at: number) => dv.getUint32(1 + at);
  if (typeof rule === 'number') {
    if (n !== rule) bad(`message ${NAMES[id]} of ${n} payload bytes, expected ${rule}`);
  } else if (rule === 'bitfield') {
    // BEP 3: a bitfield of the wrong length is an error.
    const want = bitfieldLength(limits.pieceCount);
    if (n !== want) bad(`bitfield of ${n} bytes, expected ${want}`);
    const spare = want * 8 - limits.pieceCount;
    // BEP 3: "Spare bits at the end are set to zero. Clients should drop the connection if they receive bitfields that are not of the correct size, or if the bitfield has any of the spare bits set."
    if (spare > 0 && (body[n]! & ((1 << spare) - 1)) !== 0) bad('bitfield has spare bits set');
  } else if (rule === 'piece') {
    if (n < 8 || n > 8 + BLOCK_SIZE) bad(`piece message of ${n} payload bytes`);
  } else if (n < 1 || n > MAX_EXTENDED_LENGTH) bad(`extended message of ${n} payload bytes`);

  switch (id) {
    case MSG.choke:
    case MSG.unchoke:
    case MSG.interested:
    case MSG.notInterested:
    case MSG.haveAll:
    case MSG.haveNone:
      return { type: NAMES[id] as 'choke' };
    case MSG.have:
    case MSG.suggest:
    case MSG.allowedFast: {
      const index = u32(0);
      if (index >= limits.pieceCount) bad(`${NAMES[id]} of piece ${index} past the last piece ${limits.pieceCount - 1}`);
      return { type: NAMES[id] as 'have', index };
    }
    case MSG.bitfield:
      return { type: 'bitfield', bits: body.subarray(1) };
    case MSG.request:
    case MSG.cancel:
    case MSG.reject:
      // Bounds against the piece are the caller's (it knows which pieces it has).
      return { type: NAMES[id] as 'request', index: u32(0), begin: u32(4), length: u32(8) };
    case MSG.piece:
      return { type: 'piece', index: u32(0), begin: u32(4), block: body.subarray(9) };
    case MSG.port:
      return { type: 'port', port: dv.getUint16(1) };
    default:
      return { type: 'extended', extId: body[1]!, payload: body.subarray(2) };
  }
}

function frame(id: number, payloadLength: number): Buffer {
  const out = Buffer.allocUnsafe(5 + payloadLength);
  out.writeUInt32BE(1 + payloadLength, 0);
  out[4] = id;
  return out;
}

export const KEEP_ALIVE = new Uint8Array(4);

export function encodeMessage(m: Message): Uint8Array {
  switch (m.type) {
    case 'keepAlive':
      return KEEP_ALIVE;
    case 'choke':
    case 'unchoke':
    case 'interested':
    case 'notInterested':
    case 'haveAll':
    case 'haveNone':
      return frame(MSG[m.type], 0);
    case 'have':
    case 'suggest':
    case 'allowedFast': {
      const out = frame(MSG[m.type], 4);
      out.writeUInt32BE(m.index, 5);
      return out;
    }
    case 'bitfield': {
      const out = frame(MSG.bitfield, m.bits.length);
      out.set(m.bits, 5);
      return out;
    }
    case 'request':
    case 'cancel':
    case 'reject': {
      const out = frame(MSG[m.type], 12);
      out.writeUInt32BE(m.index, 5);
      out.writeUInt32BE(m.begin, 9);
      out.writeUInt32BE(m.length, 13);
      return out;
    }
    case 'piece': {
      const out = encodePieceHeader(m.index, m.begin, m.block.length);
      return Buffer.concat([out, m.block]);
    }
    case 'port': {
      const out = frame(MSG.port, 2);
      out.writeUInt16BE(m.port, 5);
      return out;
    }
    case 'extended': {
      const out = frame(MSG.extended, 1 + m.payload.length);
      out[5] = m.extId;
      out.set(m.payload, 6);
      return out;
    }
  }
}

/** The 13 bytes before a block in a piece message, so the block can be read straight after them. */
export const PIECE_HEADER_LENGTH = 13;
export function encodePieceHeader(index: number, begin: number, blockLength: number, into?: Buffer): Buffer {
  const out = into ?? Buffer.allocUnsafe(PIECE_HEADER_LENGTH);
  out.writeUInt32BE(9 + blockLength, 0);
  out[4] = MSG.piece;
  out.writeUInt32BE(index, 5);
  out.writeUInt32BE(begin, 9);
  return out;
}

/** A bitfield of `pieceCount` bits from a predicate, spare bits zero. */
export function makeBitfield(pieceCount: number, has: (i: number) => boolean): Uint8Array {
  const bits = new Uint8Array(bitfieldLength(pieceCount));
  for (let i = 0; i < pieceCount; i++) if (has(i)) bits[i >> 3]! |= 0x80 >> (i & 7);
  return bits;
}
export const bitIsSet = (bits: Uint8Array, i: number): boolean => (bits[i >> 3]! & (0x80 >> (i & 7))) !== 0;

/**
 * Streaming framer: feed it bytes as they arrive, get whole messages. The first 68 bytes are
 * the handshake; after that, each length prefix is checked against `maxLength` before any of
 * the message is buffered, so a peer announcing 4 GiB is refused after 4 bytes.
 *
 * A message that lies whole in the bytes pushed is handed on as a view of them (no copy);
 * only a message cut by the end of a push is copied, once, into a buffer of its exact length
 * (the bytes of one frame, never a list of reads joined). With `transientPieces`, that buffer
 * is reused for the next cut `piece` message, so a `piece` body is valid only during the
 * `onMessage` call (its caller copies the block where it belongs); other messages are always
 * the caller's to keep.
 */
export class PeerWireFramer {
  /** The frame cut by the end of the last push, its first `filled` bytes here (length prefix included); undefined while they are in `head` (a handshake or a length prefix not yet whole). */
  private partial: Buffer | undefined;
  private filled = 0;
  /** Bytes the cut frame needs in all, length prefix included (while `partial` is set). */
  private want = 0;
  private readonly head = Buffer.alloc(HANDSHAKE_LENGTH);
  /** Reused buffer for cut `piece` messages (transientPieces). */
  private spare: Buffer | undefined;
  private handshakeDone = false;

  constructor(
    /** Bound on a message's length prefix; set it once the torrent is known (`setMaxLength`). */
    private maxLength: number,
    expectHandshake = true,
    private readonly options: {
      /** A cut `piece` message is assembled in one reused buffer: its body is valid only during onMessage. */
      transientPieces?: boolean;
      /** The bytes pushed are valid only during push (a shared read buffer): bodies other than a piece's are copied before onMessage. */
      transientInput?: boolean;
    } = {},
  ) {
    if (!expectHandshake) this.handshakeDone = true;
  }

  setMaxLength(n: number): void {
    this.maxLength = n;
  }

  get bufferedBytes(): number {
    return this.filled;
  }

  /**
   * Appends bytes and calls `onHandshake` / `onMessage` for every whole frame (the body of a
   * message, without its length prefix). Throws PeerWireError on an oversized length or a bad
   * handshake; after a throw the framer must not be used again.
   */
  push(data: Uint8Array, onHandshake: (h: Handshake) => void, onMessage: (body: Uint8Array) => void): void {
    const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let at = 0;
    while (at < b.length) {
      if (this.filled > 0) {
        at = this.fillPartial(b, at, onHandshake, onMessage);
        continue;
      }
      const left = b.length - at;
      if (!this.handshakeDone) {
        // Check the protocol string as soon as its first byte is here.
        if (b[at] !== 19) bad('not a BitTorrent handshake');
        if (left < HANDSHAKE_LENGTH) return this.keep(b, at);
        const h = decodeHandshake(b.subarray(at, at + HANDSHAKE_LENGTH));
        at += HANDSHAKE_LENGTH;
        this.handshakeDone = true;
        onHandshake(h);
        continue;
      }
      if (left < 4) return this.keep(b, at);
      const len = b.readUInt32BE(at);
      if (len > this.maxLength) bad(`message length ${len} is more than the largest legal ${this.maxLength}`);
      if (left < 4 + len) return this.keep(b, at);
      const body = b.subarray(at + 4, at + 4 + len);
      // bytes valid only during push (a shared read buffer): every body but a piece's is copied, whoever keeps it
      onMessage(this.options.transientInput && len > 0 && body[0] !== MSG.piece ? Uint8Array.prototype.slice.call(body) : body);
      at += 4 + len;
    }
  }

  /** The rest of a push, a cut frame, kept (bounded: its length was checked, or it is under 68 bytes). */
  private keep(b: Buffer, at: number): void {
    const n = b.length - at;
    if (n === 0) return;
    if (!this.handshakeDone || n < 4) {
      b.copy(this.head, 0, at);
      this.filled = n;
      return;
    }
    this.startFrame(b.readUInt32BE(at), n > 4 ? b[at + 4] : undefined);
    b.copy(this.partial!, 0, at);
    this.filled = n;
  }

  /** Room for a cut frame of `len` bytes after its prefix (`id`: its message id, when known). */
  private startFrame(len: number, id: number | undefined): void {
    this.want = 4 + len;
    const reuse = this.options.transientPieces && id === MSG.piece && len <= 9 + BLOCK_SIZE;
    if (reuse) {
      this.spare ??= Buffer.allocUnsafe(4 + 9 + BLOCK_SIZE);
      this.partial = this.spare.subarray(0, this.want);
    } else this.partial = Buffer.allocUnsafe(this.want);
  }

  /** Feeds the cut frame from `b` at `at`; delivers it when whole. Returns the new position. */
  private fillPartial(b: Buffer, at: number, onHandshake: (h: Handshake) => void, onMessage: (body: Uint8Array) => void): number {
    if (this.partial === undefined) {
      // the handshake, or a length prefix, in the small head buffer
      const need = this.handshakeDone ? 4 : HANDSHAKE_LENGTH;
      const n = Math.min(need - this.filled, b.length - at);
      b.copy(this.head, this.filled, at, at + n);
      this.filled += n;
      at += n;
      if (this.filled < need) return at;
      this.filled = 0;
      if (!this.handshakeDone) {
        this.handshakeDone = true;
        onHandshake(decodeHandshake(this.head));
        return at;
      }
      const len = this.head.readUInt32BE(0);
      if (len > this.maxLength) bad(`message length ${len} is more than the largest legal ${this.maxLength}`);
      if (len === 0) {
        onMessage(new Uint8Array(0));
        return at;
      }
      this.startFrame(len, at < b.length ? b[at] : undefined);
      this.head.copy(this.partial!, 0, 0, 4);
      this.filled = 4;
    }
    const n = Math.min(this.want - this.filled, b.length - at);
    b.copy(this.partial!, this.filled, at, at + n);
    this.filled += n;
    at += n;
    if (this.filled < this.want) return at;
    const frame = this.partial!;
    this.partial = undefined;
    this.filled = 0;
    this.want = 0;
    onMessage(frame.subarray(4));
    return at;
  }
}

// ---- BEP 10: extension handshake ----
/** Sub-id 0 of message 20 is the extension handshake (BEP 10). */
export const EXT_HANDSHAKE_ID = 0;
/** Our local ids for the extensions we speak; a peer sends us messages with these ids. */
export const LOCAL_EXT = { ut_metadata: 1, ut_pex: 2 } as const;

export interface ExtendedHandshake {
  /** Extension name → the id the sender wants to receive it under; 0 disables. */
  m: Map<string, number>;
  metadataSize?: number;
  /** Sender's listen port. */
  port?: number;
  /** Client name and version. */
  version?: string;
  /** Our address as the sender sees it (4 or 16 bytes). */
  yourIp?: Uint8Array;
  /** How many outstanding requests the sender queues. */
  reqq?: number;
  uploadOnly?: boolean;
}

export function encodeExtendedHandshake(h: ExtendedHandshake): Uint8Array {
  const m = new Map<string, number>([...h.m].sort(([a], [b]) => (a < b ? -1 : 1)));
  return encode({
    m,
    metadata_size: h.metadataSize,
    p: h.port,
    v: h.version,
    yourip: h.yourIp,
    reqq: h.reqq,
    upload_only: h.uploadOnly === undefined ? undefined : h.uploadOnly ? 1 : 0,
  });
}

const optInt = (d: BDict, k: string, min: number, max: number): number | undefined => {
  const v = d.get(k);
  return isInt(v) && v >= min && v <= max ? v : undefined;
};

/** Lenient about unknown or ill-typed optional fields (ignored), strict about the bencode itself and `m`. */
export function decodeExtendedHandshake(payload: Uint8Array): ExtendedHandshake {
  const d = decodeDict(payload, 'extension handshake');
  const mv = d.get('m');
  const m = new Map<string, number>();
  if (mv !== undefined) {
    if (!isDict(mv)) bad('extension handshake m is not a dict');
    for (const [k, v] of mv as BDict) if (isInt(v) && v >= 0 && v <= 255) m.set(k, v);
  }
  const metadataSize = optInt(d, 'metadata_size', 1, MAX_METADATA_SIZE);
  const port = optInt(d, 'p', 1, 65535);
  const reqq = optInt(d, 'reqq', 1, 1_000_000);
  const v = d.get('v');
  const ip = d.get('yourip');
  const uo = d.get('upload_only');
  return {
    m,
    ...(metadataSize !== undefined ? { metadataSize } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(reqq !== undefined ? { reqq } : {}),
    ...(isBytes(v) ? { version: Buffer.from(v).toString('utf8') } : {}),
    ...(isBytes(ip) && (ip.length === 4 || ip.length === 16) ? { yourIp: ip } : {}),
    ...(isInt(uo) ? { uploadOnly: uo !== 0 } : {}),
  };
}

/** Bencoded dict of an extended message, bounded in depth and values; throws PeerWireError. */
export function decodeDict(payload: Uint8Array, what: string): BDict {
  let v: BValue;
  try {
    v = decode(payload, { maxDepth: 4, maxValues: 4096 }).value;
  } catch (e) {
    return bad(`${what}: ${(e as Error).message}`);
  }
  if (!isDict(v)) bad(`${what} is not a dict`);
  return v as BDict;
}

// ---- BEP 9: ut_metadata ----
export const METADATA_MSG = { request: 0, data: 1, reject: 2 } as const;
export type MetadataMessage =
  | { msgType: 'request' | 'reject'; piece: number }
  | { msgType: 'data'; piece: number; totalSize: number; data: Uint8Array };

export const metadataPieceCount = (size: number): number => Math.ceil(size / METADATA_PIECE_SIZE);

export function encodeMetadataMessage(m: MetadataMessage): Uint8Array {
  if (m.msgType === 'data') {
    const head = encode({ msg_type: METADATA_MSG.data, piece: m.piece, total_size: m.totalSize });
    return Buffer.concat([head, m.data]);
  }
  return encode({ msg_type: METADATA_MSG[m.msgType], piece: m.piece });
}

export function decodeMetadataMessage(payload: Uint8Array): MetadataMessage {
  let dict: BValue;
  let end: number;
  try {
    ({ value: dict, end } = decodePrefix(payload, { maxDepth: 2, maxValues: 64 }));
  } catch (e) {
    return bad(`ut_metadata: ${(e as Error).message}`);
  }
  if (!isDict(dict)) return bad('ut_metadata message is not a dict');
  const t = dict.get('msg_type');
  const piece = dict.get('piece');
  if (!isInt(piece) || piece < 0 || piece >= metadataPieceCount(MAX_METADATA_SIZE)) return bad('ut_metadata piece missing or out of range');
  if (t === METADATA_MSG.data) {
    const total = dict.get('total_size');
    if (!isInt(total) || total < 1 || total > MAX_METADATA_SIZE) return bad('ut_metadata total_size missing or out of range');
    const data = payload.subarray(end);
    const want = Math.min(METADATA_PIECE_SIZE, total - piece * METADATA_PIECE_SIZE);
    if (data.length !== want) bad(`ut_metadata data of ${data.length} bytes, expected ${want}`);
    return { msgType: 'data', piece, totalSize: total, data };
  }
  if (end !== payload.length) bad('ut_metadata request or reject with trailing bytes');
  if (t === METADATA_MSG.request) return { msgType: 'request', piece };
  if (t === METADATA_MSG.reject) return { msgType: 'reject', piece };
  return bad(`ut_metadata msg_type ${String(t)} unknown`);
}
