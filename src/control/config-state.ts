/**
 * What `meshseed status` says about the configuration the daemon runs with: a reload (SIGHUP)
 * it refused because the file had problems, and settings changed in the file that take effect
 * only at the next start. Pure: the daemon command keeps the state; this file compares
 * settings and words the lines.
 */
import type { SettingKey, Settings } from '../config/settings.js';

/** Settings a reload cannot apply: read at start only (a Node flag, the listening sockets, the control socket). */
export const RESTART_SETTINGS: readonly SettingKey[] = ['main.max_heap_mb', 'main.state_dir', 'seeder.listen_port', 'seeder.address'];

/** Problems kept from a refused reload (the log has them all). */
const MAX_PROBLEMS_KEPT = 10;

export interface ConfigState {
  /** The last reload, when it was refused: when (ms since the epoch), the file, its problems. */
  reloadRefused: { atMs: number; file: string; problems: string[]; count: number } | null;
  /** Settings whose value in the file differs from the one running, until a restart. */
  restartNeeded: { setting: SettingKey; running: unknown; file: unknown }[];
}

export const emptyConfigState = (): ConfigState => ({ reloadRefused: null, restartNeeded: [] });

export function refusedReload(atMs: number, file: string, problems: string[]): ConfigState['reloadRefused'] {
  return { atMs, file, problems: problems.slice(0, MAX_PROBLEMS_KEPT), count: problems.length };
}

/** The restart-only settings that differ between what runs and what the file now says. */
export function restartNeeded(running: Settings, next: Settings): ConfigState['restartNeeded'] {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  return RESTART_SETTINGS.filter((k) => !same(running[k], next[k])).map((k) => ({ setting: k, running: running[k], file: next[k] }));
}

const shown = (v: unknown) => (Array.isArray(v) ? (v.length ? v.join(' ') : '(none)') : String(v));

/** The lines `meshseed status` prints under its first (nothing when all is applied). */
export function configLines(state: unknown, nowMs: number): string[] {
  if (!state || typeof state !== 'object') return [];
  const s = state as Partial<ConfigState>;
  const lines: string[] = [];
  const r = s.reloadRefused;
  if (r && typeof r === 'object' && Array.isArray(r.problems)) {
    const ago = Math.max(0, Math.round((nowMs - r.atMs) / 1000));
    lines.push(`reload refused ${ago} s ago: ${r.count} problem(s) in ${r.file}; running on the settings before (check with: meshseed check-config)`);
    for (const p of r.problems) lines.push(`  ${p}`);
    if (r.count > r.problems.length) lines.push(`  … ${r.count - r.problems.length} more in the log`);
  }
  if (Array.isArray(s.restartNeeded) && s.restartNeeded.length)
    lines.push(`restart needed for: ${s.restartNeeded.map((c) => `${c.setting} (running ${shown(c.running)}, file ${shown(c.file)})`).join(', ')}`);
  return lines;
}
