/**
 * Fuzz target for the mesh DHT's input: a KRPC datagram as the DHT socket receives it. The
 * guard (`checkKrpc` in GuardedDhtSocket) drops what is malformed; what passes goes on to a
 * real `bittorrent-dht` node, as in the daemon. Nothing may throw: the guard never does, and
 * the package must not choke on what the guard lets through.
 */
import DHT from 'bittorrent-dht';
import { encode } from '../../src/codec/bencode';
import { GuardedDhtSocket } from '../../src/dht/guarded-socket';
import { systemClock } from '../../src/util/clock';
import { registerFuzzTarget } from './harness';

const id = Buffer.alloc(20, 7);
const ih = Buffer.alloc(20, 8);
const krpc = (m: Record<string, unknown>) => encode(m as never);
const FROM = { address: '10.0.0.1', port: 6881, family: 'IPv4' as const, size: 0 };

let shared: { socket: GuardedDhtSocket; dht: DHT } | undefined;
/**
 * One node for the whole run (its state grows as a real node's would, within its bounds);
 * no socket is bound, so its replies go nowhere; its timers do not hold the process open.
 */
function node(): { socket: GuardedDhtSocket; dht: DHT } {
  if (!shared) {
    const socket = new GuardedDhtSocket({ clock: systemClock, createSocket: () => { throw new Error('no socket in the fuzz target'); } }, 0);
    const dht = new DHT({ socket, bootstrap: false });
    const internals = dht as unknown as { _interval?: NodeJS.Timeout; _rpc?: { socket?: { _timer?: NodeJS.Timeout } } };
    internals._interval?.unref();
    internals._rpc?.socket?._timer?.unref();
    shared = { socket, dht };
  }
  return shared;
}

registerFuzzTarget({
  name: 'krpc',
  samples: () => [
    krpc({ t: 'aa', y: 'q', q: 'ping', a: { id } }),
    krpc({ t: 'ab', y: 'q', q: 'find_node', a: { id, target: ih } }),
    krpc({ t: 'ac', y: 'q', q: 'get_peers', a: { id, info_hash: ih } }),
    krpc({ t: 'ad', y: 'q', q: 'announce_peer', a: { id, info_hash: ih, port: 6881, token: Buffer.alloc(20, 1), implied_port: 0 } }),
    krpc({ t: 'ae', y: 'r', r: { id, nodes: Buffer.alloc(52, 9), token: Buffer.alloc(4), values: [Buffer.alloc(6, 1)] } }),
    krpc({ t: 'af', y: 'e', e: [201, 'A Generic Error Ocurred'] }),
  ],
  // no error is expected: anything thrown is a finding
  expected: () => false,
  run: (b) => node().socket.onDatagram(Buffer.from(b), { ...FROM, size: b.length }),
});
