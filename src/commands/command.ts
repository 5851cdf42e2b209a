/** What every subcommand provides to the CLI dispatcher. */
import mri from 'mri';
import { usageError } from '../errors.js';
import type { BootInfo } from '../boot/code-cache.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stderr is a terminal: progress is drawn as a bar there (progress goes to stderr) */
  isTTY: boolean;
  /** What the bundle's loader found of the V8 code cache (only when run from dist/meshseed.js). */
  boot?: BootInfo;
}

export interface Command {
  name: string;
  /** One line for `meshseed --help`. */
  summary: string;
  /** Full `meshseed <name> --help` text. */
  help: string;
  options: { string?: string[]; boolean?: string[]; alias?: Record<string, string | string[]> };
  /** Flags accepted besides the declared ones (e.g. every settings flag for `daemon`). */
  extraFlags?: string[];
  /** Returns the exit code: 0 success, 1 failed check. Throws MeshseedError('EUSAGE') for bad usage. */
  run(args: mri.Argv, io: Io): Promise<number>;
}

export const COMMON_BOOLEAN = ['help', 'debug'];

/** Parses argv for one command, refusing unknown flags (exit 2). */
export function parseArgs(cmd: Command, argv: string[]): mri.Argv {
  const string = [...(cmd.options.string ?? []), ...(cmd.extraFlags ?? [])];
  const boolean = [...COMMON_BOOLEAN, ...(cmd.options.boolean ?? [])];
  // mri's strict mode knows only the names that appear as alias keys: list every flag there
  const alias: Record<string, string | string[]> = { ...(cmd.options.alias ?? {}) };
  for (const name of [...string, ...boolean]) alias[name] ??= [];
  // getopt-style attached values ("-l18", "-ahttp://…") for one-letter string options, as
  // mktorrent users type them; mri would read them as a cluster of boolean letters
  const stringLetters = new Set(
    Object.entries(cmd.options.alias ?? {})
      .filter(([k, v]) => k.length === 1 && [v].flat().some((n) => string.includes(n)))
      .map(([k]) => k),
  );
  argv = argv.flatMap((a) => (/^-[A-Za-z]./.test(a) && !a.startsWith('--') && stringLetters.has(a[1]!) && a[2] !== '=' ? [a.slice(0, 2), a.slice(2)] : [a]));
  const args = mri(argv, {
    string,
    boolean,
    alias,
    // mri stops and returns what this returns on the first unknown flag: throw instead
    unknown: (flag) => {
      throw usageError(`unknown option ${flag} for '${cmd.name}' (see meshseed ${cmd.name} --help)`);
    },
  });
  return args;
}

/** Returns a string option given at most once. */
export function single(args: mri.Argv, name: string): string | undefined {
  const v = args[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) throw usageError(`option --${name} given more than once`);
  if (v === '' || v === true) throw usageError(`option --${name} needs a value`);
  return String(v);
}

/** A string option that may repeat. */
export function many(args: mri.Argv, name: string): string[] {
  const v = args[name];
  if (v === undefined) return [];
  const list = (Array.isArray(v) ? v : [v]).map(String);
  if (list.includes('') || list.includes('true')) throw usageError(`option --${name} needs a value`);
  return list;
}
