/** Inputs that once crashed, hung or bloated a parser: test/fuzz/corpus/<target>/<kind>-<hash>.bin. */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers';
import type { Finding } from './harness';

export const CORPUS_DIR = join(ROOT, 'test', 'fuzz', 'corpus');

export function corpusFiles(target: string): { file: string; bytes: Uint8Array }[] {
  const dir = join(CORPUS_DIR, target);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith('.bin'))
    .sort()
    .map((n) => ({ file: join(dir, n), bytes: new Uint8Array(readFileSync(join(dir, n))) }));
}

/** Saves a finding's input; returns its path. */
export function saveFinding(f: Finding): string {
  const dir = join(CORPUS_DIR, f.target);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${f.kind}-${createHash('sha1').update(f.input).digest('hex').slice(0, 12)}.bin`);
  writeFileSync(file, f.input);
  return file;
}
