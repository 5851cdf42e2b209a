import { existsSync } from 'node:fs';
import { DEFAULT_CONFIG_FILE, folderWarnings, formatProblem, loadUciFile } from '../config/resolve.js';
import { single, type Command } from './command.js';
import { usageError } from '../errors.js';

export const checkConfig: Command = {
  name: 'check-config',
  summary: 'check a UCI config file and print every bad option',
  help: `Usage: meshseed check-config [--config FILE] [--init]

Reads the UCI file (default ${DEFAULT_CONFIG_FILE}) as the daemon would and prints each
problem as  meshseed.<section>.<option>: <problem> (line N).
Folders the init script refuses (relative ones: state_dir, and torrent_dir and data_dir
when the seeder is on) are warnings ("warning: ..."); with --init, what the init script
runs before every start, restart and reload, they are problems.
Exit status: 0 when the file is good, 1 when it has problems, 2 on bad usage.

Example:
  meshseed check-config --config /etc/config/meshseed`,
  options: { string: ['config'], boolean: ['init'] },
  async run(args, io) {
    if (args._.length > 0) throw usageError(`check-config takes no arguments (got '${args._[0]}')`);
    const file = single(args, 'config') ?? DEFAULT_CONFIG_FILE;
    if (!single(args, 'config') && !existsSync(file)) throw usageError(`no ${file} here: give one with --config FILE`);
    const resolved = loadUciFile(file);
    const folders = folderWarnings(resolved);
    const problems = args.init ? [...resolved.problems, ...folders].sort((a, b) => (a.line ?? 0) - (b.line ?? 0)) : resolved.problems;
    for (const p of problems) io.out(formatProblem(p));
    if (!args.init) for (const w of folders) io.out(`warning: ${formatProblem(w)}`);
    if (problems.length === 0) io.out(`${file}: ok`);
    return problems.length === 0 ? 0 : 1;
  },
};
