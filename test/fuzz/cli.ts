/**
 * `npm run fuzz -- [--time SECONDS] [--runs N] [--seed N] [--target NAME]...`
 * Runs every registered target (or the named ones), splitting --time evenly between them
 * (default 60 s in all), from --seed (default: a fresh one, printed). Findings are saved
 * under test/fuzz/corpus/<target>/ and make the exit status 1.
 */
import mri from 'mri';
import { fuzz, fuzzTargets } from './harness';
import { saveFinding } from './corpus';
import './targets';

const args = mri(process.argv.slice(2), { string: ['target'], default: {} });
const wanted = ([] as string[]).concat(args.target ?? []);
const targets = fuzzTargets().filter((t) => wanted.length === 0 || wanted.includes(t.name));
if (targets.length === 0) {
  console.error(`no such target; targets: ${fuzzTargets().map((t) => t.name).join(', ')}`);
  process.exit(2);
}
const seed = args.seed !== undefined ? Number(args.seed) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const runs = args.runs !== undefined ? Number(args.runs) : undefined;
const timeMs = runs !== undefined && args.time === undefined ? undefined : (Number(args.time ?? 60) * 1000) / targets.length;
console.log(`seed ${seed}; ${targets.length} targets, ${timeMs !== undefined ? `${(timeMs / 1000).toFixed(0)} s` : ''}${runs !== undefined ? ` at most ${runs} runs` : ''} each`);
let found = 0;
for (const t of targets) {
  const s = fuzz(t, { seed, ...(runs !== undefined ? { runs } : {}), ...(timeMs !== undefined ? { timeMs } : {}) });
  console.log(`${t.name}: ${s.runs} runs in ${(s.ms / 1000).toFixed(1)} s, slowest call ${s.slowestMs.toFixed(1)} ms, heap ${s.heapGrowthMb.toFixed(1)} MiB, ${s.findings.length} findings`);
  for (const f of s.findings) {
    found++;
    const file = f.input.length ? saveFinding(f) : '(no input: a whole-run finding)';
    console.log(`  ${f.kind}: ${f.message.split('\n').join('\n    ')}\n  saved: ${file}`);
  }
}
process.exit(found ? 1 : 0);
