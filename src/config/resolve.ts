/**
 * Settings from their sources, lowest first: the table's defaults, the UCI file, CLI flags.
 * Every bad value is reported as `meshseed.<section>.<option>: <problem> (line N)` and the
 * option keeps its default, so one typo never takes the whole daemon down.
 */
import { isIP } from 'node:net';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { MeshseedError } from '../errors.js';
import { MAX_UCI_BYTES, parseUci, type UciDocument } from './uci.js';
import { parseHostPort } from '../util/host-port.js';
import {
  SECTIONS,
  SETTING_KEYS,
  defaultSettings,
  flagOf,
  specOf,
  splitKey,
  type ListItem,
  type SectionName,
  type SettingKey,
  type SettingSpec,
  type Settings,
} from './settings.js';

export interface ConfigProblem {
  /** `meshseed.<section>.<option>`, or `meshseed.<section>`, or the file for syntax errors. */
  where: string;
  message: string;
  line?: number;
}

export const formatProblem = (p: ConfigProblem): string =>
  `${p.where}: ${p.message}${p.line !== undefined ? ` (line ${p.line})` : ''}`;

const TRUE = new Set(['1', 'yes', 'on', 'true', 'enabled']);
const FALSE = new Set(['0', 'no', 'off', 'false', 'disabled']);

function checkItem(item: ListItem, v: string): string | undefined {
  switch (item) {
    case 'address':
      return isIP(v) ? undefined : `'${v}' is not an IPv4 or IPv6 address`;
    case 'infohash':
      return /^[0-9a-fA-F]{40}$/.test(v) ? undefined : `'${v}' is not an info hash (40 hex digits)`;
    case 'url':
      return /^(https?|udp):\/\/[^\s/]+/.test(v) ? undefined : `'${v}' is not an http://, https:// or udp:// URL`;
    case 'httpurl':
      return /^https?:\/\/[^\s/]+/.test(v) ? undefined : `'${v}' is not an http:// or https:// URL`;
    case 'ifname':
      return /^[A-Za-z0-9_.@-]{1,15}$/.test(v) ? undefined : `'${v}' is not an interface name`;
    case 'hostport':
      return parseHostPort(v) ? undefined : `'${v}' is not host:port (an IPv4 address or host name, then a port 1-65535)`;
  }
}

/** Converts one textual value (from UCI or a flag) to the option's type, or says why not. */
export function convertValue(spec: SettingSpec, values: string[]): { value: unknown } | { error: string } {
  if (spec.type === 'list') {
    const items = spec.item === 'infohash' ? values.map((v) => v.toLowerCase()) : values;
    for (const v of items) {
      const e = checkItem(spec.item, v);
      if (e) return { error: e };
    }
    return { value: items };
  }
  if (values.length !== 1) return { error: `is a single value, not a list (use 'option', not 'list')` };
  const raw = values[0]!;
  switch (spec.type) {
    case 'bool': {
      const v = raw.toLowerCase();
      if (TRUE.has(v)) return { value: true };
      if (FALSE.has(v)) return { value: false };
      return { error: `'${raw}' is not a boolean (use 1 or 0)` };
    }
    case 'int': {
      if (!/^-?\d+$/.test(raw)) return { error: `'${raw}' is not a whole number` };
      const n = Number(raw);
      if (n < spec.min || n > spec.max)
        return { error: `${raw} is out of range ${spec.min}..${spec.max}${spec.unit ? ` ${spec.unit}` : ''}` };
      return { value: n };
    }
    case 'enum':
      return spec.values.includes(raw) ? { value: raw } : { error: `'${raw}' is not one of ${spec.values.join(', ')}` };
    case 'path':
    case 'string':
      if (raw.includes('\0')) return { error: 'contains a NUL byte' };
      return { value: raw };
  }
}

export interface Resolved {
  settings: Settings;
  problems: ConfigProblem[];
  /** The line of each option the file set (for problems found later, such as folderWarnings). */
  lines?: Partial<Record<SettingKey, number>>;
}

