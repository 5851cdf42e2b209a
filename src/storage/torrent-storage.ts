/**
 * One torrent's data on disk, read-only: which pieces we can serve and safe block reads.
 *
 * Every piece is in one of four states:
 *   missing   a file it touches is absent or shorter than the torrent says: never served;
 *   verified  its SHA-1 matched since its files last changed;
 *   doubt     its files are present but changed (size or mtime differ from the resume data,
 *             or they appeared after the check): it is hashed before it is offered (the
 *             owner runs verifyDoubtful), or when a peer that was offered it earlier asks;
 *             never counted as ours (not in `complete`, `left`, the bitfield or status);
 *   failed    its SHA-1 did not match: never sent, until its files change again. A piece
 *             in doubt that reads as zeros and fails is "missing" instead (a sparse hole that
 *             was never written, after a crash mid-download), not "failed".
 *
 * Our own writes (mirror mode) change the files' mtime too: a file written by us since the
 * last look keeps its pieces' states; a change by someone else (data copied in by hand)
 * puts the file's present pieces in doubt.
 *
 * The first time a torrent is seen (no resume data) every present piece is hashed; the
 * result is written as resume data (see resume-data.ts) to `<state_dir>/resume/<hash>.resume`,
 * atomically (temp file + rename). In the state folder rather than next to the data because
 * the data folder may be read-only or shared with other programs (a mounted mirror, a
 * Samba share), and the state folder is the one place the daemon owns; both live on the USB
 * disk on a router, so flash wear is the same, and resume data is only rewritten when piece
 * states change (after a check, a changed file or a failed piece), never per block served.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pieceSize, type Metainfo } from '../codec/metainfo.js';
import { bitIsSet, makeBitfield } from '../codec/peer-wire.js';
import type { Logger } from '../util/log.js';
import type { FilePool } from './file-pool.js';
import { dataFilesIn } from './data-files.js';
import { piecesOfFile, segmentsOf } from './piece-map.js';
import { hashFiles } from './piece-hasher.js';
import { hashRange, pieceHashMatches } from './piece-verify.js';
import { CHUNK_SIZE, type ReadCache } from './read-cache.js';
import { decodeResume, encodeResume } from './resume-data.js';
import { sameStamp, stampFile, type FileStamp } from './file-identity.js';

/** Files stat'ed at once (see statFiles). */
const STAT_CONCURRENCY = 16;
/** File problems listed by name (see problems()). */
export const MAX_PROBLEMS = 20;
import { PieceWriter } from './piece-writer.js';

export const PIECE_MISSING = 0;
export const PIECE_VERIFIED = 1;
export const PIECE_DOUBT = 2;
export const PIECE_FAILED = 3;

export interface StorageDeps {
  pool: FilePool;
  /** Shared read-ahead cache. */
  cache: ReadCache;
  log: Logger;
  /** Folder for resume data (`<state_dir>/resume`). */
  resumeDir: string;
  /** seeder.follow_symlinks: serve files whose real path is outside data_dir (default no). */
  followSymlinks?: () => boolean;
}

let nextOwner = 1;

export class TorrentStorage {
  private readonly paths: string[];
  private readonly states: Uint8Array;
  /** This storage's key in the shared read cache. */
  private readonly owner = nextOwner++;
  /** What stat() said last time (undefined: missing); padding files are always "present". */
  private stamps: (FileStamp | undefined)[];
  /** Why a present file is not served (a link out of data_dir), by file index. */
  private readonly refused = new Map<number, string>();
  private readonly verifying = new Map<number, Promise<boolean>>();
  private closed = false;
  private dirty = false;
  /** Mirror mode: the writer of downloaded pieces, made at the first write. */
  private writer: PieceWriter | undefined;
  checking = false;
  /** Pieces hashed so far by the full check (for the status). */
  checkedPieces = 0;
  /** Called when a piece becomes servable after start (so peers can be sent `have`). */
  onAvailable: (index: number) => void = () => {};

