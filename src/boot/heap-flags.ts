/**
 * The init script's heap flags (`--max-old-space-size`, `--max-semi-space-size`) size V8's
 * heap when Node starts and are not read again. But V8 also hashes every flag that is not at
 * its default into the tag of compiled-code caches, and Node's own modules (net, dgram,
 * stream, …) come with a code cache made for the default flags: with the heap flags set, V8
 * refuses it, and every built-in module the daemon loads before its tracker listens is
 * compiled from source and then serialized again (counted with callgrind, to the tracker's
 * listen: about 50 million instructions, 40 % of what the start costs over `node -e 0`;
 * bench/cold-start-instructions.mjs).
 *
 * Once the heap is sized, the loader sets the two flags back to their defaults: the heap
 * keeps its limits (its size was taken at start; a test checks that the young generation
 * stays at what the flag asked) and Node's cache is used again. V8 reads the flags again
 * only when it makes another heap: a worker thread started afterwards is sized by its own
 * resourceLimits (the hashing threads' 8 MiB), where with the flags set they overrode
 * those (64 MiB each); a worker without resourceLimits would get V8's default. The flags are set through
 * `process.binding('v8')` (no module to load; its deprecation warning is not printed: this
 * is the one use) when it is there, else `node:v8` (which loads and compiles Node's 20
 * stream modules first: in one count, 41 million instructions saved instead of 68).
 */

/** The flags reset (their defaults are 0: V8 picks). */
export const HEAP_FLAGS = ['--max-old-space-size', '--max-semi-space-size'] as const;

/** Whether Node was given a heap flag, on its command line or in NODE_OPTIONS. */
export function heapFlagsGiven(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const words = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  return words.some((w) => {
    const n = w.replace(/_/g, '-'); // V8 takes --max_old_space_size too
    return HEAP_FLAGS.some((f) => n === f || n.startsWith(`${f}=`));
  });
}

/** Something with V8's setFlagsFromString. */
export interface FlagSetter {
  setFlagsFromString(flags: string): void;
}

/**
 * Sets the heap flags back to their defaults when Node was given one; returns how (or
 * undefined when nothing was given). Never throws: a Node that refuses keeps its flags and
 * compiles its modules as before.
 */
export function resetHeapFlags(
  proc: { execArgv: readonly string[]; env: NodeJS.ProcessEnv; binding?: (name: string) => unknown; noDeprecation?: boolean },
  loadV8: () => FlagSetter,
): 'binding' | 'v8' | 'failed' | undefined {
  if (!heapFlagsGiven(proc.execArgv, proc.env['NODE_OPTIONS'])) return undefined;
  try {
    let setter: FlagSetter | undefined;
    const quiet = proc.noDeprecation;
    proc.noDeprecation = true;
    try {
      const b = proc.binding?.('v8') as Partial<FlagSetter> | undefined;
      if (typeof b?.setFlagsFromString === 'function') setter = b as FlagSetter;
    } catch {
      // no process.binding, or no v8 in it: node:v8 below
    } finally {
      proc.noDeprecation = quiet;
    }
    const how = setter ? 'binding' : 'v8';
    setter ??= loadV8();
    for (const f of HEAP_FLAGS) setter.setFlagsFromString(`${f}=0`);
    return how;
  } catch {
    return 'failed';
  }
}
