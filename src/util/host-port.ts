/** `host:port` as the DHT's bootstrap list takes it: an IPv4 address or a host name, then a port. */
import { isIPv4 } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
}

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function parseHostPort(text: string): HostPort | undefined {
  const m = /^([^:\s]+):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const host = m[1]!;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  if (!isIPv4(host) && (/^[\d.]+$/.test(host) || !HOST_NAME.test(host))) return undefined;
  return { host, port };
}

/** An IPv4 address as Node prints it, with an IPv4-mapped IPv6 address (`::ffff:10.0.0.2`) unwrapped; undefined for anything else. */
export function plainIPv4(address: string): string | undefined {
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return isIPv4(a) ? a : undefined;
}
