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

export class UdpFront {
  private readonly sockets: Socket[] = [];

  constructor(private readonly deps: UdpFrontDeps) {}

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
        socket.on('error', () => {});
        this.sockets.push(socket);
        resolve(socket.address().port);
      });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.sockets.length = 0;
  }
}
