import { controlSocketPath, requestAdd } from '../control/control-socket.js';
import { MeshseedError, usageError } from '../errors.js';
import { formatProblem } from '../config/resolve.js';
import { loadSettings } from './daemon.js';
import { addTorrentBytes } from '../catalog/add-target.js';
import { readTorrentFile } from './torrent-common.js';
import { existsSync } from 'node:fs';
import { parseInfoHash } from '../codec/magnet.js';
import type { Command } from './command.js';

export const addCommand: Command = {
  name: 'add',
  summary: 'add a magnet link, an info hash, the URL of a .torrent or a .torrent file',
  help: `Usage: meshseed add [--config FILE] [--state-dir DIR] <magnet | info hash | URL | FILE>

Gives the running daemon something to download and seed, through its socket in state_dir:
  magnet:?xt=urn:btih:…   a magnet link (quote it: it holds '&')
  <40 hex digits>         a bare info hash (or 32 base32 characters)
  http://…/x.torrent      the URL of a .torrent (fetched by the daemon, at most 8 MiB)
  ./x.torrent             a .torrent file here (checked and copied into torrent_dir by this command;
                          the daemon's watch folder picks it up, running or not)
A magnet or info hash becomes <hash>.magnet in torrent_dir; the daemon fetches the torrent's
metadata from peers (BEP 9: the magnet's trackers, the mesh trackers, its own tracker,
x.pe peers) and writes <name>.torrent in its place. A URL or a file is checked like any
torrent and written as <name>.torrent. A torrent already there (same info hash) is not added
again. 'meshseed status' shows magnets still waiting for metadata.
Exit status: 0 when it was added (or was there already), 1 when it was refused (the reason
is printed).

Examples:
  meshseed add 'magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=OpenWrt'
  meshseed add http://10.0.0.1:6969/torrents/c12fe1c06bba254a9dc9f519b335aa7c1367a88a.torrent
  meshseed add ./openwrt-24.10.0.img.torrent`,
  options: { string: ['config', 'state-dir'] },
  async run(args, io) {
    if (args._.length !== 1) throw usageError('add takes one magnet link, info hash, URL or .torrent file (quote a magnet link)');
    const { settings, problems, file } = loadSettings(args);
    const target = String(args._[0]);
    // a file here: this command copies it (the daemon may not see this folder, or run as another user)
    const isLocal = !/^(magnet:|https?:\/\/)/i.test(target) && !parseInfoHash(target.trim()) && (existsSync(target) || /\.torrent$/i.test(target));
    const unreadable = problems.find((p) => p.where === file && p.message.startsWith('cannot read'));
    if (isLocal) {
      if (unreadable) throw new MeshseedError('ECONFIG', `${formatProblem(unreadable)}: give the right --config (its seeder.torrent_dir is where the file goes)`);
      const { bytes, metainfo } = readTorrentFile(target);
      io.out(addTorrentBytes(bytes, metainfo, settings['seeder.torrent_dir']));
      return 0;
    }
    if (unreadable && args['state-dir'] === undefined) throw new MeshseedError('ECONFIG', `${formatProblem(unreadable)}: give the right --config or --state-dir`);
    const message = await requestAdd(controlSocketPath(settings['main.state_dir']), target);
    io.out(message);
    return 0;
  },
};
