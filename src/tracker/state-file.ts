/**
 * The tracker's state file (bttrack's `--dfile`): the torrents it knows and how many times
 * each was downloaded. Peers are never written (they re-announce within an interval).
 *
 * Written rarely (flash wears) and atomically: a temp file next to it, fsync, rename, fsync
 * of the folder, so a power cut leaves the old file or the new one, never half of one. A
 * file that cannot be read as a state file (truncated, corrupt, foreign) is reported, renamed
 * aside to `<name>.corrupt-<time>` for a human to look at, and the tracker starts empty.
 *
 * Format, JSON: {"format":"meshseed-tracker-state","version":1,
 *                "torrents":[["<40 hex>", <downloaded>], ...]}
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { describeError } from '../errors.js';

export const STATE_FORMAT = 'meshseed-tracker-state';
/** A state file of 10 000 torrents is ~600 KB; anything far larger is not ours. */
export const MAX_STATE_BYTES = 64 << 20;

export interface TrackerState {
  /** 40-hex info hash → downloaded total. */
  torrents: Map<string, number>;
}

export type ReadResult =
  | { kind: 'missing' }
  | { kind: 'ok'; state: TrackerState }
  | { kind: 'corrupt'; problem: string; setAsideTo: string | undefined };

/** Pure: the state in a file's bytes, or why they are not one. */
export function decodeState(bytes: Uint8Array): TrackerState | string {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    return `not valid JSON (${describeError(err)})`;
  }
  if (typeof doc !== 'object' || doc === null) return 'not a JSON object';
  const d = doc as Record<string, unknown>;
  if (d.format !== STATE_FORMAT) return `format is not '${STATE_FORMAT}'`;
  if (d.version !== 1) return `version ${String(d.version)} is not 1`;
  if (!Array.isArray(d.torrents)) return 'torrents is not a list';
  const torrents = new Map<string, number>();
  for (const [i, e] of d.torrents.entries()) {
    if (!Array.isArray(e) || e.length !== 2) return `torrents[${i}] is not a [hash, downloaded] pair`;
    const [hex, n] = e as [unknown, unknown];
    if (typeof hex !== 'string' || !/^[0-9a-f]{40}$/.test(hex)) return `torrents[${i}] has a bad info hash`;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return `torrents[${i}] has a bad downloaded count`;
    torrents.set(hex, n);
  }
  return { torrents };
}

export function encodeState(state: TrackerState): Uint8Array {
  const torrents = [...state.torrents].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(`${JSON.stringify({ format: STATE_FORMAT, version: 1, torrents })}\n`);
}

export function readStateFile(path: string, now: () => Date = () => new Date()): ReadResult {
  let bytes: Buffer;
  try {
    const st = statSync(path);
    if (st.size > MAX_STATE_BYTES) throw new Error(`larger than ${MAX_STATE_BYTES} bytes`);
    bytes = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return setAside(path, describeError(err), now);
  }
  const state = decodeState(bytes);
  if (typeof state === 'string') return setAside(path, state, now);
  return { kind: 'ok', state };
}

function setAside(path: string, problem: string, now: () => Date): ReadResult {
  const to = `${path}.corrupt-${now().toISOString().replace(/[:.]/g, '-')}`;
  try {
    renameSync(path, to);
    return { kind: 'corrupt', problem, setAsideTo: to };
  } catch {
    return { kind: 'corrupt', problem, setAsideTo: undefined };
  }
}

/** Writes the file atomically: temp file, fsync, rename, fsync of the folder. Throws on I/O errors. */
export function writeStateFile(path: string, state: TrackerState): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const bytes = encodeState(state);
  let fd = openSync(tmp, 'w', 0o644);
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {}
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {}
    throw err;
  }
  try {
    fd = openSync(dirname(path), 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some file systems refuse fsync on a folder; the rename is done
  }
}
