/**
 * Where a torrent's data lies on disk, as BitTorrent clients lay it out: a single-file
 * torrent is the file `<dir>/<name>`, a multi-file torrent the folder `<dir>/<name>/` with
 * each file at its path below it. Paths from the torrent were checked by parseMetainfo (no
 * `..`, no absolute path, no separator inside a component); the join is checked again here
 * so no torrent can name a file outside its folder.
 */
import { statSync } from 'node:fs';
import { basename, join, resolve, sep } from 'node:path';
import type { Metainfo } from '../codec/metainfo.js';
import { MeshseedError } from '../errors.js';
import type { StreamFile } from './piece-hasher.js';

export interface DataLayout {
  /** The data itself: the file (single-file torrent) or the torrent's folder. */
  root: string;
  files: StreamFile[];
}

/** The files of `m` below `dir`, the folder that holds the torrent's data (`dir/<name>`). */
export function dataFilesIn(m: Metainfo, dir: string): DataLayout {
  const root = resolve(dir, m.name);
  return { root, files: filesAt(m, root) };
}

/** The files of `m` when `root` is the data itself (the file, or the torrent's folder). */
export function filesAt(m: Metainfo, root: string): StreamFile[] {
  const base = resolve(root);
  if (m.singleFile) return [{ path: base, length: m.length }];
  return m.files.map((f) => {
    const path = join(base, ...f.path);
    if (!path.startsWith(base + sep)) throw new MeshseedError('EMETAINFO', `file path '${f.path.join('/')}' leaves the torrent's folder`);
    return { path, length: f.length, padding: f.padding };
  });
}

const kind = (p: string): 'file' | 'dir' | 'none' | 'other' => {
  try {
    const st = statSync(p);
    return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
  } catch {
    return 'none';
  }
};

/**
 * `meshseed verify`'s <path>: the folder holding the data (`<path>/<name>`), as clients and
 * the seeder's data_dir use it, or the data itself when that is unambiguous: a file given
 * for a single-file torrent, or, for a multi-file torrent, a folder with no `<name>` inside
 * that is named `<name>` or holds one of the torrent's files.
 */
export function locateData(m: Metainfo, path: string): DataLayout {
  const inside = resolve(path, m.name);
  const k = kind(path);
  if (k === 'none') throw new MeshseedError('EIO', `${path}: no such file or folder`);
  if (m.singleFile) {
    if (k === 'file') return { root: resolve(path), files: filesAt(m, path) };
    return dataFilesIn(m, path);
  }
  if (k !== 'dir') throw new MeshseedError('EIO', `${path}: not a folder (the torrent '${m.name}' is a folder of ${m.files.length} files)`);
  if (kind(inside) === 'dir') return dataFilesIn(m, path);
  const itself = filesAt(m, path);
  if (basename(resolve(path)) === m.name || itself.some((f) => !f.padding && kind(f.path) === 'file')) return { root: resolve(path), files: itself };
  return dataFilesIn(m, path);
}
