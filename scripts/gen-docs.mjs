#!/usr/bin/env node
// Rewrites the README's option list and files/etc/config/meshseed from the settings table.
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const root = new URL('..', import.meta.url).pathname;
const out = await build({
  entryPoints: [root + 'src/config/docs.ts'],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  write: false,
});
const mod = { exports: {} };
new Function('module', 'exports', 'require', out.outputFiles[0].text)(mod, mod.exports, createRequire(import.meta.url));
const docs = mod.exports;

const readme = readFileSync(root + 'README.md', 'utf8');
const a = readme.indexOf(docs.README_BEGIN);
const b = readme.indexOf(docs.README_END);
if (a < 0 || b < 0) throw new Error('README.md has no settings markers');
writeFileSync(root + 'README.md', readme.slice(0, a) + docs.renderReadmeOptions() + readme.slice(b + docs.README_END.length));
writeFileSync(root + 'files/etc/config/meshseed', docs.renderUciDefaults());
console.log('README.md and files/etc/config/meshseed rewritten from the settings table');
