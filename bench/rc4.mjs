#!/usr/bin/env node
// RC4 cost: what an MSE connection that selected RC4 pays per byte, in CPU seconds per GiB.
//
//   node bench/rc4.mjs [--rounds 10] [--mib 64]
//
// Runs src/codec/mse.ts's Rc4 (bundled by esbuild as dist/meshseed.js bundles it) over a
// 1 MiB buffer (a socket's chunks are aligned: the four-bytes-at-a-time path) and over the
// same bytes at an odd offset (the byte-at-a-time path), `--mib` MiB a round, and prints the
// median CPU time (process.cpuUsage: user + system, so a loaded machine skews it less than
// wall time) per GiB. One direction: a connection pays it for what it receives and again
// for what it sends. Needs npm ci (for esbuild).
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForBench, median, numberArg } from './fixtures.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = numberArg('rounds', 10);
const MIB = numberArg('mib', 64);

const work = mkdtempSync(join(tmpdir(), 'meshseed-bench-rc4-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
await bundleForBench(build, { mse: join(ROOT, 'src/codec/mse.ts') }, work);
const { Rc4 } = createRequire(import.meta.url)(join(work, 'mse.cjs'));

const backing = new Uint8Array((1 << 20) + 1);
const paths = { 'aligned (4 bytes at a time)': backing.subarray(0, 1 << 20), 'odd offset (a byte at a time)': backing.subarray(1) };
const results = Object.fromEntries(Object.keys(paths).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++)
  for (const [name, buf] of Object.entries(paths)) {
    const rc4 = new Rc4(Buffer.from('meshseed bench key 1'));
    rc4.crypt(buf); // warm-up
    const t = process.cpuUsage();
    for (let i = 0; i < MIB; i++) rc4.crypt(buf);
    const u = process.cpuUsage(t);
    results[name].push(((u.user + u.system) / 1e6) * (1024 / MIB));
  }
console.log(`RC4 in JavaScript (${process.version}), ${MIB} MiB a round, medians of ${ROUNDS}:`);
for (const [name, v] of Object.entries(results)) console.log(`  ${name}: ${median(v).toFixed(2)} CPU s per GiB (${(1024 / median(v)).toFixed(0)} MiB per CPU second)`);
