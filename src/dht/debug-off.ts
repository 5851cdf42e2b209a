/**
 * What the bundle gives bittorrent-dht for its `debug` import (an esbuild alias in
 * scripts/build.mjs): tracing that is always off. The package writes its traces through
 * `debug` (shown with DEBUG=bittorrent-dht), which the daemon never sets, and `debug` loads
 * node:tty and node:util's colour code at start: with the DHT on (the default) that cost a
 * router about 0.3 MiB more of the node program's pages for nothing (bench/router.mjs).
 * The daemon's own log says what the DHT does (dht-service.ts).
 */
export interface Trace {
  (...args: unknown[]): void;
  /** bittorrent-dht checks this before it formats a trace. */
  readonly enabled: boolean;
}

const off: Trace = Object.assign(() => {}, { enabled: false });

/** `require('debug')(namespace)`: a trace that prints nothing. */
export default function createTrace(_namespace: string): Trace {
  return off;
}
