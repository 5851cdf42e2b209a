/**
 * One peer connection of the seeder: the protocol state above the framer, with no socket of
 * its own. Bytes come in through `onData`, go out through the injected `io.write`; the
 * owner (seeder.ts) connects it to a TCP socket and calls `onDrain` and `tick`.
 *
 * What it does (BEP 3 peer wire protocol):
 *   - handshake: answers only for torrents we seed; reserved bits extension (BEP 10) and fast
 *     (BEP 6); our own peer id from the other side closes the connection (self-connection);
 *   - then the extension handshake (m: ut_metadata, ut_pex unless private; metadata_size, p,
 *     v, yourip, reqq, upload_only) and `have_all` (fast) or a bitfield of exact length;
 *   - requests and serving: see peer-upload.ts;
 *   - keep-alive after KEEPALIVE_MS without sending; silent peers and idle peers dropped;
 *   - BEP 9 ut_metadata served from the torrent's info dict; BEP 11 ut_pex sent at most once a
 *     minute with at most 50 added peers, never for a private torrent; PEX received is passed on
 *     as connection candidates.
 * Any protocol violation throws PeerWireError inside `onData`, which closes the connection.
 */
import type { Metainfo } from '../codec/metainfo.js';
import {
  EXT_HANDSHAKE_ID,
  KEEP_ALIVE,
  LOCAL_EXT,
  METADATA_PIECE_SIZE,
  PeerWireError,
  PeerWireFramer,
  bitIsSet,
  decodeExtendedHandshake,
  decodeMessage,
  decodeMetadataMessage,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMessage,
  encodeMetadataMessage,
  makeBitfield,
  maxMessageLength,
  metadataPieceCount,
  type Handshake,
  type Message,
} from '../codec/peer-wire.js';
import {
  PEX_INTERVAL_MS,
  PEX_MAX_ADDED,
  decodePex,
  encodeCompactPeer,
  encodePex,
  type PexPeer,
} from '../codec/pex.js';
import { MseError, MseInitiator } from '../codec/mse.js';
import { OUTGOING_PROVIDE, PeerEncryption } from './peer-encryption.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { TokenBucket } from './bandwidth.js';
import { REQQ, UploadQueue, type UploadHost } from './peer-upload.js';
import type { PeerDownload } from './download.js';

export { MAX_BLOCKS_IN_FLIGHT, MAX_INVALID_REQUESTS, REQQ } from './peer-upload.js';

/** Keep-alive at least every 60 s when idle; we send one after 45 s of silence. */
export const KEEPALIVE_MS = 45_000;
/** A peer that sends nothing (not even keep-alives) for this long is gone. libtorrent uses 120 s. */
export const SILENT_MS = 180_000;
/** The handshake must complete within this. */
export const HANDSHAKE_TIMEOUT_MS = 20_000;
/** A peer not interested in a seed for this long does not need it. */
export const IDLE_MS = 5 * 60_000;
/**
 * Bytes queued in the socket beyond which a peer that does not read is dropped: pieces are
 * bounded by MAX_BLOCKS_IN_FLIGHT, but rejects and metadata answers to a flood are not.
 */
export const MAX_SEND_BUFFER = 1 << 20;

/** The torrent as a session sees it. */
export interface SessionTorrent {
  readonly meta: Metainfo;
  available(index: number): boolean;
  complete(): boolean;
  readBlock(index: number, begin: number, into: Buffer): Promise<boolean>;
  /** The block at once when it is cached (true), else false: use readBlock. */
  readBlockCached?(index: number, begin: number, into: Buffer): boolean;
  readonly bucket: TokenBucket;
  /** Peers to tell others about over PEX (address and listen port), not private torrents. */
  pexPeers(): PexPeer[];
}

export interface SessionIo {
  /** Queues bytes on the socket; false when the socket buffer is full (wait for onDrain). `done` runs once the socket no longer needs them. */
  write(bytes: Uint8Array, done?: () => void): boolean;
  /** Bytes queued in the socket not yet handed to the kernel. */
  buffered(): number;
  /** Destroys the connection (the owner then calls `closed`). */
  close(): void;
}

