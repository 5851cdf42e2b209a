/**
 * Where the daemon's memory goes, for `meshseed status --json` and the tracker's stats.json:
 * Node's own figures (process.memoryUsage(), V8's code space) and, on Linux, the kernel's
 * split of the resident set (/proc/self/status): `rssFile` is mostly the pages of the `node`
 * program itself (shared, reclaimable under pressure), `rssAnon` is what the daemon made
 * (V8 heap, buffers, malloc, thread stacks) and the figure to watch on a router.
 */
import { readFileSync } from 'node:fs';
import { nodeV8 } from './lazy-modules.js';

export interface ProcessMemory {
  /** Resident set, bytes (VmRSS). */
  rss: number;
  /** Anonymous and file-backed parts of rss, and the resident high-water mark (VmHWM); null off Linux. */
  rssAnon: number | null;
  rssFile: number | null;
  rssPeak: number | null;
  /** V8 heap reserved and in use (all spaces), of it compiled code (code space). */
  heapTotal: number;
  heapUsed: number;
  codeSpace: number;
  /** Memory of C++ objects tied to JS objects, of it Buffers and ArrayBuffers. */
  external: number;
  arrayBuffers: number;
}

/** VmRSS, RssAnon, RssFile, VmHWM (bytes) from the text of /proc/PID/status; null for a line that is missing. */
export function parseProcStatus(text: string): { rss: number | null; rssAnon: number | null; rssFile: number | null; rssPeak: number | null } {
  const kib = (key: string): number | null => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : null;
  };
  return { rss: kib('VmRSS'), rssAnon: kib('RssAnon'), rssFile: kib('RssFile'), rssPeak: kib('VmHWM') };
}

export interface ProcessMemoryDeps {
  memoryUsage: () => NodeJS.MemoryUsage;
  /** The text of /proc/self/status; throws where there is none. */
  readProcStatus: () => string;
  heapSpaces: () => { space_name: string; space_used_size: number }[];
}

const systemDeps: ProcessMemoryDeps = {
  memoryUsage: () => process.memoryUsage(),
  // about 1.5 KB from procfs, read only when someone asks for the status
  readProcStatus: () => readFileSync('/proc/self/status', 'utf8'),
  heapSpaces: () => nodeV8().getHeapSpaceStatistics(),
};

export function processMemory(deps: ProcessMemoryDeps = systemDeps): ProcessMemory {
  const u = deps.memoryUsage();
  let kernel: ReturnType<typeof parseProcStatus> = { rss: null, rssAnon: null, rssFile: null, rssPeak: null };
  try {
    kernel = parseProcStatus(deps.readProcStatus());
  } catch {
    // not Linux (or no procfs): Node's figures only
  }
  const code = deps.heapSpaces().find((s) => s.space_name === 'code_space');
  return {
    rss: u.rss,
    rssAnon: kernel.rssAnon,
    rssFile: kernel.rssFile,
    rssPeak: kernel.rssPeak,
    heapTotal: u.heapTotal,
    heapUsed: u.heapUsed,
    codeSpace: code?.space_used_size ?? 0,
    external: u.external,
    arrayBuffers: u.arrayBuffers,
  };
}
