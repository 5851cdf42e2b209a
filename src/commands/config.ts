import { renderSettingsList } from '../config/docs.js';
import { formatProblem } from '../config/resolve.js';
import { loadSettings } from './daemon.js';
import { type Command } from './command.js';
import { MeshseedError, usageError } from '../errors.js';

export const configCommand: Command = {
  name: 'config',
  summary: 'list every option: its current value, default, bounds, unit and what it does',
  help: `Usage: meshseed config [--config FILE]

Prints every option the daemon has, one per line, with the value it would run with:
  meshseed.<section>.<option>  <value> [*]  [default, bounds, unit]  what it does
'*' marks a value that differs from the built-in default. Values come from the UCI file
(--config FILE, or /etc/config/meshseed when it exists) over the built-in defaults; an
option the file does not name has its default. Set one with
  uci set meshseed.<section>.<option>=<value>; uci commit meshseed
Problems in the file (as check-config prints them) follow the list; the exit status is
then 1.

Example:
  meshseed config
  meshseed config | grep tracker`,
  options: { string: ['config'] },
  async run(args, io) {
    if (args._.length > 0) throw usageError(`config takes no arguments (got '${args._[0]}')`);
    const { settings, problems, file } = loadSettings(args);
    const unreadable = problems.find((p) => p.where === file && p.message.startsWith('cannot read'));
    if (unreadable) throw new MeshseedError('ECONFIG', formatProblem(unreadable));
    io.out(`# ${file ?? 'no config file: the built-in defaults'}`);
    io.out(renderSettingsList(settings));
    for (const p of problems) io.err(`${formatProblem(p)} (the default is shown)`);
    return problems.length ? 1 : 0;
  },
};
