// deadline: 600s
/**
 * Mesh discovery end to end (issue 11): a client on segment B whose torrent lists only the
 * public tracker (blackholed: the uplink is down) finds node A's seed on segment A within
 * seconds, because node B hears its LPD announce and introduces it by one ut_pex message.
 *
 * The namespace mesh of scripts/mesh-sim.sh: node A (a1) seeds; node B (b1) runs tracker and
 * LPD with no data; the client b2 runs LPD (its default). Configurations:
 *   (a) the mesh tracker is node B's: both nodes list it (`seeder.mesh_tracker`); node A
 *       announces there, so node B finds node A in its own tracker's swarm;
 *   (b) the mesh tracker is node A's only: node B knows it as `lpd.lookup_tracker` and looks
 *       the torrent up there (announce, then `stopped` at once);
 *   (c) as (b), with node A's tracker in the torrent's second tier (the earlier mesh test).
 * The client is python3-libtorrent in (a), (b), (c), and Transmission (its LPD and PEX on by
 * default) in (a). Each prints the client's first-peer and completion times (seconds after the
 * client started); MESH_RUNS=3 repeats each and prints medians. No timing is asserted beyond
 * the deadlines: what is asserted is that the client got node A from the introduction.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE, deadline, meshseed, requirePrograms, waitFor } from '../helpers';
import { writeTransmissionConfig } from '../interop/transmission';
import { NODE_A, NODE_B, PUBLIC_TRACKER, canMakeNamespaces, meshPrefix, inNamespace, ltClient, median, nodeConfig, sameBytes, setUpMesh, tearDownMesh, trackerOf, type MeshSetup } from './mesh-helpers';

const PREFIX = meshPrefix(process.env.MESH_DISCOVERY_PREFIX, 'mdsc');
const RUNS = Math.max(1, Math.min(5, Number(process.env.MESH_RUNS) || 1));
const CLIENT_B = '10.61.2.20';

interface Config {
  name: string;
  /** Trackers of the torrent, one tier each. */
  tiers: string[];
  nodeA: string[];
  nodeB: { mesh: string[]; lookup: string[] };
  /** Which node's tracker must list node A before the client starts. */
  readyOn: 'a' | 'b';
  client: 'libtorrent' | 'transmission';
}

const CONFIGS: Config[] = [
  { name: '(a) mesh tracker on node B', tiers: [PUBLIC_TRACKER], nodeA: [trackerOf(NODE_B)], nodeB: { mesh: [trackerOf(NODE_B)], lookup: [] }, readyOn: 'b', client: 'libtorrent' },
  { name: '(b) mesh tracker on node A only', tiers: [PUBLIC_TRACKER], nodeA: [trackerOf(NODE_A)], nodeB: { mesh: [], lookup: [trackerOf(NODE_A)] }, readyOn: 'a', client: 'libtorrent' },
  {
    name: '(c) node A tracker in tier 2',
    tiers: [PUBLIC_TRACKER, trackerOf(NODE_A)],
    nodeA: [trackerOf(NODE_A)],
    nodeB: { mesh: [], lookup: [trackerOf(NODE_A)] },
    readyOn: 'a',
    client: 'libtorrent',
  },
  { name: '(a) with Transmission', tiers: [PUBLIC_TRACKER], nodeA: [trackerOf(NODE_B)], nodeB: { mesh: [trackerOf(NODE_B)], lookup: [] }, readyOn: 'b', client: 'transmission' },
];

/** Peers in a node's tracker (node A's announce counts as a seeder only once it has uploaded: main's honest counts). */
async function trackerPeers(stateDir: string): Promise<number> {
  const r = await meshseed(['status', '--json', '--state-dir', stateDir]);
  if (r.code !== 0) return 0;
  try {
    return Number(JSON.parse(r.stdout).services?.tracker?.peers ?? 0);
  } catch {
    return 0;
  }
}

