import { existsSync } from 'node:fs';
import { DEFAULT_CONFIG_FILE, formatProblem, loadUciFile } from '../config/resolve.js';
import { single, type Command } from './command.js';
import { usageError } from '../errors.js';

export const checkConfig: Command = {
  name: 'check-config',
  summary: 'check a UCI config file and print every bad option',
  help: `Usage: meshseed check-config [--config FILE]

Reads the UCI file (default ${DEFAULT_CONFIG_FILE}) as the daemon would and prints each
problem as  meshseed.<section>.<option>: <problem> (line N).
Exit status: 0 when the file is good, 1 when it has problems, 2 on bad usage.

Example:
  meshseed check-config --config /etc/config/meshseed`,
  options: { string: ['config'] },
  async run(args, io) {
    if (args._.length > 0) throw usageError(`check-config takes no arguments (got '${args._[0]}')`);
    const file = single(args, 'config') ?? DEFAULT_CONFIG_FILE;
    if (!single(args, 'config') && !existsSync(file)) throw usageError(`no ${file} here: give one with --config FILE`);
    const { problems } = loadUciFile(file);
    for (const p of problems) io.out(formatProblem(p));
    if (problems.length === 0) io.out(`${file}: ok`);
    return problems.length === 0 ? 0 : 1;
  },
};