/** Edit distance (Levenshtein) of a and b, or `limit + 1` as soon as it is known to exceed `limit`. */
export function editDistance(a: string, b: string, limit = 2): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      best = Math.min(best, row[j]!);
    }
    if (best > limit) return limit + 1;
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * What an unknown option probably meant: the option of the same section nearest to it
 * (case aside, edit distance at most 2), else the same option in another section.
 */
export function suggestOption(section: SectionName, option: string): string | undefined {
  const lower = option.toLowerCase();
  let best: { key: SettingKey; d: number } | undefined;
  for (const key of SETTING_KEYS) {
    const k = splitKey(key);
    if (k.section !== section) continue;
    const d = editDistance(lower, k.option);
    if (d <= 2 && (!best || d < best.d)) best = { key, d };
  }
  if (best) return `did you mean ${splitKey(best.key).option}?`;
  const elsewhere = SETTING_KEYS.find((key) => splitKey(key).option === lower);
  if (elsewhere) {
    const { section: other } = splitKey(elsewhere);
    return `${option} is an option of config ${SECTIONS[other]} '${other}'`;
  }
  return undefined;
}

/**
 * Folders the init script refuses: it starts the daemon from / and only takes absolute
 * folders (the built-in defaults, ./state and the like, are for a development machine).
 * The one place this rule lives: `check-config` warns, `check-config --init` (what the init
 * script runs) makes them problems.
 */
export function folderWarnings(r: Resolved): ConfigProblem[] {
  const s = r.settings;
  const keys: SettingKey[] = ['main.state_dir', ...(s['seeder.enabled'] ? (['seeder.torrent_dir', 'seeder.data_dir'] as const) : [])];
  const out: ConfigProblem[] = [];
  for (const key of keys) {
    const v = s[key] as string;
    if (v.startsWith('/')) continue;
    const line = r.lines?.[key];
    out.push({
      where: `meshseed.${key}`,
      message: `'${v}' is not an absolute folder${line === undefined ? ' (the built-in default, for a development machine)' : ''}: the init script refuses it; give one such as ${String(specOf(key).openwrt)}`,
      ...(line !== undefined ? { line } : {}),
    });
  }
  return out;
}

/** Applies a parsed UCI document on top of the defaults. */
export function applyUci(doc: UciDocument, file: string, base: Settings = defaultSettings()): Resolved {
  const settings = base;
  const problems: ConfigProblem[] = doc.problems.map((p) => ({ where: file, message: p.message, line: p.line }));
  const lines: Partial<Record<SettingKey, number>> = {};
  const typeToSection = new Map<string, SectionName>(
    Object.entries(SECTIONS).map(([name, type]) => [type, name as SectionName]),
  );
  for (const section of doc.sections) {
    let name: SectionName | undefined;
    // own properties only: a section named 'constructor' or '__proto__' is just unknown
    if (section.name !== undefined && Object.hasOwn(SECTIONS, section.name)) {
      name = section.name as SectionName;
      if (SECTIONS[name] !== section.type) {
        problems.push({
          where: `meshseed.${section.name}`,
          message: `section type '${section.type}' should be '${SECTIONS[name]}'`,
          line: section.line,
        });
        continue;
      }
    } else {
      // Only the named sections are read, as the init script reads them (config_get … seeder
      // data_dir): an anonymous `config seeder` or `config seeder 'other'` would make the two
      // disagree about folders.
      const meant = typeToSection.get(section.type);
      if (meant) {
        problems.push({
          where: `meshseed.${section.name ?? `@${section.type}`}`,
          message: `${section.name === undefined ? 'an anonymous section' : `section '${section.name}'`} of type ${section.type} is ignored: only config ${section.type} '${meant}' is read`,
          line: section.line,
        });
        continue;
      }
    }
    if (!name) {
      problems.push({
        where: `meshseed.${section.name ?? `@${section.type}`}`,
        message: `unknown section (expected ${Object.entries(SECTIONS)
          .map(([n, t]) => `config ${t} '${n}'`)
          .join(', ')})`,
        line: section.line,
      });
      continue;
    }
    for (const opt of section.options.values()) {
      const key = `${name}.${opt.name}` as SettingKey;
      const where = `meshseed.${name}.${opt.name}`;
      if (!SETTING_KEYS.includes(key)) {
        const hint = suggestOption(name, opt.name);
        problems.push({ where, message: `unknown option${hint ? ` (${hint})` : ''}`, line: opt.line });
        continue;
      }
      const r = convertValue(specOf(key), opt.values);
      if ('error' in r) problems.push({ where, message: r.error, line: opt.line });
      else {
        (settings as Record<string, unknown>)[key] = r.value;
        lines[key] = opt.line;
      }
    }
  }
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return { settings, problems, lines };
}