/** One run of a configuration in a fresh mesh; returns the client's times in seconds. */
async function runOnce(cfg: Config): Promise<{ introducedAt: number; firstPeer: number; complete: number; introductions: string }> {
  let mesh: MeshSetup | undefined;
  let failing = false;
  try {
    mesh = await setUpMesh(PREFIX, 'meshseed-discovery-', cfg.tiers);
    const { dir, a, b, content, torrent } = mesh;
    // node B first: node A's first announce to a mesh tracker on node B must find it up
    const nodeB = inNamespace(PREFIX, 'b1', [
      process.execPath,
      BUNDLE,
      'daemon',
      '--config',
      nodeConfig(b, { seeder: false, meshTrackers: cfg.nodeB.mesh, lookupTrackers: cfg.nodeB.lookup, logLevel: 'debug' }),
    ]);
    await waitFor('node B started', 20_000, () => /info: started/.test(nodeB.output()));
    const nodeA = inNamespace(PREFIX, 'a1', [process.execPath, BUNDLE, 'daemon', '--config', nodeConfig(a, { seeder: true, meshTrackers: cfg.nodeA, logLevel: 'debug' })]);
    await waitFor('node A seeding', 20_000, () => /: seeding \(/.test(nodeA.output()));
    // the mesh is in its steady state: node A is in the mesh tracker's swarm
    await waitFor(`node A registered in node ${cfg.readyOn.toUpperCase()}'s tracker`, 30_000, async () => (await trackerPeers(join(cfg.readyOn === 'a' ? a : b, 'state'))) >= 1, 250);

    const save = join(dir.path, 'b2');
    mkdirSync(save);
    let firstPeer: number;
    let complete: number;
    let introducedAt: number;
    if (cfg.client === 'libtorrent') {
      const b2 = ltClient(PREFIX, 'b2', CLIENT_B, torrent, save, ['--lsd', '--timeout', '100']);
      await waitFor('b2 finished', 110_000, () => b2.events().some((e) => e.event === 'finished' || e.event === 'timeout'), 100).catch((e) => {
        throw new Error(`${(e as Error).message}\n--- b2:\n${b2.output()}\n--- node B:\n${nodeB.output()}`);
      });
      const events = b2.events();
      const fromA = events.find((e) => e.event === 'peer' && e.ip === NODE_A);
      const done = events.find((e) => e.event === 'finished');
      assert.ok(done, `b2 finished:\n${b2.output()}\n--- node B:\n${nodeB.output()}`);
      assert.ok(fromA, `b2 connected to node A:\n${b2.output()}`);
      assert.ok(events.some((e) => e.event === 'peer' && e.ip === NODE_B), 'node B introduced b2 (its connection)');
      firstPeer = fromA!.t;
      introducedAt = events.find((e) => e.event === 'peer' && e.ip === NODE_B)!.t;
      complete = done!.t;
    } else {
      const conf = writeTransmissionConfig(join(dir.path, 'trconf'), CLIENT_B, { 'lpd-enabled': true, 'pex-enabled': true });
      const doneMarker = join(dir.path, 'done');
      const script = join(dir.path, 'finished.sh');
      writeFileSync(script, `#!/bin/sh\ntouch '${doneMarker}'\n`);
      chmodSync(script, 0o755);
      const started = Date.now();
      const tr = inNamespace(PREFIX, 'b2', ['transmission-cli', '-g', conf, '-w', save, '-p', '51413', '-f', script, torrent]);
      // Transmission prints no peer events: node B's log says when it introduced, node A's when Transmission dialled
      const introduced = waitFor('node B introduced Transmission', 100_000, () => (/introduced 10\.61\.2\.20 /.test(nodeB.output()) ? Date.now() : 0), 50);
      introduced.catch(() => {}); // awaited below; a failure before then must not crash the file
      const seen = await waitFor('Transmission connected to node A', 100_000, () => (/peer 10\.61\.2\.20:\d+ \(TR/.test(nodeA.output()) ? Date.now() : 0), 50).catch((e) => {
        throw new Error(`${(e as Error).message}\n--- transmission:\n${tr.output().slice(-3000)}\n--- node B:\n${nodeB.output()}`);
      });
      firstPeer = (seen - started) / 1000;
      introducedAt = ((await introduced) - started) / 1000;
      const end = await waitFor('Transmission finished', 100_000, () => (existsSync(doneMarker) ? Date.now() : 0), 100).catch((e) => {
        throw new Error(`${(e as Error).message}\n--- transmission:\n${tr.output().slice(-2000)}\n--- node A:\n${nodeA.output().slice(-4000)}`);
      });
      complete = (end - started) / 1000;
    }
    assert.ok(sameBytes(content, join(save, 'openwrt-mesh.img')), 'b2 data identical');
    const status = await meshseed(['status', '--state-dir', join(b, 'state')]);
    const line = /^introductions: .*$/m.exec(status.stdout)?.[0] ?? '';
    const sent = /introductions: (\d+) sent/.exec(line);
    assert.ok(sent && Number(sent[1]) >= 1, `node B introduced: ${status.stdout}`);
    return { introducedAt, firstPeer, complete, introductions: line };
  } catch (err) {
    failing = true;
    throw err;
  } finally {
    await tearDownMesh(PREFIX, mesh, failing);
  }
}

/** MESH_CONFIG=… runs only the configurations whose name or client contains it. */
const only = process.env.MESH_CONFIG;
for (const cfg of CONFIGS.filter((c) => !only || `${c.name} ${c.client}`.includes(only))) {
  test(
    `a client on segment B finds node A's seed through node B: ${cfg.name}`,
    deadline(RUNS * 140_000, async () => {
      if (!requirePrograms('ip', '/usr/bin/python3', ...(cfg.client === 'transmission' ? ['transmission-cli'] : []))) return;
      if (!canMakeNamespaces(PREFIX)) {
        console.log('SKIPPED: the mesh scenario needs network namespaces (ip netns add failed: not root?)');
        return;
      }
      const runs = [];
      for (let i = 0; i < RUNS; i++) {
        const r = await runOnce(cfg);
        runs.push(r);
        console.log(`${cfg.name}, ${cfg.client}: introduced after ${r.introducedAt.toFixed(2)} s, first peer (node A) after ${r.firstPeer.toFixed(2)} s, complete after ${r.complete.toFixed(2)} s; node B: ${r.introductions}`);
      }
      if (RUNS > 1)
        console.log(
          `${cfg.name}, ${cfg.client}: median of ${RUNS}: first peer ${median(runs.map((r) => r.firstPeer)).toFixed(2)} s, complete ${median(runs.map((r) => r.complete)).toFixed(2)} s`,
        );
    }),
  );
}

test.run();
