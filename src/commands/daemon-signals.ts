/**
 * The daemon's signals, caught from its first moment. Until a Node process has a handler for
 * SIGTERM, SIGINT or SIGHUP, the kernel's default action ends it at once: no part closed, no
 * resume data written, and a SIGHUP (procd's reload when an interface changes) kills it. procd,
 * or a script that has just read the start line, may send one at any moment, also while the
 * parts are still starting: a signal that comes then is held, and acted on once the daemon runs
 * (a stop wins over a reload; a reload then re-reads the file, which may have changed since it
 * was read at the start).
 */

export type StopSignal = 'SIGTERM' | 'SIGINT';

/** What the running daemon does on a signal. */
export interface SignalActions {
  stop(signal: StopSignal): void;
  reload(): void;
}

/** The process as far as signals go (a fake in the tests). */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

export class DaemonSignals {
  private actions: SignalActions | undefined;
  private heldStop: StopSignal | undefined;
  private heldReload = false;
  private readonly listeners: [NodeJS.Signals, () => void][] = [
    ['SIGTERM', () => this.onStop('SIGTERM')],
    ['SIGINT', () => this.onStop('SIGINT')],
    ['SIGHUP', () => this.onReload()],
  ];

  constructor(private readonly deps: { process: SignalSource }) {}

  /** Catches the signals from now on; until `running`, they are held. */
  start(): void {
    for (const [signal, l] of this.listeners) this.deps.process.on(signal, l);
  }

  /** The daemon runs: what came while it started is done now, later signals at once. */
  running(actions: SignalActions): void {
    this.actions = actions;
    if (this.heldStop) actions.stop(this.heldStop);
    else if (this.heldReload) actions.reload();
    this.heldStop = undefined;
    this.heldReload = false;
  }

  close(): void {
    for (const [signal, l] of this.listeners) this.deps.process.off(signal, l);
    this.actions = undefined;
  }

  private onStop(signal: StopSignal): void {
    if (this.actions) this.actions.stop(signal);
    else this.heldStop ??= signal;
  }

  private onReload(): void {
    if (this.actions) this.actions.reload();
    else this.heldReload = true;
  }
}
