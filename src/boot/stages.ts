/**
 * The program's two stages (scripts/build.mjs makes them): stage 1 is what the daemon runs
 * until its tracker listens (the command line, settings, the daemon command, the tracker and
 * the status socket), stage 2 everything else (the daemon's other parts, the other commands),
 * compiled at its first use. Each has its own V8 code cache; the cache file's payload holds
 * both, so that a start deserializes stage 1's before the ports open and stage 2's after.
 *
 * Payload: stage 1's length (32 bits, little-endian), stage 1's cache, stage 2's cache (empty
 * when stage 2 never ran). Pure: bytes only.
 */

/** The bytes of stage 1's length. */
export const STAGE_LENGTH_BYTES = 4;

/** One payload of the two stages' caches. */
export function joinStageCaches(one: Uint8Array, two: Uint8Array): Uint8Array {
  const out = new Uint8Array(STAGE_LENGTH_BYTES + one.length + two.length);
  new DataView(out.buffer).setUint32(0, one.length, true);
  out.set(one, STAGE_LENGTH_BYTES);
  out.set(two, STAGE_LENGTH_BYTES + one.length);
  return out;
}

/** The two stages' caches from a payload (views, not copies), or why it is not one. */
export function splitStageCaches(payload: Uint8Array): { one: Uint8Array; two: Uint8Array } | { problem: string } {
  if (payload.length < STAGE_LENGTH_BYTES) return { problem: 'no stage lengths' };
  const length = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0, true);
  if (length === 0 || length > payload.length - STAGE_LENGTH_BYTES) return { problem: `stage 1 of ${length} bytes in ${payload.length - STAGE_LENGTH_BYTES}` };
  return {
    one: payload.subarray(STAGE_LENGTH_BYTES, STAGE_LENGTH_BYTES + length),
    two: payload.subarray(STAGE_LENGTH_BYTES + length),
  };
}
