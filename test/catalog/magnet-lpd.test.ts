// deadline: 120s
/**
 * A magnet whose only peer is heard by LPD: node B (no tracker of its own, no mesh tracker)
 * hears node A's LPD announce on the veth between their namespaces; `meshseed add <info hash>`
 * on B asks the mesh lookup, which names A (heard by LPD), and the metadata comes from A's
 * seeder. The torrent names an unreachable tracker, so LPD is the only way to A.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deadline, meshseed, requirePrograms, tempDir, waitFor } from '../helpers';
import { createNsPair } from '../lpd/netns';
import { makeData, makeTorrent } from '../interop/seed-helpers';
import { daemonIn, hashesIn, nodeConfig, nodeDirs } from './ns-nodes';

/** nodeConfig with LPD on `ifname` and, for B, no tracker. */
function lpdConfig(dir: string, address: string, ifname: string, tracker: boolean): string {
  const file = nodeConfig(dir, address, '');
  let text = readFileSync(file, 'utf8').replace(`config lpd 'lpd'\n  option enabled '0'`, `config lpd 'lpd'\n  option enabled '1'\n  list interface '${ifname}'`);
  if (!tracker) text = text.replace(`config tracker 'tracker'\n`, `config tracker 'tracker'\n  option enabled '0'\n`);
  writeFileSync(file, text);
  return file;
}

test(
  'meshseed add <info hash>: the metadata comes from a peer heard by LPD (the mesh lookup)',
  deadline(110_000, async () => {
    if (!requirePrograms('mktorrent', 'ip')) return;
    const pair = createNsPair('mslpd');
    if ('skip' in pair) throw new Error(pair.skip);
    const tmp = tempDir('meshseed-magnet-lpd-');
    const stops: (() => Promise<void>)[] = [];
    try {
      const { a, b } = nodeDirs(tmp.path);
      makeData(join(a, 'data'), 'by-lpd', [40_000, 5, 5]);
      // the torrent's tracker is unreachable: only LPD leads to A
      const hash = (await makeTorrent(join(a, 'data'), 'by-lpd', join(a, 'torrents', 'by-lpd.torrent'))).infoHash;
      // B listens first, so it hears A's first announce
      const nodeB = daemonIn(pair.b, lpdConfig(b, pair.addrB, pair.ifB, false));
      stops.push(nodeB.stop);
      await waitFor('node B to start', 15_000, () => /started \(/.test(nodeB.log()) || nodeB.child.exitCode !== null);
      const nodeA = daemonIn(pair.a, lpdConfig(a, pair.addrA, pair.ifA, true));
      stops.push(nodeA.stop);
      await waitFor('node A to seed', 30_000, () => /by-lpd: seeding \(/.test(nodeA.log()) || nodeA.child.exitCode !== null);
      const lpdOfB = async () => JSON.parse((await meshseed(['status', '--json', '--state-dir', join(b, 'state')])).stdout).services.lpd;
      await waitFor('node B to hear A by LPD', 30_000, async () => (await lpdOfB()).accepted >= 1 || nodeB.child.exitCode !== null, 500);
      const t0 = Date.now();
      const r = await meshseed(['add', '--state-dir', join(b, 'state'), hash]);
      assert.is(r.code, 0, r.stderr);
      await waitFor('the torrent on node B', 45_000, () => hashesIn(join(b, 'torrents')).length >= 1 || nodeB.child.exitCode !== null);
      console.log(`metadata from an LPD-heard peer ${Date.now() - t0} ms after meshseed add`);
      assert.equal(hashesIn(join(b, 'torrents')), [hash], nodeB.log());
      // the .torrent file can appear before the daemon's log line reaches us through its pipe
      await waitFor('node B to log the metadata', 15_000, () => /metadata received \(\d+ bytes, 3 file\(s\)/.test(nodeB.log()) || nodeB.child.exitCode !== null);
      assert.match(nodeB.log(), /metadata received \(\d+ bytes, 3 file\(s\)/);
    } finally {
      for (const s of stops.reverse()) await s();
      pair.destroy();
      tmp.remove();
    }
  }),
);

test.run();
