/** A scriptable peer for loopback tests: speaks raw peer-wire bytes, records what it gets. */
import { connect, type Socket } from 'node:net';
import { PeerWireFramer, decodeMessage, encodeHandshake, encodeMessage, type Handshake, type Message } from '../../src/codec/peer-wire';
import { waitFor } from '../helpers';

export class RawPeer {
  readonly messages: Message[] = [];
  handshake: Handshake | undefined;
  closed = false;
  error = '';
  private framer = new PeerWireFramer(1 << 21);

  constructor(
    readonly socket: Socket,
    private pieceCount: number,
  ) {
    socket.on('data', (d) => {
      try {
        this.framer.push(d, (h) => (this.handshake = h), (b) => this.messages.push(decodeMessage(b, { pieceCount: this.pieceCount })));
      } catch (e) {
        this.error = (e as Error).message;
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => (this.closed = true));
  }

  static connect(port: number, pieceCount: number, host = '127.0.0.1'): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host }, () => resolve(new RawPeer(s, pieceCount)));
      s.once('error', reject);
    });
  }

  hello(infoHash: Uint8Array, opts: { fast?: boolean; extension?: boolean; peerId?: Buffer } = {}): void {
    this.write(
      encodeHandshake({
        infoHash,
        peerId: opts.peerId ?? Buffer.from(`-XX0000-${Math.random().toString(36).slice(2, 14).padEnd(12, '0')}`),
        extension: opts.extension ?? true,
        fast: opts.fast ?? true,
      }),
    );
  }

  write(b: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }

  send(m: Message): void {
    this.write(encodeMessage(m));
  }

  waitMessage<T extends Message['type']>(type: T, ms = 5000): Promise<Extract<Message, { type: T }>> {
    return waitFor(`a ${type} message`, ms, () => this.messages.find((m) => m.type === type), 10) as Promise<Extract<Message, { type: T }>>;
  }

  waitClosed(ms = 5000): Promise<boolean> {
    return waitFor('the connection to close', ms, () => this.closed, 10);
  }

  close(): void {
    this.socket.destroy();
  }
}
