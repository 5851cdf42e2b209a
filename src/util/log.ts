/**
 * Logger: one line per event, `<level>: <component>: <message>`, to stderr (procd hands
 * stdout and stderr to logd, which adds the time and the program name).
 */
import { writeSync } from 'node:fs';
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  /** A logger whose lines start with `component: `. */
  child(component: string): Logger;
  level: LogLevel;
}

/**
 * Longest message written, in characters: a message quoting untrusted input (a torrent's
 * 40,000-component path, a peer's garbage) must not become an 80 KB log line on a router
 * whose log is a small ring buffer in RAM.
 */
export const MAX_LOG_MESSAGE = 1000;

/** One line, at most MAX_LOG_MESSAGE characters: line breaks escaped, the rest cut with a count. */
export function boundLogMessage(message: string): string {
  const cut = message.length > MAX_LOG_MESSAGE ? `${message.slice(0, MAX_LOG_MESSAGE)}… (${message.length - MAX_LOG_MESSAGE} more characters)` : message;
  return cut.replace(/[\r\n]/g, (c) => (c === '\n' ? '\\n' : '\\r'));
}

/**
 * Writes a line to stderr by write(2) on descriptor 2, as process.stderr does for a file, a
 * pipe or a terminal on Linux (synchronously), without making process.stderr: that stream
 * costs milliseconds of a cold start before the tracker's ports open. A descriptor that
 * refuses (a non-blocking pipe that is full, a closed one) sends this line and every later
 * one through process.stderr, which queues and reports as before.
 */
let stderrStream = false;
export function writeStderrLine(line: string): void {
  const text = line + '\n';
  if (!stderrStream) {
    const bytes = Buffer.from(text);
    let at = 0;
    try {
      while (at < bytes.length) at += writeSync(2, bytes, at);
      return;
    } catch {
      stderrStream = true;
      process.stderr.write(bytes.subarray(at));
      return;
    }
  }
  process.stderr.write(text);
}

export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = writeStderrLine,
  prefix = '',
): Logger {
  const state = { level };
  const at = (l: LogLevel) => (message: string) => {
    if (LOG_LEVELS.indexOf(l) <= LOG_LEVELS.indexOf(state.level)) write(`${l}: ${prefix}${boundLogMessage(message)}`);
  };
  const logger: Logger = {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    child: (component) => {
      const c = createLogger(state.level, write, `${prefix}${component}: `);
      // children follow the parent's level when it is changed by a reload
      Object.defineProperty(c, 'level', { get: () => state.level, set: (v: LogLevel) => (state.level = v) });
      return c;
    },
    get level() {
      return state.level;
    },
    set level(v: LogLevel) {
      state.level = v;
    },
  };
  return logger;
}
