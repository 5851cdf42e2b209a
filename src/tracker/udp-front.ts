/**
 * The tracker's UDP front end (BEP 15): one socket per listening address, each datagram
 * handed to the core with the sender's address bytes, the reply (if any) sent back. Datagrams
 * larger than UDP_MAX_DATAGRAM are never copied (the core drops them by length).
 */
import { createSocket, type Socket } from 'node:dgram';
import { addressBytes } from './address.js';

export interface UdpFrontDeps {
  /** Returns the reply, or undefined for none. */
  handle(datagram: Uint8Array, address: Uint8Array, port: number): Uint8Array | undefined;
}

export interface UdpFrontSettings {
  /** SO_RCVBUF in bytes; 0 keeps the system default (208 KiB on Linux, which drops bursts). */
  receiveBufferBytes: number;
}

export class UdpFront {
  private readonly sockets: Socket[] = [];

  constructor(
    private readonly deps: UdpFrontDeps,
    private readonly settings: UdpFrontSettings = { receiveBufferBytes: 0 },
  ) {}

  listen(address: string, port: number, ipv6Only = false): Promise<number> {
    const v6 = address.includes(':');
    const socket = createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6 && ipv6Only, reuseAddr: false });
    socket.on('message', (msg, rinfo) => {
      const from = addressBytes(rinfo.address);
      if (!from) return;
      let reply: Uint8Array | undefined;
      try {
        reply = this.deps.handle(msg, from, rinfo.port);
      } catch {
        reply = undefined;
      }
      if (reply) socket.send(reply, rinfo.port, rinfo.address);
    });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address, port, exclusive: true }, () => {
        socket.off('error', reject);
        // the kernel caps the size at net.core.rmem_max; a refusal is not fatal
        if (this.settings.receiveBufferBytes > 0)
          try {
            socket.setRecvBufferSize(this.settings.receiveBufferBytes);
          } catch {}
        socket.on('error', () => {});
        this.sockets.push(socket);
        resolve(socket.address().port);
      });
    });
  }

  /** What the kernel granted each socket (Linux reports twice what was asked, capped by rmem_max). */
  /**
   * The receive buffer of each socket as asked for: Linux doubles the value set with SO_RCVBUF
   * (room for its bookkeeping) and reports the doubled one (socket(7)), so it is halved here.
   */
  receiveBufferSizes(): number[] {
    const kernelDoubles = process.platform === 'linux';
    return this.sockets.map((s) => (kernelDoubles ? s.getRecvBufferSize() / 2 : s.getRecvBufferSize()));
  }

  async close(): Promise<void> {
    await Promise.all(this.sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.sockets.length = 0;
  }
}
