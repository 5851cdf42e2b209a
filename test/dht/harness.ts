/** Loopback helpers for the DHT tests: a DhtService on a free UDP port, and a raw KRPC client. */
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { DhtService } from '../../src/dht/dht-service';
import { defaultSettings, type Settings } from '../../src/config/settings';
import { decode, encode, isDict, type BDict } from '../../src/codec/bencode';
import { systemClock } from '../../src/util/clock';
import { createLogger } from '../../src/util/log';
import { FakeSeeder } from '../lpd/fakes';
import { randomPort, tempDir } from '../helpers';

export interface TestNode {
  dht: DhtService;
  seeder: FakeSeeder;
  port: number;
  settings: Settings;
}

/** A DHT node on 127.0.0.1-reachable UDP port (bound on every IPv4 address), its seeder faked. */
export async function startNode(stateDir: string, overrides: Partial<Settings> = {}, seeder = new FakeSeeder()): Promise<TestNode> {
  for (let attempt = 0; ; attempt++) {
    const port = randomPort();
    const settings: Settings = { ...defaultSettings(), 'main.state_dir': stateDir, 'dht.port': port, 'dht.query_rate': 0, ...overrides };
    const dht = new DhtService({ log: createLogger(process.env.DHT_TEST_LOG ? 'debug' : 'error'), clock: systemClock, seeder }, settings);
    try {
      await dht.start();
      return { dht, seeder, port, settings };
    } catch (err) {
      if (attempt > 5 || !/EADDRINUSE/.test(String(err))) throw err;
    }
  }
}

/** Nodes started by one test, each in its own state folder (or a given one, for a restart); `close` stops them all and removes the folders. */
export class NodeGroup {
  private readonly nodes: TestNode[] = [];
  private readonly dirs: { path: string; remove(): void }[] = [];

  async start(opts: { settings?: Partial<Settings>; seeder?: FakeSeeder; stateDir?: string } = {}): Promise<TestNode & { stateDir: string }> {
    let stateDir = opts.stateDir;
    if (!stateDir) {
      const d = tempDir();
      this.dirs.push(d);
      stateDir = d.path;
    }
    const n = await startNode(stateDir, opts.settings ?? {}, opts.seeder);
    this.nodes.push(n);
    return { ...n, stateDir };
  }

  async close(): Promise<void> {
    for (const n of this.nodes) await n.dht.close();
    for (const d of this.dirs) d.remove();
  }
}

/** A bare KRPC speaker on loopback: sends queries, waits for the reply with the same transaction id. */
export class KrpcClient {
  readonly id = randomBytes(20);
  private readonly socket: Socket = createSocket('udp4');
  private readonly waiting = new Map<string, (m: BDict) => void>();
  private tid = 0;
  received = 0;

  async open(): Promise<this> {
    this.socket.on('message', (buf) => {
      this.received++;
      try {
        const m = decode(buf).value;
        if (!isDict(m)) return;
        const t = Buffer.from(m.get('t') as Uint8Array).toString('hex');
        this.waiting.get(t)?.(m);
        this.waiting.delete(t);
      } catch {
        // not for us to judge here
      }
    });
    await new Promise<void>((r) => this.socket.bind(0, '127.0.0.1', () => r()));
    return this;
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(port: number, bytes: Uint8Array): void {
    this.socket.send(bytes, port, '127.0.0.1');
  }

  /**
   * A query; resolves with the reply's dict, or undefined after `ms` (default 10 s: the
   * replies the tests expect come in milliseconds, but a node starved of CPU by a loaded
   * machine can take seconds, and 2 s was a timing threshold; the test's deadline bounds the
   * whole).
   */
  query(port: number, q: string, a: Record<string, unknown>, opts: { id?: Buffer; ms?: number } = {}): Promise<BDict | undefined> {
    const t = Buffer.alloc(2);
    t.writeUInt16BE(++this.tid & 0xffff);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(t.toString('hex'));
        resolve(undefined);
      }, opts.ms ?? 10_000);
      this.waiting.set(t.toString('hex'), (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.send(port, encode({ t, y: 'q', q, a: { id: opts.id ?? this.id, ...a } } as never));
    });
  }

  close(): void {
    this.socket.close();
  }
}

/** The `r` dict of a reply. */
export const replyOf = (m: BDict | undefined): BDict | undefined => {
  const r = m?.get('r');
  return isDict(r) ? r : undefined;
};
