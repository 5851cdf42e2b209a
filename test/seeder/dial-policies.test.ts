// deadline: 20s
/**
 * The outgoing dial policies in tables: which way a dial opens (plain or MSE) and the back-off
 * of unreachable peers, time passed in; then OutgoingDials, which applies them, on a manual
 * clock with a fake listener (no sockets).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_REMEMBERED_PEERS, OutgoingEncryptionPolicy, type DialWay, type OutgoingEncryption } from '../../src/seeder/outgoing-encryption';
import { DIAL_RETRY_ATTEMPTS, DialRetry, MAX_DIAL_RETRY_MS, MAX_RETRIED_PEERS } from '../../src/seeder/dial-retry';
import { OutgoingDials } from '../../src/seeder/outgoing-dials';
import type { PeerSession } from '../../src/seeder/peer-session';
import type { TorrentSession } from '../../src/seeder/torrent-session';
import type { PeerCandidate } from '../../src/parts';
import { defaultSettings } from '../../src/config/settings';
import { ManualClock } from '../../src/util/clock';
import { createLogger } from '../../src/util/log';
import type { Socket } from 'node:net';

test('first try, and the second way after a hang-up before the handshake, per setting', () => {
  const rows: [OutgoingEncryption, DialWay, DialWay | undefined][] = [
    // setting          first try     after a hang-up
    ['plaintext_first', 'plaintext', 'mse'],
    ['mse_first', 'mse', 'plaintext'],
    ['mse_required', 'mse', undefined],
    ['plaintext', 'plaintext', undefined],
  ];
  for (const [setting, first, second] of rows) {
    const p = new OutgoingEncryptionPolicy(setting);
    assert.is(p.firstTry('10.0.0.1|6881'), first, setting);
    assert.is(p.failedBeforeHandshake('10.0.0.1|6881', first, false), second, setting);
    // only once: the second way failing too gives up (the back-off takes over)
    if (second) assert.is(p.failedBeforeHandshake('10.0.0.1|6881', second, true), undefined, setting);
  }
});

test('the way that worked is remembered per peer, and forgotten when it stops working', () => {
  const p = new OutgoingEncryptionPolicy('plaintext_first');
  const peer = '10.0.0.2|51413';
  assert.is(p.failedBeforeHandshake(peer, 'plaintext', false), 'mse');
  p.handshake(peer, 'mse');
  assert.is(p.firstTry(peer), 'mse');
  assert.is(p.firstTry('10.0.0.3|51413'), 'plaintext', 'other peers are not affected');
  // the peer changed its mind (MSE now fails): the remembered way is dropped, plain text next
  assert.is(p.failedBeforeHandshake(peer, 'mse', false), 'plaintext');
  assert.is(p.firstTry(peer), 'plaintext');
  // a handshake over the preferred way needs no memory
  p.handshake(peer, 'plaintext');
  assert.is(p.rememberedCount, 0);
  // mse_required ignores memory; a reload of the setting applies at once
  p.handshake(peer, 'mse');
  p.setting = 'mse_required';
  assert.is(p.firstTry('10.0.0.9|1'), 'mse');
  p.setting = 'plaintext';
  assert.is(p.firstTry(peer), 'plaintext');
});

test('memory is bounded: the oldest peer is forgotten first', () => {
  const p = new OutgoingEncryptionPolicy('plaintext_first');
  for (let i = 0; i <= MAX_REMEMBERED_PEERS; i++) p.handshake(`p${i}`, 'mse');
  assert.is(p.rememberedCount, MAX_REMEMBERED_PEERS);
  assert.is(p.firstTry('p0'), 'plaintext');
  assert.is(p.firstTry(`p${MAX_REMEMBERED_PEERS}`), 'mse');
});

test('back-off: 30 s, 1, 2, 4, 8, 16 min, then given up; due peers come out once', () => {
  const r = new DialRetry<string>();
  const first = 30_000;
  let now = 1_000_000;
  const waits: number[] = [];
  for (let i = 0; i < DIAL_RETRY_ATTEMPTS; i++) {
    const at = r.failed('k', 'candidate', now, first)!;
    waits.push((at - now) / 1000);
    assert.equal(r.due(at - 1), [], 'not before its time');
    assert.equal(r.due(at), [{ key: 'k', candidate: 'candidate' }]);
    assert.equal(r.due(at), [], 'once');
    now = at + 5000; // the retry dial failed 5 s later
  }
  assert.equal(waits, [30, 60, 120, 240, 480, 960]);
  assert.is(r.failed('k', 'candidate', now, first), undefined, 'given up after its retries');
  assert.is(r.size, 0);
  // named again later: it starts afresh
  assert.is(r.failed('k', 'candidate', now, first), now + first);
});

test('back-off is capped at 30 min; success forgets the failures; the count of peers is bounded', () => {
  const r = new DialRetry<number>();
  let now = 0;
  let last = 0;
  for (let i = 0; i < DIAL_RETRY_ATTEMPTS; i++) {
    const at = r.failed('slow', 1, now, 10 * 60_000)!;
    last = at - now;
    now = at;
    r.due(now);
  }
  assert.is(last, MAX_DIAL_RETRY_MS);
  r.succeeded('slow');
  assert.is(r.failed('slow', 1, now, 1000), now + 1000, 'afresh after a success');
  for (let i = 0; i < MAX_RETRIED_PEERS + 10; i++) r.failed(`p${i}`, i, now, 1000);
  assert.is(r.size, MAX_RETRIED_PEERS);
  assert.is(r.nextAt('slow'), undefined, 'the oldest went first');
  assert.is(r.nextAt(`p${MAX_RETRIED_PEERS + 9}`), now + 1000);
});

/** OutgoingDials with a fake listener: each dial is recorded and settled by the test. */
function dialsHarness(setting: string) {
  const clock = new ManualClock();
  const dials: { address: string; port: number; mse: boolean; connect(): PeerSession & { closeReason: string; peerIdHex: string }; fail(): void }[] = [];
  const candidates = new Map<string, PeerCandidate>();
  const t = {
    removed: false,
    open: true,
    meta: { name: 't' },
    dialRetry: new DialRetry<PeerCandidate>(),
    download: undefined,
    connectedTo: () => false,
    addCandidate: (key: string, c: PeerCandidate) => void candidates.set(key, c),
  } as unknown as TorrentSession;
  /** The session `wire` made for the last connected dial. */
  let session = {} as PeerSession & { closeReason: string; peerIdHex: string };
  const d: OutgoingDials = new OutgoingDials(
    {
      clock,
      log: createLogger('error'),
      listener: {
        dial: (address, port, _wanted, connected, failed) =>
          dials.push({
            address,
            port,
            mse: false,
            connect() {
              connected({} as Socket);
              return session;
            },
            fail: failed,
          }),
      },
      wire: (_s, address, port, _t, mse) => {
        dials[dials.length - 1]!.mse = mse;
        session = { address, port, closeReason: 'connection closed', peerIdHex: '' } as never;
        return session;
      },
      closing: () => false,
      connectMore: () => {},
    },
    { ...defaultSettings(), 'seeder.outgoing_encryption': setting, 'seeder.dial_retry': 30 },
  );
  return { clock, dials, candidates, t, d };
}

