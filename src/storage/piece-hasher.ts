/**
 * Streaming SHA-1 piece hasher, shared by `create`, `verify` and the seeder's data check.
 *
 * BEP 3: "pieces maps to a string whose length is a multiple of 20 [...] each of which is
 * the SHA1 hash of the piece at the corresponding index", and for several files "the
 * concatenation of each file in the order listed in the files list" is cut into pieces, so
 * a piece may span file boundaries. This module reads a torrent's files as that one stream.
 *
 * Memory stays flat whatever the size: two read buffers of `chunkSize` bytes (the next read
 * runs in libuv's thread pool while the current chunk is hashed), one SHA-1 state, and the
 * caller's per-piece callback. Nothing is buffered per piece.
 *
 * Data that cannot be read (a missing, short, unreadable file) is not an error here: the
 * pieces it touches are reported with no digest, the problem is returned, and the stream
 * goes on with the next file, so one call reports every damaged file. Bytes of a piece that
 * is already known bad are skipped, not read.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';

export interface StreamFile {
  /** Path on disk (not read for padding files). */
  path: string;
  /** Bytes this file holds in the stream. */
  length: number;
  /** BEP 47 padding file: its bytes are zeros and are never read from disk. */
  padding?: boolean;
}

export type FileProblemKind = 'missing' | 'short' | 'long' | 'not-a-file' | 'unreadable';

export interface FileProblem {
  /** Index in the files given. */
  file: number;
  kind: FileProblemKind;
  /** Size found on disk, for 'short' and 'long'. */
  size?: number;
  /** The system's message, for 'unreadable'. */
  message?: string;
}

export interface HashOptions {
  pieceLength: number;
  /** Bytes per read (default 1 MiB): large enough that per-call overhead vanishes, small enough to keep RSS low (measured: bench/hash.sh). */
  chunkSize?: number;
  /** Called once per piece, in order: its SHA-1, or undefined when its data could not be read. */
  onPiece(index: number, digest: Buffer | undefined): void;
  /** Called after each chunk with the stream bytes done so far (skipped bytes included). */
  onProgress?(done: number, total: number): void;
  /**
   * Only pieces [first, end) of the stream (default: all of them): the share of one of
   * several hashing threads (hash-threads.ts). Files outside it are not opened; progress
   * counts the range's bytes.
   */
  pieces?: { first: number; end: number };
  /** The two read buffers (instead of two new ones of chunkSize): a caller that checks torrent after torrent reuses its own. */
  buffers?: [Buffer, Buffer];
}

export const DEFAULT_CHUNK_SIZE = 1 << 20;
/** Reads of at least one block and at most 64 MiB: bounds the two buffers whatever a caller asks. */
const MIN_CHUNK = 16 << 10;
const MAX_CHUNK = 64 << 20;

/** Cuts a byte stream into pieces and hashes them; bytes of a tainted piece are counted, not hashed. */
class PieceCutter {
  private filled = 0;
  private hash: Hash = createHash('sha1');
  private tainted = false;
  done = 0;

  /** `end`: the stream offset where the last piece cut ends; `piece`: the index of the first. */
  constructor(
    private readonly pieceLength: number,
    readonly end: number,
    private readonly onPiece: HashOptions['onPiece'],
    private piece = 0,
  ) {}

  private currentSize(): number {
    return Math.min(this.pieceLength, this.end - this.piece * this.pieceLength);
  }

  /** Bytes left in the current piece when it is already bad (they need not be read), else 0. */
  skippable(): number {
    return this.tainted ? this.currentSize() - this.filled : 0;
  }

  /** Feeds `n` bytes of the stream: `data` when read, undefined when unavailable (taints). */
  feed(n: number, data?: Uint8Array): void {
    if (data === undefined && n > 0) this.tainted = true;
    let at = 0;
    while (n > 0) {
      const size = this.currentSize();
      const take = Math.min(size - this.filled, n);
      if (data !== undefined && !this.tainted) this.hash.update(data.subarray(at, at + take));
      at += take;
      n -= take;
      this.filled += take;
      this.done += take;
      if (this.filled === size) {
        this.onPiece(this.piece, this.tainted ? undefined : this.hash.digest());
        this.piece++;
        this.filled = 0;
        this.hash = createHash('sha1');
        // a missing stretch longer than this piece taints the next one too
        this.tainted = data === undefined && n > 0;
      }
    }
  }
}

