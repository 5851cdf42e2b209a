/**
 * Whole-piece SHA-1 hashing on several cores, for `meshseed create -t N` (as mktorrent's
 * `-t N`): the piece hashes of a torrent's files read as one stream (BEP 3: "the
 * concatenation of each file in the order listed", a piece may span files).
 *
 * Each piece is read whole into a reused buffer by positional reads in libuv's pool, and
 * hashed without a copy. The first hashing thread is the main thread: two lanes hash there
 * with node:crypto's SHA-1, one lane's piece while the other's is read, as mktorrent reads in
 * one thread while another hashes. Each further thread is a worker (hash-worker.ts) with two
 * lanes of its own: their buffers are shared with it, a piece is read into one while the
 * worker hashes the other. (Web Crypto's digest, used here before, copies each piece on the
 * main thread: at -t 2 that cost more than the second thread gave.) Every lane takes the next
 * piece when it is free, so a worker still starting, or a slow one, takes fewer. Memory is
 * two pieces per thread whatever the size of the data.
 *
 * The same problems as hashFiles() (piece-hasher.ts) are found and returned: a missing, short,
 * long, unreadable file or one that is not a regular file; the pieces its missing bytes touch
 * are reported with no digest. Pieces are reported in any order.
 */
import { close, fstat, open, read } from 'node:fs';
import type { FileProblem, HashOptions, StreamFile } from './piece-hasher.js';
import { HashWorker } from './hash-worker.js';

/** What hashes a piece given to it (injectable for tests: it may keep only a copy of the bytes). */
export type DigestPiece = (bytes: Uint8Array) => Promise<ArrayBuffer | Uint8Array> | ArrayBuffer | Uint8Array;

export interface ParallelHashOptions extends Pick<HashOptions, 'onPiece' | 'onProgress'> {
  pieceLength: number;
  /** Hashing threads (mktorrent's -t): 1 or more. */
  lanes: number;
  /** Hashes every lane's pieces instead (tests): `lanes` pieces in flight, one per lane. */
  digest?: DigestPiece;
  /**
   * Less data than this is hashed on the main thread alone, whatever `lanes` says: a worker
   * takes longer to start than the main thread takes to hash it. Default
   * MIN_BYTES_FOR_WORKERS; tests give 0.
   */
  minBytesForWorkers?: number;
}

/**
 * About what the main thread hashes while a worker starts (a few tens of milliseconds,
 * measured: a worker's first digest comes after the main thread hashed 20-60 MiB).
 */
export const MIN_BYTES_FOR_WORKERS = 32 << 20;

/** A lane: its buffer, what hashes it, and whether the digest reads the buffer until it resolves. */
interface Lane {
  buffer: Uint8Array;
  digest: DigestPiece;
  /** The buffer is read by the digest until its promise settles (a worker's shared slot). */
  holdsBuffer: boolean;
}

/** One file's bytes inside one piece. */
interface Segment {
  file: number;
  /** Offset in the file and in the piece's buffer, byte count. */
  fileOffset: number;
  bufferOffset: number;
  length: number;
}

/** An opened file: its fd, or why its bytes cannot be read. */
type Opened = { fd: number; size: number } | { problem: FileProblem };

const openFd = (path: string) => new Promise<number>((resolve, reject) => open(path, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));
const statFd = (fd: number) =>
  new Promise<{ size: number; isFile: boolean }>((resolve, reject) => fstat(fd, (err, st) => (err ? reject(err) : resolve({ size: st.size, isFile: st.isFile() }))));
const readAt = (fd: number, buf: Uint8Array, offset: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) => read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))));

/** SHA-1 on the main thread, before the call returns (no copy). */
function mainThreadDigest(): DigestPiece {
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  return (bytes) => {
    return createHash('sha1').update(bytes).digest();
  };
}

/** A digest as a Buffer, without a copy. */
const asBuffer = (d: ArrayBuffer | Uint8Array): Buffer => (Buffer.isBuffer(d) ? d : d instanceof Uint8Array ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : Buffer.from(d));

/** Lanes per hashing thread: one hashes while the other reads. */
const LANES_PER_THREAD = 2;