  constructor(
    private readonly deps: StorageDeps,
    readonly meta: Metainfo,
    readonly dataDir: string,
  ) {
    // (throws for a torrent whose paths would leave its folder)
    this.paths = dataFilesIn(meta, dataDir).files.map((f) => f.path);
    this.states = new Uint8Array(meta.pieceCount);
    this.counts[PIECE_MISSING] = meta.pieceCount;
    this.stamps = meta.files.map(() => undefined);
  }

  get resumeFile(): string {
    return join(this.deps.resumeDir, `${this.meta.infoHashHex}.resume`);
  }

  /** Where file `file` of the torrent lies: `<data_dir>/<name>` or `<data_dir>/<name>/<path>`. */
  pathOf(file: number): string {
    return this.paths[file]!;
  }

  /** Ours to offer: verified only (a piece in doubt is hashed first). */
  available(index: number): boolean {
    return this.states[index] === PIECE_VERIFIED;
  }

  stateOf(index: number): number {
    return this.states[index]!;
  }

  /** Pieces in each state, kept as states change (peers ask `complete` often). */
  private readonly counts = [0, 0, 0, 0];
  /** Bumped whenever a piece changes state, so the owner can notice (status, log). */
  changes = 0;

  private setState(index: number, state: number): void {
    const before = this.states[index]!;
    if (before === state) return;
    this.counts[before]!--;
    this.counts[state]!++;
    this.states[index] = state;
    this.changes++;
  }

  countOf(state: number): number {
    return this.counts[state]!;
  }

  get complete(): boolean {
    return this.counts[PIECE_VERIFIED]! === this.meta.pieceCount;
  }

  /** Bytes not verified (for the tracker's `left`). */
  left(): number {
    let n = 0;
    for (let i = 0; i < this.states.length; i++) if (!this.available(i)) n += pieceSize(this.meta, i);
    return n;
  }

  /**
   * Files absent or short, as "path (missing)" / "path (N of M bytes)", for the log and
   * status: at most MAX_PROBLEMS lines, then "… and N more files" (a 50,000-file torrent
   * with no data would otherwise make a 2 MB status line).
   */
  problems(): string[] {
    const out: string[] = [];
    let more = 0;
    this.meta.files.forEach((f, i) => {
      if (f.padding || f.length === 0) return;
      if (out.length >= MAX_PROBLEMS) {
        const st = this.stamps[i];
        if (this.refused.has(i) || !st || st.size < f.length) more++;
        return;
      }
      const st = this.stamps[i];
      const name = f.path.join('/');
      const refused = this.refused.get(i);
      if (refused) out.push(`${name} (not served: ${refused})`);
      else if (!st) out.push(`${name} (missing)`);
      else if (st.size < f.length) out.push(`${name} (${st.size} of ${f.length} bytes)`);
    });
    if (more) out.push(`… and ${more} more files`);
    let holes = 0;
    for (let p = 0; p < this.meta.pieceCount; p++) if (this.states[p] === PIECE_MISSING && this.piecePresent(p)) holes++;
    if (holes) out.push(`${holes} piece(s) not downloaded yet`);
    const failed = this.countOf(PIECE_FAILED);
    if (failed) out.push(`${failed} piece(s) failed verification`);
    return out;
  }

  /**
   * Stats every file, STAT_CONCURRENCY at a time: a stat in flight holds a request and a
   * stats object, and 50,000 at once (one per file of a big torrent) took 200 MB of heap.
   */
  private async statFiles(only?: number[]): Promise<(FileStamp | undefined)[]> {
    const files = this.meta.files;
    // (some files: their stamps are updated in place)
    const out: (FileStamp | undefined)[] = only ? this.stamps : new Array(files.length);
    const policy = { dataDir: this.dataDir, followSymlinks: this.deps.followSymlinks?.() ?? false };
    const todo = only ?? files.map((_, i) => i);
    let next = 0;
    const worker = async () => {
      for (let k = next++; k < todo.length; k = next++) {
        const i = todo[k]!;
        const f = files[i]!;
        if (f.padding || f.length === 0) {
          out[i] = { size: f.length, mtimeMs: 0 };
          continue;
        }
        const r = await stampFile(this.pathOf(i), policy);
        if ('refused' in r) this.refused.set(i, r.refused);
        else this.refused.delete(i);
        out[i] = 'stamp' in r ? r.stamp : undefined;
      }
    };
    await Promise.all(Array.from({ length: Math.min(STAT_CONCURRENCY, todo.length) }, worker));
    return out;
  }

