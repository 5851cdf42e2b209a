#!/usr/bin/env node
// Bundles src/cli.ts into one file, dist/meshseed.js, that runs with no node_modules.
//
// The file is a small loader (src/boot/loader.ts) holding the bundle as a string: the loader
// compiles it with V8's code cache when one was written by an earlier start (see
// src/boot/code-cache.ts), so a restarted daemon skips compiling 400 KB of JavaScript.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const outfile = new URL('../dist/meshseed.js', import.meta.url).pathname;
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
  // bittorrent-dht's tracing package, always off in the daemon: see src/dht/debug-off.ts
  alias: { debug: new URL('../src/dht/debug-off.ts', import.meta.url).pathname },
};

const body = await build({
  ...common,
  entryPoints: [new URL('../src/cli.ts', import.meta.url).pathname],
  write: false,
  define: { MESHSEED_VERSION: JSON.stringify(pkg.version), MESHSEED_BUNDLE: 'true' },
});
// A function the loader calls with the module's variables and what it learnt of the cache.
const wrapped = `(function (exports, require, module, __filename, __dirname, meshseedBoot) {${body.outputFiles[0].text}\n})`;
const hash = createHash('sha256').update(wrapped).digest('hex').slice(0, 16);

const loader = await build({
  ...common,
  entryPoints: [new URL('../src/boot/loader.ts', import.meta.url).pathname],
  write: false,
  banner: { js: '#!/usr/bin/env node' },
  define: { MESHSEED_BODY: JSON.stringify(wrapped), MESHSEED_BODY_HASH: JSON.stringify(hash) },
});
mkdirSync(dirname(outfile), { recursive: true });
writeFileSync(outfile, loader.outputFiles[0].contents);
chmodSync(outfile, 0o755);