export interface SessionDeps {
  clock: Clock;
  log: Logger;
  peerId: Uint8Array;
  version: string;
  listenPort(): number | undefined;
  /** Incoming MSE handshake: the info hash whose HASH('req2', info hash) is this, if we seed it. */
  mseTorrent?(req2Hex: string): Uint8Array | undefined;
  /** May this address start an MSE handshake now (they cost CPU: rate-limited per address)? */
  mseAllowed?(address: string): boolean;
  /** Incoming: the torrent for an info hash, if we seed it and have room for a peer. */
  accept(session: PeerSession, infoHash: Uint8Array): SessionTorrent | undefined | 'full';
  /** Handshake done: the session joins its torrent. */
  ready(session: PeerSession): void;
  /** Interest changed (the choker decides). */
  interest(session: PeerSession, interested: boolean): void;
  /** Blocked on a bucket: call `pump` again in `ms`. */
  waitBandwidth(session: PeerSession, ms: number): void;
  /** Peers learned over PEX. */
  pexCandidates(session: PeerSession, peers: { address: string; port: number }[]): void;
  uploaded(session: PeerSession, bytes: number): void;
  /** BEP 5: our DHT node's UDP port when it runs (sets the handshake's DHT bit, sent in a `port` message). */
  dhtPort?(): number | undefined;
  /** BEP 5: a peer's `port` message: its DHT node, to ping and add to the routing table. */
  dhtNode?(address: string, port: number): void;
}

export class PeerSession {
  torrent: SessionTorrent | undefined;
  private readonly framer: PeerWireFramer;
  /** MSE, either side, and RC4 when it was selected (see peer-encryption.ts). */
  private readonly crypto: PeerEncryption;
  /** The connection opened with an MSE handshake. */
  get encrypted(): boolean {
    return this.crypto.encrypted;
  }
  /** RC4 for the whole stream. */
  get rc4(): boolean {
    return this.crypto.rc4;
  }
  receivedBytes = 0;
  private phase: 'handshake' | 'active' | 'closed' = 'handshake';
  peerFast = false;
  peerExtension = false;
  peerIdHex = '';
  /** Ids the peer wants our messages under (BEP 10 m). */
  private peerExtIds = new Map<string, number>();
  /** The peer's listen port (outgoing: the port we dialled; incoming: ext handshake `p`). */
  peerListenPort: number | undefined;
  client = '';
  amChoking = true;
  peerInterested = false;
  private peerHave: Uint8Array | undefined;
  private peerHaveCount = 0;
  private readonly upload: UploadQueue;
  private readonly connectedAt: number;
  private lastReceived: number;
  private lastSent: number;
  private lastInterest: number;
  private lastPex = -Infinity;
  private pexSent = new Map<string, PexPeer>();
  readonly outgoing: boolean;
  bucket: TokenBucket | undefined;
  closeReason = '';

  constructor(
    private readonly deps: SessionDeps,
    private readonly io: SessionIo,
    readonly address: string,
    readonly port: number,
    /** Outgoing: the torrent we dialled for (we send our handshake first). */
    outgoing?: SessionTorrent,
    /** Outgoing: open with an MSE handshake (our BitTorrent handshake goes in its IA). */
    mse = false,
  ) {
    const now = deps.clock.now();
    this.connectedAt = this.lastReceived = this.lastSent = this.lastInterest = now;
    // Before the torrent is known no message can come (the handshake comes first).
    // a piece's block is copied into its piece buffer at once (download.ts), so a cut one may reuse the framer's buffer
    this.framer = new PeerWireFramer(0, true, { transientPieces: true, transientInput: true });
    this.outgoing = outgoing !== undefined;
    const self = this;
    const host: UploadHost = {
      clock: deps.clock,
      get torrent() {
        return self.torrent;
      },
      get peerFast() {
        return self.peerFast;
      },
      get amChoking() {
        return self.amChoking;
      },
      get active() {
        return self.active;
      },
      get bucket() {
        return self.bucket;
      },
      send: (b, done) => this.send(b, done),
      sendMessage: (m) => this.sendMessage(m),
      buffered: () => io.buffered(),
      close: (reason) => this.close(reason),
      waitBandwidth: (ms) => deps.waitBandwidth(this, ms),
      uploaded: (bytes) => deps.uploaded(this, bytes),
    };
    this.upload = new UploadQueue(host);
    const mseTorrent = deps.mseTorrent;
    const incoming = mseTorrent && !outgoing ? { torrent: mseTorrent, allowed: () => deps.mseAllowed?.(address) !== false } : undefined;
    if (!outgoing) this.crypto = new PeerEncryption(incoming);
    else {
      this.torrent = outgoing;
      this.peerListenPort = port;
      this.framer.setMaxLength(maxMessageLength(outgoing.meta));
      const handshake = encodeHandshake({ infoHash: outgoing.meta.infoHash, peerId: deps.peerId, extension: true, fast: true, dht: this.dhtFor(outgoing) });
      // PadA: a few random bytes (the spec allows 0–512; a router's uplink pays for them)
      const initiator = mse ? new MseInitiator(outgoing.meta.infoHash, OUTGOING_PROVIDE, Math.floor(Math.random() * 64), handshake) : undefined;
      this.crypto = new PeerEncryption(undefined, initiator);
      this.send(initiator ? initiator.hello : handshake);
    }
  }

