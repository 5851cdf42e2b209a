// deadline: 30s
// Clock-driven tests of the Announcer with fake transports: no sockets, no sleeps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Announcer, BACKOFF_CAP_INTERNET_MS, BACKOFF_CAP_MESH_MS, STOP_DEADLINE_MS, makePeerId, type AnnouncerSettings } from '../../src/seeder/announcer';
import { TrackerError, type AnnounceTransport } from '../../src/seeder/announce-transport';
import type { AnnounceReply, AnnounceRequest } from '../../src/codec/announce-client';
import type { PeerCandidate, SeededTorrent, SeederView } from '../../src/parts';
import { ManualClock } from '../../src/util/clock';
import { createLogger } from '../../src/util/log';
import { deadline } from '../helpers';
import { announcerSettings, selfTrackerUrl } from '../../src/seeder/announce-service';
import { defaultSettings } from '../../src/config/settings';

type Behaviour = 'ok' | 'fail' | 'hang' | ((req: AnnounceRequest) => AnnounceReply | Error);
interface Call {
  url: string;
  event: string;
  at: number;
  numwant: number;
  hash: string;
}

function torrent(hex: string, tiers: string[][], priv = false): SeededTorrent {
  return {
    infoHashHex: hex,
    infoHash: Buffer.from(hex, 'hex'),
    private: priv,
    announceTiers: tiers,
    uploaded: () => 100,
    downloaded: () => 0,
    left: () => 0,
  };
}
const H1 = '11'.repeat(20);
const H2 = '22'.repeat(20);

function setup(opts: { torrents: SeededTorrent[]; mesh?: string[]; self?: string; maxInFlight?: number; port?: number | undefined; random?: () => number }) {
  const clock = new ManualClock();
  const lines: string[] = [];
  const log = createLogger('debug', (l) => lines.push(l));
  const behaviour = new Map<string, Behaviour>();
  const calls: Call[] = [];
  const hanging: { url: string; resolve: (r: AnnounceReply) => void; reject: (e: Error) => void }[] = [];
  const transport: AnnounceTransport = {
    announce(url, req) {
      calls.push({ url: url.href, event: req.event, at: clock.now(), numwant: req.numwant, hash: Buffer.from(req.infoHash).toString('hex') });
      const b = behaviour.get(url.href) ?? 'ok';
      if (b === 'ok') return Promise.resolve({ interval: 120, peers: [{ address: '10.0.0.9', port: 7000 }] });
      if (b === 'fail') return Promise.reject(new TrackerError('connection refused'));
      if (b === 'hang') return new Promise((resolve, reject) => hanging.push({ url: url.href, resolve, reject }));
      const r = b(req);
      return r instanceof Error ? Promise.reject(r) : Promise.resolve(r);
    },
  };
  let torrents = [...opts.torrents];
  let changed: () => void = () => {};
  const candidates: PeerCandidate[] = [];
  const seeder: SeederView = {
    listenPort: () => ('port' in opts ? opts.port : 6881),
    torrents: () => torrents,
    torrent: () => undefined,
    addCandidates: (p) => candidates.push(...p),
    onTorrentsChanged: (l) => (changed = l),
  };
  const settings: AnnouncerSettings = {
    meshTrackers: opts.mesh ?? [],
    ...(opts.self ? { selfTracker: opts.self } : {}),
    peerId: makePeerId('0.1.0'),
    numwant: 30,
    maxInFlight: opts.maxInFlight ?? 8,
  };
  const announcer = new Announcer(
    { clock, log, seeder, transports: { 'http:': transport, 'udp:': transport }, random: opts.random ?? (() => 0.5) },
    settings,
  );
  const flush = () => new Promise((r) => setImmediate(r));
  /** Moves the clock in steps, letting promise chains run between steps. */
  const advance = async (ms: number, step = 1000) => {
    await flush();
    for (let done = 0; done < ms; done += step) {
      clock.advance(Math.min(step, ms - done));
      await flush();
    }
  };
  return {
    clock,
    lines,
    behaviour,
    calls,
    hanging,
    candidates,
    announcer,
    flush,
    advance,
    setTorrents(t: SeededTorrent[]) {
      torrents = t;
      changed();
    },
    callsTo: (url: string) => calls.filter((c) => c.url === url),
  };
}

