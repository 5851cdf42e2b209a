#!/usr/bin/env node
// Runs every test/**/*.test.ts: each file is bundled with esbuild, then run in its own node
// process with a deadline (a `// deadline: N` line in the file, in seconds; default 60).
// Usage: node scripts/run-tests.mjs [path-prefix ...]
// Files run TEST_JOBS at a time (default: the cores, at most 4), the longest deadlines first so
// the slow files do not all end up at the tail of the run. A file past its deadline is killed
// with everything it started (its process group) and reported as TIMEOUT with its output so
// far; network namespaces named after its pid (the tests' convention) are removed after it.
// Each run bundles into its own folder, so two runs in one checkout do not clash.
import { build } from 'esbuild';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { availableParallelism } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const buildRoot = join(root, '.test-build');
const outdir = join(buildRoot, `run-${process.pid}`);
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

/** Whether process `pid` exists (EPERM: it does, owned by someone else). */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}
// bundles of earlier runs that are gone (killed before their cleanup), and of the old layout
if (existsSync(buildRoot)) {
  for (const name of readdirSync(buildRoot)) {
    const m = /^run-(\d+)$/.exec(name);
    if ((m && !alive(Number(m[1]))) || name === 'test') rmSync(join(buildRoot, name), { recursive: true, force: true });
  }
}
process.on('exit', () => rmSync(outdir, { recursive: true, force: true }));
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

/** Network namespaces a killed test left: the tests put their pid in the names they create. */
function removeNamespacesOf(pid) {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (list.status !== 0) return [];
  const removed = [];
  for (const line of list.stdout.split('\n')) {
    const name = line.split(' ')[0];
    if (!name || !new RegExp(`\\D${pid}(\\D|$)`).test(name)) continue;
    const pids = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).stdout ?? '';
    for (const p of pids.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {}
    }
    if (spawnSync('ip', ['netns', 'del', name]).status === 0) removed.push(name);
  }
  return removed;
}

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
    const killGroup = () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, deadline);
    let code = null;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      child.stdout.destroy();
      child.stderr.destroy();
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const ok = code === 0 && !timedOut;
      if (!ok) {
        const left = removeNamespacesOf(child.pid);
        if (left.length) output += `\n(runner: removed the network namespaces it left: ${left.join(' ')})\n`;
      }
      resolve({ file, ok, output, seconds, timedOut, deadline });
    };
    child.on('exit', (c, signal) => {
      code = c ?? signal;
      // a program it started and left running (same process group) goes too: it would hold a
      // port, a namespace or the output pipe
      let left = false;
      try {
        process.kill(-child.pid, 0);
        left = !timedOut;
      } catch {}
      if (left) output += '\n(runner: killed the processes it left running)\n';
      killGroup();
      // its output is complete when the pipes close; a process it started in another group
      // may hold them open: do not wait for that past a few seconds
      setTimeout(() => {
        if (!finished) output += '\n(runner: something the test started still held its output 5 s after it exited)\n';
        finish();
      }, 5000).unref();
    });
    child.on('close', finish);
  });
}

// longest deadline first: with 2 to 4 workers the slow files overlap instead of queueing at the end
const queue = [...files].sort((a, b) => deadlineOf(b) - deadlineOf(a) || a.localeCompare(b));
const results = [];
const workers = Math.max(1, Math.min(Number(process.env.TEST_JOBS) || availableParallelism(), 4));
const suiteStarted = Date.now();
await Promise.all(
  Array.from({ length: workers }, async () => {
    for (let f = queue.shift(); f; f = queue.shift()) {
      const r = await runOne(f);
      results.push(r);
      const status = r.ok ? 'ok  ' : r.timedOut ? `TIMEOUT after ${r.deadline / 1000}s` : 'FAIL';
      console.log(`${status} ${r.file} (${r.seconds}s)`);
      const skipped = r.output.split('\n').filter((l) => l.includes('SKIPPED') || (r.ok && l.startsWith('(runner:')));
      for (const l of skipped) console.log(`     ${l.trim()}`);
      if (!r.ok || process.env.TEST_VERBOSE) console.log(r.output.replace(/^/gm, '     '));
    }
  }),
);
const failed = results.filter((r) => !r.ok);
console.log(`\n${results.length - failed.length} of ${results.length} test files passed in ${((Date.now() - suiteStarted) / 1000).toFixed(0)} s (${workers} at a time)`);
if (failed.length) {
  console.log(`failed: ${failed.map((r) => r.file).join(', ')}`);
  process.exit(1);
}
