import { existsSync } from 'node:fs';
import { Daemon } from '../daemon.js';
import {
  DEFAULT_CONFIG_FILE,
  applyFlags,
  formatProblem,
  loadUciFile,
  type ConfigProblem,
} from '../config/resolve.js';
import { SETTING_KEYS, defaultSettings, flagOf, specOf, type Settings } from '../config/settings.js';
import { valueHint } from '../config/docs.js';
import { createLogger, type Logger, type LogLevel } from '../util/log.js';
import { systemClock } from '../util/clock.js';
import { TrackerService } from '../tracker/tracker-service.js';
import { single, type Command } from './command.js';
import { MeshseedError, describeError, usageError } from '../errors.js';
import { ControlServer, controlSocketPath } from '../control/control-socket.js';
import { emptyConfigState, refusedReload, restartNeeded } from '../control/config-state.js';
import type mri from 'mri';
import type { OtherParts } from './daemon-parts.js';
import { reportCodeCache, writeCodeCache } from '../boot/code-cache-writer.js';
import { DaemonSignals } from './daemon-signals.js';

/** One line per setting: flag, doc, then its default, bounds and unit from the settings table. */
export function settingsFlagsHelp(): string {
  return SETTING_KEYS.map((k) => `  --${flagOf(k)}`.padEnd(34) + `${specOf(k).doc} [${valueHint(k)}]`).join('\n');
}

/** Settings from the config file and flags; problems in the file are returned (bad options keep their defaults), bad flags throw. */
export function loadSettings(args: mri.Argv): { settings: Settings; problems: ConfigProblem[]; file?: string } {
  const given = single(args, 'config');
  const file = given ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  const base = file ? loadUciFile(file) : { settings: defaultSettings(), problems: [] };
  const flagProblems = applyFlags(args, base.settings);
  if (flagProblems.length) throw usageError(flagProblems.map(formatProblem).join('; '));
  return { settings: base.settings, problems: base.problems, ...(file ? { file } : {}) };
}

export const daemonCommand: Command = {
  name: 'daemon',
  summary: 'run the tracker, LPD and seeder (what the init script starts)',
  // built when asked for (a getter): the settings list is work the daemon's start does not need
  get help() {
    return `Usage: meshseed daemon [--config FILE] [--<setting> VALUE ...]

Runs meshseed in the foreground: tracker, Local Peer Discovery and seeder, as enabled.
Settings come from the built-in defaults, then the UCI file (--config FILE, or
${DEFAULT_CONFIG_FILE} when it exists), then these flags. SIGHUP re-reads the file
without dropping peers; SIGTERM or SIGINT stops.

Settings flags (a list option takes the flag again, or commas: --seeder-mesh-tracker A,B):
${settingsFlagsHelp()}

Example:
  meshseed daemon --state-dir /tmp/ms --tracker-port 7000 --seeder-upload-rate 100`;
  },
  options: { string: ['config'] },
  extraFlags: SETTING_KEYS.map(flagOf),
  async run(args, io) {
    if (args._.length > 0) throw usageError(`daemon takes no arguments (got '${args._[0]}')`);
    // before anything else: a signal that comes while the parts start must not kill the process
    const signals = new DaemonSignals({ process });
    signals.start();
    // A file named on the command line must be there: running on defaults instead would open
    // ports and folders the operator never asked for.
    const given = single(args, 'config');
    if (given !== undefined && !existsSync(given)) throw new MeshseedError('ECONFIG', `--config ${given}: no such file`);
    const { settings, problems, file } = loadSettings(args);
    const log: Logger = createLogger(settings['main.log_level'] as LogLevel);
    if (problems.length) {
      // The lines check-config prints; running on defaults instead would open ports the
      // operator never asked for (procd's respawn gives up after a few exits like this one).
      for (const p of problems) log.error(`config: ${formatProblem(p)}`);
      throw new MeshseedError('ECONFIG', `not starting: ${problems.length} problem(s) in ${file}; fix them and check with: meshseed check-config --config ${file}`);
    }
    reportCodeCache(io.boot, log);
    const daemon = new Daemon({ log, clock: systemClock }, settings);
    // The tracker is also the TrackerRegistry the LPD bridge registers peers with.
    const tracker = settings['tracker.enabled'] ? new TrackerService({ log, clock: systemClock }, settings) : undefined;
    if (tracker) {
      daemon.add(tracker);
      tracker.partsStatus = () => daemon.parts();
    }
    // a refused reload and the settings waiting for a restart, for `meshseed status`
    const configState = emptyConfigState();
    // `meshseed add` goes to the magnet service, made with the other parts below
    let others: OtherParts | undefined;
    // the control socket (`meshseed status`) opens before the parts start and closes after they stop
    const control = new ControlServer(
      {
        log: log.child('control'),
        status: () => daemon.status(),
        parts: () => daemon.parts(),
        config: () => configState,
        ...(settings['seeder.enabled']
          ? { add: (target: string) => (others?.add ? others.add(target) : Promise.reject(new MeshseedError('EDAEMON', 'the daemon is starting: try again in a moment'))) }
          : {}),
      },
      { path: controlSocketPath(settings['main.state_dir']) },
    );
    try {
      await control.start();
    } catch (err) {
      // Two daemons on one state folder would share its resume data: refuse the second.
      if (err instanceof MeshseedError && err.code === 'EDAEMON') throw new MeshseedError('EDAEMON', `${err.message}: not starting a second daemon on ${settings['main.state_dir']}`);
      log.error(`control: cannot start: ${describeError(err)}; meshseed status will not work`);
    }
    // Ports first: the tracker starts (and answers announces) before the other parts' modules
    // are even loaded, then they are built and started in order.
    await daemon.startAdded();
    try {
      const { addOtherParts } = await import('./daemon-parts.js');
      others = addOtherParts(daemon, tracker, settings, log);
      await daemon.start();
    } catch (err) {
      // (stage 2 failing to load, say) not left half-started: the open ports closed, then the
      // error itself (the CLI prints it); a failing close neither leaves the rest open nor hides it
      await daemon.close().catch((e) => log.error(`stopping: ${describeError(e)}`));
      await control.close();
      signals.close();
      throw err;
    }

    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info(`${signal}: stopping`);
        daemon
          .close()
          .then(() => control.close())
          .then(resolve, resolve);
      };
      const reload = () => {
        if (!file) {
          // the parts still rescan what they watch (the tracker's allowed_dir)
          log.info('SIGHUP: no config file to re-read; reloading the parts with the same settings');
          void daemon.reload(daemon.current);
          return;
        }
        const next = loadUciFile(file);
        if (next.problems.length) {
          for (const p of next.problems) log.error(`config: ${formatProblem(p)}`);
          log.error(`reload refused: ${next.problems.length} problem(s) in ${file}; settings unchanged`);
          configState.reloadRefused = refusedReload(Date.now(), file, next.problems.map(formatProblem));
          return;
        }
        // flags still win over the file
        applyFlags(args, next.settings);
        configState.reloadRefused = null;
        configState.restartNeeded = restartNeeded(settings, next.settings);
        void daemon.reload(next.settings).then(() => control.reload(next.settings));
      };
      // Every part started (and a SIGTERM now stops them in order): the functions their
      // start compiled go into the code cache for the next start.
      writeCodeCache(io.boot, log);
      signals.running({ stop, reload });
    });
    signals.close();
    return 0;
  },
};
