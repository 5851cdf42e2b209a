/**
 * Two connections to the same peer for one torrent (both sides dialled each other at once,
 * as two mirrors that learn of each other together do): keep one, the same one on both sides.
 *
 * The rule is libtorrent's (peer_list::new_connection): two connections made in the same
 * direction: the newer one goes. One each way: each side compares its own listen port with
 * the peer's (the port the outgoing connection dialled); the side with the lower port keeps
 * its outgoing connection, so the other side keeps its incoming one: both close the same
 * TCP connection. Where libtorrent picks at random on equal ports (two routers both on 6881,
 * which would often close both connections), the peer ids decide: the lower id keeps its
 * outgoing connection. Both sides see the same ports and ids, so they agree.
 *
 * A duplicate is the same address and the same peer id: two clients behind one address
 * (a NAT) have different ids and both stay. One each way is resolved only with another
 * meshseed (its peer id starts `-MS`): another client follows its own rule (libtorrent's
 * coin flip on equal ports, two libtorrent-style routers both on 6881 being the common case
 * on a mesh), and if it closed the connection we keep, no connection would be left. With
 * those, both stay and the other client decides. Pure, table-tested.
 */

/** `-MS` in hex: the start of a meshseed peer id (Azureus-style client code). */
const MESHSEED_ID_HEX = '2d4d53';

export interface PeerLink {
  address: string;
  /** The peer's id from its handshake, hex. */
  peerIdHex: string;
  /** We dialled it (then `port` is its listen port). */
  outgoing: boolean;
  port: number;
}

export interface Ours {
  /** Our listen port. */
  port: number;
  peerIdHex: string;
}

/** The connection to close when `fresh` joins `existing` (undefined: no duplicate). */
export function duplicateToClose<L extends PeerLink>(existing: Iterable<L>, fresh: L, ours: Ours): L | undefined {
  for (const old of existing) {
    if (old === fresh || old.address !== fresh.address || old.peerIdHex !== fresh.peerIdHex || !fresh.peerIdHex) continue;
    if (old.outgoing === fresh.outgoing) return fresh;
    if (!fresh.peerIdHex.startsWith(MESHSEED_ID_HEX)) return undefined;
    const outgoing = fresh.outgoing ? fresh : old;
    const weKeepOutgoing = ours.port < outgoing.port || (ours.port === outgoing.port && ours.peerIdHex < fresh.peerIdHex);
    return weKeepOutgoing === fresh.outgoing ? old : fresh;
  }
  return undefined;
}
