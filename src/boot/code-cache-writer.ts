/**
 * The daemon's side of the code cache (code-cache.ts): says at start what the loader found,
 * and once every part has started writes the cache for the next start: only when there was none to use, so the state folder (often flash or a USB disk)
 * is written once per bundle and Node version. Older caches (another bundle or Node) are
 * removed then.
 *
 * The cache holds both stages (stages.ts): stage 1's part is all a start deserializes before
 * its ports open (about 220 KiB of 530), stage 2's comes when the other parts load.
 *
 * Tried and left out before the stages: one cache taken when the tracker's ports open (what
 * a start runs before them): the rest was then compiled from source and every part started
 * about 40 ms later. takeCodeCache() is kept for a caller that wants another moment.
 */
import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describeError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { Logger } from '../util/log.js';
import { CODE_CACHE_ENV, frameCodeCache, isCodeCacheFileName, nativeCrc32, type BootInfo } from './code-cache.js';

/** One line about the cache the loader found (nothing when there is no cache folder). */
export function reportCodeCache(boot: BootInfo | undefined, log: Logger): void {
  if (!boot?.dir || !boot.file) return;
  const where = join(boot.dir, boot.file);
  if (boot.state === 'used') log.debug(`code cache: compiled from ${where}`);
  else if (boot.state === 'none') log.debug(`code cache: none yet in ${boot.dir} (${CODE_CACHE_ENV}); written once started`);
  else log.info(`code cache: ${where} not used: ${boot.problem ?? boot.state}; compiled from source, a new one is written once started`);
}

/** What takeCodeCache() gives writeCodeCache(): V8's cached data, or why there is none. */
export type TakenCodeCache = { data: Uint8Array } | { error: unknown } | undefined;

/** V8's cached data of the bundle as compiled so far, when a cache is to be written (none was used). Never throws. */
export function takeCodeCache(boot: BootInfo | undefined): TakenCodeCache {
  if (!boot?.dir || !boot.file || !boot.script || boot.state === 'used' || boot.state === 'off') return undefined;
  try {
    return { data: boot.script.createCachedData() };
  } catch (error) {
    return { error };
  }
}

/**
 * Writes the cache taken by takeCodeCache() (or, without one, the bundle's cache as compiled
 * now) when none was used; returns the path written, or undefined. Never throws.
 */
export function writeCodeCache(boot: BootInfo | undefined, log: Logger, taken: TakenCodeCache = takeCodeCache(boot)): string | undefined {
  if (!taken || !boot?.dir || !boot.file || boot.state === 'used') return undefined;
  const path = join(boot.dir, boot.file);
  try {
    if ('error' in taken) throw taken.error;
    const bytes = frameCodeCache(taken.data, nativeCrc32(require('node:zlib') as { crc32?: unknown }));
    writeFileAtomic(path, bytes, { overwrite: true });
    boot.state = 'used';
    for (const name of readdirSync(boot.dir)) {
      if (name !== boot.file && isCodeCacheFileName(name)) unlinkSync(join(boot.dir, name));
    }
    log.info(`code cache: ${path} written (${Math.round(bytes.length / 1024)} KiB): later starts skip compiling`);
    return path;
  } catch (err) {
    log.warn(`code cache: cannot write ${path}: ${describeError(err)}; starts compile from source`);
    return undefined;
  }
}
