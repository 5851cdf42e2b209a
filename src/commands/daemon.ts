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
import { LpdService } from '../lpd/lpd-service.js';
import { MeshDiscovery } from '../lpd/mesh-discovery.js';
import { MeshseedError, describeError, usageError } from '../errors.js';
import { ControlServer, controlSocketPath } from '../control/control-socket.js';
import { Seeder } from '../seeder/seeder.js';
import { announcerService } from '../seeder/announce-service.js';
import { DhtService } from '../dht/dht-service.js';
import { CatalogService } from '../catalog/catalog-service.js';
import { MagnetService } from '../catalog/magnet-service.js';
import { addTarget } from '../catalog/add-target.js';
import { emptyConfigState, refusedReload, restartNeeded } from '../control/config-state.js';
import type mri from 'mri';

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
  help: `Usage: meshseed daemon [--config FILE] [--<setting> VALUE ...]

Runs meshseed in the foreground: tracker, Local Peer Discovery and seeder, as enabled.
Settings come from the built-in defaults, then the UCI file (--config FILE, or
${DEFAULT_CONFIG_FILE} when it exists), then these flags. SIGHUP re-reads the file
without dropping peers; SIGTERM or SIGINT stops.

Settings flags (a list option takes the flag again, or commas: --seeder-mesh-tracker A,B):
${settingsFlagsHelp()}

Example:
  meshseed daemon --state-dir /tmp/ms --tracker-port 7000 --seeder-upload-rate 100`,
  options: { string: ['config'] },
  extraFlags: SETTING_KEYS.map(flagOf),
  async run(args) {
    if (args._.length > 0) throw usageError(`daemon takes no arguments (got '${args._[0]}')`);
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
    const daemon = new Daemon({ log, clock: systemClock }, settings);
    // The tracker is also the TrackerRegistry the LPD bridge registers peers with.
    const tracker = settings['tracker.enabled'] ? new TrackerService({ log, clock: systemClock }, settings) : undefined;
    if (tracker) daemon.add(tracker);
    // The seeder after the tracker (it announces to it), and its announcer after it.
    const seeder = settings['seeder.enabled'] ? new Seeder({ clock: systemClock, log: log.child('seeder') }, settings) : undefined;
    if (seeder) {
      daemon.add(seeder);
      daemon.add(announcerService(seeder, settings, { log, clock: systemClock, peerId: seeder.peerId }));
      // the tracker counts its own node's seed as a seeder from its first announce
      if (tracker) tracker.core.localSeederPeerId = seeder.peerId;
    }
    // The DHT after the seeder (it listens on the seeder's port by default and announces its
    // torrents). Always added: it idles while dht.enabled is 0, so a reload can switch it on.
    const dht = new DhtService({ log, clock: systemClock, ...(seeder ? { seeder } : {}) }, settings);
    daemon.add(dht);
    if (seeder) seeder.dht = dht;
    // Catalog subscriptions fill the seeder's torrent_dir; added with the seeder (idle with no
    // catalog) so a reload can subscribe.
    if (seeder)
      daemon.add(
        new CatalogService(
          {
            log,
            clock: systemClock,
            usedBytes: () => seeder.torrents().reduce((n, t) => n + (t.meta?.length ?? 0), 0),
            knownHashes: () => new Set(seeder.torrents().map((t) => t.infoHashHex)),
          },
          settings,
        ),
      );
    // .magnet files in torrent_dir (meshseed add) are completed into .torrent files (BEP 9)
    const magnets = seeder
      ? new MagnetService(
          {
            log,
            clock: systemClock,
            peerId: seeder.peerId,
            listenPort: () => seeder.listenPort(),
            knownHashes: () => new Set(seeder.torrents().map((t) => t.infoHashHex)),
            // LPD-heard peers and the mesh trackers (discovery is made below, before any start)
            meshPeers: (infoHashHex) => discovery.lookup.peersFor(infoHashHex),
            ownTracker: () => {
              if (!tracker || !tracker.port) return undefined;
              const host = daemon.current['tracker.address'][0] ?? '127.0.0.1';
              return `http://${host.includes(':') ? `[${host}]` : host}:${tracker.port}/announce`;
            },
          },
          settings,
        )
      : undefined;
    if (magnets) daemon.add(magnets);
    // LPD last, after the tracker and seeder it bridges to: pass them as `registry` (the
    // tracker's TrackerRegistry) and `seeder` (the SeederView). Always added: it idles while
    // lpd.enabled is 0, so a reload can switch it on.
    // Mesh discovery (lookup, LPD introductions, the seeder dialling new leechers) hears what LPD hears.
    const discovery = new MeshDiscovery({ log, clock: systemClock, dht, ...(tracker ? { tracker } : {}), ...(seeder ? { seeder } : {}) }, settings);
    daemon.add(discovery);
    const lpd = new LpdService(
      {
        log,
        clock: systemClock,
        ...(tracker ? { registry: tracker } : {}),
        dht,
        ...(seeder ? { seeder } : {}),
        onHeard: (h, address, port, ifname) => discovery.heard(h, address, port, ifname),
      },
      settings,
    );
    daemon.add(lpd);
    if (tracker) {
      tracker.lpdStatus = () => lpd.status();
      tracker.introductionStatus = () => discovery.status();
      tracker.dhtStatus = () => dht.status();
      tracker.partsStatus = () => daemon.parts();
      if (magnets) tracker.magnetStatus = () => magnets.status();
      // the front page lists the seeder's torrents with their state
      if (seeder) tracker.seeder = seeder;
    }
    // a refused reload and the settings waiting for a restart, for `meshseed status`
    const configState = emptyConfigState();
    // the control socket (`meshseed status`) opens before the parts start and closes after they stop
    const control = new ControlServer(
      {
        log: log.child('control'),
        status: () => daemon.status(),
        parts: () => daemon.parts(),
        config: () => configState,
        ...(magnets
          ? {
              add: (target: string) =>
                addTarget(target, { torrentDir: daemon.current['seeder.torrent_dir'], kickMagnets: () => void magnets.kick(), knownFile: (h) => seeder?.torrent(h)?.file }),
            }
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
    await daemon.start();

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
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGHUP', () => {
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
      });
    });
    return 0;
  },
};
