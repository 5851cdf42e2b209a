/**
 * The writes of one file (mirror mode's verified pieces), one system call at a time, the
 * writes that wait meanwhile joined: those that follow each other in the file go out as ONE
 * `pwritev`. Reason: a fast web seed completes a piece every millisecond or so; written one
 * positional write each, several at once, libuv's four threads contended for the file's inode
 * lock (`rwsem_spin_on_owner`, 4 % of the daemon's perf samples in bench/mirror-webseed.mjs)
 * and every piece cost the main thread a submit to the thread pool and a wake-up back. Joined,
 * the same bench made 412 write calls for 1024 pieces (strace, loaded machine); a slow disk
 * (a router's USB stick) joins more. One write in flight per file costs no throughput: the
 * kernel serializes a file's buffered writes on that lock anyway.
 *
 * The joining is pure (`joinRuns`); the write itself is injected.
 */

/** Writes `buffers` one after the other from `position`; resolves with the bytes written (maybe fewer). */
export type WritevFn = (buffers: Uint8Array[], position: number) => Promise<number>;

/** Reason: Linux's IOV_MAX is 1024; 64 pieces of 256 KiB is 16 MiB, and more gains no fewer calls worth having. */
export const MAX_JOINED_BUFFERS = 64;
/** Bytes of one joined write at most (it holds every joined piece's buffer until it is done). */
export const MAX_JOINED_BYTES = 16 << 20;

export interface QueuedWrite {
  position: number;
  data: Uint8Array;
}

/**
 * Writes sorted by position, cut into runs that follow each other in the file (each at most
 * MAX_JOINED_BUFFERS writes and MAX_JOINED_BYTES, unless a single write is larger).
 */
export function joinRuns<T extends QueuedWrite>(sorted: readonly T[]): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let end = -1;
  let bytes = 0;
  for (const w of sorted) {
    if (run.length > 0 && (w.position !== end || run.length >= MAX_JOINED_BUFFERS || bytes + w.data.length > MAX_JOINED_BYTES)) {
      runs.push(run);
      run = [];
      bytes = 0;
    }
    run.push(w);
    end = w.position + w.data.length;
    bytes += w.data.length;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** Every byte of `buffers` written from `position`, however the system cuts the writes. */
export async function writeFully(writev: WritevFn, buffers: Uint8Array[], position: number): Promise<void> {
  let left = buffers.filter((b) => b.length > 0);
  while (left.length > 0) {
    let n = await writev(left, position);
    if (n <= 0) throw new Error(`a write of ${left.reduce((s, b) => s + b.length, 0)} bytes at ${position} wrote nothing`);
    position += n;
    // drop what was written: whole buffers, then the start of the next
    let i = 0;
    while (i < left.length && n >= left[i]!.length) n -= left[i++]!.length;
    left = left.slice(i);
    if (n > 0) left[0] = left[0]!.subarray(n);
  }
}

interface Waiting extends QueuedWrite {
  resolve(): void;
  reject(err: unknown): void;
}

export class FileWriteQueue {
  private waiting: Waiting[] = [];
  private running = false;
  /** Write calls made (a joined run is one): for tests and benches. */
  calls = 0;

  constructor(private readonly writev: WritevFn) {}

  /** A write in flight or waiting: the file must stay open. */
  get busy(): boolean {
    return this.running || this.waiting.length > 0;
  }

  /** Resolves once `data` is written at `position` (rejects with the write's error, e.g. ENOSPC). */
  write(position: number, data: Uint8Array): Promise<void> {
    if (data.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ position, data, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.waiting.length > 0) {
      // (a stable sort: two writes at one position keep their order)
      const batch = this.waiting.sort((a, b) => a.position - b.position);
      this.waiting = [];
      for (const run of joinRuns(batch)) {
        try {
          this.calls++;
          await writeFully(
            this.writev,
            run.map((w) => w.data),
            run[0]!.position,
          );
          for (const w of run) w.resolve();
        } catch (err) {
          for (const w of run) w.reject(err);
        }
      }
    }
    this.running = false;
  }
}
