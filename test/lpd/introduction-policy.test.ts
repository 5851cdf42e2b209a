// deadline: 10s
/** The introduction rules, in tables, on a clock that is only a number. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IntroductionPolicy, MAX_REMEMBERED, REINTRODUCE_MS, type ScreenFacts } from '../../src/lpd/introduction-policy';
import { PEX_MAX_ADDED } from '../../src/codec/pex';

const X = 'ab'.repeat(20);
const Y = 'cd'.repeat(20);
const H = { address: '10.61.2.20', port: 6881, infoHashHex: X };
const OK: ScreenFacts = { enabled: true, ownAddress: false, private: false, allowed: true, seeding: false, active: 0 };
const peers = (...list: string[]) => list.map((s) => ({ address: s.split(':')[0]!, port: Number(s.split(':')[1]) }));

test('screen: who is never introduced, in order of the rules', () => {
  const p = new IntroductionPolicy({ maxConcurrent: 2 });
  const table: [Partial<ScreenFacts>, string | true][] = [
    [{}, true],
    [{ enabled: false }, 'off'],
    [{ ownAddress: true }, 'own address'],
    [{ private: true }, 'private'],
    [{ private: true, allowed: false }, 'private'],
    [{ allowed: false }, 'not allowed'],
    [{ seeding: true }, 'seeding'],
    [{ active: 1 }, true],
    [{ active: 2 }, 'busy'],
    [{ active: 9 }, 'busy'],
  ];
  for (const [facts, want] of table) {
    const d = p.screen(H, { ...OK, ...facts });
    assert.is(d.ok ? true : d.reason, want, JSON.stringify(facts));
  }
});

test('choose: H is never given itself, on any port; duplicates and bad ports are left out', () => {
  const p = new IntroductionPolicy();
  const d = p.choose(0, H, peers('10.61.2.20:6881', '10.61.2.20:7000', '10.61.1.10:6881', '10.61.1.10:6881', '10.61.1.11:0', '10.61.1.12:6882'));
  assert.ok(d.ok);
  assert.equal(d.ok && d.value.map((x) => `${x.address}:${x.port}`), ['10.61.1.10:6881', '10.61.1.12:6882']);
  const scoped = p.choose(0, { ...H, address: 'fe80::1%eth0' }, peers('fe80::1:6881'));
  assert.equal(scoped.ok ? 'given' : scoped.reason, 'no peers', 'a scoped H is H');
});

test('choose: nothing to give is a refusal; at most 50 peers', () => {
  const p = new IntroductionPolicy();
  const none = p.choose(0, H, peers('10.61.2.20:6881'));
  assert.equal(none.ok ? 'given' : none.reason, 'no peers');
  const many = Array.from({ length: 80 }, (_, i) => ({ address: `10.0.${i >> 8}.${i & 255}`, port: 6881 }));
  const d = p.choose(0, H, many);
  assert.is(d.ok && d.value.length, PEX_MAX_ADDED);
  assert.equal(d.ok && d.value[0], many[0], 'in the order given (seeders first from the lookup)');
});

test('one introduction per (H, X) per 5 minutes, unless a new peer appeared', () => {
  const p = new IntroductionPolicy();
  const A = peers('10.61.1.10:6881');
  const AB = peers('10.61.1.10:6881', '10.61.1.11:6881');
  const steps: [number, typeof H, typeof A, string][] = [
    // [time, heard, known, expected]
    [0, H, A, 'ok'],
    [1000, H, A, 'recently introduced'],
    [REINTRODUCE_MS - 1, H, A, 'recently introduced'],
    [REINTRODUCE_MS - 1, { ...H, port: 7000 }, A, 'recently introduced'], // same host, other port
    [REINTRODUCE_MS - 1, { ...H, infoHashHex: Y }, A, 'ok'], // other torrent
    [REINTRODUCE_MS - 1, { ...H, address: '10.61.2.30' }, A, 'ok'], // other host
    [REINTRODUCE_MS, H, A, 'ok'], // 5 minutes on
    [REINTRODUCE_MS + 1000, H, AB, 'ok'], // a new peer appeared
    [REINTRODUCE_MS + 2000, H, AB, 'recently introduced'],
    [REINTRODUCE_MS + 3000, H, A, 'recently introduced'], // a peer left: nothing new to tell
  ];
  for (const [at, heard, known, want] of steps) {
    const d = p.choose(at, heard, known);
    assert.is(d.ok ? 'ok' : d.reason, want, `at ${at} ms, ${heard.address}:${heard.port} ${heard.infoHashHex.slice(0, 4)}`);
    if (d.ok) p.sent(at, heard, d.value);
  }
});

test('a second announce while H is being introduced to X is refused; another torrent or host is not', () => {
  const p = new IntroductionPolicy();
  assert.ok(p.screen(H, OK).ok);
  p.begin(H);
  const again = p.screen({ ...H, port: 7000 }, OK);
  assert.is(again.ok ? 'ok' : again.reason, 'recently introduced');
  assert.ok(p.screen({ ...H, infoHashHex: Y }, OK).ok);
  assert.ok(p.screen({ ...H, address: '10.61.2.30' }, OK).ok);
  p.end(H);
  assert.ok(p.screen(H, OK).ok);
});

test('a choice not sent (the connection failed) does not count against the next try', () => {
  const p = new IntroductionPolicy();
  const A = peers('10.61.1.10:6881');
  assert.ok(p.choose(0, H, A).ok);
  assert.ok(p.choose(10, H, A).ok, 'nothing was recorded');
});

test('memory is bounded: the oldest (H, X) pairs are forgotten first; prune drops expired ones', () => {
  const p = new IntroductionPolicy();
  const A = peers('10.61.1.10:6881');
  for (let i = 0; i <= MAX_REMEMBERED; i++) p.sent(0, { ...H, address: `10.1.${i >> 8}.${i & 255}` }, A);
  assert.ok(p.choose(1, { ...H, address: '10.1.0.0' }, A).ok, 'the first pair was forgotten');
  assert.not.ok(p.choose(1, { ...H, address: '10.1.0.1' }, A).ok, 'the second is remembered');
  p.prune(REINTRODUCE_MS);
  assert.ok(p.choose(REINTRODUCE_MS, { ...H, address: '10.1.0.1' }, A).ok);
});

test.run();