/** The lanes for `threads` hashing threads: the main thread's, then each worker's. */
function makeLanes(threads: number, pieceLength: number, workers: HashWorker[]): Lane[] {
  const main = mainThreadDigest();
  const lanes: Lane[] = Array.from({ length: LANES_PER_THREAD }, () => ({ buffer: new Uint8Array(pieceLength), digest: main, holdsBuffer: false }));
  for (let t = 1; t < threads; t++) {
    const worker = new HashWorker(LANES_PER_THREAD, pieceLength);
    workers.push(worker);
    worker.slots.forEach((buffer, slot) => lanes.push({ buffer, digest: (bytes) => worker.digest(slot, bytes.length), holdsBuffer: true }));
  }
  return lanes;
}

/** Hashes `files` as one stream cut into pieces, `lanes` pieces at a time; returns the problems found. */
export async function hashFilesParallel(files: readonly StreamFile[], options: ParallelHashOptions): Promise<FileProblem[]> {
  const { pieceLength } = options;
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) throw new RangeError(`bad piece length ${pieceLength}`);
  if (!Number.isSafeInteger(options.lanes) || options.lanes < 1) throw new RangeError(`bad lane count ${options.lanes}`);
  const starts: number[] = [];
  let total = 0;
  for (const f of files) {
    starts.push(total);
    total += f.length;
  }
  const pieceCount = Math.ceil(total / pieceLength);
  // no data (every file empty, which create refuses first): nothing to hash
  if (pieceCount === 0) return [];
  const workers: HashWorker[] = [];
  const threads = total < (options.minBytesForWorkers ?? MIN_BYTES_FOR_WORKERS) ? 1 : Math.min(options.lanes, pieceCount);
  const lanes: Lane[] = options.digest
    ? Array.from({ length: Math.min(options.lanes, pieceCount) }, () => ({ buffer: new Uint8Array(pieceLength), digest: options.digest!, holdsBuffer: false }))
    : makeLanes(threads, pieceLength, workers);

  // Files are opened when a piece first needs them and closed when the last piece that
  // holds their bytes was read: a folder of many small files never holds many descriptors.
  const opened = new Map<number, Promise<Opened>>();
  const readsLeft = new Map<number, number>();
  const problems = new Map<number, FileProblem>();
  const problem = (p: FileProblem) => {
    if (!problems.has(p.file)) problems.set(p.file, p);
  };
  // file i's bytes lie in pieces firstPiece(i)..lastPiece(i); an empty one is checked with
  // the piece it starts in (both never decrease with i: files are in stream order)
  const firstPiece = (i: number) => Math.min(pieceCount - 1, Math.floor(starts[i]! / pieceLength));
  const lastPiece = (i: number) => (files[i]!.length === 0 ? firstPiece(i) : Math.floor((starts[i]! + files[i]!.length - 1) / pieceLength));
  const openFile = (i: number): Promise<Opened> => {
    let p = opened.get(i);
    if (!p) {
      readsLeft.set(i, lastPiece(i) - firstPiece(i) + 1);
      p = (async (): Promise<Opened> => {
        let fd: number;
        try {
          fd = await openFd(files[i]!.path);
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          return { problem: e.code === 'ENOENT' || e.code === 'ENOTDIR' ? { file: i, kind: 'missing' } : { file: i, kind: 'unreadable', message: e.message } };
        }
        try {
          const st = await statFd(fd);
          if (!st.isFile) throw Object.assign(new Error('not a file'), { kind: 'not-a-file' });
          const want = files[i]!.length;
          if (st.size < want) problem({ file: i, kind: 'short', size: st.size });
          else if (st.size > want) problem({ file: i, kind: 'long', size: st.size });
          return { fd, size: Math.min(st.size, want) };
        } catch (err) {
          close(fd, () => undefined);
          return { problem: (err as { kind?: string }).kind === 'not-a-file' ? { file: i, kind: 'not-a-file' } : { file: i, kind: 'unreadable', message: (err as Error).message } };
        }
      })();
      opened.set(i, p);
    }
    return p;
  };
  const doneWith = async (i: number) => {
    if (!opened.has(i)) return; // padding: never opened
    const left = readsLeft.get(i)! - 1;
    readsLeft.set(i, left);
    if (left > 0) return;
    const o = await opened.get(i)!;
    if ('fd' in o) close(o.fd, () => undefined);
    opened.delete(i);
  };

  /** Reads one file's bytes of a piece; false when some could not be read (the piece is then bad). */
  const readSegment = async (s: Segment, buf: Uint8Array): Promise<boolean> => {
    const f = files[s.file]!;
    if (f.padding) {
      buf.fill(0, s.bufferOffset, s.bufferOffset + s.length);
      return true;
    }
    const o = await openFile(s.file);
    if ('problem' in o) {
      problem(o.problem);
      return s.length === 0;
    }
    const readable = Math.max(0, Math.min(s.length, o.size - s.fileOffset));
    let got = 0;
    try {
      while (got < readable) {
        const n = await readAt(o.fd, buf, s.bufferOffset + got, readable - got, s.fileOffset + got);
        if (n === 0) break;
        got += n;
      }
    } catch (err) {
      problem({ file: s.file, kind: 'unreadable', message: (err as Error).message });
      return false;
    }
    // the file was cut while it was read: it changed size
    if (got < readable) problem({ file: s.file, kind: 'short', size: s.fileOffset + got });
    return got === s.length;
  };

  /** The files' bytes in piece `p`, empty files checked with it included. */
  const segmentsOf = (p: number): Segment[] => {
    const from = p * pieceLength;
    // the first file whose last piece is p or later (binary search: a folder may hold many files)
    let lo = 0;
    let hi = files.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (lastPiece(mid) < p) lo = mid + 1;
      else hi = mid;
    }
    const out: Segment[] = [];
    for (let i = lo; i < files.length && firstPiece(i) <= p; i++) {
      const a = Math.max(from, starts[i]!);
      const b = Math.min(from + pieceLength, starts[i]! + files[i]!.length);
      out.push({ file: i, fileOffset: a - starts[i]!, bufferOffset: a - from, length: Math.max(0, b - a) });
    }
    return out;
  };

  let next = 0;
  let done = 0;
  /** A lane failed: the others stop after their current piece (none reads a file closed under it). */
  let failed = false;
  const lane = async ({ buffer: buf, digest, holdsBuffer }: Lane) => {
    let hashing: Promise<void> | undefined;
    while (!failed && next < pieceCount) {
      // a worker reads this lane's buffer until its digest comes back
      if (holdsBuffer) await hashing;
      if (failed || next >= pieceCount) break;
      const p = next++;
      const size = Math.min(pieceLength, total - p * pieceLength);
      let good = true;
      for (const s of segmentsOf(p)) {
        if (!(await readSegment(s, buf))) good = false;
        await doneWith(s.file);
      }
      // one piece hashed per lane at a time: the thread pool gets at most `lanes` of them
      await hashing;
      if (good) {
        const bytes = size === pieceLength ? buf : buf.subarray(0, size);
        hashing = Promise.resolve(digest(bytes)).then((d) => {
          options.onPiece(p, asBuffer(d));
          done += size;
          options.onProgress?.(done, total);
        });
        // awaited at the lane's next piece; a failure while it reads is not an unhandled rejection
        hashing.catch(() => undefined);
      } else {
        hashing = undefined;
        options.onPiece(p, undefined);
        done += size;
        options.onProgress?.(done, total);
      }
    }
    await hashing;
  };
  try {
    // every lane settled before the files are closed and the first failure is thrown
    const ends = await Promise.allSettled(
      lanes.map((l) =>
        lane(l).catch((err: unknown) => {
          failed = true;
          throw err;
        }),
      ),
    );
    const bad = ends.find((e): e is PromiseRejectedResult => e.status === 'rejected');
    if (bad) throw bad.reason;
  } finally {
    for (const w of workers) w.close();
    for (const o of opened.values()) void o.then((x) => 'fd' in x && close(x.fd, () => undefined));
  }
  return [...problems.values()].sort((a, b) => a.file - b.file);
}
