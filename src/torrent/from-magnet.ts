/**
 * A `.torrent` from a magnet and the info dict fetched for it (BEP 9): the info bytes exactly
 * as received (so the info hash is the magnet's), the magnet's trackers as one tier each
 * (BEP 12: each tried in turn), its web seeds as `url-list` (BEP 19). Pure; the result is
 * checked by the metainfo parser like any torrent (a hostile info dict is refused there).
 */
import { encode, RawBencode, type EncodableValue } from '../codec/bencode.js';
import { parseMetainfo, type Metainfo } from '../codec/metainfo.js';
import { MeshseedError } from '../errors.js';
import type { Magnet } from '../codec/magnet.js';
import { VERSION } from '../version.js';

export function torrentFromMagnet(magnet: Pick<Magnet, 'infoHashHex' | 'trackers' | 'webSeeds'>, info: Uint8Array): { bytes: Uint8Array; meta: Metainfo } {
  const top: Record<string, EncodableValue | undefined> = {
    announce: magnet.trackers[0],
    'announce-list': magnet.trackers.length > 1 ? magnet.trackers.map((t) => [t]) : undefined,
    'url-list': magnet.webSeeds.length ? magnet.webSeeds : undefined,
    'created by': `meshseed ${VERSION} (from a magnet link)`,
    info: new RawBencode(info),
  };
  const bytes = encode(top);
  const meta = parseMetainfo(bytes);
  if (meta.infoHashHex !== magnet.infoHashHex) throw new MeshseedError('EMETAINFO', `metadata hashes to ${meta.infoHashHex}, not ${magnet.infoHashHex}`);
  return { bytes, meta };
}
