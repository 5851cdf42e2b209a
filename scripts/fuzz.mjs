#!/usr/bin/env node
// npm run fuzz -- [--time SECONDS] [--runs N] [--seed N] [--target NAME]: bundles the fuzz
// harness (test/fuzz/cli.ts) with esbuild and runs it. See README "Hardening and fuzzing".
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, '.test-build', 'fuzz-cli.cjs');
await build({
  entryPoints: [join(root, 'test/fuzz/cli.ts')],
  outfile: out,
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  sourcemap: 'inline',
  define: { MESHSEED_VERSION: '"fuzz"', MESHSEED_BUNDLE: 'false' },
  logLevel: 'warning',
});
const r = spawnSync(process.execPath, ['--enable-source-maps', out, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
