import { controlSocketPath, requestStatus } from '../control/control-socket.js';
import { renderStatus, statusView } from '../control/status-view.js';
import { MeshseedError, describeError, usageError } from '../errors.js';
import { formatProblem } from '../config/resolve.js';
import { loadSettings } from './daemon.js';
import type { Command } from './command.js';

/** --watch without a number refreshes this often (seconds). */
const DEFAULT_WATCH_S = 2;

export const statusCommand: Command = {
  name: 'status',
  summary: "show the running daemon's torrents, peers, upload and trackers",
  help: `Usage: meshseed status [--config FILE] [--state-dir DIR] [--json] [--watch [SECONDS]]

Asks the running daemon, through the socket meshseed.sock in its state_dir, and prints
one line per torrent: state, peers, upload rate, total uploaded and how it is announced
(internet trackers answering, or IN-MESH when every internet tracker failed and only the
mesh trackers carry it), then the totals.
The state_dir comes from the config file (--config FILE, or /etc/config/meshseed when it
exists) or --state-dir. --json prints the view as JSON (fields in the README); --watch
refreshes every SECONDS (default ${DEFAULT_WATCH_S}) until Ctrl-C, one JSON line per refresh
with --json.
Exit status: 0, or 1 when no daemon answers (with --json, an object {"error", "code"}
on stdout).

Example:
  meshseed status
  meshseed status --watch 5
  meshseed status --json --state-dir /tmp/ms`,
  options: { string: ['config', 'state-dir', 'watch'], boolean: ['json'] },
  async run(args, io) {
    if (args._.length > 0) throw usageError(`status takes no arguments (got '${args._[0]}')`);
    const raw = args.watch;
    if (Array.isArray(raw)) throw usageError('option --watch given more than once');
    let watchS: number | undefined;
    if (raw !== undefined) {
      watchS = raw === '' || raw === true ? DEFAULT_WATCH_S : Number(raw);
      if (!Number.isFinite(watchS) || watchS < 0.5 || watchS > 3600) throw usageError(`--watch ${raw}: give seconds between 0.5 and 3600`);
    }
    const { settings, problems, file } = loadSettings(args);
    // a config file that cannot be read says nothing about where the daemon is
    const unreadable = problems.find((p) => p.where === file && p.message.startsWith('cannot read'));
    if (unreadable && args['state-dir'] === undefined) throw new MeshseedError('ECONFIG', `${formatProblem(unreadable)}: give the right --config or --state-dir`);
    const path = controlSocketPath(settings['main.state_dir']);
    const json = Boolean(args.json);
    const show = async () => {
      const view = statusView(await requestStatus(path));
      return json ? JSON.stringify(view, null, watchS === undefined ? 2 : undefined) : renderStatus(view);
    };
    // --json always prints JSON: an object with the error when no daemon answers
    const failed = (err: unknown) => JSON.stringify({ error: describeError(err), ...(err instanceof MeshseedError ? { code: err.code } : {}) });
    if (watchS === undefined) {
      if (!json) {
        io.out(await show());
        return 0;
      }
      try {
        io.out(await show());
        return 0;
      } catch (err) {
        io.out(failed(err));
        return 1;
      }
    }
    let stop: () => void = () => {};
    const stopped = new Promise<void>((r) => (stop = r));
    let running = true;
    const onSignal = () => {
      running = false;
      stop();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      while (running) {
        let text: string;
        try {
          text = await show();
        } catch (err) {
          // keep watching across a daemon restart
          text = json ? failed(err) : `meshseed: ${describeError(err)}`;
        }
        if (!json && io.isTTY) io.out(`\x1b[H\x1b[2J${text}`);
        else io.out(json ? text : `${text}\n`);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([stopped, new Promise<void>((r) => (timer = setTimeout(r, watchS! * 1000)))]);
        clearTimeout(timer);
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return 0;
  },
};
