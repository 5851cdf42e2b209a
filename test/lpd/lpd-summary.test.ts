// deadline: 10s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { introductionsSummary, lpdSummary } from '../../src/lpd/lpd-summary';
import { renderStatus, statusView } from '../../src/control/status-view';
import { renderStatsHtml, renderStatsJson } from '../../src/tracker/stats-page';

const LPD = {
  enabled: true,
  interfaces: [{ name: 'br-mesh/IPv4' }, { name: 'br-mesh/IPv6' }],
  sent: 12,
  received: 40,
  accepted: 31,
  dropped: { 'rate-limited': 2, 'own-cookie': 7, 'not-bt-search': 0 },
  peersRegisteredInTracker: 4,
  peersOfferedToSeeder: 5,
};

test('one line of LPD counters: sent, received, dropped by reason, peers learned', () => {
  assert.is(
    lpdSummary(LPD),
    'LPD on 2 interface(s): 12 sent, 40 received, 9 dropped (rate-limited 2, own-cookie 7); peers: 4 registered in the tracker, 5 offered to the seeder',
  );
  assert.is(lpdSummary({ enabled: false }), 'LPD: off');
  assert.is(lpdSummary(undefined), undefined);
});

test('meshseed status prints the LPD line, with or without torrents', () => {
  const view = statusView({ version: '1.2.3', pid: 7, uptimeS: 5, services: { lpd: LPD, seeder: { torrents: [] } } } as never);
  const text = renderStatus(view);
  assert.match(text, /\nLPD on 2 interface\(s\): 12 sent, 40 received, 9 dropped/);
});

test('the stats page shows the LPD line (escaped) and stats.json the counters', () => {
  const extra = { mode: 'open', interval: 120, uptimeSeconds: 1, counters: {}, lpd: { summary: 'LPD <x>', counters: LPD } };
  assert.match(renderStatsHtml([], extra), /<p>LPD &#60;x&#62;<\/p>/);
  assert.equal(JSON.parse(renderStatsJson([], extra)).lpd.sent, 12);
  assert.not.match(renderStatsHtml([], { ...extra, lpd: undefined }), /LPD/);
});

const INTRO = { enabled: true, active: 0, sent: 3, peersGiven: 7, refused: { private: 1, 'no peers': 2, busy: 0 }, lookup: { lookups: 5 } };

test('one line of introduction counters: sent, peers given, refused by reason', () => {
  assert.is(introductionsSummary(INTRO), 'introductions: 3 sent, 7 peers given, 3 refused (private 1, no peers 2)');
  assert.is(introductionsSummary({ ...INTRO, refused: {} }), 'introductions: 3 sent, 7 peers given, 0 refused');
  assert.is(introductionsSummary({ enabled: false }), 'introductions: off');
  assert.is(introductionsSummary(undefined), undefined);
});

test('meshseed status prints the introductions line after the LPD line; the stats page and stats.json show them', () => {
  const text = renderStatus(statusView({ version: '1.2.3', pid: 7, uptimeS: 5, services: { lpd: LPD, introductions: INTRO, seeder: { torrents: [] } } } as never));
  assert.match(text, /\nLPD on 2 interface\(s\): [^\n]*\nintroductions: 3 sent, 7 peers given, 3 refused/);
  const extra = { mode: 'open', interval: 120, uptimeSeconds: 1, counters: {}, introductions: { summary: introductionsSummary(INTRO)!, counters: INTRO } };
  assert.match(renderStatsHtml([], extra), /<p>introductions: 3 sent/);
  assert.is(JSON.parse(renderStatsJson([], extra)).introductions.peersGiven, 7);
});

test.run();