/** Hashes `files` as one stream cut into pieces; returns the problems found (empty when all data was read). */
export async function hashFiles(files: readonly StreamFile[], options: HashOptions): Promise<FileProblem[]> {
  const { pieceLength } = options;
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) throw new RangeError(`bad piece length ${pieceLength}`);
  const chunk = Math.min(MAX_CHUNK, Math.max(MIN_CHUNK, options.chunkSize ?? DEFAULT_CHUNK_SIZE));
  const length = files.reduce((n, f) => n + f.length, 0);
  const pieceCount = Math.ceil(length / pieceLength);
  const first = options.pieces?.first ?? 0;
  const endPiece = options.pieces?.end ?? pieceCount;
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(endPiece) || first < 0 || first > endPiece || endPiece > pieceCount)
    throw new RangeError(`bad piece range ${first}..${endPiece} of ${pieceCount}`);
  // the stream bytes [start, stop) of those pieces
  const start = first * pieceLength;
  const stop = Math.min(length, endPiece * pieceLength);
  const cutter = new PieceCutter(pieceLength, stop, options.onPiece, first);
  const progress = () => options.onProgress?.(cutter.done, stop - start);
  const problems: FileProblem[] = [];
  const buffers = options.buffers ?? [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)];
  let zeros: Buffer | undefined;

  let fileStart = 0;
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    // this file's bytes [from, to) fall in the range (an empty file inside it is still checked)
    const from = Math.max(0, start - fileStart);
    const to = Math.min(f.length, stop - fileStart);
    fileStart += f.length;
    if (to < from || (to === from && f.length > 0)) continue;
    const n = to - from;
    if (f.padding) {
      zeros ??= Buffer.alloc(Math.min(chunk, 1 << 20));
      for (let left = n; left > 0; ) {
        const k = Math.min(left, zeros.length);
        cutter.feed(k, zeros);
        left -= k;
      }
      progress();
      continue;
    }
    let fh: FileHandle;
    try {
      fh = await open(f.path, 'r');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      problems.push(e.code === 'ENOENT' || e.code === 'ENOTDIR' ? { file: i, kind: 'missing' } : { file: i, kind: 'unreadable', message: e.message });
      cutter.feed(n);
      progress();
      continue;
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) {
        problems.push({ file: i, kind: 'not-a-file' });
        cutter.feed(n);
        continue;
      }
      if (st.size < f.length) problems.push({ file: i, kind: 'short', size: st.size });
      else if (st.size > f.length) problems.push({ file: i, kind: 'long', size: st.size });
      const readable = Math.max(from, Math.min(st.size, to));
      const got = await readInto(fh, from, readable, buffers, cutter, progress);
      if (got.error) problems.push({ file: i, kind: 'unreadable', message: got.error.message });
      else if (got.read < readable - from && st.size >= f.length) problems.push({ file: i, kind: 'short', size: from + got.read });
      cutter.feed(n - got.read);
    } finally {
      await fh.close().catch(() => undefined);
      progress();
    }
  }
  return problems;
}

/**
 * Reads bytes [from, available) of an open file into the cutter, two buffers in turn: the
 * next read is in flight while the current chunk is hashed. Returns how many stream bytes
 * were consumed (read or skipped) before the end, EOF or an error.
 */
async function readInto(
  fh: FileHandle,
  from: number,
  available: number,
  buffers: Buffer[],
  cutter: PieceCutter,
  progress: () => void,
): Promise<{ read: number; error?: Error }> {
  const skip = Math.min(available - from, cutter.skippable());
  cutter.feed(skip); // already-bad piece: its bytes here are not worth reading
  let pos = from + skip;
  let readPos = pos;
  let turn = 0;
  type Result = { buf: Buffer; want: number; got: number; error?: Error };
  const issue = (): Promise<Result> | undefined => {
    if (readPos >= available) return undefined;
    const buf = buffers[turn]!;
    turn ^= 1;
    const want = Math.min(buf.length, available - readPos);
    const at = readPos;
    readPos += want;
    return readFully(fh, buf, want, at).then(
      (got) => ({ buf, want, got }),
      (error: Error) => ({ buf, want, got: 0, error }),
    );
  };
  let next = issue();
  while (next) {
    const r = await next;
    if (r.error || r.got < r.want) {
      if (r.got > 0) cutter.feed(r.got, r.buf.subarray(0, r.got));
      return { read: pos - from + r.got, ...(r.error ? { error: r.error } : {}) };
    }
    next = issue();
    cutter.feed(r.got, r.buf.subarray(0, r.got));
    pos += r.got;
    progress();
  }
  return { read: pos - from };
}

/** pread until `want` bytes or EOF (a regular file may return fewer bytes than asked). */
async function readFully(fh: FileHandle, buf: Buffer, want: number, position: number): Promise<number> {
  let got = 0;
  while (got < want) {
    const { bytesRead } = await fh.read(buf, got, want - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}
