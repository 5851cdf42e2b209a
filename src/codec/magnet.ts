/**
 * Magnet links (BEP 9 "magnet URI format"): `magnet:?xt=urn:btih:<info hash>` with optional
 * `dn` (display name), `tr` (trackers, repeatable), `ws` (BEP 19 web seeds), `xl` (exact
 * length in bytes) and `x.pe` (a peer, `host:port` or `[v6]:port`).
 *
 * Pure and bounded: a magnet is at most MAX_MAGNET_LENGTH characters, keeps at most
 * MAX_MAGNET_URLS trackers, web seeds and peers each, and any other parameter (`xs`, `as`,
 * `kt`, `so`, `xt=urn:btmh:` of BitTorrent v2) is ignored, as libtorrent does. The info hash
 * is the 40 hex digits or the 32 base32 characters of v1 magnets; a magnet without one is
 * refused with a MeshseedError('EMAGNET').
 */
import { MeshseedError } from '../errors.js';

/** Real magnets are a few hundred characters; a few dozen trackers stay well under 16 KiB. */
export const MAX_MAGNET_LENGTH = 16 * 1024;
/** Most trackers, web seeds and peers kept from one magnet (each). */
export const MAX_MAGNET_URLS = 64;
/** Longest tracker or web seed URL kept (longer ones are dropped). */
export const MAX_MAGNET_URL_LENGTH = 2048;

export interface Magnet {
  /** 40 lower-case hex digits. */
  infoHashHex: string;
  /** `dn`: untrusted, shown only after escaping; never a file name without checks. */
  name?: string;
  /** `tr`, in order, duplicates removed. */
  trackers: string[];
  /** `ws`. */
  webSeeds: string[];
  /** `xl`. */
  length?: number;
  /** `x.pe`. */
  peers: { host: string; port: number }[];
}

const bad = (what: string) => new MeshseedError('EMAGNET', `not a usable magnet link: ${what}`);

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (no padding), 32 characters → 20 bytes, as hex. */
export function base32ToHex(s: string): string | undefined {
  if (!/^[A-Za-z2-7]{32}$/.test(s)) return undefined;
  const out = new Uint8Array(20);
  let bits = 0;
  let value = 0;
  let j = 0;
  for (const c of s.toUpperCase()) {
    value = (value << 5) | BASE32.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out[j++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return Buffer.from(out).toString('hex');
}

/** A 40-hex or 32-base32 info hash as 40 lower-case hex digits, or undefined. */
export function parseInfoHash(s: string): string | undefined {
  if (/^[0-9a-fA-F]{40}$/.test(s)) return s.toLowerCase();
  return base32ToHex(s);
}

/** `+` is a space in query strings (as libtorrent and browsers read it); bad escapes are refused. */
function decodeComponent(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

function parsePeer(s: string): { host: string; port: number } | undefined {
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(s) ?? /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: m[1]!, port } : undefined;
}

const isUrl = (s: string, schemes: RegExp) => s.length <= MAX_MAGNET_URL_LENGTH && schemes.test(s) && !/[\s\0]/.test(s);

/** Parses a magnet link; throws MeshseedError('EMAGNET') naming what is wrong. */
export function parseMagnet(text: string): Magnet {
  if (text.length > MAX_MAGNET_LENGTH) throw bad(`longer than ${MAX_MAGNET_LENGTH} characters`);
  const m = /^magnet:\?(.*)$/is.exec(text.trim());
  if (!m) throw bad("it does not start with 'magnet:?'");
  let infoHashHex: string | undefined;
  let name: string | undefined;
  let length: number | undefined;
  const trackers: string[] = [];
  const webSeeds: string[] = [];
  const peers: Magnet['peers'] = [];
  const push = <T>(list: T[], v: T, same: (a: T) => boolean) => {
    if (list.length < MAX_MAGNET_URLS && !list.some(same)) list.push(v);
  };
  for (const part of m[1]!.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).toLowerCase();
    const value = decodeComponent(part.slice(eq + 1));
    if (value === undefined) throw bad(`bad percent-escape in '${key}'`);
    // several `xt` may be numbered (xt.1, xt.2); any numbered key counts as its base key
    const base = key.replace(/\.\d+$/, '');
    if (base === 'xt') {
      const h = /^urn:btih:(.+)$/i.exec(value);
      if (!h) continue; // urn:btmh (v2) and others: not ours
      const hex = parseInfoHash(h[1]!);
      if (!hex) throw bad(`'xt' info hash '${h[1]!.slice(0, 64)}' is neither 40 hex digits nor 32 base32 characters`);
      if (infoHashHex !== undefined && infoHashHex !== hex) throw bad("two different 'urn:btih' info hashes");
      infoHashHex = hex;
    } else if (base === 'dn') {
      name ??= value;
    } else if (base === 'tr') {
      if (isUrl(value, /^(https?|udp):\/\/[^/]/i)) push(trackers, value, (t) => t === value);
    } else if (base === 'ws') {
      if (isUrl(value, /^https?:\/\/[^/]/i)) push(webSeeds, value, (t) => t === value);
    } else if (base === 'xl') {
      if (/^\d{1,16}$/.test(value) && Number.isSafeInteger(Number(value))) length = Number(value);
    } else if (base === 'x.pe') {
      const p = parsePeer(value);
      if (p) push(peers, p, (q) => q.host === p.host && q.port === p.port);
    }
  }
  if (infoHashHex === undefined) throw bad("no 'xt=urn:btih:' info hash");
  return {
    infoHashHex,
    ...(name !== undefined ? { name } : {}),
    trackers,
    webSeeds,
    ...(length !== undefined ? { length } : {}),
    peers,
  };
}

/** Percent-encodes a value for a magnet (RFC 3986 unreserved characters stay as they are). */
const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Builds a magnet link: xt, dn, xl, then each tr, ws and x.pe in order. */
export function buildMagnet(m: Magnet): string {
  const parts = [`xt=urn:btih:${m.infoHashHex.toLowerCase()}`];
  if (m.name !== undefined && m.name !== '') parts.push(`dn=${enc(m.name)}`);
  if (m.length !== undefined) parts.push(`xl=${m.length}`);
  for (const t of m.trackers) parts.push(`tr=${enc(t)}`);
  for (const w of m.webSeeds) parts.push(`ws=${enc(w)}`);
  for (const p of m.peers) parts.push(`x.pe=${enc(p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`)}`);
  return `magnet:?${parts.join('&')}`;
}
