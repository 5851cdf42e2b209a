/**
 * A small seeded mutational fuzzer for the parsers of untrusted bytes.
 *
 * A target (see targets.ts) gives real sample inputs and a `run(bytes)` that feeds one input
 * to a parser. The harness mutates samples (bit flips, interesting bytes, truncation, length
 * inflation of ASCII and binary length fields, deep nesting, splicing two samples, chunk
 * repetition, insertion and deletion), runs each mutant and reports:
 *   - a crash: `run` threw something the target does not expect (by default only a
 *     MeshseedError, the parsers' typed error, is expected);
 *   - a slow call: one call took longer than the target's `maxCallMs`;
 *   - memory growth: the heap after a full GC grew by more than `maxHeapGrowthMb` over the
 *     run (module-global state that keeps what it was fed).
 * Everything comes from one seed, so a run is repeatable: the same seed and run count give
 * the same inputs.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MeshseedError } from '../../src/errors';

export interface FuzzTarget {
  /** Short kebab-case name: the corpus folder is test/fuzz/corpus/<name>/. */
  name: string;
  /** Real, well-formed inputs that mutation starts from (and splices between). */
  samples: () => Uint8Array[];
  /** Feeds one input to the parser under test. Returning, or throwing an expected error, passes. */
  run: (input: Uint8Array) => void;
  /** The typed errors this parser may throw (default: MeshseedError only). */
  expected?: (err: unknown) => boolean;
  /** Longest one call may take, ms (default 1000: a parse must never hold the event loop). */
  maxCallMs?: number;
  /** Mutants are cut to this size (default 1 MiB). */
  maxInputBytes?: number;
}

export type FindingKind = 'crash' | 'slow' | 'memory';
export interface Finding {
  target: string;
  kind: FindingKind;
  message: string;
  input: Uint8Array;
}

export interface FuzzStats {
  target: string;
  runs: number;
  ms: number;
  slowestMs: number;
  heapGrowthMb: number;
  findings: Finding[];
}

export interface FuzzOptions {
  seed: number;
  /** Stop after this many mutants (deterministic runs). */
  runs?: number;
  /** Or stop after this long. With both, whichever comes first. */
  timeMs?: number;
  maxHeapGrowthMb?: number;
  /** Stop at the first finding of each kind (default true): one input per bug is enough. */
  firstOnly?: boolean;
}

// ---- the registry ----

const REGISTRY = new Map<string, FuzzTarget>();

/** Adds a target; called by targets.ts (and by any module that owns a parser). */
export function registerFuzzTarget(t: FuzzTarget): void {
  if (REGISTRY.has(t.name)) throw new Error(`fuzz target ${t.name} registered twice`);
  REGISTRY.set(t.name, t);
}

export const fuzzTargets = (): FuzzTarget[] => [...REGISTRY.values()];

// ---- seeded randomness ----

/** mulberry32: small, fast, good enough to pick mutations; never for crypto. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for one target: the run's seed mixed with the target's name, so targets differ. */
export function targetSeed(seed: number, name: string): number {
  let h = seed ^ 0x9e3779b9;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

// ---- mutators ----

type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;

const INTERESTING_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x3a, 0x65, 0x69, 0x6c, 0x64, 0x30, 0x39, 0x2d, 0x0d, 0x0a, 0x20, 0x25, 0x26, 0x3d, 0x3f];
const BIG_NUMBERS = ['0', '-1', '-0', '00', '4294967295', '4294967296', '9007199254740991', '9007199254740993', '99999999999999999999', '2147483648', '65536', '1e9'];
const BIG_U32 = [0xffffffff, 0x7fffffff, 0x80000000, 0x00010000, 0, 1, 0x4000, 0x4001];

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

export type Mutator = (input: Uint8Array, r: Rand, samples: Uint8Array[]) => Uint8Array;

