/**
 * Hashing with several threads, as mktorrent's `-t N` (`meshseed create -t N`): the pieces
 * are cut into N contiguous ranges; this thread hashes the first, worker threads the others,
 * each reading its own files with its own two buffers (piece-hasher.ts). A worker sends its
 * digests after each chunk it read, and its problems at the end.
 *
 * A worker is the bundle (dist/meshseed.js) started again in a thread with HASH_WORKER_ARG:
 * it costs a V8 isolate (about 12 MiB of RSS here) and loading the bundle again, so one thread
 * (the default) keeps `create` smallest; a second one hashes at the same time on a second
 * free core (bench/hash.sh compares both with mktorrent). Pieces are reported in any order.
 */
import type { Worker as WorkerThread } from 'node:worker_threads';
import { HASH_WORKER_ARG } from '../boot/entry-args.js';
import { hashFiles, type FileProblem, type HashOptions, type StreamFile } from './piece-hasher.js';

/** What a worker is given. */
interface HashJob {
  files: StreamFile[];
  pieceLength: number;
  range: { first: number; end: number };
  chunkSize?: number;
}

/** What a worker sends: the digests of pieces first.. (20 bytes each; `missing` lists those not read), its bytes done, and at the end its problems. */
interface HashReport {
  first: number;
  digests: Uint8Array;
  missing: number[];
  done: number;
  problems?: FileProblem[];
}

/** `pieceCount` pieces cut into at most `threads` contiguous ranges of nearly equal size, none empty. */
export function splitPieces(pieceCount: number, threads: number): { first: number; end: number }[] {
  const n = Math.max(1, Math.min(Math.floor(threads), pieceCount));
  return Array.from({ length: n }, (_, k) => ({ first: Math.floor((k * pieceCount) / n), end: Math.floor(((k + 1) * pieceCount) / n) }));
}

/**
 * hashFiles() with `threads` threads; `workerScript` is the bundle to start them from
 * (undefined: this thread only, as when not run from dist/meshseed.js).
 */
export async function hashFilesThreaded(files: readonly StreamFile[], options: HashOptions, threads: number, workerScript: string | undefined): Promise<FileProblem[]> {
  const length = files.reduce((n, f) => n + f.length, 0);
  const ranges = splitPieces(Math.ceil(length / options.pieceLength), workerScript ? threads : 1);
  if (ranges.length <= 1) return hashFiles(files, options);
  const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
  const done = ranges.map(() => 0);
  const progress = () => options.onProgress?.(done.reduce((a, b) => a + b, 0), length);
  const started: WorkerThread[] = [];
  const theirs = ranges.slice(1).map(
    (range, k) =>
      new Promise<FileProblem[]>((resolve, reject) => {
        const job: HashJob = { files: [...files], pieceLength: options.pieceLength, range, ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}) };
        const w = new Worker(workerScript!, { argv: [HASH_WORKER_ARG], workerData: job });
        started.push(w);
        w.on('message', (m: HashReport) => {
          const missing = new Set(m.missing);
          for (let j = 0; j * 20 < m.digests.length; j++) {
            const i = m.first + j;
            options.onPiece(i, missing.has(i) ? undefined : Buffer.from(m.digests.buffer, m.digests.byteOffset + j * 20, 20));
          }
          done[k + 1] = m.done;
          progress();
          if (m.problems) resolve(m.problems);
        });
        w.on('error', reject);
        w.on('exit', (code) => reject(new Error(`hashing thread ${k + 2} stopped (exit code ${code}) before it finished`)));
      }),
  );
  // (awaited below; a thread that fails while this one is still hashing is not unhandled)
  for (const p of theirs) p.catch(() => undefined);
  try {
    const mine = await hashFiles(files, {
      ...options,
      pieces: ranges[0]!,
      onProgress: (d) => {
        done[0] = d;
        progress();
      },
    });
    const all = [...mine, ...(await Promise.all(theirs)).flat()];
    // a file that spans two ranges is found short (or missing) by both: once is enough
    const seen = new Set<string>();
    return all.filter((p) => !seen.has(`${p.file} ${p.kind}`) && seen.add(`${p.file} ${p.kind}`)).sort((a, b) => a.file - b.file);
  } finally {
    for (const w of started) void w.terminate();
  }
}

/** A worker thread's life (the bundle's entry calls this when started with HASH_WORKER_ARG). */
export async function runHashWorker(): Promise<void> {
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const job = workerData as HashJob;
  let first = job.range.first;
  let batch: Uint8Array[] = [];
  let missing: number[] = [];
  const send = (done: number, problems?: FileProblem[]) => {
    const report: HashReport = { first, digests: Buffer.concat(batch), missing, done, ...(problems ? { problems } : {}) };
    parentPort!.postMessage(report);
    first += batch.length;
    batch = [];
    missing = [];
  };
  let done = 0;
  const problems = await hashFiles(job.files, {
    pieceLength: job.pieceLength,
    pieces: job.range,
    ...(job.chunkSize ? { chunkSize: job.chunkSize } : {}),
    onPiece: (i, digest) => {
      if (!digest) missing.push(i);
      batch.push(digest ?? new Uint8Array(20));
    },
    onProgress: (d) => {
      done = d;
      send(d);
    },
  });
  send(done, problems);
}
