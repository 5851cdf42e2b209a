/**
 * Fetches a torrent's info dict from peers (BEP 9, `ut_metadata`, over BEP 10): the magnet
 * half of a download. For one info hash it dials the peers it is given (a few at a time),
 * sends the handshake with the extension bit, then the extension handshake naming
 * `ut_metadata`; a peer that answers with `metadata_size` (bounded by `maxMetadataBytes`
 * before anything is allocated) is asked for every 16 KiB piece; the whole must hash (SHA-1)
 * to the info hash, else that peer is dropped and the next one tried.
 *
 * Socket owner: `start()` resolves with the info dict's bytes; `close()` ends every
 * connection. Peers come in through `addPeers` at any time (trackers, LPD, `x.pe`). Nothing
 * a peer sends is trusted: every length is bounded before buffering (the framer), a wrong
 * piece, size or hash drops the peer, and a silent peer is dropped after `peerTimeoutMs`.
 * Each dial opens plain or over MSE as `seeder.outgoing_encryption` says (outgoing-encryption.ts),
 * and a peer that hangs up before its handshake is dialled once more the other way.
 */
import { createHash } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import {
  EXT_HANDSHAKE_ID,
  LOCAL_EXT,
  METADATA_PIECE_SIZE,
  MSG,
  PeerWireFramer,
  decodeExtendedHandshake,
  decodeMetadataMessage,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMetadataMessage,
  metadataPieceCount,
} from '../codec/peer-wire.js';
import type { Clock } from '../util/clock.js';
import { VERSION } from '../version.js';
import { MseInitiator } from '../codec/mse.js';
import { OUTGOING_PROVIDE, PeerEncryption } from './peer-encryption.js';
import { OutgoingEncryptionPolicy, type DialWay, type OutgoingEncryption } from './outgoing-encryption.js';

/** libtorrent refuses a few MiB; 8 MiB describes a torrent of tens of terabytes. */
export const MAX_MAGNET_METADATA = 8 << 20;
/** Peers dialled at once for one torrent. */
export const METADATA_PEERS_AT_ONCE = 4;
/** A peer silent this long (connect, handshake, or a piece) is dropped. */
export const METADATA_PEER_TIMEOUT_MS = 20_000;
/** Pieces asked for at once from one peer (libtorrent answers a handful at a time). */
const REQUESTS_IN_FLIGHT = 16;
/** Messages other than extended ones are skipped, but a seed's bitfield can be this big. */
const MAX_FRAME = 1 << 20;

export interface MetadataPeer {
  address: string;
  port: number;
}

export interface MetadataFetchDeps {
  clock: Clock;
  peerId: Uint8Array;
  /** Tests: another way to open a TCP connection. */
  connect?(address: string, port: number): Socket;
  /** One line per peer outcome, for the debug log. */
  debug?(line: string): void;
}

export interface MetadataFetchSettings {
  maxMetadataBytes: number;
  peerTimeoutMs: number;
  peersAtOnce: number;
  /** seeder.outgoing_encryption (default plaintext_first). */
  encryption?: OutgoingEncryption;
}

export const METADATA_FETCH_DEFAULTS: MetadataFetchSettings = {
  maxMetadataBytes: MAX_MAGNET_METADATA,
  peerTimeoutMs: METADATA_PEER_TIMEOUT_MS,
  peersAtOnce: METADATA_PEERS_AT_ONCE,
};

const key = (p: MetadataPeer) => `${p.address}|${p.port}`;

export class MetadataFetch {
  private readonly queue: MetadataPeer[] = [];
  private readonly tried = new Set<string>();
  private readonly active = new Set<Socket>();
  private resolve: ((info: Uint8Array) => void) | undefined;
  private done = false;
  /** Peers dropped and why (status, tests). */
  readonly failures: string[] = [];
  private readonly encryption: OutgoingEncryptionPolicy;

  constructor(
    private readonly deps: MetadataFetchDeps,
    private readonly settings: MetadataFetchSettings,
    readonly infoHash: Uint8Array,
  ) {
    this.encryption = new OutgoingEncryptionPolicy(settings.encryption ?? 'plaintext_first');
  }

