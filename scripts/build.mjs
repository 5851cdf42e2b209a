#!/usr/bin/env node
// Bundles src/cli.ts into one file, dist/meshseed.js, that runs with no node_modules.
//
// The file is a small loader (src/boot/loader.ts) holding the program as two strings, the
// two stages (see src/boot/stages.ts), each deflated and in base64 (V8 reads a short literal
// with no escapes in it much sooner than the 450 KB of JavaScript as a literal; inflating is
// a fraction of a millisecond): stage 1 is what the daemon runs until its tracker
// listens (the command line, the settings, the daemon command, the tracker, the status
// socket); stage 2 is everything else (the daemon's other parts and the other commands),
// compiled only when first used. Each stage has its own part of V8's code cache (see
// src/boot/code-cache.ts), so a restarted daemon deserializes only stage 1's compiled code
// before its ports open.
//
// How the split is made, with esbuild's module graph:
//  1. stage 1 is bundled from src/cli.ts with every dynamic import() of our own modules
//     (except the daemon command's) replaced by a proxy asking stage 2 for that module;
//  2. stage 2 is bundled from those modules; an import of a module that stage 1 holds is
//     left out (external) and served at run time by stage 1's copy (one instance of each
//     module: one MeshseedError class, one settings table);
//  3. stage 1 is bundled again with the list of modules stage 2 asked for.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { readFileSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { dirname, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const outfile = new URL('../dist/meshseed.js', import.meta.url).pathname;
/** The one dynamic import stage 1 keeps: the daemon command is the listen path. */
const STAGE1_LAZY = new Set(['src/commands/daemon.ts']);
/** Stage 2's `require` of a module stage 1 holds (the loader serves these). */
const STAGE1_PREFIX = 'meshseed-stage1:';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  minify: true,
  // --debug stack traces name the functions and classes (3 KB more gzip'd than without)
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  write: false,
  // bittorrent-dht's tracing package, always off in the daemon: see src/dht/debug-off.ts
  alias: { debug: new URL('../src/dht/debug-off.ts', import.meta.url).pathname },
  define: { MESHSEED_VERSION: JSON.stringify(pkg.version), MESHSEED_BUNDLE: 'true' },
  // import() as Promise.resolve().then(() => require()): stage 2 asks stage 1 through the
  // loader's require, and a vm.Script has no loader for a real import()
  supported: { 'dynamic-import': false },
};

const rel = (path) => relative(root, path);
/** Resolves an import as esbuild would, from a plugin (the inner call is marked so it is not intercepted again). */
async function resolveInner(b, args) {
  const r = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { inner: true } });
  if (r.errors.length) throw new Error(`cannot resolve ${args.path} from ${args.importer}: ${r.errors[0].text}`);
  return r;
}

/**
 * Stage 1: `import()` of one of our modules (other than the daemon command) becomes a proxy
 * that loads it from stage 2; the registry gives stage 2 the modules it asked for.
 * `targets` collects the proxied modules (stage 2's entries).
 */
function stage1Plugin(targets, wanted) {
  return {
    name: 'meshseed-stage1',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData?.inner || args.kind !== 'dynamic-import' || !args.importer.startsWith(root + 'src/')) return undefined;
        const r = await resolveInner(b, args);
        const path = rel(r.path);
        if (r.external || !path.startsWith('src/') || STAGE1_LAZY.has(path)) return undefined;
        targets.add(path);
        return { path, namespace: 'meshseed-stage2-proxy' };
      });
      b.onResolve({ filter: /^meshseed:registry$/ }, () => ({ path: 'registry', namespace: 'meshseed-registry' }));
      // stage 2 is compiled at the first proxy used, and given the registry
      b.onLoad({ filter: /.*/, namespace: 'meshseed-stage2-proxy' }, (args) => ({
        contents: `module.exports = meshseedStage2(require('meshseed:registry'))[${JSON.stringify(args.path)}]();`,
        loader: 'js',
        resolveDir: root,
      }));
      // each module on first use: a module stage 1 loads lazily stays lazy until stage 2 needs it
      b.onLoad({ filter: /.*/, namespace: 'meshseed-registry' }, () => ({
        contents: `module.exports = {${[...wanted].sort().map((p) => `get ${JSON.stringify(p)}() { return require(${JSON.stringify(root + p)}); }`).join(',\n')}};`,
        loader: 'js',
        resolveDir: root,
      }));
    },
  };
}

