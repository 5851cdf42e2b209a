/** Helpers for the tracker tests: settings, torrents, tiny HTTP and UDP clients. */
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { defaultSettings, type Settings } from '../../src/config/settings';
import { encode, decode, type BValue } from '../../src/codec/bencode';
import { createLogger, type Logger } from '../../src/util/log';
import { percentEncode } from '../../src/codec/tracker-http';

export function trackerSettings(stateDir: string, over: Partial<Settings> = {}): Settings {
  return {
    ...defaultSettings(),
    'main.state_dir': stateDir,
    'tracker.port': 0,
    'tracker.address': ['127.0.0.1', '::1'],
    'tracker.allowed_dir': `${stateDir}/torrents`,
    ...over,
  } as Settings;
}

/** A logger that keeps its lines (and prints nothing). */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = createLogger('debug', (l) => lines.push(l)) as Logger & { lines: string[] };
  log.lines = lines;
  return log;
}

/** A valid single-file .torrent and its info hash. */
export function makeTorrent(name: string, length = 100_000): { bytes: Uint8Array; infoHash: Buffer; hex: string } {
  const pieces = Buffer.alloc(20 * Math.ceil(length / 16384));
  const info = { length, name, 'piece length': 16384, pieces };
  const infoBytes = encode(info);
  const infoHash = createHash('sha1').update(infoBytes).digest();
  return { bytes: encode({ announce: 'http://tracker.invalid/announce', info }), infoHash, hex: infoHash.toString('hex') };
}

/** A raw HTTP exchange: sends `request`, returns everything received until the server closes. */
export function rawHttp(port: number, request: string | Buffer, host = '127.0.0.1'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect({ host, port }, () => s.write(request));
    s.on('data', (d) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

export async function httpGet(port: number, target: string, host = '127.0.0.1'): Promise<{ status: number; headers: string; body: Buffer }> {
  const raw = await rawHttp(port, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`, host);
  const end = raw.indexOf('\r\n\r\n');
  const headers = raw.subarray(0, end).toString('latin1');
  return { status: Number(headers.split(' ')[1]), headers, body: raw.subarray(end + 4) };
}

export function announceTarget(o: { infoHash: Uint8Array; peerId: Uint8Array; port: number; left: number; extra?: string }): string {
  return `/announce?info_hash=${percentEncode(o.infoHash)}&peer_id=${percentEncode(o.peerId)}&port=${o.port}&uploaded=0&downloaded=0&left=${o.left}${o.extra ?? ''}`;
}

export const bdict = (b: Uint8Array) => decode(b).value as Map<string, BValue>;

/** A UDP client that collects every reply. */
export function udpClient(family: 4 | 6 = 4) {
  const s = createSocket(family === 4 ? 'udp4' : 'udp6');
  const replies: Buffer[] = [];
  const waiters: (() => void)[] = [];
  s.on('message', (m) => {
    replies.push(m);
    waiters.splice(0).forEach((w) => w());
  });
  return {
    replies,
    send: (bytes: Uint8Array, port: number, host = family === 4 ? '127.0.0.1' : '::1') =>
      new Promise<void>((r, j) => s.send(bytes, port, host, (e) => (e ? j(e) : r()))),
    /** Waits until `n` replies in total have arrived. */
    async until(n: number): Promise<Buffer[]> {
      while (replies.length < n) await new Promise<void>((r) => waiters.push(r));
      return replies;
    },
    close: () => s.close(),
  };
}

export const peerId = (n: number) => Buffer.from(`-MS0001-${String(n).padStart(12, '0')}`);
