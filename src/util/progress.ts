/**
 * Progress of a long job (hashing) on stderr. On a terminal: one bar redrawn in place at
 * most ten times a second. Elsewhere (a log, a pipe): a plain line at each tenth of the work
 * and at least every 30 s, so a log shows it is alive without filling up. Quiet: nothing.
 * Time comes from the caller's clock so tests can drive it.
 */
export interface ProgressSink {
  /** A terminal: redraw a bar with `raw` ('\r', no newline). */
  tty: boolean;
  quiet: boolean;
  /** Writes a whole line (a newline is added). */
  line(text: string): void;
  /** Writes text as is (terminal only). */
  raw(text: string): void;
  now?(): number;
}

const REDRAW_MS = 100;
const PLAIN_EVERY_MS = 30_000;
const BAR_WIDTH = 30;

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

export class Progress {
  private lastDraw = -Infinity;
  private lastDone = -1;
  private lastTenth = -1;
  private lastLine: number;
  private drawn = false;
  private readonly started: number;
  private readonly now: () => number;

  constructor(
    private readonly sink: ProgressSink,
    private readonly label: string,
  ) {
    this.now = sink.now ?? Date.now;
    this.started = this.now();
    this.lastLine = this.started;
  }

  update(done: number, total: number): void {
    if (this.sink.quiet) return;
    const t = this.now();
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    if (this.sink.tty) {
      if (done === this.lastDone || (t - this.lastDraw < REDRAW_MS && done < total)) return;
      this.lastDraw = t;
      this.lastDone = done;
      const filled = Math.round(fraction * BAR_WIDTH);
      const seconds = (t - this.started) / 1000;
      const rate = seconds > 0 ? `${formatBytes(done / seconds)}/s` : '';
      this.sink.raw(
        `\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(done)} of ${formatBytes(total)} ${rate}\x1b[K`,
      );
      this.drawn = true;
      return;
    }
    const tenth = Math.floor(fraction * 10);
    if (tenth > this.lastTenth || t - this.lastLine >= PLAIN_EVERY_MS) {
      this.lastTenth = tenth;
      this.lastLine = t;
      this.sink.line(`${this.label}: ${(fraction * 100).toFixed(0)}% (${formatBytes(done)} of ${formatBytes(total)})`);
    }
  }

  /** Ends the bar's line on a terminal, so what follows starts on a new line. */
  finish(): void {
    if (this.drawn) this.sink.raw('\n');
    this.drawn = false;
  }
}