const A = 'http://a.invalid/announce';
const B = 'http://b.invalid/announce';
const C = 'udp://c.invalid:6969/announce';
const M = 'http://10.1.0.1:6969/announce';
const S = 'http://127.0.0.1:6969/announce';

test(
  'tiers: every tier announced at once; BEP 12 within a tier, the tracker that answers moves to the front',
  deadline(5000, async () => {
    const f = setup({ torrents: [torrent(H1, [[A, B], [C]])], mesh: [M], self: S });
    f.behaviour.set(A, 'fail');
    f.announcer.start();
    await f.flush();
    // A failed, B (its backup) answered; C, M and S were announced without waiting for tier 1
    assert.equal(
      f.calls.map((c) => [c.url, c.event]),
      [
        [A, 'started'],
        [C, 'started'],
        [M, 'started'],
        [S, 'started'],
        [B, 'started'],
      ],
    );
    const st = f.announcer.status().torrents[0]!;
    assert.equal(
      st.tiers.map((t) => [t.kind, t.trackers.map((x) => [x.url, x.state])]),
      [
        ['torrent', [[B, 'ok'], [A, 'failing']]],
        ['torrent', [[C, 'ok']]],
        ['mesh', [[M, 'ok']]],
        ['self', [[S, 'ok']]],
      ],
    );
    assert.is(st.mode, 'internet');
    assert.is(st.tiers[0]!.nextAnnounceInS, 120);
    // A is fine again, but B now leads its tier: A is not asked while B answers
    f.behaviour.set(A, 'ok');
    f.calls.length = 0;
    await f.advance(120_000);
    assert.equal(
      f.calls.map((c) => [c.url, c.event]).sort(),
      [
        [B, 'none'],
        [C, 'none'],
        [M, 'none'],
        [S, 'none'],
      ].sort(),
    );
    assert.ok(f.calls.every((c) => c.at === 120_000 && c.numwant === 30));
    // peers went to the seeder as tracker candidates
    assert.equal(f.candidates[0], { infoHashHex: H1, address: '10.0.0.9', port: 7000, source: 'tracker' });
    await f.announcer.close();
  }),
);

test(
  'backoff: exponential from 15 s, capped, per tracker; a mesh tracker is capped lower',
  deadline(10000, async () => {
    const f = setup({ torrents: [torrent(H1, [[A]])], mesh: [M] });
    f.behaviour.set(A, 'fail');
    f.behaviour.set(M, 'fail');
    f.announcer.start();
    await f.advance(2 * 3600_000, 5000);
    const gaps = (url: string) => {
      const at = f.callsTo(url).map((c) => c.at);
      return at.slice(1).map((t, i) => t - at[i]!);
    };
    // random() = 0.5 means no jitter; steps of 5 s round each retry up to the next step
    assert.equal(gaps(A).slice(0, 8), [15_000, 30_000, 60_000, 120_000, 240_000, 480_000, 900_000, 900_000]);
    assert.ok(gaps(A).every((g) => g <= BACKOFF_CAP_INTERNET_MS));
    assert.equal(gaps(M).slice(0, 5), [15_000, 30_000, 60_000, 120_000, 120_000]);
    assert.ok(gaps(M).every((g) => g <= BACKOFF_CAP_MESH_MS));
    // every retry still says started: no tracker has it yet
    assert.ok(f.calls.every((c) => c.event === 'started'));
    const a = f.announcer.status().torrents[0]!.tiers[0]!.trackers[0]!;
    assert.is(a.state, 'failing');
    assert.is(a.error, 'connection refused');
    assert.ok(a.failures >= 9);
    // one success resets the backoff: back to the tracker's interval
    f.behaviour.set(A, 'ok');
    await f.advance(BACKOFF_CAP_INTERNET_MS, 5000);
    const n = f.callsTo(A).length;
    await f.advance(120_000, 5000);
    assert.is(f.callsTo(A).length, n + 1);
    await f.announcer.close();
  }),
);

