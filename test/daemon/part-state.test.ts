// deadline: 20s
/**
 * A part that cannot start is retried with backoff while the others run, and its state is
 * shown (part-state.ts, Daemon): driven by a ManualClock, no sockets, no sleeps.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Daemon, type Service } from '../../src/daemon';
import { partLine, partProblems, retryDelayMs, startFailureReason } from '../../src/part-state';
import { defaultSettings } from '../../src/config/settings';
import { ManualClock } from '../../src/util/clock';
import { createLogger } from '../../src/util/log';
import { renderStatus, statusView } from '../../src/control/status-view';
import { renderStatsHtml, renderStatsJson } from '../../src/tracker/stats-page';
import { deadline } from '../helpers';

const inUse = (port: number) => Object.assign(new Error(`listen EADDRINUSE: address already in use 0.0.0.0:${port}`), { code: 'EADDRINUSE', port });

/** A service that fails its first `failures` starts. */
function flaky(name: string, failures: number): Service & { starts: number; closed: number } {
  const s = {
    name,
    starts: 0,
    closed: 0,
    async start() {
      s.starts++;
      if (s.starts <= failures) throw inUse(6969);
    },
    reload() {},
    async close() {
      s.closed++;
    },
    status: () => ({ ok: true }),
  };
  return s;
}

const settle = () => new Promise((r) => setImmediate(r));

test('retry delays double from 5 s to at most 5 minutes; reasons and lines in words', () => {
  assert.equal([1, 2, 3, 4, 5, 6, 7, 8, 100].map(retryDelayMs), [5000, 10000, 20000, 40000, 80000, 160000, 300000, 300000, 300000]);
  assert.is(startFailureReason(inUse(6969)), 'port 6969 in use');
  assert.is(startFailureReason(Object.assign(new Error('x'), { code: 'EACCES', port: 80 })), 'port 80 not allowed');
  assert.is(startFailureReason(Object.assign(new Error('x'), { code: 'EADDRNOTAVAIL', address: '10.9.9.9' })), 'address 10.9.9.9 is not on this machine');
  assert.is(startFailureReason(new Error('peer ports 6881, 6882 in use')), 'peer ports 6881, 6882 in use');
  assert.is(partLine('tracker', { state: 'retrying', reason: 'port 6969 in use', attempts: 1, retryInS: 5 }), 'tracker: not running (port 6969 in use), retrying');
  assert.is(partLine('lpd', { state: 'running' }), 'lpd: running');
  assert.is(partLine('dht', { state: 'off', reason: 'dht.enabled is 0' }), 'dht: off (dht.enabled is 0)');
  assert.is(partLine('lpd', { state: 'idle', reason: 'no LAN/mesh bridge interface (br-lan, br-mesh) has an address' }), 'lpd: idle (no LAN/mesh bridge interface (br-lan, br-mesh) has an address)');
  // off and idle are the operator's choice or the machine's shape, not problems to flag
  assert.equal(partProblems({ dht: { state: 'off', reason: 'dht.enabled is 0' }, lpd: { state: 'idle', reason: 'x' } }), []);
  assert.equal(partProblems({ tracker: { state: 'retrying', reason: 'port 6969 in use' }, lpd: { state: 'running' } }), ['tracker: not running (port 6969 in use), retrying']);
  assert.equal(partProblems(undefined), []);
  assert.equal(partProblems('junk'), []);
});

test(
  'a part that cannot start is retried with backoff, shown as retrying, and runs once it can; the others run meanwhile',
  deadline(5000, async () => {
    const clock = new ManualClock();
    const logs: string[] = [];
    const daemon = new Daemon({ log: createLogger('info', (l) => logs.push(l)), clock }, defaultSettings());
    const tracker = flaky('tracker', 2);
    const lpd = flaky('lpd', 0);
    daemon.add(tracker);
    daemon.add(lpd);
    await daemon.start();
    assert.equal(daemon.parts(), {
      tracker: { state: 'retrying', reason: 'port 6969 in use', attempts: 1, retryInS: 5 },
      lpd: { state: 'running' },
    });
    assert.equal(Object.keys(daemon.status()), ['lpd']);
    assert.ok(logs.includes('error: tracker: cannot start: listen EADDRINUSE: address already in use 0.0.0.0:6969; retrying in 5 s'), logs.join('\n'));
    clock.advance(4999);
    await settle();
    assert.is(tracker.starts, 1);
    clock.advance(1);
    await settle();
    assert.is(tracker.starts, 2);
    assert.equal(daemon.parts().tracker, { state: 'retrying', reason: 'port 6969 in use', attempts: 2, retryInS: 10 });
    // the same reason again is not logged again at info or above
    assert.is(logs.filter((l) => /tracker: cannot start/.test(l)).length, 1);
    clock.advance(10_000);
    await settle();
    assert.is(tracker.starts, 3);
    assert.equal(daemon.parts().tracker, { state: 'running' });
    assert.equal(Object.keys(daemon.status()).sort(), ['lpd', 'tracker']);
    assert.ok(logs.includes('info: tracker: started after 2 failed attempt(s)'), logs.join('\n'));
    await daemon.close();
    assert.is(tracker.closed, 1);
  }),
);

