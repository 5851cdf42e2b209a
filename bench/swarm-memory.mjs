#!/usr/bin/env node
// Memory per tracked peer of the swarm store alone, for swarms of several shapes, each in a
// fresh process with the init script's node flags (bench/tracker-heap.ts): 10,000 torrents x
// 10 peers (the router bench's 100k peers; filled one swarm after another, and interleaved:
// one peer per swarm in turn), 100 x 1,000 and 1 x 100,000. Prints bytes per
// peer (V8 heap + ArrayBuffers after a full GC) and, noisier, the RSS change per peer (it
// includes code compiled while filling and the heap's own growth); medians of --rounds
// (default 3).
// Issue 16's budget: 100k peers add <= 8 MiB to the daemon, about 84 bytes per peer.
//
//   node bench/swarm-memory.mjs [--rounds 3]
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initScriptNodeFlags, median, runToEnd } from './fixtures.mjs';

const root = new URL('..', import.meta.url).pathname;
const i = process.argv.indexOf('--rounds');
const ROUNDS = i < 0 ? 3 : Number(process.argv[i + 1]);
const SHAPES = [
  [10000, 10],
  [10000, 10, 'interleaved'],
  [100, 1000],
  [1, 100000],
];

const dir = mkdtempSync(join(tmpdir(), 'meshseed-swarm-memory-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const js = join(dir, 'tracker-heap.cjs');
await build({ entryPoints: [join(root, 'bench', 'tracker-heap.ts')], outfile: js, bundle: true, platform: 'node', format: 'cjs', logLevel: 'warning' });

console.log(`swarm store memory per peer, node ${initScriptNodeFlags(root).join(' ')}, medians of ${ROUNDS} (load ${(await import('node:os')).loadavg()[0].toFixed(1)})`);
for (const [torrents, peers, order = 'one swarm after another'] of SHAPES) {
  const runs = [];
  for (let r = 0; r < ROUNDS; r++)
    runs.push(JSON.parse((await runToEnd(process.execPath, [...initScriptNodeFlags(root), '--expose-gc', js], { env: { ...process.env, TORRENTS: String(torrents), PEERS: String(peers), ORDER: order } })).trim()));
  const m = (k) => median(runs.map((x) => x[k]));
  console.log(
    `  ${String(torrents).padStart(6)} torrents x ${String(peers).padEnd(6)} ${order === 'interleaved' ? '(interleaved)' : '             '}  ${String(m('bytes_per_peer')).padStart(6)} bytes/peer (heap + buffers), RSS ${String(m('rss_bytes_per_peer')).padStart(6)} bytes/peer, ${m('bytes') / 2 ** 20 < 10 ? (m('bytes') / 2 ** 20).toFixed(2) : (m('bytes') / 2 ** 20).toFixed(1)} MiB per ${torrents * peers} peers, fill ${m('fill_ns_per_announce')} ns/announce`,
  );
}
