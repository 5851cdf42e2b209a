// deadline: 20s
// Peer sockets read into one shared buffer: an accepted socket switched to it (adoptAccepted),
// a dialled one through onread (ReadRoute); the bytes arrive whole and in order, over loopback.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { adoptAccepted, ReadRoute, sharedReadBuffer } from '../../src/util/shared-reads';

const PAYLOAD = Buffer.from(Array.from({ length: 3 << 20 }, (_, i) => (i * 31 + (i >> 12)) & 255));
const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

function listen(onSocket: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer({ noDelay: true }, onSocket);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

/** Reads until the peer ends: the bytes (copied as they come) and whether every read was in the shared buffer. */
function collect(socket: Socket, start: (onBytes: (b: Buffer) => void) => void): Promise<{ bytes: Buffer; shared: boolean; reads: number }> {
  const parts: Buffer[] = [];
  let shared = true;
  return new Promise((resolve) => {
    start((b) => {
      if (b.buffer !== sharedReadBuffer().buffer) shared = false;
      parts.push(Buffer.from(b));
    });
    socket.on('end', () => resolve({ bytes: Buffer.concat(parts), shared, reads: parts.length }));
  });
}

test('an accepted socket reads into the shared buffer on this node, every byte in order', async () => {
  let adopted = false;
  let got!: (r: Promise<{ bytes: Buffer; shared: boolean; reads: number }>) => void;
  const reading = new Promise<Promise<{ bytes: Buffer; shared: boolean; reads: number }>>((r) => (got = r));
  const { server, port } = await listen((s) =>
    got(
      collect(s, (onBytes) => {
        adopted = adoptAccepted(s, onBytes);
        if (!adopted) s.on('data', onBytes);
      }),
    ),
  );
  const c = connect(port, '127.0.0.1', () => c.end(PAYLOAD));
  const r = await (await reading);
  await new Promise((done) => server.close(done));
  // node 20 and later keep onread's fields on the socket: if this fails, a node upgrade moved them
  // (the daemon still works, with a new buffer per read: bench/download.mjs shows the memory)
  assert.ok(adopted, 'adoptAccepted works on this node');
  assert.ok(r.shared, 'every read in the shared buffer');
  assert.is(sha1(r.bytes), sha1(PAYLOAD));
  console.log(`  ${r.reads} reads of at most ${sharedReadBuffer().length} bytes`);
});

test('a socket that already has a data listener is left to it', async () => {
  const { server, port } = await listen((s) => {
    s.on('data', () => {});
    assert.not.ok(adoptAccepted(s, () => {}));
    s.destroy();
  });
  const c = connect(port, '127.0.0.1');
  await new Promise((r) => c.on('close', r));
  await new Promise((r) => server.close(r));
});

test('a dialled socket reads into the shared buffer through its route; bytes before the route is set are kept', async () => {
  const { server, port } = await listen((s) => s.end(PAYLOAD));
  const route = new ReadRoute();
  const c = connect({ host: '127.0.0.1', port, onread: route.onread });
  // routed late, once the first bytes are surely in (they were copied for it)
  const first = new Promise<void>((r) => {
    const check = () => (c.bytesRead > 0 ? r() : setImmediate(check));
    check();
  });
  await first;
  const r = await collect(c, (onBytes) => route.to(onBytes));
  assert.is(sha1(r.bytes), sha1(PAYLOAD));
  await new Promise((done) => server.close(done));
});

test.run();
