/**
 * settings.json for transmission-cli in the interop tests: the tracker is its only source of
 * peers (DHT, LPD, PEX, uTP, port forwarding off), no RPC, no speed limits, bound to `address`
 * (inside the test's namespace: Transmission runs nowhere else).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function writeTransmissionConfig(dir: string, address: string, extra: Record<string, unknown> = {}): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'settings.json'),
    JSON.stringify({
      'dht-enabled': false,
      'lpd-enabled': false,
      'pex-enabled': false,
      'utp-enabled': false,
      'port-forwarding-enabled': false,
      'bind-address-ipv4': address,
      'rpc-enabled': false,
      'speed-limit-up-enabled': false,
      'speed-limit-down-enabled': false,
      ...extra,
    }),
  );
  return dir;
}
