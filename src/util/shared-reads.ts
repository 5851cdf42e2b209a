/**
 * One read buffer for the daemon's bulk sockets (peer connections, web seed connections).
 * Node's default is a new buffer per read (64 KiB at loopback speed) that lives until the
 * garbage collector runs: a download at 50 MiB/s leaves tens of MiB of them waiting for it
 * (bench/download.mjs). With `onread` every read lands in this one buffer instead.
 *
 * Sharing it is safe because node calls the read callback synchronously for each read, and the
 * bytes are consumed before it returns: nothing may keep a view of them past the call (the
 * peer-wire framer copies a cut frame and every message but a piece, whose block is copied
 * into its piece buffer at once; an MSE handshake copies what it keeps).
 *
 *   - outgoing sockets: `readRoute()` gives net.connect's `onread`; `route.to(onBytes)` says
 *     where the bytes go once the owner knows;
 *   - accepted sockets: net.Server has no `onread` option. `adoptAccepted` switches a socket
 *     to the shared buffer in its 'connection' event, before its first read, the way node's
 *     own `onread` does it (the socket's handle's `useUserBuffer` and the two fields onread
 *     sets, found on a probe socket built with onread, not by name). Where this node does not
 *     have them it returns false and the socket keeps its 'data' events: slower to free, same
 *     bytes.
 */
import { Socket } from 'node:net';

/** Reason: large reads cost fewer system calls (256 KiB reads ran ~1.5x faster than 64 KiB ones for a web seed). */
export const SHARED_READ_BYTES = 256 * 1024;
let readBuffer: Buffer | undefined;
/** The buffer every `onread` socket reads into (made at the first use). */
export const sharedReadBuffer = (): Buffer => (readBuffer ??= Buffer.allocUnsafeSlow(SHARED_READ_BYTES));

/** Bytes read, valid only during the call. */
export type OnBytes = (bytes: Buffer) => void;

/** Where an outgoing socket's reads go; bytes read before `to` (none in practice: the owner routes in 'connect') are copied for it. */
export class ReadRoute {
  private sink: OnBytes | undefined;
  private early: Buffer[] = [];
  readonly onread = {
    // the buffer itself: given a function, node would call it and re-register the buffer on every read
    buffer: sharedReadBuffer(),
    callback: (n: number): boolean => {
      const bytes = this.onread.buffer.subarray(0, n);
      if (this.sink) this.sink(bytes);
      else this.early.push(Buffer.from(bytes));
      return true;
    },
  };

  to(sink: OnBytes): void {
    this.sink = sink;
    for (const b of this.early.splice(0)) sink(b);
  }
}

interface OnreadFields {
  buffer: symbol;
  callback: symbol;
}
let fields: OnreadFields | null | undefined;

/** The fields node's Socket keeps `onread` in, found on a probe built with one (null: none). */
function onreadFields(): OnreadFields | null {
  if (fields !== undefined) return fields;
  const buffer = Buffer.alloc(1);
  const callback = (): boolean => true;
  // (node accepts onread here as in net.connect; its types list it only there)
  const probe = new Socket({ onread: { buffer, callback } } as ConstructorParameters<typeof Socket>[0]) as unknown as Record<symbol, unknown>;
  const own = Object.getOwnPropertySymbols(probe);
  const b = own.find((s) => probe[s] === buffer);
  const c = own.find((s) => probe[s] === callback);
  fields = b && c ? { buffer: b, callback: c } : null;
  return fields;
}

/**
 * An accepted socket reads into the shared buffer from now on, each read handed to `onBytes`
 * (call it in the 'connection' event, before the first read). False where this node cannot:
 * the caller listens to 'data' instead.
 */
export function adoptAccepted(socket: Socket, onBytes: OnBytes): boolean {
  const f = onreadFields();
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (b: Buffer) => void } })._handle;
  if (!f || typeof handle?.useUserBuffer !== 'function' || socket.listenerCount('data') > 0 || socket.bytesRead > 0) return false;
  const buffer = sharedReadBuffer();
  const s = socket as unknown as Record<symbol, unknown>;
  s[f.buffer] = buffer;
  s[f.callback] = (n: number): boolean => {
    onBytes(buffer.subarray(0, n));
    return true;
  };
  handle.useUserBuffer(buffer);
  return true;
}