  /** Resolves with the info dict's bytes (their SHA-1 is the info hash); never rejects (close() ends it). */
  start(): Promise<Uint8Array> {
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.dialMore();
    });
  }

  /** More peers to try (each address and port is tried once). */
  addPeers(peers: MetadataPeer[]): void {
    for (const p of peers) {
      if (p.port < 1 || p.port > 65535 || this.tried.has(key(p))) continue;
      this.tried.add(key(p));
      this.queue.push(p);
    }
    this.dialMore();
  }

  get pendingPeers(): number {
    return this.queue.length + this.active.size;
  }

  close(): void {
    this.done = true;
    for (const s of this.active) s.destroy();
    this.active.clear();
  }

  private dialMore(): void {
    while (!this.done && this.resolve && this.active.size < this.settings.peersAtOnce && this.queue.length) this.dial(this.queue.shift()!);
  }

  private dial(peer: MetadataPeer, way: DialWay = this.encryption.firstTry(key(peer)), retried = false): void {
    const socket = this.deps.connect ? this.deps.connect(peer.address, peer.port) : netConnect({ host: peer.address, port: peer.port });
    this.active.add(socket);
    const who = peer.address.includes(':') ? `[${peer.address}]:${peer.port}` : `${peer.address}:${peer.port}`;
    const handshake = encodeHandshake({ infoHash: this.infoHash, peerId: this.deps.peerId, extension: true, fast: false });
    const crypto = new PeerEncryption(undefined, way === 'mse' ? new MseInitiator(this.infoHash, OUTGOING_PROVIDE, Math.floor(Math.random() * 64), handshake) : undefined);
    let handshook = false;
    let timer = this.deps.clock.setTimeout(() => drop('silent'), this.settings.peerTimeoutMs);
    const alive = () => {
      timer.cancel();
      timer = this.deps.clock.setTimeout(() => drop('silent'), this.settings.peerTimeoutMs);
    };
    const drop = (why: string) => {
      if (!this.active.delete(socket)) return;
      timer.cancel();
      socket.destroy();
      const other = handshook || this.done ? undefined : this.encryption.failedBeforeHandshake(key(peer), way, retried);
      if (other) {
        this.deps.debug?.(`metadata from ${who}: ${why} before its handshake; dialling it again ${other === 'mse' ? 'over MSE' : 'in plain text'}`);
        return this.dial(peer, other, true);
      }
      if (!this.done) {
        this.failures.push(`${who}: ${why}`);
        this.deps.debug?.(`metadata from ${who}: ${why}`);
      }
      this.dialMore();
    };
    const framer = new PeerWireFramer(MAX_FRAME);
    let theirMetadataId = 0;
    let size = 0;
    let buffer: Buffer | undefined;
    let received: boolean[] = [];
    let next = 0;
    let outstanding = 0;

    const sendExtended = (extId: number, payload: Uint8Array) => {
      const head = Buffer.alloc(6);
      head.writeUInt32BE(2 + payload.length, 0);
      head[4] = MSG.extended;
      head[5] = extId;
      socket.write(crypto.wrap(Buffer.concat([head, payload])));
    };
    const requestMore = () => {
      const count = metadataPieceCount(size);
      while (outstanding < REQUESTS_IN_FLIGHT && next < count) {
        sendExtended(theirMetadataId, encodeMetadataMessage({ msgType: 'request', piece: next++ }));
        outstanding++;
      }
    };
    const onExtended = (extId: number, payload: Uint8Array) => {
      if (extId === EXT_HANDSHAKE_ID) {
        const h = decodeExtendedHandshake(payload);
        const id = h.m.get('ut_metadata') ?? 0;
        if (id === 0) return drop('no ut_metadata');
        if (h.metadataSize === undefined) return drop('no metadata_size');
        if (h.metadataSize > this.settings.maxMetadataBytes) return drop(`metadata_size ${h.metadataSize} over ${this.settings.maxMetadataBytes}`);
        if (buffer) return; // a second handshake: keep the first size
        theirMetadataId = id;
        size = h.metadataSize;
        buffer = Buffer.alloc(size);
        received = new Array(metadataPieceCount(size)).fill(false);
        return requestMore();
      }
      if (extId !== LOCAL_EXT.ut_metadata || !buffer) return; // PEX and others: not needed here
      const m = decodeMetadataMessage(payload);
      if (m.msgType !== 'data') {
        if (m.msgType === 'reject') return drop(`rejected piece ${m.piece}`);
        // a request: we have no metadata to give, and BEP 9 says reject
        return sendExtended(theirMetadataId, encodeMetadataMessage({ msgType: 'reject', piece: m.piece }));
      }
      if (m.totalSize !== size || m.piece >= received.length) return drop('data for another size or piece');
      if (received[m.piece]) return;
      buffer.set(m.data, m.piece * METADATA_PIECE_SIZE);
      received[m.piece] = true;
      outstanding--;
      if (received.every(Boolean)) {
        if (!createHash('sha1').update(buffer).digest().equals(Buffer.from(this.infoHash))) return drop('metadata does not hash to the info hash');
        this.finish(buffer);
        return;
      }
      requestMore();
    };

    socket.on('connect', () => {
      alive();
      socket.write(crypto.hello() ?? handshake);
    });
    socket.on('data', (data: Buffer) => {
      alive();
      try {
        const plain = crypto.receive(data, (b) => socket.write(b));
        if (!plain?.length) return;
        framer.push(
          plain,
          (h) => {
            handshook = true;
            this.encryption.handshake(key(peer), way);
            if (!Buffer.from(h.infoHash).equals(Buffer.from(this.infoHash))) throw new Error('handshake for another torrent');
            if (!h.extension) throw new Error('no extension protocol (BEP 10)');
            sendExtended(
              EXT_HANDSHAKE_ID,
              encodeExtendedHandshake({ m: new Map([['ut_metadata', LOCAL_EXT.ut_metadata]]), version: `meshseed ${VERSION}`, reqq: 16 }),
            );
          },
          (body) => {
            if (body.length >= 2 && body[0] === MSG.extended) onExtended(body[1]!, body.subarray(2));
          },
        );
      } catch (err) {
        drop((err as Error).message);
      }
    });
    socket.on('error', (err) => drop(err.message));
    socket.on('close', () => drop('closed'));
  }

  private finish(info: Buffer): void {
    if (this.done) return;
    const resolve = this.resolve!;
    this.close();
    resolve(info);
  }
}
