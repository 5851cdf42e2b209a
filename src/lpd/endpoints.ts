/**
 * Which (interface, address family) pairs LPD runs on, from the `lpd.interface` setting and
 * the host's interfaces as `os.networkInterfaces()` lists them. Pure: the daemon passes the
 * listing in, tests pass a table.
 *
 * Default (no `lpd.interface`): the OpenWrt LAN and mesh bridges that exist and have an
 * address. Never every interface: multicasting on a WAN port (eth0 on a developer machine)
 * would announce the mesh's torrents to a network that did not ask for them.
 */
import type { NetworkInterfaceInfo } from 'node:os';
import { LPD_GROUP_V4, LPD_GROUP_V6, type LpdGroup } from '../codec/lpd.js';

export const DEFAULT_LPD_INTERFACES: readonly string[] = ['br-lan', 'br-mesh'];

export type InterfaceListing = NodeJS.Dict<NetworkInterfaceInfo[]>;

export interface LpdEndpoint {
  /** Identity: a change of interface address makes a new endpoint (the old socket is closed). */
  key: string;
  ifname: string;
  family: 4 | 6;
  group: LpdGroup;
  /**
   * What `addMembership` and `setMulticastInterface` take: the interface's IPv4 address, or
   * `::%<ifname>` (the interface's index as scope) for IPv6.
   */
  multicastInterface: string;
  /** The interface's subnets, to tell which interface a datagram came in on. */
  subnets: { address: string; prefix: number }[];
}

const familyOf = (a: NetworkInterfaceInfo): 4 | 6 =>
  // Node 18.0–18.3 reported the family as a number
  (a.family as unknown) === 4 || a.family === 'IPv4' ? 4 : 6;

const prefixOf = (a: NetworkInterfaceInfo): number => {
  const p = a.cidr ? Number(a.cidr.slice(a.cidr.lastIndexOf('/') + 1)) : NaN;
  return Number.isInteger(p) ? p : familyOf(a) === 4 ? 32 : 128;
};

export interface EndpointSelection {
  endpoints: LpdEndpoint[];
  /** Configured (or default) interfaces that do not exist or have no address of either family. */
  absent: string[];
  /** The names looked for. */
  wanted: string[];
}

export function selectEndpoints(configured: readonly string[], listing: InterfaceListing, ipv6: boolean): EndpointSelection {
  const wanted = configured.length ? [...new Set(configured)] : [...DEFAULT_LPD_INTERFACES];
  const endpoints: LpdEndpoint[] = [];
  const absent: string[] = [];
  for (const ifname of wanted) {
    const addrs = listing[ifname] ?? [];
    const v4 = addrs.filter((a) => familyOf(a) === 4);
    const v6 = addrs.filter((a) => familyOf(a) === 6);
    const first4 = v4[0];
    if (first4) {
      endpoints.push({
        key: `${ifname}/4/${first4.address}`,
        ifname,
        family: 4,
        group: LPD_GROUP_V4,
        multicastInterface: first4.address,
        subnets: v4.map((a) => ({ address: a.address, prefix: prefixOf(a) })),
      });
    }
    if (ipv6 && v6.length) {
      endpoints.push({
        key: `${ifname}/6`,
        ifname,
        family: 6,
        group: LPD_GROUP_V6,
        multicastInterface: `::%${ifname}`,
        subnets: v6.map((a) => ({ address: a.address, prefix: prefixOf(a) })),
      });
    }
    if (!first4 && !(ipv6 && v6.length)) absent.push(ifname);
  }
  return { endpoints, absent, wanted };
}
