/**
 * Addresses as the store keeps them: 4 bytes for IPv4, 16 for IPv6, network order.
 * IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, what a dual-stack socket reports for an
 * IPv4 client) become IPv4, so an IPv4 client is listed in `peers`, not `peers6`.
 */
import { isIPv6 } from 'node:net';

/** Dotted quad into out[at..at+4); false unless exactly four decimal parts 0..255 without leading zeros. */
function parseV4(s: string, out: Uint8Array, at: number): boolean {
  let part = 0;
  let n = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || part > 3) return false;
      out[at + part++] = n;
      n = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && n === 0) return false; // leading zero
      n = n * 10 + (c - 0x30);
      if (++digits > 3 || n > 255) return false;
    } else return false;
  }
  return part === 4;
}

/** Bytes of an address in text form (with or without a zone id), or undefined. */
export function addressBytes(text: string): Uint8Array | undefined {
  const v4 = new Uint8Array(4);
  if (parseV4(text, v4, 0)) return v4;
  const zone = text.indexOf('%');
  const s = zone >= 0 ? text.slice(0, zone) : text;
  if (!isIPv6(s)) return undefined;
  const out = new Uint8Array(16);
  let head = s;
  let tail = '';
  const dc = s.indexOf('::');
  if (dc >= 0) {
    head = s.slice(0, dc);
    tail = s.slice(dc + 2);
  }
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const b = new Uint8Array(4);
        if (!parseV4(g, b, 0)) return undefined;
        out.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const h = groups(head);
  const t = groups(tail);
  if (!h || !t) return undefined;
  const all = dc >= 0 ? [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t] : h;
  if (all.length !== 8) return undefined;
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  // ::ffff:a.b.c.d → IPv4
  if (out.subarray(0, 10).every((x) => x === 0) && out[10] === 0xff && out[11] === 0xff) return out.slice(12);
  return out;
}

export function addressText(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  // compress the longest run of zero groups (RFC 5952)
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

const isLoopback = (a: Uint8Array): boolean => isLoopbackAt(a, 0, a.length);

/** The address of `alen` bytes (4 or 16) at `b[at]` is loopback: read in place (this runs for every peer handed out). */
function isLoopbackAt(b: Uint8Array, at: number, alen: number): boolean {
  if (alen === 4) return b[at] === 127;
  if (alen !== 16) return false;
  for (let k = 0; k < 15; k++) if (b[at + k] !== 0) return false;
  return b[at + 15] === 1;
}

/**
 * Peers that announced from loopback (the daemon's own seeder announcing to its own tracker
 * at 127.0.0.1) mean "this router". A requester on loopback gets them as they are; anyone
 * else gets them rewritten to the address it reached the tracker on (`local`, known over
 * HTTP, given as the address or a function asked only when a loopback peer is there), or,
 * where that is unknown or of the other family (UDP on a wildcard socket), not at
 * all: a loopback address is never handed to another host.
 *
 * `compact` holds entries of `size` bytes (6: IPv4 + port, 18: IPv6 + port). Returns the
 * input itself when nothing changes, else a new array.
 */
export function localizeLoopbackPeers(
  compact: Uint8Array,
  size: 6 | 18,
  requester: Uint8Array,
  localAddress?: Uint8Array | (() => Uint8Array | undefined),
): Uint8Array {
  if (isLoopback(requester)) return compact;
  const alen = size - 2;
  let found = false;
  for (let i = 0; i < compact.length && !found; i += size) found = isLoopbackAt(compact, i, alen);
  if (!found) return compact;
  const local = typeof localAddress === 'function' ? localAddress() : localAddress;
  const replacement = local && local.length === alen && !isLoopback(local) ? local : undefined;
  const out: number[] = [];
  for (let i = 0; i < compact.length; i += size) {
    const entry = compact.subarray(i, i + size);
    if (!isLoopback(entry.subarray(0, alen))) out.push(...entry);
    else if (replacement) out.push(...replacement, entry[alen]!, entry[alen + 1]!);
  }
  return Uint8Array.from(out);
}
