// deadline: 120s
/**
 * `meshseed add` on node B, in its own network namespace, gets the metadata from node A
 * (BEP 9, served by A's seeder): a magnet link whose `tr` is A's tracker, and a bare info
 * hash found through B's mesh tracker (A's). Each becomes <name>.torrent in B's watch folder,
 * the same torrent (info hash) as A's, and its .magnet goes away. A .torrent URL of A's front
 * page is added the same way; garbage is refused with a clear error.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { deadline, meshseed, requirePrograms, tempDir, waitFor } from '../helpers';
import { createNsPair } from '../lpd/netns';
import { makeData, makeTorrent } from '../interop/seed-helpers';
import { parseMetainfo } from '../../src/codec/metainfo';
import { daemonIn, hashesIn, nodeConfig, nodeDirs } from './ns-nodes';

test(
  'meshseed add: a magnet (tr), a bare info hash (mesh tracker) and a .torrent URL complete from node A',
  deadline(110_000, async () => {
    if (!requirePrograms('mktorrent', 'ip')) return;
    const pair = createNsPair('msmag');
    if ('skip' in pair) throw new Error(pair.skip);
    const tmp = tempDir('meshseed-magnet-');
    const stops: (() => Promise<void>)[] = [];
    try {
      const { a, b } = nodeDirs(tmp.path);
      const trA = `http://${pair.addrA}:6969/announce`;
      const made: Record<string, string> = {};
      // many files make an info dict of several 16 KiB metadata pieces
      mkdirSync(join(a, 'data', 'by-magnet'));
      for (let i = 0; i < 1200; i++) writeFileSync(join(a, 'data', 'by-magnet', `file-number-${String(i).padStart(4, '0')}-of-a-large-set.bin`), randomBytes(100 + i));
      makeData(join(a, 'data'), 'by-hash', [30_000, 5, 5]);
      makeData(join(a, 'data'), 'by-url', [20_000, 5, 5]);
      for (const name of ['by-magnet', 'by-hash', 'by-url'])
        made[name] = (await makeTorrent(join(a, 'data'), name, join(a, 'torrents', `${name}.torrent`), trA, 15)).infoHash;
      const infoSize = parseMetainfo(readFileSync(join(a, 'torrents', 'by-magnet.torrent'))).infoBytes.length;
      assert.ok(infoSize > 3 * 16384, `info dict of ${infoSize} bytes`);
      console.log(`by-magnet's info dict: ${infoSize} bytes (${Math.ceil(infoSize / 16384)} metadata pieces)`);
      const nodeA = daemonIn(pair.a, nodeConfig(a, pair.addrA, ''));
      stops.push(nodeA.stop);
      await waitFor('node A to seed', 30_000, () => (nodeA.log().match(/: seeding \(/g) ?? []).length >= 3 || nodeA.child.exitCode !== null);
      const nodeB = daemonIn(pair.b, nodeConfig(b, pair.addrB, `  list mesh_tracker '${trA}'`));
      stops.push(nodeB.stop);
      await waitFor('node B to start', 15_000, () => /started \(/.test(nodeB.log()) || nodeB.child.exitCode !== null);
      const add = (target: string) => meshseed(['add', '--state-dir', join(b, 'state'), target]);

      const t0 = Date.now();
      const r1 = await add(`magnet:?xt=urn:btih:${made['by-magnet']}&dn=by-magnet&tr=${encodeURIComponent(trA)}`);
      assert.is(r1.code, 0, r1.stderr);
      assert.match(r1.stdout, new RegExp(`${made['by-magnet']}\\.magnet written`));
      const r2 = await add(made['by-hash']!.toUpperCase());
      assert.is(r2.code, 0, r2.stderr);
      const r3 = await add(`http://${pair.addrA}:6969/torrents/${made['by-url']}.torrent`);
      assert.is(r3.code, 0, r3.stderr);
      assert.match(r3.stdout, /by-url\.torrent written/);
      await waitFor('the three torrents on node B', 60_000, () => hashesIn(join(b, 'torrents')).length >= 3 || nodeB.child.exitCode !== null);
      console.log(`metadata of two magnets fetched ${Date.now() - t0} ms after meshseed add`);
      assert.equal(hashesIn(join(b, 'torrents')), Object.values(made).sort(), nodeB.log());
      assert.ok(existsSync(join(b, 'torrents', 'by-magnet.torrent')));
      assert.ok(existsSync(join(b, 'torrents', 'by-hash.torrent')));
      assert.not.ok(existsSync(join(b, 'torrents', `${made['by-magnet']}.magnet`)), 'the .magnet goes once the .torrent is there');
      // the .torrent written from the magnet names A's tracker
      assert.equal(parseMetainfo(readFileSync(join(b, 'torrents', 'by-magnet.torrent'))).announceTiers, [[trA]]);
      assert.match(nodeB.log(), /metadata received \(\d+ bytes, 1200 file\(s\)/);

      const bad = await add('not-a-magnet');
      assert.is(bad.code, 1);
      assert.match(bad.stderr, /neither a magnet link, an info hash .* nor an http\(s\) URL/);
      const badHash = await add('magnet:?xt=urn:btih:1234');
      assert.is(badHash.code, 1);
      assert.match(badHash.stderr, /neither 40 hex digits nor 32 base32/);
    } finally {
      for (const s of stops.reverse()) await s();
      pair.destroy();
      tmp.remove();
    }
  }),
);

test.run();
