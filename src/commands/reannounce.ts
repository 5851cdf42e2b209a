import { rewriteTrackers, type TierMode } from '../torrent/reannounce.js';
import { parseTiers } from '../torrent/build.js';
import { parseMetainfo } from '../codec/metainfo.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { MeshseedError, usageError } from '../errors.js';
import type { Command } from './command.js';
import { readTorrentFile } from './torrent-common.js';

export const reannounceCommand: Command = {
  name: 'reannounce',
  summary: "change a .torrent's trackers, keeping its info hash",
  help: `Usage: meshseed reannounce [--tier [--first]] <url[,url...]> <torrent>...

Rewrites the trackers (announce and announce-list) of each torrent, as btreannounce did,
leaving the info dict byte for byte, so the info hash does not change. Commas in <url>
make one tier of several trackers. Each file is replaced atomically (temporary file, then
rename). Other keys (comment, web seeds, creation date) are kept.

  --tier       add the URLs as a new tier after the existing ones instead of replacing them
               (URLs already in the torrent are not added twice)
  --first      with --tier: put the new tier first, so clients try it first
  -q, --quiet  print only errors (on stderr), not the new trackers of each torrent

Exit status: 0 when every torrent was rewritten, 1 when one could not be (the others are
still done).

Examples:
  meshseed reannounce http://10.0.0.1:6969/announce *.torrent
  meshseed reannounce --tier --first http://10.0.0.1:6969/announce openwrt.torrent`,
  options: { boolean: ['tier', 'first', 'quiet'], alias: { q: 'quiet' } },
  async run(args, io) {
    if (args._.length < 2) throw usageError('reannounce needs a tracker URL and at least one .torrent file');
    const [urlArg, ...files] = args._.map(String);
    const tiers = parseTiers([urlArg!]);
    if (tiers.length === 0) throw usageError('reannounce needs a tracker URL');
    if (args.first && !args.tier) throw usageError('--first goes with --tier');
    const mode: TierMode = args.tier ? (args.first ? 'prepend' : 'append') : 'replace';
    let failed = 0;
    for (const file of files) {
      try {
        const { bytes, metainfo } = readTorrentFile(file);
        const out = rewriteTrackers(bytes, tiers[0]!, mode);
        const check = parseMetainfo(out);
        if (check.infoHashHex !== metainfo.infoHashHex) throw new MeshseedError('EMETAINFO', 'internal: the info hash would change');
        writeFileAtomic(file, out, { overwrite: true });
        if (!args.quiet) io.out(`${file}: ${check.announceTiers.map((t) => t.join(',')).join(' | ')}`);
      } catch (err) {
        if (!(err instanceof MeshseedError)) throw err;
        io.err(`meshseed: ${err.message.startsWith(file) ? err.message : `${file}: ${err.message}`}`);
        failed++;
      }
    }
    return failed === 0 ? 0 : 1;
  },
};
