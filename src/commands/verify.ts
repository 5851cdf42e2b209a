import { locateData } from '../storage/data-files.js';
import { checkData, fileStatuses, type DataCheck, type FileStatus } from '../storage/check-data.js';
import { Progress } from '../util/progress.js';
import { printable } from '../torrent/describe.js';
import { usageError } from '../errors.js';
import type { Command } from './command.js';
import { progressSink, readTorrentFile } from './torrent-common.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function describe(s: FileStatus, expectedLength: number): string {
  switch (s.kind) {
    case 'missing':
      return 'missing';
    case 'not-a-file':
      return 'not a regular file';
    case 'short':
      return `short: ${s.size} of ${expectedLength} bytes`;
    case 'long':
      return `too long: ${s.size} bytes, the torrent says ${expectedLength}`;
    case 'unreadable':
      return `unreadable: ${s.message}`;
    case 'damaged':
      return `damaged: ${s.badPieces} of ${plural(s.pieces, 'piece')} do not match`;
    case 'unverified':
      return `not fully checked: ${s.unavailablePieces} of ${plural(s.pieces, 'piece')} shared with a missing or short file`;
  }
}

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'hash data against a .torrent and report missing, short and damaged files',
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
    const { metainfo: m } = readTorrentFile(String(args._[0]));
    const layout = locateData(m, String(args._[1]));
    const progress = new Progress(progressSink(io, Boolean(args.quiet)), 'verifying');
    let check: DataCheck;
    try {
      check = await checkData(m, layout.files, (done, total) => progress.update(done, total));
    } finally {
      progress.finish();
    }
    // files by their name in the torrent (as clients show them), not by where they were looked for
    const shown = (i: number) => printable(m.singleFile ? m.name : `${m.name}/${m.files[i]!.path.join('/')}`);
    for (const { file, status } of fileStatuses(m, check)) io.out(`${shown(file)}: ${describe(status, m.files[file]!.length)}`);
    const percent = (Math.floor((check.goodBytes / m.length) * 1000) / 10).toFixed(1);
    io.out(`${printable(m.name)}: ${check.complete ? 'ok, ' : ''}${check.goodPieces} of ${m.pieceCount} pieces match, ${percent}% complete`);
    return check.complete ? 0 : 1;
  },
};
