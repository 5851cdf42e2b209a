/**
 * The first lines of dist/meshseed.js: compiles the bundle (the rest of the program, a
 * string put in by scripts/build.mjs) with V8's code cache when there is one, and runs it.
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
import { Script } from 'node:vm';
import { CODE_CACHE_ENV, MAX_CODE_CACHE_BYTES, codeCacheFileName, nativeCrc32, unframeCodeCache, type BootInfo } from './code-cache.js';

/** The bundle: `(function (exports, require, module, __filename, __dirname, meshseedBoot) {…})`. */
declare const MESHSEED_BODY: string;
/** A hash of MESHSEED_BODY, from the build. */
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

const boot: BootInfo = { state: 'off' };
let cachedData: Buffer | undefined;
const dir = process.env[CODE_CACHE_ENV];
if (dir) {
  boot.dir = dir;
  boot.file = codeCacheFileName(MESHSEED_BODY_HASH, process.version, process.arch);
  try {
    const bytes = readCache(join(dir, boot.file));
    if (!bytes) boot.state = 'none';
    else {
      // node:zlib only when there is a file to check (about a millisecond to load)
      const r = unframeCodeCache(bytes, nativeCrc32(require('node:zlib') as { crc32?: unknown }));
      if ('problem' in r) {
        boot.state = 'bad';
        boot.problem = r.problem;
      } else cachedData = r.payload as Buffer;
    }
  } catch (err) {
    boot.state = 'bad';
    boot.problem = (err as Error).message;
  }
}
const script = new Script(MESHSEED_BODY, { filename: __filename, ...(cachedData ? { cachedData } : {}) });
if (cachedData) {
  boot.state = script.cachedDataRejected ? 'rejected' : 'used';
  if (script.cachedDataRejected) boot.problem = 'refused by V8 (another Node version or other node flags)';
}
boot.script = script;
(script.runInThisContext() as (...args: unknown[]) => void)(exports, require, module, __filename, __dirname, boot);
