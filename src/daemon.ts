/**
 * The daemon: wires the tracker, LPD and seeder into one process. Each part is a Service
 * built from `(deps, settings)`; the daemon starts them in order, passes a reload (SIGHUP)
 * on with the new settings, and closes them in reverse order on SIGTERM or SIGINT.
 */
import type { Settings } from './config/settings.js';
import type { Logger } from './util/log.js';
import type { Clock } from './util/clock.js';
import { describeError } from './errors.js';

export interface Service {
  readonly name: string;
  start(): Promise<void>;
  /** New settings after a reload; the service applies what it can without dropping peers. */
  reload(settings: Settings): Promise<void> | void;
  close(): Promise<void>;
  /** Counters for `meshseed status` and the stats page. */
  status?(): unknown;
}

export interface DaemonDeps {
  log: Logger;
  clock: Clock;
}

export class Daemon {
  private readonly services: Service[] = [];
  private started: Service[] = [];
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: DaemonDeps,
    private settings: Settings,
  ) {}

  get current(): Settings {
    return this.settings;
  }

  add(service: Service): void {
    this.services.push(service);
  }

  /** Starts every service; one that fails to start is logged and left out, never fatal for the others. */
  async start(): Promise<void> {
    // The daemon lives until it is told to stop, even with every part switched off.
    this.keepAlive = setInterval(() => {}, 1 << 30);
    for (const s of this.services) {
      try {
        await s.start();
        this.started.push(s);
      } catch (err) {
        this.deps.log.error(`${s.name}: cannot start: ${describeError(err)}`);
      }
    }
    this.deps.log.info(
      `started${this.started.length ? ` (${this.started.map((s) => s.name).join(', ')})` : ' with nothing to do: every part is disabled'}`,
    );
  }

  async reload(settings: Settings): Promise<void> {
    this.settings = settings;
    this.deps.log.level = settings['main.log_level'] as Logger['level'];
    for (const s of this.started) {
      try {
        await s.reload(settings);
      } catch (err) {
        this.deps.log.error(`${s.name}: reload failed: ${describeError(err)}`);
      }
    }
    this.deps.log.info('reloaded');
  }

  async close(): Promise<void> {
    for (const s of [...this.started].reverse()) {
      try {
        await s.close();
      } catch (err) {
        this.deps.log.error(`${s.name}: close failed: ${describeError(err)}`);
      }
    }
    this.started = [];
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.deps.log.info('stopped');
  }

  status(): Record<string, unknown> {
    return Object.fromEntries(this.started.filter((s) => s.status).map((s) => [s.name, s.status!()]));
  }
}
