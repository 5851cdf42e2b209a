#!/usr/bin/env node
// Runs every test/**/*.test.ts: each file is bundled with esbuild, then run in its own node
// process with a deadline (a `// deadline: N` line in the file, in seconds; default 60).
// Usage: node scripts/run-tests.mjs [path-prefix ...]
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { availableParallelism } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const outdir = join(root, '.test-build');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const filters = process.argv.slice(2).map((f) => relative(root, join(process.cwd(), f)));

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.ts') ? [p] : [];
  });
}
const files = walk(join(root, 'test'))
  .map((p) => relative(root, p))
  .filter((p) => filters.length === 0 || filters.some((f) => p.startsWith(f)))
  .sort();
if (files.length === 0) {
  console.error('no test files match');
  process.exit(1);
}

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: files.map((f) => join(root, f)),
  outdir,
  outbase: root,
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  sourcemap: 'inline',
  define: { MESHSEED_VERSION: JSON.stringify(pkg.version), MESHSEED_BUNDLE: 'false' },
  logLevel: 'warning',
});

const deadlineOf = (file) => {
  const m = /^\/\/ deadline: (\d+)s?$/m.exec(readFileSync(join(root, file), 'utf8'));
  return (m ? Number(m[1]) : 60) * 1000;
};

function runOne(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const js = join(outdir, file.replace(/\.ts$/, '.cjs'));
    const child = spawn(process.execPath, ['--enable-source-maps', js], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a deadline kills what it started too
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const deadline = deadlineOf(file);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, deadline);
    child.on('close', (code) => {
      clearTimeout(timer);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const ok = code === 0 && !timedOut;
      resolve({ file, ok, output, seconds, timedOut, deadline });
    });
  });
}

const queue = [...files];
const results = [];
const workers = Math.max(1, Math.min(Number(process.env.TEST_JOBS) || availableParallelism(), 4));
await Promise.all(
  Array.from({ length: workers }, async () => {
    for (let f = queue.shift(); f; f = queue.shift()) {
      const r = await runOne(f);
      results.push(r);
      const status = r.ok ? 'ok  ' : r.timedOut ? `TIMEOUT after ${r.deadline / 1000}s` : 'FAIL';
      console.log(`${status} ${r.file} (${r.seconds}s)`);
      const skipped = r.output.split('\n').filter((l) => l.includes('SKIPPED'));
      for (const l of skipped) console.log(`     ${l.trim()}`);
      if (!r.ok || process.env.TEST_VERBOSE) console.log(r.output.replace(/^/gm, '     '));
    }
  }),
);
const failed = results.filter((r) => !r.ok);
console.log(`\n${results.length - failed.length} of ${results.length} test files passed`);
if (failed.length) {
  console.log(`failed: ${failed.map((r) => r.file).join(', ')}`);
  process.exit(1);
}
