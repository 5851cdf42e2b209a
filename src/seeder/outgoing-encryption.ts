/**
 * Whether a connection we dial opens with MSE, and what to do when the peer hangs up before
 * its BitTorrent handshake. Pure policy: told what was tried and what came of it, it answers
 * how to dial next; it remembers, per peer (address and port), the way that worked.
 *
 * How others decide: libtorrent's `out_enc_policy` is `pe_enabled` by default (it opens with
 * MSE and, when that fails, retries once in plain text, then remembers the peer as not
 * supporting encryption), `pe_forced` never falls back, `pe_disabled` never tries.
 * Transmission's default "preferred" opens with MSE and offers RC4 only; "required" drops a
 * plain handshake. rTorrent's `enable_retry,prefer_plaintext` tries plain text first and
 * retries over MSE. meshseed's default is that last one, `plaintext_first`: most clients
 * accept plain text, so most connections skip two Diffie-Hellman exponentiations (about a
 * millisecond each here, more on a router), and a peer that insists on MSE (a Transmission or
 * libtorrent set to "required") costs one extra connection, once.
 *
 *   setting          first try                  after a hang-up before the handshake
 *   plaintext_first  plain (MSE if remembered)   the other way, once
 *   mse_first        MSE (plain if remembered)   the other way, once
 *   mse_required     MSE                         nothing (back-off, dial-retry.ts)
 *   plaintext        plain                       nothing
 */

export type OutgoingEncryption = 'plaintext_first' | 'mse_first' | 'mse_required' | 'plaintext';
export type DialWay = 'plaintext' | 'mse';

/** Peers whose way is remembered (the oldest forgotten first). */
export const MAX_REMEMBERED_PEERS = 1024;

export class OutgoingEncryptionPolicy {
  /** Peer → the way that worked when it was not the setting's first choice. */
  private readonly remembered = new Map<string, DialWay>();

  constructor(public setting: OutgoingEncryption) {}

  private get preferred(): DialWay {
    return this.setting === 'plaintext_first' || this.setting === 'plaintext' ? 'plaintext' : 'mse';
  }

  /** How to dial `peer` first. */
  firstTry(peer: string): DialWay {
    if (this.setting === 'plaintext') return 'plaintext';
    if (this.setting === 'mse_required') return 'mse';
    return this.remembered.get(peer) ?? this.preferred;
  }

  /**
   * The peer closed (or the handshake failed or timed out) before its BitTorrent handshake,
   * dialled `tried`; `retried` when this was already the second way. Returns the way to dial
   * it again at once, or undefined (it is then backed off like an unreachable peer).
   */
  failedBeforeHandshake(peer: string, tried: DialWay, retried: boolean): DialWay | undefined {
    if (retried || this.setting === 'plaintext' || this.setting === 'mse_required') return undefined;
    // a remembered way that stopped working is forgotten
    if (this.remembered.get(peer) === tried) this.remembered.delete(peer);
    return tried === 'plaintext' ? 'mse' : 'plaintext';
  }

  /** The BitTorrent handshake came over `way`: the next dial to this peer goes the same way. */
  handshake(peer: string, way: DialWay): void {
    this.remembered.delete(peer);
    if (way === this.preferred) return;
    this.remembered.set(peer, way);
    if (this.remembered.size > MAX_REMEMBERED_PEERS) this.remembered.delete(this.remembered.keys().next().value!);
  }

  get rememberedCount(): number {
    return this.remembered.size;
  }
}