test(
  'backoff jitter stays within ±20 %',
  deadline(2000, async () => {
    const f = setup({ torrents: [] });
    for (const r of [0, 0.25, 0.999]) {
      const a = new Announcer(
        { clock: f.clock, log: createLogger('error', () => {}), seeder: { listenPort: () => 1, torrents: () => [], torrent: () => undefined, addCandidates() {}, onTorrentsChanged() {} }, transports: {}, random: () => r },
        { meshTrackers: [], peerId: makePeerId('0.1.0'), numwant: 1, maxInFlight: 1 },
      );
      const d = a.backoffMs(3, 'torrent');
      assert.ok(d >= 60_000 * 0.8 && d <= 60_000 * 1.2, `${r}: ${d}`);
    }
  }),
);

test(
  'a tracker that never answers delays nobody: other tiers and the mesh keep their interval, even with one request slot',
  deadline(5000, async () => {
    const f = setup({ torrents: [torrent(H1, [[A], [B]]), torrent(H2, [[A]])], mesh: [M], maxInFlight: 1 });
    f.behaviour.set(A, 'hang');
    f.announcer.start();
    await f.advance(600_000, 5000);
    // A holds the only internet slot for ten minutes; B waits behind it (same pool), but the mesh tier never does
    const meshAt = f.callsTo(M).map((c) => `${c.at / 1000}`);
    assert.equal(meshAt, ['0', '0', '120', '120', '240', '240', '360', '360', '480', '480', '600', '600']);
    assert.is(f.hanging.length, 1);
    // once A gives up, B gets its turn at once
    f.hanging[0]!.reject(new TrackerError('no reply within 15 s'));
    await f.flush();
    await f.flush();
    assert.ok(f.callsTo(B).some((c) => c.at === 600_000));
    await f.announcer.close();
  }),
);

test(
  'fallback: the log says exactly once that a torrent announces in-mesh, and once when internet trackers answer again',
  deadline(10000, async () => {
    const f = setup({ torrents: [torrent(H1, [[A], [C]])], mesh: [M], self: S });
    f.behaviour.set(A, 'fail');
    f.behaviour.set(C, 'fail');
    f.announcer.start();
    await f.advance(3600_000, 5000);
    const switched = () => f.lines.filter((l) => /announcing in-mesh only/.test(l));
    const back = () => f.lines.filter((l) => /answers again/.test(l));
    assert.equal(switched(), [
      `warn: ${H1}: every internet tracker failed (2; last: connection refused): announcing in-mesh only (${M}, ${S})`,
    ]);
    assert.is(back().length, 0);
    assert.is(f.announcer.status().torrents[0]!.mode, 'in-mesh');
    // the mesh tiers were announced all along, on their interval
    assert.ok(f.callsTo(M).length >= 30);
    f.behaviour.set(C, 'ok');
    await f.advance(3600_000, 5000);
    assert.equal(back(), [`info: ${H1}: internet tracker ${C} answers again: announcing to internet trackers again`]);
    assert.is(switched().length, 1);
    assert.is(f.announcer.status().torrents[0]!.mode, 'internet');
    // and when the internet goes away again, once more
    f.behaviour.set(C, 'fail');
    await f.advance(3600_000, 5000);
    assert.is(switched().length, 2);
    assert.is(back().length, 1);
    await f.announcer.close();
  }),
);

