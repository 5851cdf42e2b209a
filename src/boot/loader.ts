/**
 * The first lines of dist/meshseed.js: compiles the program's stage 1 (a string put in by
 * scripts/build.mjs) with V8's code cache when there is one, and runs it; stage 2 (another
 * string) is compiled, with its part of the cache, when stage 1 first asks for one of its
 * modules (stages.ts): for the daemon, once the tracker listens.
 *
 * The cache lives in the folder named by MESHSEED_CODE_CACHE (the init script gives
 * main.state_dir); without it the bundle is compiled as any script is. Reading the cache
 * never stops the program: a missing, stale, damaged or refused file is reported to the
 * bundle (BootInfo) and the bundle is compiled from its source. See code-cache.ts.
 *
 * Kept small and free of the bundle's modules: it runs before any of them.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { Script } from 'node:vm';
import { resetHeapFlags, type FlagSetter } from './heap-flags.js';
import { CODE_CACHE_ENV, MAX_CODE_CACHE_BYTES, codeCacheFileName, nativeCrc32, unframeCodeCache, type BootInfo } from './code-cache.js';
import { joinStageCaches, splitStageCaches } from './stages.js';

/** Stage 1, deflated (raw) and in base64: `(function (exports, require, module, __filename, __dirname, meshseedBoot, meshseedStage2) {…})`. */
declare const MESHSEED_STAGE1: string;
/** Stage 2, deflated (raw) and in base64: `(function (exports, require, module, __filename, __dirname) {…})`; its module.exports maps a module's path to a function loading it. */
declare const MESHSEED_STAGE2: string;
/** Stage 2's `require(MESHSEED_STAGE1_PREFIX + path)` asks for a module of stage 1. */
declare const MESHSEED_STAGE1_PREFIX: string;
/** A hash of both stages, from the build. */
declare const MESHSEED_BODY_HASH: string;

/** The cache file's bytes, undefined when there is none; throws on a read error. */
function readCache(path: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_CODE_CACHE_BYTES) throw new Error(`larger than ${MAX_CODE_CACHE_BYTES} bytes`);
    const bytes = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, bytes, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return bytes.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

// First, before any built-in module not yet loaded (node:fs and node:path come with Node's
// start): the heap flags back to their defaults, so that Node's code cache of its modules is
// used (heap-flags.ts).
resetHeapFlags(process as unknown as Parameters<typeof resetHeapFlags>[0], () => require('node:v8') as FlagSetter);
const { Script: VmScript } = require('node:vm') as typeof import('node:vm');
const zlib = require('node:zlib') as typeof import('node:zlib');

const boot: BootInfo = { state: 'off' };
let caches: { one: Uint8Array; two: Uint8Array } | undefined;
const dir = process.env[CODE_CACHE_ENV];
if (dir) {
  boot.dir = dir;
  boot.file = codeCacheFileName(MESHSEED_BODY_HASH, process.version, process.arch);
  try {
    const bytes = readCache(join(dir, boot.file));
    if (!bytes) boot.state = 'none';
    else {
      const r = unframeCodeCache(bytes, nativeCrc32(zlib as { crc32?: unknown }));
      const split = 'problem' in r ? r : splitStageCaches(r.payload);
      if ('problem' in split) {
        boot.state = 'bad';
        boot.problem = split.problem;
      } else caches = split;
    }
  } catch (err) {
    boot.state = 'bad';
    boot.problem = (err as Error).message;
  }
}

/** A stage's source from its packed form. */
const unpack = (packed: string): string => zlib.inflateRawSync(Buffer.from(packed, 'base64')).toString('utf8');

/** Compiled with `cached` when given; a refused cache marks the file to be written again. */
function compile(source: string, filename: string, cached: Uint8Array | undefined): Script {
  const script = new VmScript(source, { filename, ...(cached?.length ? { cachedData: cached as Buffer } : {}) });
  if (cached?.length) {
    if (script.cachedDataRejected) {
      boot.state = 'rejected';
      boot.problem = 'refused by V8 (another Node version or other node flags)';
    } else if (boot.state !== 'rejected') boot.state = 'used';
  }
  return script;
}

const one = compile(unpack(MESHSEED_STAGE1), __filename, caches?.one);
let two: Script | undefined;
let stage2: Record<string, () => unknown> | undefined;
/** Stage 2's modules, compiled and run at the first call; `registry` gives it stage 1's modules by path. */
function loadStage2(registry: Record<string, unknown>): Record<string, () => unknown> {
  if (stage2) return stage2;
  two = compile(unpack(MESHSEED_STAGE2), `${__filename}#stage2`, caches?.two);
  // a cache without stage 2's part (written before stage 2 ran) is written again, whole
  if (caches && !caches.two.length && boot.state === 'used') {
    boot.state = 'rejected';
    boot.problem = 'no compiled code of stage 2 in it';
  }
  const mod = { exports: {} as Record<string, () => unknown> };
  const stage1Require = (id: string): unknown => (id.startsWith(MESHSEED_STAGE1_PREFIX) ? registry[id.slice(MESHSEED_STAGE1_PREFIX.length)] : require(id));
  (two.runInThisContext() as (...args: unknown[]) => void)(mod.exports, stage1Require, mod, __filename, __dirname);
  return (stage2 = mod.exports);
}
boot.script = { createCachedData: () => joinStageCaches(one.createCachedData(), two?.createCachedData() ?? new Uint8Array(0)) };
(one.runInThisContext() as (...args: unknown[]) => void)(exports, require, module, __filename, __dirname, boot, loadStage2);
