/** Test doubles for the LPD tests: a seeder view, a tracker registry, a transport that records. */
import type { NetworkInterfaceInfo } from 'node:os';
import type { PeerCandidate, SeededTorrent, SeederView, TrackerRegistry } from '../../src/parts';
import type { LpdEndpoint } from '../../src/lpd/endpoints';
import type { DatagramSource, OpenTransport } from '../../src/lpd/udp-transport';
import { createLogger, type Logger } from '../../src/util/log';
import type { Clock } from '../../src/util/clock';

export const hashOf = (n: number) => n.toString(16).padStart(40, '0');

export function torrent(infoHashHex: string, isPrivate = false): SeededTorrent {
  return {
    infoHashHex,
    infoHash: Buffer.from(infoHashHex, 'hex'),
    private: isPrivate,
    announceTiers: [],
    uploaded: () => 0,
    downloaded: () => 0,
    left: () => 0,
  };
}

export class FakeSeeder implements SeederView {
  port: number | undefined = 6881;
  list: SeededTorrent[] = [];
  candidates: PeerCandidate[] = [];
  private listeners: (() => void)[] = [];
  listenPort() {
    return this.port;
  }
  torrents() {
    return this.list;
  }
  torrent(infoHashHex: string) {
    return this.list.find((t) => t.infoHashHex === infoHashHex);
  }
  addCandidates(peers: PeerCandidate[]) {
    this.candidates.push(...peers);
  }
  onTorrentsChanged(l: () => void) {
    this.listeners.push(l);
  }
  set(list: SeededTorrent[]) {
    this.list = list;
    for (const l of this.listeners) l();
  }
}

export class FakeRegistry implements TrackerRegistry {
  known = new Set<string>();
  refuse = false;
  registered: { infoHashHex: string; address: string; port: number }[] = [];
  knowsTorrent(h: string) {
    return this.known.has(h);
  }
  registerExternalPeer(infoHashHex: string, address: string, port: number) {
    if (this.refuse) return false;
    this.registered.push({ infoHashHex, address, port });
    return true;
  }
}

export interface Sent {
  at: number;
  endpoint: string;
  text: string;
}

/** A network without a network: records sends, lets the test deliver datagrams, fails on demand. */
export class FakeNet {
  sent: Sent[] = [];
  open: Map<string, { endpoint: LpdEndpoint; deliver: (bytes: Uint8Array, from: DatagramSource) => void; fail: (e: Error) => void }> = new Map();
  /** endpoint key → error code its open() or send() fails with */
  failOpen = new Map<string, string>();
  failSend = new Map<string, string>();
  constructor(private readonly clock: Clock) {}
  opener: OpenTransport = async (endpoint, onMessage, onError) => {
    const code = this.failOpen.get(endpoint.key);
    if (code) throw Object.assign(new Error(`bind failed: ${code}`), { code });
    this.open.set(endpoint.key, { endpoint, deliver: onMessage, fail: onError });
    return {
      send: async (bytes) => {
        const c = this.failSend.get(endpoint.key);
        if (c) throw Object.assign(new Error(`send ${c}`), { code: c });
        this.sent.push({ at: this.clock.now(), endpoint: endpoint.key, text: Buffer.from(bytes).toString('latin1') });
      },
      close: () => void this.open.delete(endpoint.key),
    };
  };
  /** Delivers a datagram as Linux does: to every open socket of the family. */
  multicast(family: 4 | 6, bytes: Uint8Array, from: DatagramSource) {
    for (const o of [...this.open.values()]) if (o.endpoint.family === family) o.deliver(bytes, from);
  }
}

export const v4 = (address: string, prefix = 24): NetworkInterfaceInfo => ({
  address,
  netmask: '255.255.255.0',
  family: 'IPv4',
  mac: '02:00:00:00:00:01',
  internal: false,
  cidr: `${address}/${prefix}`,
});
export const v6 = (address: string, prefix = 64): NetworkInterfaceInfo => ({
  address,
  netmask: 'ffff:ffff:ffff:ffff::',
  family: 'IPv6',
  mac: '02:00:00:00:00:01',
  internal: false,
  cidr: `${address}/${prefix}`,
  scopeid: 0,
});

export function captureLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger('debug', (l) => lines.push(l)), lines };
}

/** Lets pending promise callbacks (a fake send's resolution) run. */
export const flush = () => new Promise((r) => setImmediate(r));