  /** BEP 5 bit for this torrent: the DHT runs and the torrent is not private (BEP 27). */
  private dhtFor(t: SessionTorrent): boolean {
    return !t.meta.private && this.deps.dhtPort?.() !== undefined;
  }

  get active(): boolean {
    return this.phase === 'active';
  }
  get isClosed(): boolean {
    return this.phase === 'closed';
  }
  get isSeed(): boolean {
    return this.torrent !== undefined && this.peerHaveCount >= this.torrent.meta.pieceCount;
  }
  get queuedRequests(): number {
    return this.upload.length;
  }
  get blocksInFlight(): number {
    return this.upload.blocksInFlight;
  }
  get uploadedBytes(): number {
    return this.upload.uploadedBytes;
  }

  private send(bytes: Uint8Array, done?: () => void): boolean {
    if (this.phase === 'closed') {
      done?.();
      return false;
    }
    this.lastSent = this.deps.clock.now();
    const ok = this.io.write(this.crypto.wrap(bytes), done);
    if (!ok && this.io.buffered() > MAX_SEND_BUFFER) this.close('does not read what we send');
    return ok;
  }

  /** Mirror mode: the client side of this connection (download.ts), while its torrent downloads. */
  download: PeerDownload | undefined;
  /** The peer said have_all (BEP 6). */
  peerHasAll = false;
  /** The peer's reqq (BEP 10), when it said. */
  peerReqq: number | undefined;

  peerHas(index: number): boolean {
    return this.peerHasAll || (this.peerHave !== undefined && bitIsSet(this.peerHave, index));
  }

  private toDownload(m: Message): void {
    this.download?.onMessage(m, this.deps.clock.now(), this.torrent!.meta.pieceCount);
  }

