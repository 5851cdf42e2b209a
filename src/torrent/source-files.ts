/**
 * The files `meshseed create` publishes: one file, or every regular file below a folder.
 *
 * As the original `maketorrent` did, a folder walk skips `CVS`, `core`, `Thumbs.db`,
 * `desktop.ini` and dot-files (files and folders alike, at every level). Files are listed in
 * byte order of their path joined with '/', as mktorrent orders them (strcmp), so the same
 * folder gives mktorrent's info hash. Symbolic links are followed (as mktorrent does); a link
 * back to a folder being walked is refused rather than walked forever. Names that are not
 * valid UTF-8 are refused: a torrent's paths are UTF-8 (BEP 3).
 */
import { readdir as readdirCallback, stat as statCallback, type Stats } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { checkPathComponent } from '../codec/metainfo.js';
import { utf8 } from '../codec/bencode.js';
import { MeshseedError } from '../errors.js';

// node:fs's callbacks, not node:fs/promises: that module loads about 25 more of Node's own
// (streams, readline) that `create` would load before it hashes a byte
const stat = (path: string) => new Promise<Stats>((ok, fail) => statCallback(path, (err, st) => (err ? fail(err) : ok(st))));
const readdir = (dir: string, _: { encoding: 'buffer' }) =>
  new Promise<Buffer[]>((ok, fail) => readdirCallback(dir, { encoding: 'buffer' }, (err, names) => (err ? fail(err) : ok(names))));

export interface SourceFile {
  /** Path on disk. */
  path: string;
  /** Path components below the torrent's folder (for one file: [name]). */
  components: string[];
  length: number;
}

export interface Source {
  /** Basename of the target (trailing slashes removed). */
  name: string;
  /** The target is one file (a single-file torrent), not a folder. */
  singleFile: boolean;
  files: SourceFile[];
  length: number;
}

/** Names the original maketorrent left out of a published folder. */
const SKIPPED_NAMES = new Set(['CVS', 'core', 'Thumbs.db', 'desktop.ini']);
export const isSkippedName = (name: string): boolean => name.startsWith('.') || SKIPPED_NAMES.has(name);

/** Most files in one torrent: far beyond any real one, and a bound on the walk's memory. */
const MAX_FILES = 1_000_000;

const ioError = (message: string) => new MeshseedError('EIO', message);

function checkName(name: string, where: string): string {
  try {
    return checkPathComponent(name, 'name');
  } catch (err) {
    throw ioError(`cannot publish '${where}': ${(err as Error).message.replace(/^name /, 'its name ')}`);
  }
}

export async function listSource(target: string): Promise<Source> {
  const trimmed = target.length > 1 ? target.replace(/\/+$/, '') : target;
  const name = basename(resolve(trimmed));
  let st;
  try {
    st = await stat(trimmed);
  } catch (err) {
    throw ioError(`cannot read '${target}': ${(err as Error).message}`);
  }
  if (st.isFile()) {
    checkName(name, trimmed);
    return { name, singleFile: true, files: [{ path: trimmed, components: [name], length: st.size }], length: st.size };
  }
  if (!st.isDirectory()) throw ioError(`'${target}' is neither a file nor a folder`);
  const files: SourceFile[] = [];
  await walk(trimmed, [], new Set([`${st.dev}:${st.ino}`]), files);
  if (files.length === 0) throw ioError(`'${target}' holds no files to publish (dot-files, CVS, core, Thumbs.db and desktop.ini are skipped)`);
  const keyed = files.map((f) => ({ f, key: Buffer.from(f.components.join('/')) }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  const sorted = keyed.map((k) => k.f);
  return { name, singleFile: false, files: sorted, length: sorted.reduce((n, f) => n + f.length, 0) };
}

async function walk(dir: string, prefix: string[], ancestors: Set<string>, out: SourceFile[]): Promise<void> {
  let names: Buffer[];
  try {
    names = await readdir(dir, { encoding: 'buffer' });
  } catch (err) {
    throw ioError(`cannot read folder '${dir}': ${(err as Error).message}`);
  }
  for (const raw of names) {
    const name = utf8(raw);
    const shown = join(dir, raw.toString());
    if (name === undefined) throw ioError(`'${shown}' has a name that is not valid UTF-8: rename it`);
    if (isSkippedName(name)) continue;
    checkName(name, shown);
    const path = join(dir, name);
    let st;
    try {
      st = await stat(path);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT') continue; // a dangling link, or removed since readdir
      throw ioError(`cannot read '${path}': ${e.message}`);
    }
    if (st.isDirectory()) {
      const id = `${st.dev}:${st.ino}`;
      if (ancestors.has(id)) throw ioError(`'${path}' links back to a folder it is in`);
      ancestors.add(id);
      await walk(path, [...prefix, name], ancestors, out);
      ancestors.delete(id);
    } else if (st.isFile()) {
      if (out.length >= MAX_FILES) throw ioError(`more than ${MAX_FILES} files to publish`);
      out.push({ path, components: [...prefix, name], length: st.size });
    }
    // sockets, fifos and devices are not data: left out, as mktorrent does
  }
}
