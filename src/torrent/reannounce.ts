/**
 * Rewrites a torrent's trackers (`announce`, BEP 12 `announce-list`) as btreannounce did,
 * without touching `info`: its bytes are written back exactly as read (RawBencode), so the
 * info hash cannot change, even for a torrent whose info dict a stricter encoder would
 * re-order. Pure: bytes in, bytes out. Every other top-level key is kept.
 */
import { decode, encode, isBytes, isDict, isList, RawBencode, utf8, type BDict, type BValue, type EncodableValue } from '../codec/bencode.js';
import { parseMetainfo } from '../codec/metainfo.js';

export type TierMode =
  /** The new tier becomes the only one. */
  | 'replace'
  /** The new tier is added after the others (a backup). */
  | 'append'
  /** The new tier is added before the others (tried first). */
  | 'prepend';

/** Tiers as they are in the file: `announce-list`, or `announce` alone. */
function currentTiers(top: BDict): string[][] {
  const list = top.get('announce-list');
  const tiers: string[][] = [];
  if (isList(list))
    for (const tier of list) {
      if (!isList(tier)) continue;
      const urls = tier.flatMap((u: BValue) => (isBytes(u) ? [utf8(u)] : [])).filter((u): u is string => !!u);
      if (urls.length) tiers.push(urls);
    }
  if (tiers.length === 0) {
    const a = top.get('announce');
    const url = isBytes(a) ? utf8(a) : undefined;
    if (url) tiers.push([url]);
  }
  return tiers;
}

export function rewriteTrackers(bytes: Uint8Array, tier: string[], mode: TierMode): Uint8Array {
  parseMetainfo(bytes); // refuses anything that is not a valid torrent, with its one-line reason
  const { value, topLevelSpans } = decode(bytes);
  const top = value as BDict;
  const span = topLevelSpans.get('info')!;
  if (!isDict(top.get('info'))) throw new Error('unreachable: parseMetainfo checked info');
  let tiers: string[][];
  if (mode === 'replace') tiers = [tier];
  else {
    const old = currentTiers(top);
    const known = new Set(old.flat());
    const added = tier.filter((u) => !known.has(u));
    tiers = added.length === 0 ? old : mode === 'append' ? [...old, added] : [added, ...old];
  }
  const out = new Map<string, EncodableValue | undefined>(top as Map<string, EncodableValue>);
  out.set('info', new RawBencode(bytes.subarray(span[0], span[1])));
  const urls = tiers.flat();
  out.set('announce', urls[0]);
  // as mktorrent: an announce-list only when there is more than one tracker
  out.set('announce-list', urls.length > 1 ? tiers : undefined);
  return encode(out);
}
