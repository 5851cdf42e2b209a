import { locateData } from '../storage/data-files.js';
import { hashFiles, type FileProblem } from '../storage/piece-hasher.js';
import { Progress } from '../util/progress.js';
import { printable } from '../torrent/describe.js';
import { usageError } from '../errors.js';
import type { Command } from './command.js';
import { progressSink, readTorrentFile } from './torrent-common.js';

/** Piece states while verifying. */
const GOOD = 1;
const BAD = 2; // read, hash differs
const UNAVAILABLE = 3; // some of its data could not be read

export const verifyCommand: Command = {
  name: 'verify',
  summary: "hash data against a .torrent and report missing, short and damaged files",
  help: `Usage: meshseed verify [-q] <torrent> <path>

Hashes the data against the torrent's piece hashes and reports each missing, short, long,
unreadable and damaged file by name, and the percentage complete.

<path> is the folder that holds the data, as clients lay it out: the torrent's file
<path>/<name>, or for a multi-file torrent its folder <path>/<name>/. The data itself is
accepted too when that is unambiguous: the file of a single-file torrent, or the torrent's
folder (one named <name>, or holding its files, with no <name> inside).

Exit status: 0 when every piece matches and every file has its size, 1 otherwise.
Progress goes to stderr (a bar on a terminal, a line per 10% otherwise; none with -q).

Examples:
  meshseed verify openwrt-24.10.torrent /mnt/meshseed/data
  meshseed verify -q image.torrent ./openwrt-x86-64.img.gz && echo intact`,
  options: { boolean: ['quiet'], alias: { q: 'quiet' } },
  async run(args, io) {
    if (args._.length !== 2) throw usageError('verify needs a .torrent file and the path of its data');
    const torrentFile = String(args._[0]);
    const { metainfo: m } = readTorrentFile(torrentFile);
    const layout = locateData(m, String(args._[1]));
    const state = new Uint8Array(m.pieceCount);
    const progress = new Progress(progressSink(io, Boolean(args.quiet)), 'verifying');
    let problems: FileProblem[];
    try {
      problems = await hashFiles(layout.files, {
        pieceLength: m.pieceLength,
        onPiece: (i, digest) => {
          state[i] = digest === undefined ? UNAVAILABLE : Buffer.from(m.pieces.buffer, m.pieces.byteOffset + i * 20, 20).equals(digest) ? GOOD : BAD;
        },
        onProgress: (done, total) => progress.update(done, total),
      });
    } finally {
      progress.finish();
    }

    // files by their name in the torrent (as clients show them), not by where they were looked for
    const shown = (i: number) => printable(m.singleFile ? m.name : `${m.name}/${m.files[i]!.path.join('/')}`);
    const lines: string[] = [];
    const problemOf = new Map(problems.map((p) => [p.file, p]));
    m.files.forEach((f, i) => {
      if (f.padding) return;
      const p = problemOf.get(i);
      if (p) {
        const what =
          p.kind === 'missing' ? 'missing' :
          p.kind === 'short' ? `short: ${p.size} of ${f.length} bytes` :
          p.kind === 'long' ? `too long: ${p.size} bytes, the torrent says ${f.length}` :
          p.kind === 'not-a-file' ? 'not a regular file' :
          `unreadable: ${p.message}`;
        lines.push(`${shown(i)}: ${what}`);
        // a file too long still has its pieces checked; any other problem says it all
        if (p.kind !== 'long') return;
      }
      if (f.length === 0) return;
      const first = Math.floor(f.offset / m.pieceLength);
      const last = Math.floor((f.offset + f.length - 1) / m.pieceLength);
      let bad = 0;
      let unavailable = 0;
      for (let k = first; k <= last; k++) {
        if (state[k] === BAD) bad++;
        else if (state[k] !== GOOD) unavailable++;
      }
      const span = last - first + 1;
      if (bad > 0) lines.push(`${shown(i)}: damaged: ${bad} of ${span} piece${span === 1 ? '' : 's'} do not match`);
      else if (unavailable > 0 && !p) lines.push(`${shown(i)}: not fully checked: ${unavailable} of ${span} piece${span === 1 ? '' : 's'} shared with a missing or short file`);
    });
    let good = 0;
    let goodBytes = 0;
    for (let k = 0; k < m.pieceCount; k++) {
      if (state[k] !== GOOD) continue;
      good++;
      goodBytes += k === m.pieceCount - 1 ? m.length - k * m.pieceLength : m.pieceLength;
    }
    const percent = (Math.floor((goodBytes / m.length) * 1000) / 10).toFixed(1);
    for (const l of lines) io.out(l);
    const allGood = good === m.pieceCount && problems.length === 0;
    io.out(`${printable(m.name)}: ${allGood ? 'ok, ' : ''}${good} of ${m.pieceCount} pieces match, ${percent}% complete`);
    return allGood ? 0 : 1;
  },
};
