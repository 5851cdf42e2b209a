import { formatMetainfo, metainfoJson } from '../torrent/describe.js';
import { usageError } from '../errors.js';
import type { Command } from './command.js';
import { readTorrentFile } from './torrent-common.js';

export const showCommand: Command = {
  name: 'show',
  summary: 'print what a .torrent holds (--json for scripts)',
  help: `Usage: meshseed show [--json] <torrent>

Prints the name, info hash, size, piece length and count, private flag, creation date,
comment, source, tracker tiers, web seeds and files of a .torrent. A file that is not a
valid torrent gives one line on stderr and exit status 1.

  --json   one JSON object on stdout; its fields are listed in the README and stable

Examples:
  meshseed show openwrt-24.10.torrent
  meshseed show --json openwrt-24.10.torrent | jq -r .infoHash`,
  options: { boolean: ['json'] },
  async run(args, io) {
    if (args._.length !== 1) throw usageError(args._.length === 0 ? 'show needs a .torrent file' : `show takes one .torrent file (got ${args._.length})`);
    const { metainfo } = readTorrentFile(String(args._[0]));
    io.out(args.json ? JSON.stringify(metainfoJson(metainfo), null, 2) : formatMetainfo(metainfo));
    return 0;
  },
};