  sendMessages(ms: Message[]): void {
    // arrays made by push, requests first (never empty), here and in the caller: one kind of array every time (a spread, or
    // map, which makes another kind once compiled, had the code compiled for the first kind, here and in Buffer.concat, undone)
    const parts: Uint8Array[] = [];
    for (const m of ms) parts.push(encodeMessage(m));
    this.takeHeldHaves(parts);
    this.send(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  }

  /** The held haves alone (no requests went out since they were held). */
  private sendHeldHaves(): void {
    const parts: Uint8Array[] = [];
    this.takeHeldHaves(parts);
    this.send(Buffer.concat(parts));
  }

  /** The held haves, encoded onto `parts`; none held after. */
  private takeHeldHaves(parts: Uint8Array[]): void {
    if (this.heldHaves.length === 0) return;
    for (const index of this.heldHaves) parts.push(encodeMessage({ type: 'have', index }));
    this.heldHaves = [];
  }

  /**
   * `have`s for a seed we download from, held until our next batch of requests (or the next
   * tick): it wants none of our pieces, so they ride along rather than cost a write (and wake
   * the peer) per piece.
   */
  private heldHaves: number[] = [];

  sendMessage(m: Message): void {
    this.send(encodeMessage(m));
  }

  /** Closes the connection with a reason (logged at debug level by the owner). */
  close(reason: string): void {
    if (this.phase === 'closed') return;
    this.closeReason = reason;
    this.phase = 'closed';
    this.upload.clear();
    this.io.close();
  }

  /** Bytes from the socket, the session's own (RC4 decrypts them in place). Never throws: a protocol violation closes the connection. */
  onData(data: Uint8Array): void {
    if (this.phase === 'closed') return;
    this.lastReceived = this.deps.clock.now();
    this.receivedBytes += data.length;
    try {
      const plain = this.crypto.receive(data, (b) => this.send(b));
      if (!plain || plain.length === 0) return;
      this.framer.push(
        plain,
        (h) => this.onHandshake(h),
        (body) => {
          if (this.phase !== 'active' || !this.torrent) throw new PeerWireError('message before the handshake completed');
          this.onMessage(decodeMessage(body, this.torrent.meta));
        },
      );
      this.download?.flush(this.lastReceived);
    } catch (err) {
      this.close(err instanceof PeerWireError || err instanceof MseError ? err.message : `internal error: ${(err as Error).message}`);
    }
  }

  private onHandshake(h: Handshake): void {
    // (the peer id is kept first: a dial that got an answer, even our own, is not tried again)
    this.peerIdHex = Buffer.from(h.peerId).toString('hex');
    if (Buffer.compare(Buffer.from(h.peerId), Buffer.from(this.deps.peerId)) === 0) throw new PeerWireError('connected to ourselves');
    this.peerFast = h.fast;
    this.peerExtension = h.extension;
    this.client = clientFromPeerId(h.peerId);
    if (this.torrent) {
      if (Buffer.compare(Buffer.from(h.infoHash), Buffer.from(this.torrent.meta.infoHash)) !== 0)
        throw new PeerWireError('handshake for another torrent');
    } else {
      const mseInfoHash = this.crypto.infoHash;
      if (mseInfoHash && Buffer.compare(Buffer.from(h.infoHash), Buffer.from(mseInfoHash)) !== 0)
        throw new PeerWireError('handshake for another torrent than its MSE handshake');
      const t = this.deps.accept(this, h.infoHash);
      if (t === 'full') throw new PeerWireError('too many peers');
      if (!t) throw new PeerWireError(`handshake for a torrent we do not seed (${Buffer.from(h.infoHash).toString('hex')})`);
      this.torrent = t;
      this.framer.setMaxLength(maxMessageLength(t.meta));
      this.send(encodeHandshake({ infoHash: t.meta.infoHash, peerId: this.deps.peerId, extension: true, fast: true, dht: this.dhtFor(t) }));
    }
    this.phase = 'active';
    const t = this.torrent;
    if (this.peerExtension) this.sendExtendedHandshake(t);
    // BEP 6: have_all / have_none replace the bitfield when both sides speak fast.
    if (this.peerFast && t.complete()) this.sendMessage({ type: 'haveAll' });
    else if (this.peerFast && !anyAvailable(t)) this.sendMessage({ type: 'haveNone' });
    else this.sendMessage({ type: 'bitfield', bits: makeBitfield(t.meta.pieceCount, (i) => t.available(i)) });
    // BEP 5: tell every peer where our DHT node listens, so clients add it to their table.
    const dhtPort = this.dhtFor(t) ? this.deps.dhtPort?.() : undefined;
    if (dhtPort !== undefined) this.sendMessage({ type: 'port', port: dhtPort });
    this.deps.ready(this);
  }

  private sendExtendedHandshake(t: SessionTorrent): void {
    const m = new Map<string, number>([['ut_metadata', LOCAL_EXT.ut_metadata]]);
    // BEP 27: no PEX for private torrents.
    if (!t.meta.private) m.set('ut_pex', LOCAL_EXT.ut_pex);
    const yourIp = encodeCompactPeer(this.address, 0)?.subarray(0, -2);
    const port = this.deps.listenPort();
    const payload = encodeExtendedHandshake({
      m,
      metadataSize: t.meta.infoBytes.length,
      ...(port ? { port } : {}),
      version: this.deps.version,
      ...(yourIp ? { yourIp } : {}),
      reqq: REQQ,
      // BEP 21 upload_only: only once we have everything
      uploadOnly: t.complete(),
    });
    this.sendMessage({ type: 'extended', extId: EXT_HANDSHAKE_ID, payload });
  }

  private fastOnly(what: string): void {
    // BEP 6: "the peer MUST close the connection" when a fast message comes without the bit.
    if (!this.peerFast) throw new PeerWireError(`${what} without the fast extension`);
  }

  private onMessage(m: Message): void {
    const t = this.torrent!;
    switch (m.type) {
      case 'keepAlive':
        return;
      case 'port':
        if (!t.meta.private && m.port > 0) this.deps.dhtNode?.(this.address, m.port);
        return;
      case 'interested':
        if (!this.peerInterested) {
          this.peerInterested = true;
          this.lastInterest = this.deps.clock.now();
          this.deps.interest(this, true);
        }
        return;
      case 'notInterested':
        if (this.peerInterested) {
          this.peerInterested = false;
          this.lastInterest = this.deps.clock.now();
          this.deps.interest(this, false);
        }
        return;
      case 'have':
        this.peerHave ??= new Uint8Array(Math.ceil(t.meta.pieceCount / 8));
        if (bitIsSet(this.peerHave, m.index)) return;
        this.peerHave[m.index >> 3]! |= 0x80 >> (m.index & 7);
        this.peerHaveCount++;
        this.toDownload(m);
        return this.checkPeerSeed();
      case 'bitfield':
        this.peerHave = Uint8Array.from(m.bits);
        this.peerHaveCount = countBits(m.bits);
        this.toDownload(m);
        return this.checkPeerSeed();
      case 'haveAll':
        this.fastOnly('have_all');
        this.peerHasAll = true;
        this.peerHaveCount = t.meta.pieceCount;
        this.toDownload(m);
        return this.checkPeerSeed();
      case 'haveNone':
      case 'suggest':
      case 'allowedFast':
      case 'reject':
        this.fastOnly(m.type);
        return this.toDownload(m);
      case 'choke':
      case 'unchoke':
        return this.toDownload(m);
      case 'request':
        return this.upload.onRequest(m);
      case 'cancel':
        return this.upload.onCancel(m);
      case 'piece':
        if (!this.download) throw new PeerWireError('sent a piece we never requested');
        return this.toDownload(m);
      case 'extended':
        return this.onExtended(m.extId, m.payload);
    }
  }

  /** Two seeds have nothing to give each other. */
  private checkPeerSeed(): void {
    const t = this.torrent!;
    if (this.peerHaveCount >= t.meta.pieceCount && t.complete()) this.close('peer is a seed too');
  }

  private onExtended(extId: number, payload: Uint8Array): void {
    const t = this.torrent!;
    if (extId === EXT_HANDSHAKE_ID) {
      const h = decodeExtendedHandshake(payload);
      for (const [k, v] of h.m) {
        if (v === 0) this.peerExtIds.delete(k);
        else this.peerExtIds.set(k, v);
      }
      if (h.port !== undefined && this.peerListenPort === undefined) this.peerListenPort = h.port;
      if (h.reqq !== undefined) this.peerReqq = h.reqq;
      if (h.version) this.client = h.version.slice(0, 64);
      if (h.uploadOnly && t.complete()) this.close('peer is upload-only and so are we');
      return;
    }
    if (extId === LOCAL_EXT.ut_metadata) {
      const msg = decodeMetadataMessage(payload);
      if (msg.msgType !== 'request') return;
      const id = this.peerExtIds.get('ut_metadata');
      if (!id) return;
      const info = t.meta.infoBytes;
      const out =
        msg.piece < metadataPieceCount(info.length)
          ? encodeMetadataMessage({
              msgType: 'data',
              piece: msg.piece,
              totalSize: info.length,
              data: info.subarray(msg.piece * METADATA_PIECE_SIZE, (msg.piece + 1) * METADATA_PIECE_SIZE),
            })
          : encodeMetadataMessage({ msgType: 'reject', piece: msg.piece });
      // metadata counts against the upload limits like any other byte we send
      (this.bucket ?? t.bucket).consume(out.length, this.deps.clock.now());
      this.sendMessage({ type: 'extended', extId: id, payload: out });
      return;
    }
    if (extId === LOCAL_EXT.ut_pex) {
      // BEP 27: a private torrent takes no peers from PEX.
      if (t.meta.private) return;
      const pex = decodePex(payload);
      if (pex.added.length) this.deps.pexCandidates(this, pex.added);
      return;
    }
    // unknown extension ids are ignored (BEP 10)
  }

  /** The choker's decision. */
  setChoked(choked: boolean): void {
    if (this.phase !== 'active' || choked === this.amChoking) return;
    this.amChoking = choked;
    this.sendMessage({ type: choked ? 'choke' : 'unchoke' });
    if (choked) this.upload.choked();
    else this.upload.pump();
  }

  /** A piece became available after the handshake. */
  announceHave(index: number): void {
    if (this.phase !== 'active') return;
    if (this.isSeed && this.download?.amInterested) this.heldHaves.push(index);
    else this.sendMessage({ type: 'have', index });
  }

  onDrain(): void {
    this.upload.pump();
  }

  /** Called by the owner when a bandwidth wait is over. */
  bandwidthAvailable(): void {
    this.upload.bandwidthAvailable();
  }

  /** Timers: keep-alive, silence, idleness, PEX. Called about once a second by the owner. */
  tick(now: number): void {
    if (this.phase === 'closed') return;
    if (this.phase === 'handshake') {
      if (now - this.connectedAt > HANDSHAKE_TIMEOUT_MS)
        this.close(`no handshake within ${HANDSHAKE_TIMEOUT_MS / 1000} s (${this.receivedBytes} bytes received${this.encrypted ? ', MSE' : ''}) ${this.crypto.firstHex}`);
      return;
    }
    if (now - this.lastReceived > SILENT_MS) return this.close('silent');
    if (!this.peerInterested && !this.download?.amInterested && now - this.lastInterest > IDLE_MS) return this.close('not interested');
    if (this.heldHaves.length) this.sendHeldHaves();
    if (now - this.lastSent >= KEEPALIVE_MS) this.send(KEEP_ALIVE);
    if (now - this.lastPex >= PEX_INTERVAL_MS) this.sendPex(now);
  }

  private sendPex(now: number): void {
    const t = this.torrent!;
    const id = this.peerExtIds.get('ut_pex');
    if (!id || t.meta.private) return;
    const current = new Map<string, PexPeer>();
    for (const p of t.pexPeers()) {
      if (p.address === this.address && p.port === this.peerListenPort) continue;
      current.set(`${p.address}|${p.port}`, p);
    }
    const added: PexPeer[] = [];
    for (const [k, p] of current) {
      if (added.length >= PEX_MAX_ADDED) break;
      if (!this.pexSent.has(k)) added.push(p);
    }
    const dropped: PexPeer[] = [];
    for (const [k, p] of this.pexSent) if (!current.has(k)) dropped.push(p);
    if (added.length === 0 && dropped.length === 0) return;
    for (const p of dropped) this.pexSent.delete(`${p.address}|${p.port}`);
    for (const p of added) this.pexSent.set(`${p.address}|${p.port}`, p);
    this.lastPex = now;
    this.deps.log.debug(`${t.meta.name}: PEX to ${this.address}:${this.port}: ${added.length} added, ${dropped.length} dropped`);
    this.sendMessage({ type: 'extended', extId: id, payload: encodePex({ added, dropped: dropped.slice(0, PEX_MAX_ADDED * 4) }) });
  }
}

function anyAvailable(t: SessionTorrent): boolean {
  for (let i = 0; i < t.meta.pieceCount; i++) if (t.available(i)) return true;
  return false;
}

function countBits(bits: Uint8Array): number {
  let n = 0;
  for (let b of bits) {
    while (b) {
      n += b & 1;
      b >>= 1;
    }
  }
  return n;
}

/** Azureus-style peer ids ("-TR3000-…") name the client; others are shown as hex. */
export function clientFromPeerId(id: Uint8Array): string {
  const s = Buffer.from(id).toString('latin1');
  const m = /^-([A-Za-z]{2})([0-9A-Za-z]{4})-/.exec(s);
  return m ? `${m[1]} ${m[2]}` : Buffer.from(id.subarray(0, 8)).toString('hex');
}
