/**
 * The V8 code cache of the bundle: what lets a restarted daemon skip compiling its 400 KB of
 * JavaScript. V8 turns a script into bytecode before it runs a line of it; `vm.Script` can
 * hand V8 the bytecode of an earlier run (`cachedData`) instead, and `createCachedData()`
 * gives it, taken once the daemon has started so that every function its start ran is in it.
 *
 * V8 checks its version, its flags and the source's length, but in a release build not the
 * bytes: a cache for another bundle of the same length, or one damaged on a flaky USB disk,
 * could be run as code. So the file carries its own checks, all done before V8 sees a byte:
 * its name holds the bundle's hash, Node's version and the CPU architecture (a stale cache is
 * never opened), and a header holds a magic number, the payload's length and a checksum.
 * Anything that does not match is ignored (the daemon compiles as if there were no cache)
 * and a good one is written once it has started.
 *
 * Pure: names and bytes only; the loader (loader.ts) and the writer (code-cache-writer.ts)
 * do the file system.
 */

/** The header's first word names the checksum: 'MSC1' FNV-1a (codeCacheChecksum), 'MSC2' CRC-32 (zlib's). */
export const CODE_CACHE_MAGIC_FNV = 0x3143534d;
export const CODE_CACHE_MAGIC_CRC32 = 0x3243534d;
/** magic, payload length, checksum: three little-endian 32-bit words. */
export const CODE_CACHE_HEADER_BYTES = 12;
/** No bundle's cache comes near this (400 KB of source gives under 2 MiB): a bigger file is not read. */
export const MAX_CODE_CACHE_BYTES = 32 << 20;
/** Every cache file is named `meshseed-….v8cache`: stale ones are recognised and removed. */
export const CODE_CACHE_PREFIX = 'meshseed-';
export const CODE_CACHE_SUFFIX = '.v8cache';

/** The environment variable naming the folder of the code cache (the init script sets it to main.state_dir). */
export const CODE_CACHE_ENV = 'MESHSEED_CODE_CACHE';

/**
 * The cache's file name for this bundle on this Node: `meshseed-<bundle hash>-<node version>-<arch>.v8cache`.
 * Characters outside [A-Za-z0-9._] become '_' (a version string is not trusted to be a file name).
 */
export function codeCacheFileName(bundleHash: string, nodeVersion: string, arch: string): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9._]/g, '_');
  return `${CODE_CACHE_PREFIX}${clean(bundleHash)}-${clean(nodeVersion)}-${clean(arch)}${CODE_CACHE_SUFFIX}`;
}

/** True for a file name that is a meshseed code cache (of any bundle or Node). */
export const isCodeCacheFileName = (name: string): boolean => name.startsWith(CODE_CACHE_PREFIX) && name.endsWith(CODE_CACHE_SUFFIX);

/**
 * zlib's CRC-32 (Node 20.15 and later): native, a fraction of a millisecond for the cache,
 * where the JavaScript checksum below takes several (it runs once, before V8 optimises it).
 */
export type Crc32 = (data: Uint8Array) => number;

/**
 * A 32-bit checksum of `bytes` for a Node without zlib.crc32: FNV-1a over little-endian
 * 32-bit words, then the tail bytes. Not cryptographic (the folder is the daemon's own): it
 * catches torn and damaged files.
 */
export function codeCacheChecksum(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  const words = bytes.length >>> 2;
  if (bytes.byteOffset % 4 === 0) {
    const w = new Uint32Array(bytes.buffer, bytes.byteOffset, words);
    for (let i = 0; i < words; i++) h = Math.imul(h ^ w[i]!, 0x01000193);
  } else {
    for (let i = 0; i < words; i++) {
      const o = i * 4;
      h = Math.imul(h ^ (bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)), 0x01000193);
    }
  }
  for (let i = words * 4; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/** The file's bytes: header, then V8's cached data; checked by `crc32` when given, else by FNV-1a. */
export function frameCodeCache(payload: Uint8Array, crc32?: Crc32): Uint8Array {
  const out = new Uint8Array(CODE_CACHE_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, crc32 ? CODE_CACHE_MAGIC_CRC32 : CODE_CACHE_MAGIC_FNV, true);
  view.setUint32(4, payload.length, true);
  view.setUint32(8, crc32 ? crc32(payload) >>> 0 : codeCacheChecksum(payload), true);
  out.set(payload, CODE_CACHE_HEADER_BYTES);
  return out;
}

/** V8's cached data from a file's bytes, or why they are not a cache to use. `crc32`: zlib's, when this Node has it. */
export function unframeCodeCache(file: Uint8Array, crc32?: Crc32): { payload: Uint8Array } | { problem: string } {
  if (file.length < CODE_CACHE_HEADER_BYTES) return { problem: `too short (${file.length} bytes)` };
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magic = view.getUint32(0, true);
  if (magic !== CODE_CACHE_MAGIC_FNV && magic !== CODE_CACHE_MAGIC_CRC32) return { problem: 'not a meshseed code cache' };
  if (magic === CODE_CACHE_MAGIC_CRC32 && !crc32) return { problem: 'checked by CRC-32, which this Node lacks' };
  const length = view.getUint32(4, true);
  if (length !== file.length - CODE_CACHE_HEADER_BYTES) return { problem: `truncated (${file.length - CODE_CACHE_HEADER_BYTES} of ${length} bytes)` };
  const payload = file.subarray(CODE_CACHE_HEADER_BYTES);
  const sum = magic === CODE_CACHE_MAGIC_CRC32 ? crc32!(payload) >>> 0 : codeCacheChecksum(payload);
  if (sum !== view.getUint32(8, true)) return { problem: 'checksum mismatch (damaged)' };
  return { payload };
}

/** zlib's CRC-32 when this Node has it (20.15 and later), else undefined. */
export function nativeCrc32(zlib: { crc32?: unknown }): Crc32 | undefined {
  return typeof zlib.crc32 === 'function' ? (zlib.crc32 as Crc32) : undefined;
}

/**
 * What the loader tells the program about the cache: `off` (no folder given), `none` (no
 * file yet), `used`, `rejected` (V8 refused it: other flags), `bad` (our checks refused it).
 */
export type CodeCacheState = 'off' | 'none' | 'used' | 'rejected' | 'bad';

/** Handed by the loader to the bundle: enough for the daemon to report and write the cache. */
export interface BootInfo {
  state: CodeCacheState;
  /** Why the cache was not used (state `bad`, `rejected`, or a read error). */
  problem?: string;
  /** Folder and file name of the cache (undefined when off). */
  dir?: string;
  file?: string;
  /** The compiled bundle: its createCachedData() is the cache to write. */
  script?: { createCachedData(): Uint8Array };
}