test(
  'a dead tracker shared by many torrents is probed about once per backoff step, not once per torrent',
  deadline(10000, async () => {
    const hashes = Array.from({ length: 20 }, (_, i) => i.toString(16).padStart(2, '0').repeat(20));
    // a fixed spread of jitter values, as Math.random would give
    let i = 0;
    const random = () => ((i++ * 0.618) % 1);
    const f = setup({ torrents: hashes.map((h) => torrent(h, [[A]])), random });
    f.behaviour.set(A, 'fail');
    f.announcer.start();
    await f.advance(3600_000, 1000);
    const alone = setup({ torrents: [torrent(H1, [[A]])], random });
    alone.behaviour.set(A, 'fail');
    alone.announcer.start();
    await alone.advance(3600_000, 1000);
    const after0 = f.callsTo(A).filter((c) => c.at > 0).length;
    const aloneAfter0 = alone.callsTo(A).filter((c) => c.at > 0).length;
    // at start 8 torrents take the 8 request slots; once they fail, the 12 others fail at once, with no traffic
    assert.ok(f.callsTo(A).filter((c) => c.at === 0).length <= 9);
    assert.ok(after0 <= 3 * aloneAfter0, `${after0} probes for 20 torrents vs ${aloneAfter0} for one`);
    console.log(`probes of a dead tracker in 1 h after start: ${after0} for 20 torrents, ${aloneAfter0} for one`);
    // every torrent still counts the tracker as failing and keeps retrying on its own schedule
    for (const t of f.announcer.status().torrents) assert.is(t.tiers[0]!.trackers[0]!.state, 'failing');
    // when the tracker is back, every torrent gets through within the backoff cap
    f.behaviour.set(A, 'ok');
    await f.advance(BACKOFF_CAP_INTERNET_MS * 1.2 + 1000, 5000);
    for (const t of f.announcer.status().torrents) assert.is(t.tiers[0]!.trackers[0]!.state, 'ok', t.infoHash);
    await f.announcer.close();
    await alone.announcer.close();
  }),
);

test(
  'a torrent without trackers of its own is announced in-mesh without a switch message',
  deadline(5000, async () => {
    const f = setup({ torrents: [torrent(H1, [])], mesh: [M] });
    f.announcer.start();
    await f.advance(60_000);
    assert.is(f.callsTo(M).length, 1);
    assert.is(f.announcer.status().torrents[0]!.mode, 'mesh-only');
    assert.not.ok(f.lines.some((l) => /in-mesh only|warn/.test(l)), f.lines.join('\n'));
    await f.announcer.close();
  }),
);

test(
  'a mesh tracker listed in the torrent is announced in the mesh tier only, and is not an internet tracker',
  deadline(5000, async () => {
    const f = setup({ torrents: [torrent(H1, [[M], [A]])], mesh: [M] });
    f.behaviour.set(A, 'fail');
    f.announcer.start();
    await f.flush();
    const st = f.announcer.status().torrents[0]!;
    assert.equal(st.tiers.map((t) => [t.kind, t.trackers.map((x) => x.url)]), [['torrent', [A]], ['mesh', [M]]]);
    assert.is(st.mode, 'in-mesh');
    assert.is(f.callsTo(M).length, 1);
    await f.announcer.close();
  }),
);

test(
  'private torrents (BEP 27) are announced only to their own trackers, even when all of them fail',
  deadline(5000, async () => {
    const f = setup({ torrents: [torrent(H1, [[A]], true), torrent(H2, [[B]])], mesh: [M], self: S });
    f.behaviour.set(A, 'fail');
    f.announcer.start();
    await f.advance(3600_000, 10_000);
    assert.equal([...new Set(f.calls.filter((c) => c.hash === H1).map((c) => c.url))], [A]);
    assert.ok(f.callsTo(A).length > 5);
    assert.ok(f.calls.some((c) => c.hash === H2 && c.url === M));
    const st = f.announcer.status().torrents.find((t) => t.infoHash === H1)!;
    assert.equal(st.tiers.map((t) => t.kind), ['torrent']);
    assert.is(st.mode, 'private');
    assert.not.ok(f.lines.some((l) => l.includes(H1) && /in-mesh/.test(l)));
    // and the public one announced M and S once per interval only
    assert.is(f.callsTo(M).length, 31);
    await f.announcer.close();
  }),
);

test(
  'interval: clamped to at least 30 s; min interval respected; no interval means 30 min',
  deadline(5000, async () => {
    const f = setup({ torrents: [torrent(H1, [[A], [B], [C]])] });
    f.behaviour.set(A, () => ({ interval: 1, peers: [] }));
    f.behaviour.set(B, () => ({ interval: 60, minInterval: 300, peers: [] }));
    f.behaviour.set(C, () => ({ peers: [] }));
    f.announcer.start();
    await f.advance(1800_000, 5000);
    const times = (u: string) => f.callsTo(u).map((c) => c.at / 1000);
    assert.equal(times(A).slice(0, 4), [0, 30, 60, 90]);
    assert.equal(times(B).slice(0, 3), [0, 300, 600]);
    assert.equal(times(C), [0, 1800]);
    await f.announcer.close();
  }),
);

