// deadline: 170s
/**
 * The mission, end to end: a mesh cut off from the internet keeps distributing its files.
 *
 * Network namespaces made by scripts/mesh-sim.sh (see there): segment A with meshseed node A
 * (seeding, tracker, LPD) and a client a2; segment B with meshseed node B (tracker and LPD,
 * no data) and clients b2, b3; a router between A and B (unicast crosses, multicast does
 * not); the "public tracker" at 10.61.9.1 answers nothing. Node B looks torrents up on node
 * A's tracker (lpd.lookup_tracker), so it introduces b2 to node A. Clients are python3-libtorrent
 * with DHT off. Every namespace and process is removed afterwards, also on failure.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE, deadline, meshseed, requirePrograms, waitFor } from '../helpers';
import { NODE_A, NODE_B, PUBLIC_TRACKER, canMakeNamespaces, meshPrefix, inNamespace as inMesh, ltClient, nodeConfig, sameBytes, setUpMesh, tearDownMesh, type MeshSetup } from './mesh-helpers';

/** Namespaces are named PREFIX-r, PREFIX-a1, …; `scripts/mesh-sim.sh run` passes its own. */
const PREFIX = meshPrefix(process.env.MESH_PREFIX, 'mst');
const inNamespace = (host: string, cmd: string[]) => inMesh(PREFIX, host, cmd);
const client = (host: string, address: string, torrent: string, save: string, extra: string[] = []) => ltClient(PREFIX, host, address, torrent, save, extra);

test(
  'downloads continue inside the mesh when the internet trackers are unreachable',
  deadline(160_000, async () => {
    if (!requirePrograms('ip', '/usr/bin/python3')) return;
    if (!canMakeNamespaces(PREFIX)) {
      console.log('SKIPPED: the mesh scenario needs network namespaces (ip netns add failed: not root?)');
      return;
    }
    let mesh: MeshSetup | undefined;
    let failing = false;
    try {
      // The content: a file the mesh redistributes, and its torrent with the public tracker
      // first and node A's in-mesh tracker in a tier of its own.
      mesh = await setUpMesh(PREFIX, 'meshseed-mesh-', [PUBLIC_TRACKER, `http://${NODE_A}:6969/announce`]);
      const { dir, a, b, content, torrent } = mesh;

      // Node A's operator lists its own tracker as the mesh tracker (uci add_list meshseed.seeder.mesh_tracker=…)
      const nodeA = inNamespace('a1', [process.execPath, BUNDLE, 'daemon', '--config', nodeConfig(a, { seeder: true, meshTrackers: [`http://${NODE_A}:6969/announce`] })]);
      const nodeB = inNamespace('b1', [process.execPath, BUNDLE, 'daemon', '--config', nodeConfig(b, { seeder: false, meshTrackers: [], lookupTrackers: [`http://${NODE_A}:6969/announce`] })]);
      await waitFor('node A started', 15_000, () => /info: started/.test(nodeA.output()));
      await waitFor('node B started', 15_000, () => /info: started/.test(nodeB.output()));

      // 1. A client on segment B, LPD on (so node B hears it), trackers as in the torrent:
      //    the public one never answers, node A's tier gives it node A.
      const saveB2 = join(dir.path, 'b2');
      mkdirSync(saveB2);
      // b2 seeds until the test ends (killed at teardown): step 4's client b3 downloads from it,
      // and starts only after a2 and node A's switch, however long those take
      const b2 = client('b2', '10.61.2.20', torrent, saveB2, ['--lsd', '--seed-for', '600', '--timeout', '100']);
      // 3. A client on segment A with no tracker at all finds node A by LPD alone.
      const saveA2 = join(dir.path, 'a2');
      mkdirSync(saveA2);
      const a2 = client('a2', '10.61.1.20', torrent, saveA2, ['--lsd', '--no-trackers', '--timeout', '100']);

      await waitFor('b2 finished', 110_000, () => b2.events().some((e) => e.event === 'finished'), 200);
      assert.ok(sameBytes(content, join(saveB2, 'openwrt-mesh.img')), 'b2 data identical');
      // node B's introducer connects to b2 too: the first peer is the first other than node B
      const firstPeer = b2.events().find((e) => e.event === 'peer' && e.ip !== NODE_B);
      console.log(`segment B client: first peer after ${firstPeer?.t}s, complete after ${b2.events().find((e) => e.event === 'finished')!.t}s`);

      await waitFor('a2 finished', 110_000, () => a2.events().some((e) => e.event === 'finished'), 200);
      assert.ok(sameBytes(content, join(saveA2, 'openwrt-mesh.img')), 'a2 data identical');
      assert.ok(!a2.events().some((e) => e.event === 'tracker_reply'), 'a2 used no tracker');
      console.log(`segment A client, LPD only: complete after ${a2.events().find((e) => e.event === 'finished')!.t}s`);

      // 2. Node A's public tracker failed: its log says it switched to in-mesh announcing.
      await waitFor("node A's switch to in-mesh announcing", 60_000, () => /announcing in-mesh only/.test(nodeA.output()), 200);
      const switchedAt = nodeA.output();

      // 4. Node B learned b2 by LPD; a second client on B asking only node B's tracker gets b2.
      const torrentB = join(dir.path, 'openwrt-mesh-b.torrent');
      writeFileSync(torrentB, readFileSync(torrent));
      const re = await meshseed(['reannounce', `http://${NODE_B}:6969/announce`, torrentB]);
      assert.is(re.code, 0, re.stderr);
      const saveB3 = join(dir.path, 'b3');
      mkdirSync(saveB3);
      const b3 = client('b3', '10.61.2.30', torrentB, saveB3, ['--timeout', '60']);
      await waitFor('b3 finished', 70_000, () => b3.events().some((e) => e.event === 'finished'), 200).catch((e) => {
        throw new Error(`${e.message}\n--- b3:\n${b3.output()}\n--- node B:\n${nodeB.output()}\n--- b2:\n${b2.output().slice(-2000)}`);
      });
      const reply = b3.events().find((e) => e.event === 'tracker_reply');
      assert.ok(reply && (reply.peers as number) >= 1, `node B's tracker gave b3 a peer: ${b3.output()}`);
      assert.ok(b3.events().some((e) => e.event === 'peer' && e.ip === '10.61.2.20'), 'b3 connected to b2');
      assert.ok(sameBytes(content, join(saveB3, 'openwrt-mesh.img')), 'b3 data identical');
      console.log(`segment B second client via node B's LPD bridge: complete after ${b3.events().find((e) => e.event === 'finished')!.t}s`);

      // Node B's counters say what it learned: `meshseed status` over its control socket.
      const statusB = await meshseed(['status', '--state-dir', join(b, 'state')]);
      assert.is(statusB.code, 0, statusB.stderr);
      const lpdLine = /^LPD on 1 interface\(s\): (\d+) sent, (\d+) received, .*; peers: (\d+) registered in the tracker/m.exec(statusB.stdout);
      assert.ok(lpdLine && Number(lpdLine[2]) >= 1 && Number(lpdLine[3]) >= 1, statusB.stdout);
      console.log(`node B: ${lpdLine![0]}`);

      // ... and said it once, however many announces failed since.
      const switches = nodeA.output().match(/announcing in-mesh only/g) ?? [];
      assert.is(switches.length, 1, `one switch line in node A's log:\n${nodeA.output()}`);
      assert.ok(switchedAt.length <= nodeA.output().length);
    } catch (err) {
      failing = true;
      throw err;
    } finally {
      await tearDownMesh(PREFIX, mesh, failing);
    }
  }),
);

test.run();
