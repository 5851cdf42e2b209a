/**
 * The daemon: wires the tracker, LPD and seeder into one process. Each part is a Service
 * built from `(deps, settings)`; the daemon starts them in order, passes a reload (SIGHUP)
 * on with the new settings, and closes them in reverse order on SIGTERM or SIGINT. A part
 * that cannot start is retried with backoff (part-state.ts) while the others run.
 */
import type { Settings } from './config/settings.js';
import type { Logger } from './util/log.js';
import type { Clock } from './util/clock.js';
import { describeError } from './errors.js';
import { retryDelayMs, startFailureReason, type PartState } from './part-state.js';

export interface Service {
  readonly name: string;
  start(): Promise<void>;
  /** New settings after a reload; the service applies what it can without dropping peers. */
  reload(settings: Settings): Promise<void> | void;
  /** Optional: new settings for a service that is not running (its start failed), used by its next start. */
  configure?(settings: Settings): void;
  close(): Promise<void>;
  /** Counters for `meshseed status` and the stats page. */
  status?(): unknown;
  /** Optional: why a started part does nothing (switched off by its setting, or nothing to work on); undefined while it works. */
  idle?(): { state: 'off' | 'idle'; reason: string } | undefined;
}

export interface DaemonDeps {
  log: Logger;
  clock: Clock;
}

export class Daemon {
  private readonly services: Service[] = [];
  /** How many of `services` were tried (started, or scheduled for a retry). */
  private tried = 0;
  private started: Service[] = [];
  private keepAlive: NodeJS.Timeout | undefined;
  private readonly states = new Map<string, PartState>();
  private readonly retries = new Map<Service, { cancel(): void }>();
  private closing = false;

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

  /**
   * Starts the services added since the last call, in order; one that fails to start is
   * logged and retried with backoff, never fatal for the others. (The daemon command starts
   * the tracker so, then adds the other parts.)
   */
  async startAdded(): Promise<void> {
    // The daemon lives until it is told to stop, even with every part switched off.
    this.keepAlive ??= setInterval(() => {}, 1 << 30);
    while (this.tried < this.services.length) await this.tryStart(this.services[this.tried++]!, 0);
  }

  /** Starts every service not started yet (startAdded), then says which run. */
  async start(): Promise<void> {
    await this.startAdded();
    const idle = this.started.map((s) => ({ name: s.name, idle: s.idle?.() }));
    const working = idle.filter((p) => !p.idle).map((p) => p.name);
    const resting = idle.filter((p) => p.idle).map((p) => `${p.name} (${p.idle!.state}: ${p.idle!.reason})`);
    this.deps.log.info(
      (working.length ? `started (${working.join(', ')})` : 'started with nothing to do: every part is disabled') +
        (resting.length ? `; not working: ${resting.join(', ')}` : ''),
    );
  }

  /** Starts `s`; on failure, records why and schedules try number `attempts + 1`. */
  private async tryStart(s: Service, attempts: number): Promise<void> {
    this.retries.delete(s);
    if (this.closing) return;
    try {
      await s.start();
    } catch (err) {
      const reason = startFailureReason(err);
      const delay = retryDelayMs(attempts + 1);
      const st: PartState = { state: 'retrying', reason, attempts: attempts + 1, retryInS: delay / 1000 };
      // one line per new reason: the same failure every 5 minutes for a week is not news
      const before = this.states.get(s.name);
      const level = before?.state === 'retrying' && before.reason === reason ? 'debug' : 'error';
      this.deps.log[level](`${s.name}: cannot start: ${describeError(err)}; retrying in ${delay / 1000} s`);
      this.states.set(s.name, st);
      this.retries.set(s, this.deps.clock.setTimeout(() => void this.tryStart(s, attempts + 1), delay));
      return;
    }
    if (this.closing) {
      await s.close().catch(() => {});
      return;
    }
    this.started.push(s);
    this.states.set(s.name, { state: 'running' });
    if (attempts > 0) this.deps.log.info(`${s.name}: started after ${attempts} failed attempt(s)`);
  }

  /** Each part's state, by name: running, off or idle (and why), or retrying and why. */
  parts(): Record<string, PartState> {
    const out: Record<string, PartState> = Object.fromEntries(this.states);
    for (const s of this.started) {
      const idle = s.idle?.();
      if (idle) out[s.name] = idle;
    }
    return out;
  }

  async reload(settings: Settings): Promise<void> {
    this.settings = settings;
    this.deps.log.level = settings['main.log_level'] as Logger['level'];
    // A part waiting to retry its start takes the new settings and tries at once (the
    // operator may just have moved it off a taken port); one without configure() waits.
    for (const s of [...this.retries.keys()]) {
      if (!s.configure) continue;
      s.configure(settings);
      this.retries.get(s)?.cancel();
      const st = this.states.get(s.name);
      await this.tryStart(s, st?.state === 'retrying' ? st.attempts : 0);
    }
    // (a part just started above gets the reload too: it may have been switched off)
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
    this.closing = true;
    for (const r of this.retries.values()) r.cancel();
    this.retries.clear();
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
