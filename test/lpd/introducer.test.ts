// deadline: 30s
/**
 * The introducer on loopback against a scripted client: the bytes of an introduction
 * (handshake bits, BEP 10 handshake, have_none, one ut_pex message), then the refusals.
 * Timers run on a manual clock; the sockets are real.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server, type Socket } from 'node:net';
import { ManualClock } from '../../src/util/clock';
import { createLogger } from '../../src/util/log';
import { defaultSettings, type Settings } from '../../src/config/settings';
import { INTRODUCTION_GRACE_MS, Introducer } from '../../src/lpd/introducer';
import type { MeshLookup, MeshPeer } from '../../src/seeder/lookup';
import {
  EXT_HANDSHAKE_ID,
  PeerWireFramer,
  decodeExtendedHandshake,
  decodeMessage,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMessage,
  type Handshake,
  type Message,
} from '../../src/codec/peer-wire';
import { PEX_FLAG, decodePex, type PexMessage } from '../../src/codec/pex';
import { deadline, waitFor } from '../helpers';

const X = 'ab'.repeat(20);

/** A client listening on 127.0.0.1: answers the handshake, records what it is sent. */
class ScriptedClient {
  server: Server;
  port = 0;
  handshake: Handshake | undefined;
  messages: Message[] = [];
  pex: PexMessage[] = [];
  extHandshake: ReturnType<typeof decodeExtendedHandshake> | undefined;
  connections = 0;
  closed = 0;
  constructor(opts: { pexId?: number; extension?: boolean; dht?: boolean } = {}) {
    this.server = createServer((s: Socket) => {
      this.connections++;
      const framer = new PeerWireFramer(1 << 20);
      s.on('error', () => {});
      s.on('close', () => this.closed++);
      s.on('data', (d) =>
        framer.push(
          d,
          (h) => {
            this.handshake = h;
            s.write(encodeHandshake({ infoHash: h.infoHash, peerId: Buffer.alloc(20, 1), extension: opts.extension ?? true, fast: true, dht: opts.dht ?? false }));
            if (opts.extension ?? true) {
              const m = new Map(opts.pexId === 0 ? [['ut_metadata', 3]] : [['ut_pex', opts.pexId ?? 7]]) as Map<string, number>;
              s.write(encodeMessage({ type: 'extended', extId: EXT_HANDSHAKE_ID, payload: encodeExtendedHandshake({ m, version: 'scripted' }) }));
            }
          },
          (body) => {
            const m = decodeMessage(body, { pieceCount: 100 });
            this.messages.push(m);
            if (m.type === 'extended' && m.extId === EXT_HANDSHAKE_ID) this.extHandshake = decodeExtendedHandshake(m.payload);
            else if (m.type === 'extended' && m.extId === (opts.pexId ?? 7)) this.pex.push(decodePex(m.payload));
          },
        ),
      );
    });
  }
  async listen(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }
  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

function setup(
  peers: MeshPeer[],
  facts: Partial<{ private: boolean; seeding: boolean; allowed: boolean; own: boolean; dhtPort: number }> = {},
  settings: Partial<Settings> = {},
) {
  const clock = new ManualClock();
  const asked: { h: string; except?: string[] }[] = [];
  const lookup: MeshLookup = {
    async peersFor(h, opts) {
      asked.push({ h, ...(opts?.except ? { except: opts.except } : {}) });
      return peers;
    },
  };
  const introducer = new Introducer(
    {
      clock,
      log: createLogger('error'),
      lookup,
      isOwnAddress: () => facts.own ?? false,
      isPrivate: () => facts.private ?? false,
      isAllowed: () => facts.allowed ?? true,
      isSeeding: () => facts.seeding ?? false,
      ...(facts.dhtPort !== undefined ? { dhtPort: () => facts.dhtPort } : {}),
    },
    { ...defaultSettings(), ...settings },
  );
  return { clock, introducer, asked };
}

const seedA: MeshPeer = { address: '10.61.1.10', port: 6881, seed: true, source: 'tracker' };
const leechB: MeshPeer = { address: '10.61.1.20', port: 51413, source: 'lpd' };
const v6peer: MeshPeer = { address: 'fd00::10', port: 6881, seed: true, source: 'mesh-tracker' };

test(
  'an introduction: handshake with extension and fast bits, BEP 10 offering ut_pex, have_none, one ut_pex message, close after the grace',
  deadline(10_000, async () => {
    const client = await new ScriptedClient().listen();
    const { clock, introducer } = setup([seedA, leechB, v6peer, { address: 'fe80::1%eth0', port: 6881, source: 'lpd' }]);
    await introducer.start();
    try {
      introducer.heard(X, '127.0.0.1', client.port, 'lo');
      await waitFor('the ut_pex message', 5000, () => client.pex.length === 1 && introducer.status().sent === 1);
      const h = client.handshake!;
      assert.equal(Buffer.from(h.infoHash).toString('hex'), X);
      assert.ok(h.extension && h.fast && !h.dht, 'extension and fast bits; no DHT bit without a DHT');
      assert.is(client.extHandshake!.m.get('ut_pex'), 2, 'our ut_pex id');
      assert.is(client.extHandshake!.port, undefined, 'no listen port: we are not a peer of it');
      const types = client.messages.map((m) => (m.type === 'extended' ? `extended/${m.extId}` : m.type));
      assert.equal(types, ['extended/0', 'haveNone', 'extended/7']);
      const given = client.pex[0]!.added;
      assert.equal(
        given.map((p) => [p.address, p.port, p.flags]),
        [
          ['10.61.1.10', 6881, PEX_FLAG.reachable | PEX_FLAG.seed],
          ['10.61.1.20', 51413, PEX_FLAG.reachable],
          ['fd00::10', 6881, PEX_FLAG.reachable | PEX_FLAG.seed],
        ],
        'IPv4 in added, IPv6 in added6, link-local left out',
      );
      assert.equal(client.pex[0]!.dropped, []);
      assert.is(introducer.status().peersGiven, 3);
      assert.is(client.closed, 0, 'open during the grace');
      clock.advance(INTRODUCTION_GRACE_MS);
      await waitFor('closed after the grace', 5000, () => client.closed === 1);
      // the same client announcing again within 5 minutes: nothing new, no second connection
      introducer.heard(X, '127.0.0.1', client.port, 'lo');
      await waitFor('refused', 5000, () => introducer.status().refused['recently introduced'] === 1);
      assert.is(client.connections, 1);
    } finally {
      await introducer.close();
      await client.close();
    }
  }),
);

test(
  'with a DHT, a client whose handshake has the DHT bit is told our DHT port (BEP 5) before the ut_pex message; one without it is not',
  deadline(10_000, async () => {
    for (const theirsDht of [true, false]) {
      const client = await new ScriptedClient({ dht: theirsDht }).listen();
      const { introducer } = setup([seedA], { dhtPort: 6882 });
      await introducer.start();
      try {
        introducer.heard(X, '127.0.0.1', client.port, 'lo');
        await waitFor('the ut_pex message', 5000, () => client.pex.length === 1 && introducer.status().sent === 1);
        assert.ok(client.handshake!.dht, 'our handshake says we run a DHT');
        const types = client.messages.map((m) => (m.type === 'extended' ? `extended/${m.extId}` : m.type));
        assert.equal(types, theirsDht ? ['extended/0', 'haveNone', 'port', 'extended/7'] : ['extended/0', 'haveNone', 'extended/7']);
        if (theirsDht) assert.equal(client.messages.find((m) => m.type === 'port'), { type: 'port', port: 6882 });
      } finally {
        await introducer.close();
        await client.close();
      }
    }
  }),
);

test(
  'never: a private torrent, a torrent not allowed, our own address, a torrent we seed, or with lpd.introduce 0',
  deadline(10_000, async () => {
    const client = await new ScriptedClient().listen();
    try {
      const cases: [Parameters<typeof setup>[1], Partial<Settings>, string | undefined][] = [
        [{ private: true }, {}, 'private'],
        [{ allowed: false }, {}, 'not allowed'],
        [{ own: true }, {}, 'own address'],
        [{ seeding: true }, {}, 'seeding'],
        [{}, { 'lpd.introduce': false }, undefined],
      ];
      for (const [facts, settings, reason] of cases) {
        const { introducer, asked } = setup([seedA], facts, settings);
        await introducer.start();
        introducer.heard(X, '127.0.0.1', client.port, 'lo');
        const st = introducer.status();
        assert.equal(st.refused, reason ? { [reason]: 1 } : {}, JSON.stringify(facts));
        assert.is(asked.length, 0, 'no lookup');
        if (!reason) assert.is(st.enabled, false);
        await introducer.close();
      }
      assert.is(client.connections, 0);
    } finally {
      await client.close();
    }
  }),
);

test(
  'H is never given itself: the lookup leaves it out, and what is left of it is refused',
  deadline(10_000, async () => {
    const client = await new ScriptedClient().listen();
    const { introducer, asked } = setup([{ address: '127.0.0.1', port: 9999, source: 'tracker' }]);
    await introducer.start();
    try {
      introducer.heard(X, '127.0.0.1', client.port, 'lo');
      await waitFor('refused', 5000, () => introducer.status().refused['no peers'] === 1);
      assert.equal(asked, [{ h: X, except: ['127.0.0.1'] }]);
      assert.is(client.connections, 0);
    } finally {
      await introducer.close();
      await client.close();
    }
  }),
);

test(
  'a client without ut_pex, or without the extension protocol, or not listening: refused and counted, nothing hangs',
  deadline(10_000, async () => {
    const noPex = await new ScriptedClient({ pexId: 0 }).listen();
    const noExt = await new ScriptedClient({ extension: false }).listen();
    const { introducer } = setup([seedA]);
    await introducer.start();
    try {
      introducer.heard(X, '127.0.0.1', noPex.port, 'lo');
      introducer.heard('cd'.repeat(20), '127.0.0.1', noExt.port, 'lo');
      await waitFor('two refusals', 5000, () => introducer.status().refused['no pex'] === 2);
      await noExt.close();
      introducer.heard('ef'.repeat(20), '127.0.0.1', noExt.port, 'lo'); // nobody listens there now
      await waitFor('three refusals', 5000, () => {
        const r = introducer.status().refused;
        return r['no pex'] === 2 && r.failed === 1;
      });
      assert.is(introducer.status().sent, 0);
      assert.is(introducer.status().active, 0);
    } finally {
      await introducer.close();
      await noPex.close();
    }
  }),
);

test.run();