/** Stage 2: its entries; a module stage 1 holds becomes `require('meshseed-stage1:<path>')`, collected in `wanted`. */
function stage2Plugin(targets, inStage1, wanted) {
  return {
    name: 'meshseed-stage2',
    setup(b) {
      b.onResolve({ filter: /^meshseed:stage2$/ }, () => ({ path: 'stage2', namespace: 'meshseed-stage2-entry' }));
      b.onLoad({ filter: /.*/, namespace: 'meshseed-stage2-entry' }, () => ({
        contents: `module.exports = {${[...targets].sort().map((p) => `${JSON.stringify(p)}: () => require(${JSON.stringify(root + p)})`).join(',\n')}};`,
        loader: 'js',
        resolveDir: root,
      }));
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData?.inner || args.path === 'meshseed:stage2') return undefined;
        const r = await resolveInner(b, args);
        const path = rel(r.path);
        if (r.external || !inStage1.has(path)) return undefined;
        wanted.add(path);
        return { path: STAGE1_PREFIX + path, external: true };
      });
    },
  };
}

const cli = new URL('../src/cli.ts', import.meta.url).pathname;
/** Pass 1: stage 1's modules, and the modules it leaves to stage 2. */
const targets = new Set();
const first = await build({ ...common, entryPoints: [cli], metafile: true, plugins: [stage1Plugin(targets, new Set())] });
const inStage1 = new Set(Object.keys(first.metafile.inputs).filter((p) => !p.includes(':')));
/** Pass 2: stage 2, with what it needs from stage 1. */
const wanted = new Set();
const stage2 = await build({ ...common, stdin: { contents: `module.exports = require('meshseed:stage2');`, resolveDir: root, loader: 'js' }, plugins: [stage2Plugin(targets, inStage1, wanted)] });
/** Pass 3: stage 1 with its registry. */
const stage1 = await build({ ...common, entryPoints: [cli], metafile: true, plugins: [stage1Plugin(new Set(), wanted)] });
for (const p of Object.keys(stage1.metafile.inputs)) {
  if (!p.includes(':') && !inStage1.has(p)) throw new Error(`build: ${p} joined stage 1 with the registry (stage 2 was built without it)`);
}

// Functions the loader calls with the module's variables (and, for stage 1, what it learnt of
// the cache and how to load stage 2).
const wrapped1 = `(function (exports, require, module, __filename, __dirname, meshseedBoot, meshseedStage2) {${stage1.outputFiles[0].text}\n})`;
const wrapped2 = `(function (exports, require, module, __filename, __dirname) {${stage2.outputFiles[0].text}\n})`;
const hash = createHash('sha256').update(wrapped1).update('\0').update(wrapped2).digest('hex').slice(0, 16);

/** A stage as the loader holds it: deflated (raw), in base64. */
const packed = (source) => deflateRawSync(Buffer.from(source, 'utf8'), { level: 9 }).toString('base64');

const loader = await build({
  ...common,
  entryPoints: [new URL('../src/boot/loader.ts', import.meta.url).pathname],
  banner: { js: '#!/usr/bin/env node' },
  define: {
    MESHSEED_STAGE1: JSON.stringify(packed(wrapped1)),
    MESHSEED_STAGE2: JSON.stringify(packed(wrapped2)),
    MESHSEED_STAGE1_PREFIX: JSON.stringify(STAGE1_PREFIX),
    MESHSEED_BODY_HASH: JSON.stringify(hash),
  },
});
mkdirSync(dirname(outfile), { recursive: true });
writeFileSync(outfile, loader.outputFiles[0].contents);
chmodSync(outfile, 0o755);
if (process.argv.includes('--stages')) console.log(`stage 1: ${wrapped1.length} bytes, ${inStage1.size} modules; stage 2: ${wrapped2.length} bytes, ${targets.size} entries, ${wanted.size} modules from stage 1`);