  private filePresent(i: number): boolean {
    const st = this.stamps[i];
    return st !== undefined && st.size >= this.meta.files[i]!.length;
  }

  private piecePresent(index: number): boolean {
    const start = index * this.meta.pieceLength;
    return segmentsOf(this.meta.files, start, pieceSize(this.meta, index)).every((s) => this.filePresent(s.file));
  }

  /** Loads resume data, stats the files, and runs the full check when there is no usable resume data. */
  async start(): Promise<void> {
    this.stamps = await this.statFiles();
    let resume;
    try {
      resume = decodeResume(await readFile(this.resumeFile), this.meta.infoHash, this.meta.files.length, this.meta.pieceCount);
    } catch {
      resume = undefined;
    }
    if (!resume) {
      await this.fullCheck();
      return;
    }
    // the same file: size, mtime and identity (a file swapped for another of the same size
    // and mtime is hashed again before it is served)
    const unchanged = this.meta.files.map((_, i) => this.stamps[i] !== undefined && sameStamp(this.stamps[i], resume!.files[i]));
    for (let p = 0; p < this.meta.pieceCount; p++) {
      if (!this.piecePresent(p)) this.setState(p, PIECE_MISSING);
      else {
        const start = p * this.meta.pieceLength;
        const same = segmentsOf(this.meta.files, start, pieceSize(this.meta, p)).every((s) => unchanged[s.file]);
        this.setState(p, same && bitIsSet(resume.verified, p) ? PIECE_VERIFIED : PIECE_DOUBT);
      }
    }
    if (unchanged.some((u) => !u)) await this.save();
  }

  /** Hashes every piece (the first time a torrent is seen), streaming the files in order. */
  private async fullCheck(): Promise<void> {
    this.checking = true;
    const stopped = new Error('torrent removed during its check');
    // the read cache's chunk buffers, back to it once no read is in flight (not after `stopped`: one may be)
    const pool = this.deps.cache.buffers;
    const buffers: [Buffer, Buffer] = [pool.get(), pool.get()];
    try {
      await hashFiles(
        this.meta.files.map((f, i) => ({ path: this.pathOf(i), length: f.length, padding: f.padding })),
        {
          pieceLength: this.meta.pieceLength,
          // Reason: 256 KiB reads keep two buffers small on a router and still amortise each read.
          chunkSize: CHUNK_SIZE,
          buffers,
          onPiece: (p, digest) => {
            if (this.closed) throw stopped;
            this.checkedPieces = p + 1;
            // a piece of a file that is short or missing is missing, whatever bytes were read
            if (!digest || !this.piecePresent(p)) this.setState(p, PIECE_MISSING);
            else if (pieceHashMatches(this.meta.pieces, p, digest)) this.setState(p, PIECE_VERIFIED);
            // the SHA-1 of zeros: a hole of a sparse file never written, not damaged data
            else this.setState(p, digest.equals(zeroDigest(pieceSize(this.meta, p))) ? PIECE_MISSING : PIECE_FAILED);
          },
        },
      );
      for (const buf of buffers) pool.release(buf);
    } catch (err) {
      if (err !== stopped) throw err;
    } finally {
      this.checking = false;
    }
    if (!this.closed) await this.save();
  }

