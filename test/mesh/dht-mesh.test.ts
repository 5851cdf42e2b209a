// deadline: 330s
/**
 * The mesh DHT, end to end: three segments in a chain (A – r – B – r2 – C, two routed hops
 * from A to C, multicast staying on each segment), no tracker reachable at all: the torrent
 * lists only the blackholed "public" tracker and no node runs a tracker.
 *
 * Node A seeds. Nodes B and C seed nothing; each operator listed the neighbouring node in
 * `list dht.bootstrap` (C → B → A), so the three form one DHT. A stock libtorrent client on
 * segment C, DHT on (with no bootstrap node) and LSD on, is met by node C through LPD
 * (node C pings it, and introduces it to the peers its mesh lookup finds on the DHT), looks
 * the torrent up through the mesh DHT and downloads from node A.
 * Then mirror mode: a meshseed node on segment C with no data (`seeder.download 1`) is given
 * the torrent and mirrors it from node A, having learnt of node A by a DHT lookup alone.
 * Every namespace and process is removed afterwards, also on failure.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { BUNDLE, deadline, meshseed, requirePrograms, tempDir, waitFor } from '../helpers';
import { NODE_A, NODE_B, PUBLIC_TRACKER, SIM, canMakeNamespaces, meshPrefix, inNamespace, ltClient, nodeConfig, sameBytes, tearDownMesh } from './mesh-helpers';

const PREFIX = meshPrefix(process.env.MESH_DHT_PREFIX, 'msd');

/**
 * The three-segment mesh (undefined: no namespaces here, skipped), the nodes' folders, and the
 * content in node A's data_dir with its torrent (only the blackholed tracker) in A's torrent_dir.
 */
async function chain(tempPrefix: string) {
  if (!canMakeNamespaces(PREFIX)) {
    console.log('SKIPPED: the mesh scenario needs network namespaces (ip netns add failed: not root?)');
    return undefined;
  }
  const dir = tempDir(tempPrefix);
  try {
    chmodSync(dir.path, 0o755);
    spawnSync(SIM, ['down', PREFIX], { stdio: 'ignore' });
    const up = spawnSync(SIM, ['up', PREFIX], { encoding: 'utf8' });
    assert.is(up.status, 0, up.stderr);
    const [a, b, c] = ['a', 'b', 'c'].map((n) => join(dir.path, n)) as [string, string, string];
    for (const d of [a, b, c]) for (const s of ['state', 'torrents', 'data']) mkdirSync(join(d, s), { recursive: true });
    const content = join(a, 'data', 'osm-tiles.tar');
    writeFileSync(content, randomBytes(3 * 1024 * 1024 + 4321));
    const torrent = join(dir.path, 'osm-tiles.torrent');
    const made = await meshseed(['create', '-q', '-l', '16', '-a', PUBLIC_TRACKER, '-o', torrent, content]);
    assert.is(made.code, 0, made.stderr);
    writeFileSync(join(a, 'torrents', 'osm-tiles.torrent'), readFileSync(torrent));
    return { dir, a, b, c, content, torrent };
  } catch (err) {
    await tearDownMesh(PREFIX, { dir }, true);
    throw err;
  }
}

test(
  'a client two routed hops from the seed completes through the mesh DHT, no tracker anywhere',
  deadline(160_000, async () => {
    if (!requirePrograms('ip', '/usr/bin/python3')) return;
    const ready = await chain('meshseed-dht-mesh-');
    if (!ready) return;
    const { dir, a, b, c, content, torrent } = ready;
    let failing = false;
    try {
      const t0 = Date.now();
      const daemon = (host: string, conf: string) => inNamespace(PREFIX, host, [process.execPath, BUNDLE, 'daemon', '--config', conf]);
      // debug logs: printed only when the test fails, to say which path (introduction, DHT) broke
      const nodeA = daemon('a1', nodeConfig(a, { seeder: true, tracker: false, meshTrackers: [], logLevel: 'debug' }));
      const nodeB = daemon('b1', nodeConfig(b, { seeder: false, tracker: false, meshTrackers: [], dhtBootstrap: [`${NODE_A}:6881`] }));
      const nodeC = daemon('c1', nodeConfig(c, { seeder: false, tracker: false, meshTrackers: [], dhtBootstrap: [`${NODE_B}:6881`], logLevel: 'debug' }));
      for (const [name, n] of [['A', nodeA], ['B', nodeB], ['C', nodeC]] as const)
        await waitFor(`node ${name} started`, 15_000, () => /info: started/.test(n.output()));

      // Node A's announce reaches the mesh DHT (its status counts it)
      const statusOf = async (d: string) => (await meshseed(['status', '--state-dir', join(d, 'state')])).stdout;
      const dhtLine = (s: string) => /^DHT on UDP 6881: (\d+) nodes, (\d+) torrents announced, queries (\d+) in \/ (\d+) out.*$/m.exec(s);
      await waitFor('node A announced on the DHT', 90_000, async () => Number(dhtLine(await statusOf(a))?.[2] ?? 0) >= 1, 500).catch(async (e) => {
        throw new Error(`${e.message}\n--- node A:\n${nodeA.output().slice(-6000)}\n${await statusOf(a)}\n--- node B:\n${nodeB.output()}\n${await statusOf(b)}`);
      });
      const announcedAfter = (Date.now() - t0) / 1000;

      const saveC2 = join(dir.path, 'c2');
      mkdirSync(saveC2);
      const c2Start = Date.now();
      const c2 = ltClient(PREFIX, 'c2', '10.61.3.20', torrent, saveC2, ['--lsd', '--dht', '--dht-announce-interval', '10', '--timeout', '100']);
      await waitFor('c2 finished', 110_000, () => c2.events().some((e) => e.event === 'finished'), 200).catch(async (e) => {
        throw new Error(`${e.message}\n--- c2:\n${c2.output().slice(-6000)}\n--- node C:\n${nodeC.output().slice(-8000)}\n${await statusOf(c)}\n--- node A:\n${nodeA.output().slice(-6000)}`);
      });
      assert.ok(sameBytes(content, join(saveC2, 'osm-tiles.tar')), 'c2 data identical');
      assert.ok(!c2.events().some((e) => e.event === 'tracker_reply'), 'no tracker answered c2');
      assert.ok(c2.events().some((e) => e.event === 'peer' && e.ip === NODE_A), `c2 connected to node A: ${c2.output()}`);
      const at = (ev: string) => c2.events().find((e) => e.event === ev)?.t;
      console.log(`node A announced on the mesh DHT ${announcedAfter.toFixed(1)}s after the nodes started`);
      // node C hears c2 by LPD and introduces it to the peers its mesh lookup finds on the DHT
      // (mesh discovery): that often comes before c2's own DHT lookup answers
      const introduced = c2.events().find((e) => e.event === 'peer' && e.ip === '10.61.3.10')?.t;
      const dhtReply = c2.events().find((e) => e.event === 'dht_peers' && (e.peers as number) > 0)?.t;
      console.log(
        `segment C client (DHT + LSD, no tracker): ${introduced !== undefined ? `node C's introduction after ${introduced}s, ` : ''}` +
          `first DHT reply with peers ${dhtReply !== undefined ? `after ${dhtReply}s` : 'not before completion'}, first peer after ${at('peer')}s, complete after ${at('finished')}s (${((Date.now() - c2Start) / 1000).toFixed(1)}s wall)`,
      );

      // Node C met c2 by LPD and counts its DHT work in `meshseed status`
      const sc = await statusOf(c);
      const lineC = dhtLine(sc);
      assert.ok(lineC && Number(lineC[1]) >= 2, `node C's routing table holds node B and c2:\n${sc}`);
      console.log(`node C: ${lineC![0]}`);
      const json = JSON.parse((await meshseed(['status', '--json', '--state-dir', join(c, 'state')])).stdout);
      assert.ok(json.services.dht.nodesMet.lpd >= 1, JSON.stringify(json.services.dht));
    } catch (err) {
      failing = true;
      throw err;
    } finally {
      await tearDownMesh(PREFIX, { dir }, failing);
    }
  }),
);