test(
  'no listen port yet: waits for the seeder instead of announcing port 0',
  deadline(5000, async () => {
    const f = setup({ torrents: [torrent(H1, [[A]])], port: undefined });
    f.announcer.start();
    await f.advance(30_000);
    assert.is(f.calls.length, 0);
    await f.announcer.close();
  }),
);

test(
  'stopped: sent on close to trackers that answered, not to failing ones; close is bounded in time',
  deadline(5000, async () => {
    const f = setup({ torrents: [torrent(H1, [[A], [B], [C]])], mesh: [M] });
    f.behaviour.set(B, 'fail');
    f.announcer.start();
    await f.flush();
    // C answered once (it has our started) but fails now: probably unreachable, not waited for
    f.behaviour.set(C, 'fail');
    await f.advance(120_000);
    assert.is(f.announcer.status().torrents[0]!.tiers[2]!.trackers[0]!.state, 'failing');
    f.calls.length = 0;
    f.behaviour.set(M, 'hang');
    let closed = false;
    const closing = f.announcer.close().then(() => (closed = true));
    await f.flush();
    assert.equal(
      f.calls.map((c) => [c.url, c.event, c.numwant]).sort(),
      [
        [A, 'stopped', 0],
        [M, 'stopped', 0],
      ].sort(),
    );
    assert.is(closed, false, 'waits for the mesh tracker');
    f.clock.advance(STOP_DEADLINE_MS);
    await closing;
    // nothing more after close
    await f.advance(3600_000, 60_000);
    assert.is(f.calls.length, 2);
  }),
);

test(
  'the watch folder changes: a new torrent starts at once, a removed one is stopped',
  deadline(5000, async () => {
    const f = setup({ torrents: [torrent(H1, [[A]])] });
    f.announcer.start();
    await f.flush();
    f.setTorrents([torrent(H2, [[A]])]);
    await f.flush();
    assert.equal(
      f.calls.map((c) => c.event),
      ['started', 'stopped', 'started'],
    );
    assert.equal(f.announcer.status().torrents.map((t) => t.infoHash), [H2]);
    await f.announcer.close();
  }),
);

test(
  'reload: a new mesh tracker tier is announced at once; unchanged tiers keep their timers, known trackers their state',
  deadline(5000, async () => {
    const f = setup({ torrents: [torrent(H1, [[A]])], mesh: [M] });
    f.announcer.start();
    await f.flush();
    f.calls.length = 0;
    // the mesh tier changes: M (already has our started) then B, a backup of M (BEP 12: one tier)
    f.announcer.update({ meshTrackers: [M, B], selfTracker: S });
    await f.flush();
    assert.equal(
      f.calls.map((c) => [c.url, c.event]),
      [
        [M, 'none'],
        [S, 'started'],
      ],
    );
    assert.equal(f.announcer.status().torrents[0]!.tiers.map((t) => [t.kind, t.trackers.map((x) => x.url)]), [
      ['torrent', [A]],
      ['mesh', [M, B]],
      ['self', [S]],
    ]);
    // B answers for the mesh when M does not
    f.behaviour.set(M, 'fail');
    await f.advance(120_000);
    assert.equal(f.callsTo(B).map((c) => c.event), ['started']);
    // A's tier was not disturbed: its next announce is still 120 s after the first
    assert.equal(f.callsTo(A).map((c) => c.at), [120_000]);
    // a tracker taken out of the settings gets our stopped
    f.calls.length = 0;
    f.announcer.update({ meshTrackers: [M, B] });
    await f.flush();
    assert.equal(f.calls.map((c) => [c.url, c.event]), [[S, 'stopped']]);
    await f.announcer.close();
  }),
);