  /**
   * Stats the files again; pieces of a file that changed, appeared or shrank change state
   * (present → doubt, absent or short → missing). Returns true when anything changed.
   */
  async rescan(): Promise<boolean> {
    if (this.checking || this.closed) return false;
    const ours = this.ownWrites;
    this.ownWrites = new Set();
    const now = await this.statFiles();
    let changed = false;
    let byUs = 0;
    for (let i = 0; i < now.length; i++) {
      const a = now[i];
      const b = this.stamps[i];
      if (sameStamp(a, b)) continue;
      this.stamps[i] = a;
      // written by us since the last look, still whole and the same file: the states stand
      if ((ours.has(i) || this.ownWrites.has(i)) && a && a.size === this.meta.files[i]!.length && (b?.id === undefined || b.id === a.id)) {
        byUs++;
        continue;
      }
      this.deps.pool.forget(this.pathOf(i));
      this.deps.cache.drop(this.owner);
      changed = true;
      const range = piecesOfFile(this.meta, this.meta.files[i]!);
      if (!range) continue;
      for (let p = range[0]; p <= range[1]; p++) {
        const was = this.available(p);
        this.setState(p, this.piecePresent(p) ? PIECE_DOUBT : PIECE_MISSING);
        if (!was && this.available(p)) this.onAvailable(p);
      }
    }
    if (changed) {
      this.deps.log.debug(`${this.meta.name}: files changed on disk by someone else; ${this.countOf(PIECE_DOUBT)} piece(s) in doubt`);
      await this.save();
    } else if (byUs) this.deps.log.debug(`${this.meta.name}: ${byUs} file(s) changed by our own writes; nothing in doubt`);
    else this.deps.log.debug(`${this.meta.name}: looked again, no file changed`);
    return changed;
  }

  /** Files our writer touched since the last rescan (their mtime changes are ours). */
  private ownWrites = new Set<number>();

  /** Reads `into.length` bytes at `position` of the torrent's data; false if any file is missing or short. */
  private async readAt(position: number, into: Buffer): Promise<boolean> {
    let at = 0;
    for (const s of segmentsOf(this.meta.files, position, into.length)) {
      const f = this.meta.files[s.file]!;
      const part = into.subarray(at, at + s.length);
      at += s.length;
      if (f.padding) {
        part.fill(0);
        continue;
      }
      // Never past the file's end as the torrent describes it.
      if (s.offset + s.length > f.length) return false;
      const ok = await this.deps.pool
        .with(this.pathOf(s.file), async (h) => {
          let got = 0;
          while (got < part.length) {
            const { bytesRead } = await h.read(part, got, part.length - got, s.offset + got);
            if (bytesRead === 0) return false;
            got += bytesRead;
          }
          return true;
        }, this.stamps[s.file]?.id)
        .catch(() => false);
      if (!ok) return false;
    }
    return at === into.length;
  }

  /** Hashes a piece in doubt; the first caller does the work, others wait for it. */
  private verify(index: number, quiet = false): Promise<boolean> {
    let p = this.verifying.get(index);
    if (!p) {
      p = (async () => {
        const size = pieceSize(this.meta, index);
        const digest = await hashRange((pos, buf) => this.readAt(pos, buf), index * this.meta.pieceLength, size);
        if (this.states[index] !== PIECE_DOUBT) return this.states[index] === PIECE_VERIFIED;
        const ok = digest !== undefined && pieceHashMatches(this.meta.pieces, index, digest);
        // all zeros and wrong: a hole of a sparse file never written (not damaged data)
        const bad = digest !== undefined && !ok && !digest.equals(zeroDigest(size));
        this.setState(index, ok ? PIECE_VERIFIED : bad ? PIECE_FAILED : PIECE_MISSING);
        this.dirty = true;
        if (ok) this.onAvailable(index);
        if (!ok && !quiet) {
          this.deps.log.warn(`${this.meta.name}: piece ${index} ${bad ? 'failed its hash check' : digest ? 'was never written (zeros)' : 'could not be read'}; it will not be sent`);
          await this.save();
        }
        return ok;
      })().finally(() => this.verifying.delete(index));
      this.verifying.set(index, p);
    }
    return p;
  }

