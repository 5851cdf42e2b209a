// deadline: 240s
/**
 * The fuzz suite in CI: every registered target for a fixed number of mutants from a fixed
 * seed (deterministic), then every saved corpus input (each one a past crash) again.
 * `npm run fuzz -- --time 600` runs the same targets for longer (scripts/fuzz.mjs).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fuzz, fuzzTargets, runOne, type FuzzTarget } from './harness';
import { corpusFiles } from './corpus';
import './targets';

const SEED = 20261201;
/** Mutants per target: a few seconds each on a shared 2-core machine. */
const RUNS: Record<string, number> = { mse: 500, 'mse-initiator': 500, default: 5000 };

for (const target of fuzzTargets()) {
  test(`fuzz ${target.name}: ${RUNS[target.name] ?? RUNS.default} mutants from seed ${SEED}`, () => {
    const s = fuzz(target, { seed: SEED, runs: RUNS[target.name] ?? RUNS.default });
    console.log(`${target.name}: ${s.runs} runs in ${(s.ms / 1000).toFixed(1)} s, slowest call ${s.slowestMs.toFixed(1)} ms, heap ${s.heapGrowthMb >= 0 ? '+' : ''}${s.heapGrowthMb.toFixed(1)} MiB`);
    assert.equal(
      s.findings.map((f) => `${f.kind}: ${f.message}`),
      [],
      `${target.name}: run npm run fuzz -- --target ${target.name} --seed ${SEED} to save the inputs`,
    );
  });
  test(`fuzz ${target.name}: the saved corpus`, () => {
    for (const { file, bytes } of corpusFiles(target.name)) {
      const { finding } = runOne(target, bytes);
      assert.is(finding, undefined, `${file}: ${finding?.kind}: ${finding?.message}`);
    }
  });
}

test('the harness finds a planted crash, a planted slow call and planted memory growth', () => {
  const kept: unknown[] = [];
  let slow = 0;
  const planted: FuzzTarget = {
    name: 'planted',
    samples: () => [new Uint8Array(Buffer.from('d3:key5:valuee'))],
    run: (b) => {
      if (b.length === 0) throw new TypeError('empty input');
      if (b.length > 3000 && slow++ < 3) {
        const end = performance.now() + 30;
        while (performance.now() < end);
      }
      kept.push(new Array(1024).fill(b.length), new Uint8Array(1024));
    },
    maxCallMs: 20,
  };
  const s = fuzz(planted, { seed: SEED, runs: 1000, maxHeapGrowthMb: 4 });
  assert.equal(s.findings.map((f) => f.kind).sort(), ['crash', 'memory', 'slow']);
  assert.match(s.findings.find((f) => f.kind === 'crash')!.message, /TypeError: empty input/);
});

test.run();