test(
  'unsupported trackers are shown, never announced',
  deadline(5000, async () => {
    const f = setup({ torrents: [torrent(H1, [['wss://w.invalid/announce', 'not a url', A]])] });
    f.announcer.start();
    await f.flush();
    const tr = f.announcer.status().torrents[0]!.tiers[0]!.trackers;
    assert.equal(tr.map((t) => [t.state, t.error]), [
      ['ok', undefined],
      ['unsupported', 'unsupported scheme wss:'],
      ['unsupported', 'not a URL'],
    ]);
    assert.equal(f.calls.map((c) => c.url), [A]);
    await f.announcer.close();
  }),
);

test(
  'peer ids are Azureus style',
  deadline(1000, () => {
    const id = Buffer.from(makePeerId('0.1.0', () => 0)).toString('latin1');
    assert.is(id, '-MS0100-000000000000');
    assert.is(id.length, 20);
  }),
);

test(
  "the daemon's own tracker URL and the announcer settings from the settings table",
  deadline(1000, () => {
    const s = defaultSettings();
    const table: [Partial<typeof s>, string | undefined][] = [
      [{}, 'http://127.0.0.1:6969/announce'],
      [{ 'tracker.port': 7000 }, 'http://127.0.0.1:7000/announce'],
      [{ 'tracker.address': ['0.0.0.0', '::'] }, 'http://127.0.0.1:6969/announce'],
      [{ 'tracker.address': ['::'] }, 'http://[::1]:6969/announce'],
      [{ 'tracker.address': ['10.1.0.1'] }, 'http://10.1.0.1:6969/announce'],
      [{ 'tracker.address': ['fd00::1', '10.1.0.1'] }, 'http://[fd00::1]:6969/announce'],
      [{ 'tracker.enabled': false }, undefined],
      [{ 'seeder.announce_self': false }, undefined],
    ];
    for (const [over, want] of table) assert.is(selfTrackerUrl({ ...s, ...over }), want, JSON.stringify(over));
    const a = announcerSettings({ ...s, 'seeder.mesh_tracker': [M], 'seeder.max_peers_per_torrent': 10 }, makePeerId('0.1.0'));
    assert.equal([a.meshTrackers, a.selfTracker, a.numwant], [[M], 'http://127.0.0.1:6969/announce', 10]);
  }),
);

test(
  'a completed download sends event=completed once to every tracker announced to, at once; a failed one gets it at its retry',
  deadline(10000, async () => {
    let left = 5000;
    const downloading: SeededTorrent = { ...torrent(H1, [[A, B]]), left: () => left };
    const seeding = torrent(H2, [[C]]);
    const f = setup({ torrents: [downloading, seeding], mesh: [M] });
    f.behaviour.set(A, 'fail');
    f.announcer.start();
    await f.flush();
    await f.advance(30_000);
    const events = () => f.calls.filter((c) => c.hash === H1).map((c) => [c.url, c.event]);
    assert.equal(events(), [
      [A, 'started'],
      [M, 'started'],
      [B, 'started'],
    ]);
    // the download completes; M cannot be reached just now
    f.calls.length = 0;
    f.behaviour.set(M, 'fail');
    left = 0;
    f.setTorrents([downloading, seeding]);
    await f.flush();
    // at once, not at the next interval (120 s); B leads its tier, so A (never started) is not asked
    assert.equal(events().sort(), [
      [B, 'completed'],
      [M, 'completed'],
    ].sort());
    assert.ok(f.calls.every((c) => c.at === 30_000));
    // the seeder's further changes do not repeat it; M gets it at its retry (15 s), then never again
    f.setTorrents([downloading, seeding]);
    f.behaviour.set(M, 'ok');
    await f.advance(15_000);
    assert.equal(events().slice(2), [[M, 'completed']]);
    await f.advance(240_000);
    assert.ok(events().slice(3).every(([, e]) => e === 'none'), JSON.stringify(events()));
    assert.ok(events().length > 3);
    // a torrent complete when first seen never says completed
    assert.ok(f.calls.filter((c) => c.hash === H2).every((c) => c.event !== 'completed'));
    // completed tells the tracker left=0; stopped at close as usual
    await f.announcer.close();
    assert.equal(f.calls.filter((c) => c.hash === H1 && c.event === 'stopped').map((c) => c.url).sort(), [B, M].sort());
  }),
);

test.run();