  /**
   * Reads one block into `into` (which must be exactly the block's length) at `begin` of
   * piece `index`, hashing the piece first if it is in doubt. Returns false when the block
   * cannot be served (missing data, failed piece, read error): it is then never sent.
   */
  async readBlock(index: number, begin: number, into: Buffer): Promise<boolean> {
    if (index >= this.meta.pieceCount || begin + into.length > pieceSize(this.meta, index)) return false;
    if (this.states[index] === PIECE_DOUBT && !(await this.verify(index))) return false;
    if (this.states[index] !== PIECE_VERIFIED) return false;
    const pos = index * this.meta.pieceLength + begin;
    const chunk = Math.floor(pos / CHUNK_SIZE);
    let ok: boolean | undefined;
    if (Math.floor((pos + into.length - 1) / CHUNK_SIZE) !== chunk) ok = await this.readAt(pos, into);
    else {
      const buf = await this.deps.cache.load(this.owner, chunk, async () => {
        const n = Math.min(CHUNK_SIZE, this.meta.length - chunk * CHUNK_SIZE);
        const b = n === CHUNK_SIZE ? this.deps.cache.buffers.get() : Buffer.allocUnsafe(n);
        if (await this.readAt(chunk * CHUNK_SIZE, b)) return b;
        this.deps.cache.buffers.release(b);
        return undefined;
      });
      if (buf) buf.copy(into, 0, pos - chunk * CHUNK_SIZE, pos - chunk * CHUNK_SIZE + into.length);
      // The read-ahead spans other pieces, maybe other files: when it fails, only the
      // block's own bytes decide (a missing neighbour never turns a good piece bad).
      else if (!(await this.readAt(pos, into))) ok = false;
      ok ??= this.states[index] === PIECE_VERIFIED;
    }
    if (!ok && this.states[index] === PIECE_VERIFIED) {
      // a file shrank or vanished since it was checked
      this.setState(index, PIECE_MISSING);
      this.dirty = true;
    }
    return ok;
  }

  /**
   * The same as readBlock when the block is already in the read cache and its piece is
   * verified: served at once (true). False means "use readBlock".
   */
  readBlockCached(index: number, begin: number, into: Buffer): boolean {
    if (this.states[index] !== PIECE_VERIFIED || index >= this.meta.pieceCount || begin + into.length > pieceSize(this.meta, index)) return false;
    const pos = index * this.meta.pieceLength + begin;
    const chunk = Math.floor(pos / CHUNK_SIZE);
    if (Math.floor((pos + into.length - 1) / CHUNK_SIZE) !== chunk) return false;
    const buf = this.deps.cache.get(this.owner, chunk);
    if (!buf) return false;
    buf.copy(into, 0, pos - chunk * CHUNK_SIZE, pos - chunk * CHUNK_SIZE + into.length);
    return true;
  }

  verifiedBitfield(): Uint8Array {
    return makeBitfield(this.meta.pieceCount, (i) => this.states[i] === PIECE_VERIFIED);
  }

  /**
   * Hashes every piece in doubt (at start, and after files changed: after a crash or with
   * data copied in, what is there is checked, never trusted). `onPiece` sees each one done.
   */
  async verifyDoubtful(onPiece: () => void = () => {}): Promise<void> {
    for (let i = 0; i < this.meta.pieceCount && !this.closed; i++) {
      if (this.states[i] !== PIECE_DOUBT) continue;
      await this.verify(i, true);
      onPiece();
    }
    if (!this.closed) await this.save();
  }

  /**
   * Writes a downloaded piece whose hash the caller checked; it is servable at once and
   * recorded in the resume data only after the next `sync` (fsync first, then resume).
   * Throws on I/O errors (ENOSPC…): the piece stays wanted.
   */
  async writePiece(index: number, data: Uint8Array): Promise<void> {
    if (this.closed) throw new Error('torrent closed');
    this.writer ??= new PieceWriter(this.meta.files, (f) => this.pathOf(f), this.meta.pieceLength, {
      dataDir: this.dataDir,
      followSymlinks: () => this.deps.followSymlinks?.() ?? false,
    });
    let touched: number[];
    try {
      touched = await this.writer.write(index, data);
    } catch (err) {
      this.writer.forget(index);
      throw err;
    }
    for (const f of touched) {
      this.ownWrites.add(f);
      const st = this.stamps[f];
      // created sparse at its full length: its pieces are no longer missing
      if (!st || st.size < this.meta.files[f]!.length) {
        this.stamps[f] = { size: this.meta.files[f]!.length, mtimeMs: -1 };
        this.deps.pool.forget(this.pathOf(f));
      }
    }
    const start = index * this.meta.pieceLength;
    this.deps.cache.dropRange(this.owner, Math.floor(start / CHUNK_SIZE), Math.floor((start + data.length - 1) / CHUNK_SIZE));
    const was = this.available(index);
    this.setState(index, PIECE_VERIFIED);
    this.dirty = true;
    if (!was) this.onAvailable(index);
  }