export const MUTATORS: Record<string, Mutator> = {
  flipBits(b, r) {
    if (b.length === 0) return b;
    const out = b.slice();
    for (let n = 1 + int(r, 8); n > 0; n--) {
      const i = int(r, out.length);
      out[i]! ^= 1 << int(r, 8);
    }
    return out;
  },
  interestingByte(b, r) {
    if (b.length === 0) return Uint8Array.of(pick(r, INTERESTING_BYTES));
    const out = b.slice();
    for (let n = 1 + int(r, 4); n > 0; n--) out[int(r, out.length)] = pick(r, INTERESTING_BYTES);
    return out;
  },
  truncate(b, r) {
    return b.subarray(0, int(r, b.length + 1));
  },
  /** An ASCII number (bencode lengths and integers, HTTP numbers, UCI values) made huge or odd. */
  inflateAsciiNumber(b, r) {
    const runs: [number, number][] = [];
    for (let i = 0; i < b.length; ) {
      if (b[i]! >= 0x30 && b[i]! <= 0x39) {
        let j = i;
        while (j < b.length && b[j]! >= 0x30 && b[j]! <= 0x39) j++;
        runs.push([i, j]);
        i = j;
      } else i++;
    }
    if (runs.length === 0) return MUTATORS.interestingByte!(b, r, []);
    const [s, e] = pick(r, runs);
    return concat(b.subarray(0, s), ascii(pick(r, BIG_NUMBERS)), b.subarray(e));
  },
  /** A 32-bit or 16-bit big-endian field (peer wire, UDP tracker, MSE lengths) set to an edge value. */
  inflateBinaryLength(b, r) {
    if (b.length < 4) return MUTATORS.flipBits!(b, r, []);
    const out = b.slice();
    const at = int(r, out.length - 3);
    const v = pick(r, BIG_U32);
    const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
    if (r() < 0.7) dv.setUint32(at, v);
    else dv.setUint16(at, v & 0xffff);
    return out;
  },
  /** Deep nesting: bencode lists/dicts opened many times, or brackets/quotes in text. */
  deepNest(b, r) {
    const at = int(r, b.length + 1);
    const depth = 1 + int(r, 5000);
    const open = pick(r, ['l', 'd', 'ld', '[', '"', "'", '\\', '%']);
    const close = r() < 0.5 ? 'e'.repeat(depth) : '';
    return concat(b.subarray(0, at), ascii(open.repeat(depth)), b.subarray(at), ascii(close));
  },
  splice(b, r, samples) {
    const other = pick(r, samples);
    if (!other) return b;
    return concat(b.subarray(0, int(r, b.length + 1)), other.subarray(int(r, other.length + 1)));
  },
  repeatChunk(b, r) {
    if (b.length === 0) return b;
    const s = int(r, b.length);
    const e = Math.min(b.length, s + 1 + int(r, 64));
    const chunk = b.subarray(s, e);
    const times = 1 + int(r, 2000);
    const parts: Uint8Array[] = [b.subarray(0, e)];
    for (let i = 0; i < times; i++) parts.push(chunk);
    parts.push(b.subarray(e));
    return concat(...parts);
  },
  insertRandom(b, r) {
    const at = int(r, b.length + 1);
    const n = 1 + int(r, 32);
    const bytes = Uint8Array.from({ length: n }, () => int(r, 256));
    return concat(b.subarray(0, at), bytes, b.subarray(at));
  },
  deleteChunk(b, r) {
    if (b.length === 0) return b;
    const s = int(r, b.length);
    const e = Math.min(b.length, s + 1 + int(r, 64));
    return concat(b.subarray(0, s), b.subarray(e));
  },
};
const MUTATOR_LIST = Object.values(MUTATORS);

/** One mutant: a sample with one to four stacked mutations. */
export function mutate(samples: Uint8Array[], r: Rand, maxBytes: number): Uint8Array {
  let b = samples.length ? pick(r, samples) : new Uint8Array(0);
  for (let n = 1 + int(r, 4); n > 0; n--) {
    b = pick(r, MUTATOR_LIST)(b, r, samples);
    if (b.length > maxBytes) b = b.subarray(0, maxBytes);
  }
  return b;
}

// ---- running ----

let gcFn: (() => void) | undefined;
/** A full GC, for the heap check (works without --expose-gc on the command line). */
export function fullGc(): void {
  if (!gcFn) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
}
/** The JS heap and the buffers outside it (a parser that keeps Buffers grows the second). */
const heapMb = () => {
  const m = process.memoryUsage();
  return (m.heapUsed + m.external) / 1048576;
};

const defaultExpected = (err: unknown) => err instanceof MeshseedError;

/** Runs one input; returns the finding, if any, and the time taken. */
export function runOne(t: FuzzTarget, input: Uint8Array): { finding?: Finding; ms: number } {
  const expected = t.expected ?? defaultExpected;
  const maxCallMs = t.maxCallMs ?? 1000;
  const t0 = performance.now();
  let crash: unknown;
  let crashed = false;
  try {
    t.run(input);
  } catch (err) {
    if (!expected(err)) {
      crashed = true;
      crash = err;
    }
  }
  const ms = performance.now() - t0;
  if (crashed) {
    const e = crash as Error;
    const message = `${e?.name ?? typeof e}: ${e?.message ?? String(e)}\n${(e?.stack ?? '').split('\n').slice(1, 6).join('\n')}`;
    return { ms, finding: { target: t.name, kind: 'crash', message, input } };
  }
  if (ms > maxCallMs) return { ms, finding: { target: t.name, kind: 'slow', message: `one call took ${ms.toFixed(0)} ms (bound ${maxCallMs} ms)`, input } };
  return { ms };
}

export function fuzz(t: FuzzTarget, opts: FuzzOptions): FuzzStats {
  const r = rng(targetSeed(opts.seed, t.name));
  const samples = t.samples();
  const maxBytes = t.maxInputBytes ?? 1 << 20;
  const maxRuns = opts.runs ?? Infinity;
  const end = opts.timeMs !== undefined ? performance.now() + opts.timeMs : Infinity;
  const firstOnly = opts.firstOnly ?? true;
  const findings: Finding[] = [];
  const kinds = new Set<FindingKind>();
  const t0 = performance.now();
  // the samples themselves first: a sample that fails is a broken target
  for (const s of samples) {
    const { finding } = runOne(t, s);
    if (finding) findings.push({ ...finding, message: `sample input: ${finding.message}` });
  }
  fullGc();
  const heapBefore = heapMb();
  let runs = 0;
  let slowestMs = 0;
  while (runs < maxRuns && performance.now() < end) {
    const input = mutate(samples, r, maxBytes);
    runs++;
    const { finding, ms } = runOne(t, input);
    if (ms > slowestMs) slowestMs = ms;
    if (finding && !(firstOnly && kinds.has(finding.kind))) {
      findings.push(finding);
      kinds.add(finding.kind);
    }
  }
  fullGc();
  const heapGrowthMb = heapMb() - heapBefore;
  const maxGrowth = opts.maxHeapGrowthMb ?? 32;
  if (heapGrowthMb > maxGrowth)
    findings.push({ target: t.name, kind: 'memory', message: `heap grew by ${heapGrowthMb.toFixed(1)} MiB over ${runs} runs (bound ${maxGrowth} MiB)`, input: new Uint8Array(0) });
  return { target: t.name, runs, ms: performance.now() - t0, slowestMs, heapGrowthMb, findings };
}
