/**
 * Logger: one line per event, `<level>: <component>: <message>`, to stderr (procd hands
 * stdout and stderr to logd, which adds the time and the program name).
 */
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

export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
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