  /** Pieces written but not yet fsync'ed. */
  get unsyncedPieces(): number {
    return this.writer?.pendingSync ?? 0;
  }

  /** fsyncs the written files, then records the pieces written before in the resume data. */
  async sync(): Promise<void> {
    if (!this.writer) return;
    await this.writer.sync();
    if (!this.closed) await this.save();
  }

  /**
   * Writes resume data atomically (temp file + rename). On failure (a full disk) the temp
   * file is removed, the piece states stay in memory and the write is tried again at the
   * next flush; the failure is logged once until a write succeeds.
   */
  async save(): Promise<boolean> {
    this.dirty = false;
    // our own writes changed the files: their stamps now, so a restart trusts what was synced
    // (only those: a change by someone else is left for rescan() to see)
    if (this.writer && this.ownWrites.size) this.stamps = await this.statFiles([...this.ownWrites]);
    const writer = this.writer;
    const bytes = encodeResume({
      infoHash: this.meta.infoHash,
      files: this.stamps.map((s) => s ?? { size: -1, mtimeMs: 0 }),
      // a piece counts only once its bytes were fsync'ed
      verified: writer ? makeBitfield(this.meta.pieceCount, (i) => this.states[i] === PIECE_VERIFIED && writer.durable(i)) : this.verifiedBitfield(),
    });
    const tmp = `${this.resumeFile}.tmp`;
    try {
      await mkdir(this.deps.resumeDir, { recursive: true });
      await writeFile(tmp, bytes);
      await rename(tmp, this.resumeFile);
    } catch (err) {
      this.dirty = true;
      await unlink(tmp).catch(() => {});
      if (!this.saveFailing) this.deps.log.warn(`${this.meta.name}: cannot write resume data ${this.resumeFile}: ${(err as Error).message}; retrying later`);
      this.saveFailing = true;
      return false;
    }
    if (this.saveFailing) this.deps.log.info(`${this.meta.name}: resume data ${this.resumeFile} written again`);
    this.saveFailing = false;
    return true;
  }
  private saveFailing = false;

  /** Saves pending piece states (pieces verified when served) and stops any check. */
  async close(): Promise<void> {
    this.closed = true;
    this.deps.cache.drop(this.owner);
    if (this.writer) await this.writer.close().catch((err) => this.deps.log.warn(`${this.meta.name}: ${(err as Error).message}`));
    if (this.dirty) await this.save();
    for (let i = 0; i < this.meta.files.length; i++) this.deps.pool.forget(this.pathOf(i));
  }

  /** Saves when pieces were verified since the last save; called rarely (flash wear). */
  async flush(): Promise<void> {
    if (this.dirty && !this.closed) await this.save();
  }
}

const ZEROS = Buffer.alloc(64 * 1024);
const zeroDigests = new Map<number, Buffer>();
/** SHA-1 of `length` zero bytes (a few piece sizes are ever asked). */
function zeroDigest(length: number): Buffer {
  let d = zeroDigests.get(length);
  if (!d) {
    const h = createHash('sha1');
    for (let at = 0; at < length; at += ZEROS.length) h.update(ZEROS.subarray(0, Math.min(ZEROS.length, length - at)));
    d = h.digest();
    if (zeroDigests.size > 64) zeroDigests.clear();
    zeroDigests.set(length, d);
  }
  return d;
}