/**
 * The encryption layer of one peer connection, under the peer wire (codec/mse.ts does the
 * handshakes). Incoming: the first 20 bytes tell a plain BitTorrent handshake
 * ("\x13BitTorrent protocol") from an MSE step 1 (whose first byte is 0x13 once in 256
 * connections), and an MSE one is answered by MseResponder. Outgoing over MSE: our step 1
 * goes first and MseInitiator carries our BitTorrent handshake in IA. Either way, once the
 * handshake is over, RC4 (when it was selected) is applied to every byte in and out.
 *
 * No socket: `receive` takes bytes and returns the plain stream, `send` is the session's.
 * Every error is an MseError (the session closes the connection with its message).
 */
import { CRYPTO_PLAINTEXT, CRYPTO_RC4, MseError, MseInitiator, MseResponder, type StreamCipher } from '../codec/mse.js';

const PLAIN_PREFIX = Buffer.from('\x13BitTorrent protocol', 'latin1');

export interface IncomingMse {
  /** The info hash whose HASH('req2', info hash) is this, if we seed it. */
  torrent(req2Hex: string): Uint8Array | undefined;
  /** May the peer start an MSE handshake now (they cost CPU: rate-limited per address)? */
  allowed(): boolean;
}

export class PeerEncryption {
  /** The connection opened with an MSE handshake (either side). */
  encrypted: boolean;
  /** RC4 for the whole stream, when it was selected. */
  private cipher: StreamCipher | undefined;
  private mse: MseResponder | MseInitiator | undefined;
  /** Incoming, not yet decided: the first bytes, until 20 tell a plain handshake from MSE. */
  private opening: Buffer | undefined;
  private deciding: boolean;
  /** The first bytes of an incoming connection in hex (for the handshake timeout's log line). */
  firstHex = '';
  /** Incoming MSE: the torrent its step 3 named (the BitTorrent handshake must match). */
  infoHash: Uint8Array | undefined;

  /**
   * Incoming: `incoming` answers MSE (undefined: plain handshakes only). Outgoing over MSE:
   * `initiator` (its IA is our BitTorrent handshake); its step 1 is `hello()`.
   */
  constructor(
    private readonly incoming: IncomingMse | undefined,
    initiator?: MseInitiator,
  ) {
    this.mse = initiator;
    this.encrypted = initiator !== undefined;
    this.deciding = incoming !== undefined && !initiator;
  }

  get rc4(): boolean {
    return this.cipher !== undefined;
  }

  /** True while the MSE handshake runs (nothing of the peer wire has come yet). */
  get handshaking(): boolean {
    return this.mse !== undefined;
  }

  /** Bytes to send before anything else (outgoing MSE: step 1). */
  hello(): Uint8Array | undefined {
    return this.mse instanceof MseInitiator ? this.mse.hello : undefined;
  }

  /** What we send, through RC4 when it was selected (a copy: `bytes` may be shared). */
  wrap(bytes: Uint8Array): Uint8Array {
    return this.cipher ? this.cipher.encrypt.crypt(Uint8Array.from(bytes)) : bytes;
  }

  /**
   * Bytes from the socket → the plain stream (possibly empty) once the handshake is over,
   * else undefined; with RC4, `data` is decrypted in place. `send` gets the handshake's
   * replies. Throws MseError.
   */
  receive(data: Uint8Array, send: (b: Uint8Array) => void): Uint8Array | undefined {
    if (this.deciding) {
      const head = this.opening ? Buffer.concat([this.opening, data]) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      const n = Math.min(head.length, PLAIN_PREFIX.length);
      if (n < PLAIN_PREFIX.length && head.subarray(0, n).equals(PLAIN_PREFIX.subarray(0, n))) {
        // not yet decided; a copy (under 20 bytes): the bytes are valid only during the call (a shared read buffer)
        this.opening = Buffer.from(head);
        return undefined;
      }
      this.deciding = false;
      this.opening = undefined;
      this.firstHex = head.subarray(0, 24).toString('hex');
      data = head;
      if (!head.subarray(0, PLAIN_PREFIX.length).equals(PLAIN_PREFIX)) {
        if (!this.incoming!.allowed()) throw new MseError('MSE handshakes from this address too often');
        this.mse = new MseResponder((k) => this.incoming!.torrent(k));
        this.encrypted = true;
      }
    }
    // in place: a socket's chunk is ours alone during the call (util/shared-reads.ts)
    if (this.cipher) return this.cipher.decrypt.crypt(data);
    if (!this.mse) return data;
    const out = this.mse.push(data);
    if (out.send) send(out.send);
    if (!out.payload) return undefined;
    if (this.mse instanceof MseResponder) this.infoHash = this.mse.infoHash;
    this.cipher = this.mse.cipher;
    this.mse = undefined;
    return out.payload;
  }
}

/** crypto_provide of our outgoing MSE handshakes: plaintext (cheap on a router) or RC4, the peer picks. */
export const OUTGOING_PROVIDE = CRYPTO_PLAINTEXT | CRYPTO_RC4;