test(
  'startAdded starts the parts added so far (the tracker), start the ones added after, each once, then logs which run',
  deadline(5000, async () => {
    const clock = new ManualClock();
    const logs: string[] = [];
    const daemon = new Daemon({ log: createLogger('info', (l) => logs.push(l)), clock }, defaultSettings());
    const tracker = flaky('tracker', 0);
    daemon.add(tracker);
    await daemon.startAdded();
    assert.is(tracker.starts, 1);
    assert.equal(logs, []);
    const seeder = flaky('seeder', 1);
    const lpd = flaky('lpd', 0);
    daemon.add(seeder);
    daemon.add(lpd);
    await daemon.start();
    assert.equal([tracker.starts, seeder.starts, lpd.starts], [1, 1, 1]);
    assert.equal(daemon.parts(), {
      tracker: { state: 'running' },
      seeder: { state: 'retrying', reason: 'port 6969 in use', attempts: 1, retryInS: 5 },
      lpd: { state: 'running' },
    });
    assert.is(logs.at(-1), 'info: started (tracker, lpd)');
    await daemon.close();
    assert.equal([tracker.closed, seeder.closed, lpd.closed], [1, 0, 1]);
  }),
);

test(
  'close stops the retries: a part still retrying is never started after the daemon stopped',
  deadline(5000, async () => {
    const clock = new ManualClock();
    const daemon = new Daemon({ log: createLogger('error', () => {}), clock }, defaultSettings());
    const tracker = flaky('tracker', 100);
    daemon.add(tracker);
    await daemon.start();
    await daemon.close();
    clock.advance(3_600_000);
    await settle();
    assert.is(tracker.starts, 1);
  }),
);

test(
  'a reload gives a part waiting to retry the new settings (configure) and retries it at once',
  deadline(5000, async () => {
    const clock = new ManualClock();
    const logs: string[] = [];
    const daemon = new Daemon({ log: createLogger('info', (l) => logs.push(l)), clock }, defaultSettings());
    let port = 6969;
    const seen: number[] = [];
    const tracker: Service = {
      name: 'tracker',
      async start() {
        seen.push(port);
        if (port === 6969) throw inUse(6969);
      },
      reload() {},
      configure(s) {
        port = s['tracker.port'];
      },
      async close() {},
    };
    const stuck = flaky('seeder', 100); // no configure(): keeps waiting for its timer
    daemon.add(tracker);
    daemon.add(stuck);
    await daemon.start();
    assert.is(daemon.parts().tracker!.state, 'retrying');
    await daemon.reload({ ...defaultSettings(), 'tracker.port': 7070 });
    assert.equal(seen, [6969, 7070]);
    assert.equal(daemon.parts().tracker, { state: 'running' });
    assert.is(stuck.starts, 1, 'a part without configure() is not retried by the reload');
    assert.ok(logs.includes('info: tracker: started after 1 failed attempt(s)'), logs.join('\n'));
    // its old timer is cancelled: no start after it runs
    clock.advance(600_000);
    await settle();
    assert.equal(seen, [6969, 7070]);
    await daemon.close();
  }),
);

test('status, its JSON view and the stats page (HTML and JSON) show a part that does not run', () => {
  const parts = { tracker: { state: 'running' }, seeder: { state: 'retrying', reason: 'peer ports 6881, 6882 in use', attempts: 3, retryInS: 20 } };
  const v = statusView({ version: '0.1.0', pid: 1, uptimeS: 5, services: {}, parts });
  assert.equal(v.parts, parts);
  assert.equal(renderStatus(v).split('\n').slice(0, 3), [
    'meshseed 0.1.0, pid 1, up 5s',
    'seeder: not running (peer ports 6881, 6882 in use), retrying',
    'no torrents (the seeder is not running)',
  ]);
  assert.equal(JSON.parse(JSON.stringify(v)).parts, parts);
  const extra = { mode: 'open', interval: 120, uptimeSeconds: 5, counters: {}, parts };
  assert.match(renderStatsHtml([], extra), /<p class="down">seeder: not running \(peer ports 6881, 6882 in use\), retrying<\/p>/);
  assert.not.match(renderStatsHtml([], { ...extra, parts: { tracker: { state: 'running' } } }), /class="down"/);
  assert.equal(JSON.parse(renderStatsJson([], extra)).parts, parts);
});

test.run();
