/**
 * The daemon's side of the code cache (code-cache.ts): says at start what the loader found,
 * and once every part has started writes the cache for the next start: only when there was
 * none to use, so the state folder (often flash or a USB disk) is written once per bundle and
 * Node version. Older caches (another bundle or Node) are removed then.
 *
 * The cache holds both stages (stages.ts): stage 1's part is all a start deserializes before
 * its ports open (about 220 KiB of 530), stage 2's comes when the other parts load.
 *
 * Tried and left out before the stages: one cache taken when the tracker's ports open (what
 * a start runs before them): the rest was then compiled from source and every part started
 * about 40 ms later.
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

/** Writes the cache when none was used; returns the path written, or undefined. Never throws. */
export function writeCodeCache(boot: BootInfo | undefined, log: Logger): string | undefined {
  if (!boot?.dir || !boot.file || !boot.script || boot.state === 'used' || boot.state === 'off') return undefined;
  const path = join(boot.dir, boot.file);
  try {
    const bytes = frameCodeCache(boot.script.createCachedData(), nativeCrc32(require('node:zlib') as { crc32?: unknown }));
    writeFileAtomic(path, bytes, { overwrite: true });
    boot.state = 'used';
    log.info(`code cache: ${path} written (${Math.round(bytes.length / 1024)} KiB): later starts skip compiling`);
  } catch (err) {
    log.warn(`code cache: cannot write ${path}: ${describeError(err)}; starts compile from source`);
    return undefined;
  }
  // the old ones: one that stays is only space, not a reason to say the new one was not written
  try {
    for (const name of readdirSync(boot.dir)) {
      if (name === boot.file || !isCodeCacheFileName(name)) continue;
      try {
        unlinkSync(join(boot.dir, name));
      } catch (err) {
        log.warn(`code cache: cannot remove the old ${join(boot.dir, name)}: ${describeError(err)}`);
      }
    }
  } catch (err) {
    log.warn(`code cache: cannot list ${boot.dir} for old caches: ${describeError(err)}`);
  }
  return path;
}
