/**
 * The real LPD socket for one endpoint: UDP bound to port 6771 on the wildcard address
 * (a socket must be bound to the wildcard or the group to receive the group's datagrams),
 * sharing the port (SO_REUSEADDR) with our other endpoints and with other LPD clients on the
 * host, member of the group on its interface only, sending on that interface only with
 * TTL/hop limit 1 and multicast loopback off.
 *
 * Linux delivers a group datagram to every socket bound to the port whatever interface
 * joined it (IP_MULTICAST_ALL, which Node cannot switch off), so with several endpoints of
 * one family every socket gets every datagram: the LPD service keeps the copy of the
 * endpoint whose subnet holds the sender and ignores the others.
 */
import { createSocket, type Socket } from 'node:dgram';
import { LPD_PORT } from '../codec/lpd.js';
import { LPD_RECEIVE_MAX_BYTES } from '../codec/lpd.js';
import type { LpdEndpoint } from './endpoints.js';

export interface DatagramSource {
  address: string;
  port: number;
}

export interface LpdTransport {
  /** Sends one datagram to the endpoint's group; rejects with the socket error. */
  send(bytes: Uint8Array): Promise<void>;
  close(): void;
}

export type OpenTransport = (
  endpoint: LpdEndpoint,
  onMessage: (bytes: Uint8Array, from: DatagramSource) => void,
  onError: (err: Error) => void,
) => Promise<LpdTransport>;

/** BEP 14 datagrams stay on the local segment: multicast TTL / hop limit 1. */
const LPD_MULTICAST_TTL = 1;

export const openUdpTransport: OpenTransport = (endpoint, onMessage, onError) =>
  new Promise((resolve, reject) => {
    const socket: Socket = createSocket({
      type: endpoint.family === 4 ? 'udp4' : 'udp6',
      reuseAddr: true,
      ipv6Only: endpoint.family === 6,
      // a datagram larger than we read is dropped by the parser; keep the kernel queue small
      recvBufferSize: 64 * 1024,
    });
    let open = false;
    const fail = (err: Error) => {
      try {
        socket.close();
      } catch {}
      reject(err);
    };
    socket.on('error', (err) => (open ? onError(err) : fail(err)));
    socket.on('message', (msg, rinfo) => {
      // recvmsg already cut it at 64 KiB; the parser bounds it at 1400 (counted as too-large)
      onMessage(msg.length > LPD_RECEIVE_MAX_BYTES + 1 ? msg.subarray(0, LPD_RECEIVE_MAX_BYTES + 1) : msg, {
        address: rinfo.address,
        port: rinfo.port,
      });
    });
    socket.bind({ port: LPD_PORT, address: endpoint.family === 4 ? '0.0.0.0' : '::', exclusive: false }, () => {
      try {
        socket.addMembership(endpoint.group, endpoint.multicastInterface);
        socket.setMulticastInterface(endpoint.multicastInterface);
        socket.setMulticastTTL(LPD_MULTICAST_TTL);
        socket.setMulticastLoopback(false);
      } catch (err) {
        fail(err as Error);
        return;
      }
      open = true;
      resolve({
        send: (bytes) =>
          new Promise<void>((res, rej) => socket.send(bytes, LPD_PORT, endpoint.group, (err) => (err ? rej(err) : res()))),
        close: () => {
          open = false;
          try {
            socket.close();
          } catch {}
        },
      });
    });
  });
