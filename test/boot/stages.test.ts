// deadline: 20s
// The two stages' caches in one payload (src/boot/stages.ts), and the heap flags set back to
// their defaults (src/boot/heap-flags.ts): decisions with fakes, then the built bundle under
// the init script's heap flags, in a real Node.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { joinStageCaches, splitStageCaches, STAGE_LENGTH_BYTES } from '../../src/boot/stages';
import { heapFlagsGiven, resetHeapFlags, type FlagSetter } from '../../src/boot/heap-flags';
import { BUNDLE, tempDir } from '../helpers';

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * seed + 3) & 0xff);

test('both stages come back from one payload; stage 2 may be empty', () => {
  const one = bytes(1001, 7);
  const two = bytes(333, 11);
  const payload = joinStageCaches(one, two);
  assert.is(payload.length, STAGE_LENGTH_BYTES + 1334);
  const split = splitStageCaches(payload);
  assert.ok('one' in split);
  if (!('one' in split)) return;
  assert.equal(Array.from(split.one), Array.from(one));
  assert.equal(Array.from(split.two), Array.from(two));
  const alone = splitStageCaches(joinStageCaches(one, new Uint8Array(0)));
  assert.ok('two' in alone && alone.two.length === 0);
});

test('a payload whose stage 1 is empty, longer than the payload or missing is refused', () => {
  assert.ok('problem' in splitStageCaches(new Uint8Array(3)));
  assert.ok('problem' in splitStageCaches(joinStageCaches(new Uint8Array(0), bytes(10, 3))));
  const long = joinStageCaches(bytes(10, 3), new Uint8Array(0));
  new DataView(long.buffer).setUint32(0, 11, true);
  assert.match((splitStageCaches(long) as { problem: string }).problem, /stage 1 of 11 bytes in 10/);
});

test('heap flags are seen on the command line and in NODE_OPTIONS, in both spellings; others are not', () => {
  assert.ok(heapFlagsGiven(['--max-old-space-size=64'], undefined));
  assert.ok(heapFlagsGiven([], '--foo --max-semi-space-size=1'));
  assert.ok(heapFlagsGiven(['--max_semi_space_size=1'], ''));
  assert.ok(heapFlagsGiven([`--max_old_space_size`, `64`], undefined));
  assert.not.ok(heapFlagsGiven(['--stack-trace-limit=20', '--v8-pool-size=1'], '--max-old-space-sizes'));
  assert.not.ok(heapFlagsGiven([], undefined));
});

/** A fake process and node:v8, recording the flags set. */
function fakes(execArgv: string[], binding: 'works' | 'throws' | 'none') {
  const set: string[] = [];
  const setter: FlagSetter = { setFlagsFromString: (f) => set.push(f) };
  let loaded = 0;
  let quietDuring: boolean | undefined;
  const proc = {
    execArgv,
    env: {},
    noDeprecation: false,
    ...(binding === 'none'
      ? {}
      : {
          binding(name: string) {
            quietDuring = proc.noDeprecation;
            if (binding === 'throws' || name !== 'v8') throw new Error('No such module');
            return setter;
          },
        }),
  };
  const loadV8 = () => {
    loaded++;
    return setter;
  };
  return { proc, loadV8, set, loaded: () => loaded, quietDuring: () => quietDuring };
}

test('reset: through process.binding, quietly, when a heap flag was given; node:v8 when there is no binding; nothing without a flag', () => {
  const a = fakes(['--max-semi-space-size=1'], 'works');
  assert.is(resetHeapFlags(a.proc, a.loadV8), 'binding');
  assert.equal(a.set, ['--max-old-space-size=0', '--max-semi-space-size=0']);
  assert.is(a.loaded(), 0);
  assert.is(a.quietDuring(), true, 'its deprecation warning is not printed');
  assert.is(a.proc.noDeprecation, false, 'and the setting is put back');
  for (const kind of ['throws', 'none'] as const) {
    const b = fakes(['--max-old-space-size=64'], kind);
    assert.is(resetHeapFlags(b.proc, b.loadV8), 'v8');
    assert.is(b.loaded(), 1);
    assert.is(b.set.length, 2);
  }
  const c = fakes(['--stack-trace-limit=20'], 'works');
  assert.is(resetHeapFlags(c.proc, c.loadV8), undefined);
  assert.is(c.set.length, 0);
  const d = fakes(['--max-old-space-size=64'], 'none');
  assert.is(
    resetHeapFlags(d.proc, () => {
      throw new Error('refused');
    }),
    'failed',
  );
});

test('the bundle under the init script heap flags: Node\'s code cache tag is the default one, and the heap keeps the size the flags gave', () => {
  const dir = tempDir('meshseed-heap-flags-');
  try {
    // at exit (after the loader ran): churn the young generation, then report
    const preload = join(dir.path, 'preload.js');
    writeFileSync(
      preload,
      `process.on('exit', () => {
        const v8 = require('node:v8');
        let keep = [];
        for (let i = 0; i < 300000; i++) { keep.push({ i }); if (keep.length > 1000) keep = []; }
        const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
        process.stderr.write('HEAP ' + JSON.stringify({ tag: v8.cachedDataVersionTag(), young: young.space_size, limit: v8.getHeapStatistics().heap_size_limit }) + '\\n');
      });`,
    );
    const flags = ['--max-old-space-size=64', '--max-semi-space-size=1'];
    const run = spawnSync(process.execPath, [...flags, '-r', preload, BUNDLE, '--version'], { encoding: 'utf8' });
    assert.is(run.status, 0, run.stderr);
    assert.not.match(run.stderr, /Deprecation/);
    const heap = JSON.parse(/HEAP (.*)/.exec(run.stderr)![1]!) as { tag: number; young: number; limit: number };
    const plain = spawnSync(process.execPath, ['-p', "require('node:v8').cachedDataVersionTag()"], { encoding: 'utf8' });
    const withFlags = spawnSync(process.execPath, [...flags, '-p', "require('node:v8').cachedDataVersionTag()"], { encoding: 'utf8' });
    assert.is.not(withFlags.stdout.trim(), plain.stdout.trim(), 'the flags change the tag (else this test shows nothing)');
    assert.is(String(heap.tag), plain.stdout.trim());
    // semi-spaces of 1 MiB (two of them), not the default's up to 16 or 32 MiB
    assert.ok(heap.young <= 2 << 20, `young generation ${heap.young} bytes`);
    assert.ok(heap.limit < 100 << 20, `heap limit ${heap.limit} bytes`);
  } finally {
    dir.remove();
  }
});

test.run();