test('OutgoingDials: refused, backed off, dialled again when due; a hang-up before the handshake is retried over MSE at once', () => {
  const h = dialsHarness('plaintext_first');
  const c: PeerCandidate = { infoHashHex: 'ab'.repeat(20), address: '10.0.0.5', port: 51413, source: 'tracker' };
  h.d.dial(h.t, c);
  assert.is(h.dials.length, 1);
  assert.is(h.dials[0]!.mse, false);
  h.dials[0]!.fail(); // connection refused
  h.d.tick(h.clock.now(), [h.t]);
  assert.is(h.candidates.size, 0, 'not before its back-off');
  h.clock.advance(30_000);
  h.d.tick(h.clock.now(), [h.t]);
  assert.equal([...h.candidates.keys()], ['10.0.0.5|51413']);
  // dialled again: it answers TCP but hangs up on the plain handshake
  h.candidates.clear();
  h.d.dial(h.t, c);
  const plain = h.dials[1]!.connect();
  h.d.closed(plain);
  assert.is(h.dials.length, 3, 'the MSE dial follows at once');
  const mse = h.dials[2]!.connect();
  assert.is(h.dials[2]!.mse, true);
  mse.peerIdHex = 'aa'.repeat(20); // its BitTorrent handshake came
  h.d.ready(mse);
  assert.is(h.t.dialRetry.size, 0, 'its failures are forgotten');
  // the next dial to it opens over MSE straight away
  h.d.dial(h.t, c);
  h.dials[3]!.connect();
  assert.is(h.dials[3]!.mse, true);
});

test('OutgoingDials: plaintext never tries MSE; a peer that hangs up is backed off like an unreachable one', () => {
  const h = dialsHarness('plaintext');
  const c: PeerCandidate = { infoHashHex: 'ab'.repeat(20), address: '10.0.0.6', port: 6881, source: 'pex' };
  h.d.dial(h.t, c);
  h.d.closed(h.dials[0]!.connect());
  assert.is(h.dials.length, 1);
  assert.is(h.t.dialRetry.nextAt('10.0.0.6|6881'), h.clock.now() + 30_000);
});

test.run();