test(
  'mirror mode: a meshseed node two routed hops from the seed mirrors the torrent by DHT lookup alone, no tracker anywhere',
  deadline(150_000, async () => {
    if (!requirePrograms('ip')) return;
    const ready = await chain('meshseed-dht-mirror-');
    if (!ready) return;
    const { dir, a, b, c, content, torrent } = ready;
    let failing = false;
    try {
      const daemon = (host: string, conf: string) => inNamespace(PREFIX, host, [process.execPath, BUNDLE, 'daemon', '--config', conf]);
      // no tracker on any node; LPD stays on each segment, and node B has no torrent: the only
      // way node C can learn of node A is the DHT
      const nodeA = daemon('a1', nodeConfig(a, { seeder: true, tracker: false, meshTrackers: [] }));
      const nodeB = daemon('b1', nodeConfig(b, { seeder: false, tracker: false, meshTrackers: [], dhtBootstrap: [`${NODE_A}:6881`] }));
      const nodeC = daemon('c1', nodeConfig(c, { seeder: true, download: true, tracker: false, meshTrackers: [], dhtBootstrap: [`${NODE_B}:6881`] }));
      for (const [name, n] of [['A', nodeA], ['B', nodeB], ['C', nodeC]] as const)
        await waitFor(`node ${name} started`, 15_000, () => /info: started/.test(n.output()));
      const statusOf = async (d: string) => (await meshseed(['status', '--state-dir', join(d, 'state')])).stdout;
      const jsonOf = async (d: string) => JSON.parse((await meshseed(['status', '--json', '--state-dir', join(d, 'state')])).stdout);
      await waitFor('node A announced on the DHT', 90_000, async () => (await jsonOf(a)).services.dht?.torrentsAnnounced >= 1, 500).catch(async (e) => {
        throw new Error(`${e.message}\n--- node A:\n${nodeA.output()}\n${await statusOf(a)}\n--- node B:\n${nodeB.output()}`);
      });

      // the operator of node C drops the torrent into its watch folder
      const t0 = Date.now();
      writeFileSync(join(c, 'torrents', 'osm-tiles.torrent'), readFileSync(torrent));
      await waitFor('node C seeding the mirrored torrent', 100_000, async () => (await jsonOf(c)).torrents.some((t: { state: string }) => t.state === 'seeding'), 500).catch(async (e) => {
        throw new Error(`${e.message}\n--- node C:\n${nodeC.output()}\n${await statusOf(c)}\n--- node A:\n${nodeA.output()}`);
      });
      const mirroredS = (Date.now() - t0) / 1000;
      assert.ok(sameBytes(content, join(c, 'data', 'osm-tiles.tar')), "node C's copy is identical");
      const dhtC = (await jsonOf(c)).services.dht;
      assert.ok(dhtC.peersFound >= 1, `node C found node A on the DHT: ${JSON.stringify(dhtC)}`);
      console.log(`mirror on segment C (DHT only, no tracker): torrent dropped in torrent_dir to seeding the 3 MiB in ${mirroredS.toFixed(1)}s`);
    } catch (err) {
      failing = true;
      throw err;
    } finally {
      await tearDownMesh(PREFIX, { dir }, failing);
    }
  }),
);

test.run();
