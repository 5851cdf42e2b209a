/**
 * Arguments that make dist/meshseed.js run as something other than the command line: a
 * worker thread of `meshseed create -t N` is the bundle started again with this one.
 */
export const HASH_WORKER_ARG = '--meshseed-hash-worker';