/**
 * Reads a config file, checked before anything is buffered: it must be a regular file
 * (not /dev/zero, a FIFO or a folder) of at most MAX_UCI_BYTES, and no more than that is
 * ever read even if it grows meanwhile.
 */
export function readConfigText(file: string): string {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO with no writer must not hang the daemon
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new MeshseedError('ECONFIG', `cannot read: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new MeshseedError('ECONFIG', 'cannot read: not a regular file');
    if (st.size > MAX_UCI_BYTES) throw new MeshseedError('ECONFIG', `cannot read: file larger than ${MAX_UCI_BYTES >> 20} MiB (${st.size} bytes)`);
    // sized from fstat (one byte more, to see growth), doubled while the file grows
    let buf = Buffer.allocUnsafe(st.size + 1);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        if (got > MAX_UCI_BYTES) throw new MeshseedError('ECONFIG', `cannot read: file larger than ${MAX_UCI_BYTES >> 20} MiB`);
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, MAX_UCI_BYTES + 1));
        buf.copy(bigger, 0, 0, got);
        buf = bigger;
      }
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
    }
    if (got > MAX_UCI_BYTES) throw new MeshseedError('ECONFIG', `cannot read: file larger than ${MAX_UCI_BYTES >> 20} MiB`);
    return buf.toString('utf8', 0, got);
  } catch (err) {
    if (err instanceof MeshseedError) throw err;
    throw new MeshseedError('ECONFIG', `cannot read: ${(err as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

/** Reads and applies a UCI file. A missing or unreadable file is one problem, not a crash. */
export function loadUciFile(file: string, base?: Settings): Resolved {
  let text: string;
  try {
    text = readConfigText(file);
  } catch (err) {
    return { settings: base ?? defaultSettings(), problems: [{ where: file, message: (err as Error).message }] };
  }
  return applyUci(parseUci(text), file, base);
}

/** CLI flags (already parsed by mri) on top: `--tracker-port 7000`, `--seeder-mesh-tracker URL` (repeatable). */
export function applyFlags(flags: Record<string, unknown>, settings: Settings): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const key of SETTING_KEYS) {
    const flag = flagOf(key);
    const raw = flags[flag];
    if (raw === undefined) continue;
    const spec = specOf(key);
    const values = (Array.isArray(raw) ? raw : [raw]).map((v) => (v === true ? '1' : v === false ? '0' : String(v)));
    const list = spec.type === 'list' ? values.flatMap((v) => v.split(',')).filter((v) => v !== '') : values;
    const r = convertValue(spec, list);
    if ('error' in r) problems.push({ where: `--${flag}`, message: r.error });
    else (settings as Record<string, unknown>)[key] = r.value;
  }
  return problems;
}

/** Default config file: /etc/config/meshseed when it exists. */
export const DEFAULT_CONFIG_FILE = '/etc/config/meshseed';

export function configError(problems: ConfigProblem[]): MeshseedError {
  return new MeshseedError('ECONFIG', problems.map(formatProblem).join('\n'));
}

export function describeSetting(key: SettingKey): { section: SectionName; option: string; flag: string } {
  return { ...splitKey(key), flag: `--${flagOf(key)}` };
}
