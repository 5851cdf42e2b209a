/**
 * The seeder's outgoing connections: which way each dial opens (plain or MSE, see
 * outgoing-encryption.ts), the immediate second try the other way when a peer hangs up
 * before its handshake, and the back-off retries of peers we could not reach (dial-retry.ts,
 * one per torrent). The listener owns the sockets; seeder.ts calls `dial`, `ready`,
 * `closed` and `tick`.
 */
import type { Socket } from 'node:net';
import type { Settings } from '../config/settings.js';
import type { PeerCandidate } from '../parts.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { PeerSession } from './peer-session.js';
import type { TorrentSession } from './torrent-session.js';
import { OutgoingEncryptionPolicy, type DialWay, type OutgoingEncryption } from './outgoing-encryption.js';

export interface OutgoingDialsDeps {
  clock: Clock;
  log: Logger;
  listener: { dial(address: string, port: number, stillWanted: () => boolean, connected: (s: Socket) => void, failed: () => void): void };
  /** Makes the session of a connected socket (`mse`: it opens with an MSE handshake). */
  wire(socket: Socket, address: string, port: number, t: TorrentSession, mse: boolean): PeerSession;
  /** The daemon is shutting down. */
  closing(): boolean;
  connectMore(): void;
}

interface Attempt {
  t: TorrentSession;
  candidate: PeerCandidate;
  way: DialWay;
  retried: boolean;
}

const keyOf = (c: { address: string; port: number }) => `${c.address}|${c.port}`;

export class OutgoingDials {
  private readonly encryption: OutgoingEncryptionPolicy;
  private readonly attempts = new WeakMap<PeerSession, Attempt>();

  constructor(
    private readonly deps: OutgoingDialsDeps,
    private settings: Settings,
  ) {
    this.encryption = new OutgoingEncryptionPolicy(settings['seeder.outgoing_encryption'] as OutgoingEncryption);
  }

  reload(settings: Settings): void {
    this.settings = settings;
    this.encryption.setting = settings['seeder.outgoing_encryption'] as OutgoingEncryption;
  }

  dial(t: TorrentSession, candidate: PeerCandidate, way = this.encryption.firstTry(keyOf(candidate)), retried = false): void {
    this.deps.listener.dial(
      candidate.address,
      candidate.port,
      () => !t.removed && !this.deps.closing(),
      (socket) => this.attempts.set(this.deps.wire(socket, candidate.address, candidate.port, t, way === 'mse'), { t, candidate, way, retried }),
      () => {
        this.backOff(t, candidate, 'unreachable');
        this.deps.connectMore();
      },
    );
  }

  /** The peer's BitTorrent handshake came: remember the way, forget its failures. */
  ready(s: PeerSession): void {
    const a = this.attempts.get(s);
    if (!a) return;
    this.encryption.handshake(keyOf(a.candidate), a.way);
    a.t.dialRetry.succeeded(keyOf(a.candidate));
  }

  /** A session closed: an outgoing one that never got the peer's handshake (`peerIdHex` unset) is dialled again. */
  closed(s: PeerSession): void {
    const a = this.attempts.get(s);
    if (!a || s.peerIdHex !== '' || a.t.removed || this.deps.closing()) return;
    const key = keyOf(a.candidate);
    const other = this.encryption.failedBeforeHandshake(key, a.way, a.retried);
    if (other) {
      this.deps.log.debug(`${a.t.meta.name}: peer ${s.address}:${s.port} hung up before its handshake (${s.closeReason}); dialling it again ${other === 'mse' ? 'over MSE' : 'in plain text'}`);
      this.dial(a.t, a.candidate, other, true);
    } else this.backOff(a.t, a.candidate, `no handshake (${s.closeReason})`);
  }

  private backOff(t: TorrentSession, c: PeerCandidate, why: string): void {
    const now = this.deps.clock.now();
    const at = t.dialRetry.failed(keyOf(c), c, now, this.settings['seeder.dial_retry'] * 1000);
    this.deps.log.debug(`${t.meta.name}: peer ${c.address}:${c.port} ${why}; ${at === undefined ? 'given up until it is named again' : `dialling it again in ${Math.round((at - now) / 1000)} s`}`);
  }

  /** Peers whose back-off is over become candidates again (not those connected or banned meanwhile). */
  tick(now: number, torrents: Iterable<TorrentSession>): void {
    for (const t of torrents) {
      if (!t.open) continue;
      for (const { key, candidate } of t.dialRetry.due(now)) {
        if (t.connectedTo(candidate.address, candidate.port) || t.download?.banned.has(candidate.address)) t.dialRetry.succeeded(key);
        else t.addCandidate(key, candidate);
      }
    }
  }
}
