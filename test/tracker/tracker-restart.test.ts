// deadline: 60s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deadline, tempDir } from '../helpers';
import { percentEncode } from '../../src/codec/tracker-http';
import { announceTarget, bdict, httpGet, makeTorrent, peerId } from './fixtures';
import { startDaemon } from './daemon-process';
import { decodeState, encodeState } from '../../src/tracker/state-file';

test('decodeState refuses truncated, foreign and malformed files', () => {
  const good = encodeState({ torrents: new Map([['ab'.repeat(20), 3]]) });
  const ok = decodeState(good);
  assert.ok(typeof ok !== 'string' && ok.torrents.get('ab'.repeat(20)) === 3);
  for (const bad of [good.subarray(0, good.length - 5), Buffer.from('{}'), Buffer.from('[]'), Buffer.from('{"format":"meshseed-tracker-state","version":1,"torrents":[["zz",1]]}'), Buffer.from('{"format":"meshseed-tracker-state","version":1,"torrents":[["' + 'a'.repeat(40) + '",-1]]}')])
    assert.type(decodeState(bad), 'string');
});

test(
  'downloaded totals and the allow-list survive a restart; a truncated state file is set aside',
  deadline(50000, async () => {
    const dir = tempDir('meshseed-restart-');
    try {
      const torrents = join(dir.path, 'torrents');
      mkdirSync(torrents);
      const tor = makeTorrent('mesh.img');
      const other = Buffer.alloc(20, 0x77);
      writeFileSync(join(torrents, 'mesh.torrent'), tor.bytes);
      const args = ['--state-dir', join(dir.path, 'state'), '--tracker-address', '127.0.0.1', '--tracker-mode', 'allowlist', '--tracker-allowed-dir', torrents];
      const d1 = await startDaemon(args, dir.path);
      for (let i = 1; i <= 3; i++)
        await httpGet(d1.port, announceTarget({ infoHash: tor.infoHash, peerId: peerId(i), port: 6000 + i, left: 0, extra: '&event=completed' }));
      const refused = bdict((await httpGet(d1.port, announceTarget({ infoHash: other, peerId: peerId(9), port: 1, left: 0 }))).body);
      assert.match(String(refused.get('failure reason')), /not allowed/);
      assert.is(await d1.stop(), 0);
      assert.match(d1.log(), /tracker: stopped/);
      const statePath = join(dir.path, 'state', 'tracker.json');
      assert.ok(existsSync(statePath));

      const d2 = await startDaemon(args, dir.path, d1.port);
      assert.match(d2.log(), /state: 1 torrent\(s\) read/);
      const s = bdict((await httpGet(d2.port, `/scrape?info_hash=${percentEncode(tor.infoHash)}`)).body);
      const f = (s.get('files') as Map<string, Map<string, number>>).get(tor.infoHash.toString('latin1'))!;
      assert.equal([f.get('downloaded'), f.get('complete')], [3, 0], 'downloaded survived; peers were not persisted');
      const stats = JSON.parse((await httpGet(d2.port, '/stats.json')).body.toString());
      assert.equal(stats.files.map((x: { name: string; downloaded: number }) => [x.name, x.downloaded]), [['mesh.img', 3]]);
      const still = bdict((await httpGet(d2.port, announceTarget({ infoHash: other, peerId: peerId(9), port: 1, left: 0 }))).body);
      assert.match(String(still.get('failure reason')), /not allowed/, 'the allow-list still holds');
      assert.is(await d2.stop(), 0);

      // power cut mid-write (without our atomic rename): a truncated file
      const bytes = readFileSync(statePath);
      writeFileSync(statePath, bytes.subarray(0, Math.floor(bytes.length / 2)));
      const d3 = await startDaemon(args, dir.path, d1.port);
      assert.match(d3.log(), /state file .* is unreadable \(not valid JSON/);
      assert.ok(readdirSync(join(dir.path, 'state')).some((n) => n.startsWith('tracker.json.corrupt-')), 'set aside');
      const ok = bdict((await httpGet(d3.port, announceTarget({ infoHash: tor.infoHash, peerId: peerId(1), port: 6001, left: 0, extra: '&event=completed' }))).body);
      assert.is(ok.get('complete'), 1, 'the tracker runs on');
      assert.is(await d3.stop(), 0);
    } finally {
      dir.remove();
    }
  }),
);

test.run();
