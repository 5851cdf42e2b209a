import { networkInterfaces } from 'node:os';

/** Addresses of this machine's interfaces, re-read at most once a minute. */
const REFRESH_MS = 60_000;
let cached: { at: number; set: Set<string> } | undefined;

/** True for loopback and this machine's interface addresses (a `%scope` suffix is ignored). */
export function isOwnAddress(address: string): boolean {
  const bare = address.replace(/%.*$/, '').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  if (bare.startsWith('127.') || bare === '::1') return true;
  const now = Date.now();
  if (!cached || now - cached.at > REFRESH_MS) {
    const set = new Set<string>();
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) set.add(a.address);
    cached = { at: now, set };
  }
  return cached.set.has(bare);
}
