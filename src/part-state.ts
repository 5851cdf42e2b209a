/**
 * Whether each part of the daemon runs: a part that cannot start (its port is taken) is
 * retried with backoff and shown as `tracker: not running (port 6969 in use), retrying` in
 * `meshseed status`, its JSON and the stats page. Pure: the Daemon keeps the states and the
 * timers; this file names the states, the delays and the words.
 */
import { describeError } from './errors.js';

export type PartState =
  | { state: 'running' }
  /** Started, but switched off by its setting (`dht.enabled` 0): it idles so a reload can switch it on. */
  | { state: 'off'; reason: string }
  /** On, with nothing to work on (LPD with no interface): why. */
  | { state: 'idle'; reason: string }
  /** Failed to start `attempts` times; the next try is `retryInS` seconds after the last. */
  | { state: 'retrying'; reason: string; attempts: number; retryInS: number };

/** First retry after 5 s, doubling to at most 5 minutes: a port freed by another program is taken within minutes, a port never freed costs one log line per 5 minutes. */
export const FIRST_RETRY_MS = 5_000;
export const MAX_RETRY_MS = 5 * 60_000;

/** Delay before retry number `attempt` (1 = the first retry). */
export function retryDelayMs(attempt: number): number {
  return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, Math.min(attempt - 1, 20)));
}

/** Why a start failed, in a few words: `port 6969 in use`, or the error's own message. */
export function startFailureReason(err: unknown): string {
  const e = err as (NodeJS.ErrnoException & { port?: number; address?: string }) | undefined;
  if (e && typeof e === 'object') {
    if (e.code === 'EADDRINUSE' && e.port !== undefined) return `port ${e.port} in use`;
    if (e.code === 'EACCES' && e.port !== undefined) return `port ${e.port} not allowed`;
    if (e.code === 'EADDRNOTAVAIL' && e.address) return `address ${e.address} is not on this machine`;
  }
  return describeError(err);
}

/** `tracker: running` · `tracker: not running (port 6969 in use), retrying`. */
export function partLine(name: string, s: PartState): string {
  if (s.state === 'running') return `${name}: running`;
  if (s.state === 'off') return `${name}: off (${s.reason})`;
  if (s.state === 'idle') return `${name}: idle (${s.reason})`;
  return `${name}: not running (${s.reason}), retrying`;
}

/** The lines for the parts that do not run (nothing when all do), from a status document's `parts`. */
export function partProblems(parts: unknown): string[] {
  if (!parts || typeof parts !== 'object') return [];
  const lines: string[] = [];
  for (const [name, s] of Object.entries(parts as Record<string, unknown>)) {
    const st = s as Partial<{ state: string; reason: string }> | null;
    if (st?.state === 'retrying') lines.push(partLine(name, { state: 'retrying', reason: String(st.reason ?? 'unknown'), attempts: 0, retryInS: 0 }));
  }
  return lines;
}
