/**
 * meshseed command line: `meshseed <command> [options]`.
 * Exit status: 0 success, 1 a failed check or error, 2 bad usage.
 * Errors are one line on stderr; --debug adds the stack.
 */
import { MeshseedError } from './errors.js';
import { VERSION } from './version.js';
import { parseArgs, type Command, type Io } from './commands/command.js';
import type { BootInfo } from './boot/code-cache.js';

/**
 * Each command's module is loaded only when that command runs (or for the full help): `create`
 * then never loads the daemon's tracker, seeder and sockets, and the daemon starts sooner. One
 * bundle still: esbuild turns each `import()` into a lazy initializer inside the file.
 */
export const COMMANDS: Record<string, () => Promise<Command>> = {
  daemon: async () => (await import('./commands/daemon.js')).daemonCommand,
  status: async () => (await import('./commands/status.js')).statusCommand,
  'check-config': async () => (await import('./commands/check-config.js')).checkConfig,
  config: async () => (await import('./commands/config.js')).configCommand,
  create: async () => (await import('./commands/create.js')).createCommand,
  show: async () => (await import('./commands/show.js')).showCommand,
  verify: async () => (await import('./commands/verify.js')).verifyCommand,
  reannounce: async () => (await import('./commands/reannounce.js')).reannounceCommand,
  add: async () => (await import('./commands/add.js')).addCommand,
};

async function mainHelp(): Promise<string> {
  const commands = await Promise.all(Object.values(COMMANDS).map((load) => load()));
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return `meshseed ${VERSION}: BitTorrent tracker, Local Peer Discovery and seeder for mesh routers

Usage: meshseed <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}

Options for every command: --help, --debug (stack traces on errors).
meshseed --version prints the version. See 'meshseed <command> --help'.`;
}

export async function main(argv: string[], io: Io): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      io.out(await mainHelp());
      return name === undefined ? 2 : 0;
    }
    if (name === '--version' || name === '-V' || name === 'version') {
      io.out(VERSION);
      return 0;
    }
    const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    const cmd = await load?.();
    if (!cmd) throw new MeshseedError('EUSAGE', `unknown command '${name}' (see meshseed --help)`);
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(cmd.help);
      return 0;
    }
    return await cmd.run(parseArgs(cmd, rest), io);
  } catch (err) {
    if (err instanceof MeshseedError) {
      io.err(`meshseed: ${err.message}`);
      if (debug && err.stack) io.err(err.stack);
      return err.code === 'EUSAGE' ? 2 : 1;
    }
    const e = err as NodeJS.ErrnoException;
    io.err(`meshseed: ${e?.message ?? String(err)}${debug ? '' : ' (run with --debug for details)'}`);
    if (debug && e?.stack) io.err(e.stack);
    return 1;
  }
}

// Run when this file is the program (the bundle), not when a test imports it.
declare const MESHSEED_BUNDLE: boolean | undefined;
/** Passed by the loader of dist/meshseed.js (src/boot/loader.ts). */
declare const meshseedBoot: BootInfo | undefined;
if (typeof MESHSEED_BUNDLE !== 'undefined' && MESHSEED_BUNDLE) {
  // A reader that goes away (`meshseed status --watch | head`) ends the program quietly.
  // Set up at the first line out: making process.stdout costs milliseconds the daemon (which
  // logs to stderr) would pay before its ports open.
  let stdoutReady = false;
  const stdout = (): NodeJS.WriteStream => {
    if (!stdoutReady) {
      stdoutReady = true;
      process.stdout.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
        throw err;
      });
    }
    return process.stdout;
  };
  const io: Io = {
    out: (t) => stdout().write(t + '\n'),
    err: (t) => process.stderr.write(t + '\n'),
    // asked only by the commands that draw progress (process.stderr costs the daemon's start milliseconds)
    get isTTY() {
      return Boolean(process.stderr.isTTY);
    },
    ...(typeof meshseedBoot !== 'undefined' && meshseedBoot ? { boot: meshseedBoot } : {}),
  };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`meshseed: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
