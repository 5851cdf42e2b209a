// deadline: 240s
/**
 * Two meshseed nodes in two network namespaces joined by a veth pair. Node A seeds three
 * torrents and serves its front page; node B subscribes to A's /catalog.json (catalog_interval
 * 5 s, catalog_remove 1, mirror mode on: `seeder.download` 1) and, with no further action,
 * ends up with the same three .torrent files in its watch folder (same info hashes), then
 * downloads their data from A's seeder (peers from A's tracker, named in the torrents) and
 * seeds it: byte-identical files, `seeding` in B's `meshseed status --json`. A torrent taken
 * out of A's watch folder leaves A's catalog and then B's folder.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { deadline, meshseed, requirePrograms, tempDir, waitFor } from '../helpers';
import { createNsPair, type NsPair } from '../lpd/netns';
import { makeData, makeTorrent, treeDigest } from '../interop/seed-helpers';
import { daemonIn, nodeConfig as config, hashesIn, nodeDirs } from './ns-nodes';

test(
  "node B subscribes to node A's catalog: the three torrents arrive, their data is mirrored byte for byte and seeded, and one removed from A leaves B",
  deadline(230_000, async () => {
    if (!requirePrograms('mktorrent', 'ip')) return;
    const pair = createNsPair('mscat');
    if ('skip' in pair) throw new Error(pair.skip);
    const tmp = tempDir('meshseed-two-nodes-');
    const p: NsPair = pair;
    const stops: (() => Promise<void>)[] = [];
    try {
      const { a, b } = nodeDirs(tmp.path);
      const tr = `http://${p.addrA}:6969/announce`;
      const hashes: string[] = [];
      for (const name of ['set-one', 'set-two', 'set-three']) {
        makeData(join(a, 'data'), name, [50_000, 7_000, 5]);
        hashes.push((await makeTorrent(join(a, 'data'), name, join(a, 'torrents', `${name}.torrent`), tr)).infoHash);
      }
      const nodeA = daemonIn(p.a, config(a, p.addrA, ''));
      stops.push(nodeA.stop);
      await waitFor('node A to seed three torrents', 30_000, () => (nodeA.log().match(/: seeding \(/g) ?? []).length >= 3 || nodeA.child.exitCode !== null);
      const catalogUrl = `http://${p.addrA}:6969/catalog.json`;
      const nodeB = daemonIn(p.b, config(b, p.addrB, `  list catalog '${catalogUrl}'\n  option catalog_interval '5'\n  option catalog_remove '1'\n  option download '1'`));
      stops.push(nodeB.stop);
      const t0 = Date.now();
      await waitFor('node B to have the three torrents', 30_000, () => hashesIn(join(b, 'torrents')).length >= 3 || nodeB.child.exitCode !== null);
      console.log(`B had A's three .torrent files ${Date.now() - t0} ms after it started`);
      assert.equal(hashesIn(join(b, 'torrents')), [...hashes].sort(), nodeB.log());
      assert.match(nodeB.log(), /catalog\.json: 3 torrent\(s\) added, 0 removed/);
      const st = JSON.parse((await meshseed(['status', '--json', '--state-dir', join(b, 'state')])).stdout);
      assert.equal(
        st.services.catalog.catalogs.map((c: { url: string; added: number }) => [c.url, c.added]),
        [[catalogUrl, 3]],
      );
      // a later round may have been answered 304 already
      assert.match(st.services.catalog.catalogs[0].lastResult, /^ok: meshseed, 3 torrent\(s\)( \(unchanged\))?$/);
      // mirror mode: B fetches the data from A's seeder (A's tracker is in the torrents) and seeds it
      const states = async () => {
        const s = JSON.parse((await meshseed(['status', '--json', '--state-dir', join(b, 'state')])).stdout);
        return new Map<string, string>(s.services.seeder.torrents.map((t: { infoHash: string; state: string }) => [t.infoHash, t.state]));
      };
      let last = new Map<string, string>();
      await waitFor('node B to seed the three torrents', 150_000, async () => {
        if (nodeB.child.exitCode !== null) return true;
        last = await states();
        return hashes.every((h) => last.get(h) === 'seeding');
      }, 1000);
      console.log(`B had the data of all three torrents and seeded them ${Date.now() - t0} ms after it started`);
      assert.equal([...last.entries()].sort(), hashes.map((h) => [h, 'seeding']).sort(), nodeB.log());
      for (const name of ['set-one', 'set-two', 'set-three']) {
        assert.equal([...treeDigest(join(b, 'data', name))].sort(), [...treeDigest(join(a, 'data', name))].sort(), `${name} differs`);
      }
      // set-two leaves A's watch folder, then A's catalog, then B
      unlinkSync(join(a, 'torrents', 'set-two.torrent'));
      const t1 = Date.now();
      await waitFor('set-two to leave node B', 45_000, () => hashesIn(join(b, 'torrents')).length === 2);
      console.log(`removal reached B ${Date.now() - t1} ms after the file left A`);
      assert.equal(hashesIn(join(b, 'torrents')), [hashes[0]!, hashes[2]!].sort());
      // (the line may reach the pipe just after the file is gone; B is busy mirroring too)
      await waitFor('the removal in B\'s log', 10_000, () => /set-two\.torrent removed: it left http/.test(nodeB.log()));
    } finally {
      for (const s of stops.reverse()) await s();
      p.destroy();
      tmp.remove();
    }
  }),
);

test.run();
