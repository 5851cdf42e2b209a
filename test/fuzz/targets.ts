/**
 * The fuzz targets: every parser that reads bytes from outside the process. To add one,
 * register it here (or from a module of your own imported below) with a few real samples
 * and a `run` that feeds one input to the parser; name the typed errors it may throw.
 * See the README, "Hardening and fuzzing".
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode, encode } from '../../src/codec/bencode';
import { countFiles, parseMetainfo } from '../../src/codec/metainfo';
import { decodeResume, encodeResume } from '../../src/storage/resume-data';
import { decodeState, encodeState } from '../../src/tracker/state-file';
import { parseUci } from '../../src/config/uci';
import { applyUci } from '../../src/config/resolve';
import { decodeAnnounceParams, decodeScrapeParams, encodeAnnounceResponse as encodeHttpAnnounceResponse, encodeFailure, encodeScrapeResponse as encodeHttpScrapeResponse, parseRequestTarget } from '../../src/codec/tracker-http';
import {
  decodeUdpRequest,
  encodeAnnounceRequest as encodeUdpAnnounce,
  encodeAnnounceResponse as encodeUdpAnnounceResponse,
  encodeConnectRequest,
  encodeConnectResponse,
  encodeErrorResponse,
  encodeScrapeRequest,
} from '../../src/codec/tracker-udp';
import { decodeUdpAnnounceReply, decodeUdpConnectReply, parseHttpAnnounceReply } from '../../src/codec/announce-client';
import {
  PeerWireError,
  PeerWireFramer,
  decodeExtendedHandshake,
  decodeMessage,
  decodeMetadataMessage,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMessage,
  encodeMetadataMessage,
  maxMessageLength,
} from '../../src/codec/peer-wire';
import { decodePex, encodePex } from '../../src/codec/pex';
import { MseError, MseInitiator, MseResponder, mseTorrentKey } from '../../src/codec/mse';
import { formatSearch, parseSearch } from '../../src/codec/lpd';
import { parseHead } from '../../src/tracker/http-front';
import { bodyFraming, ChunkedDecoder, parseResponseHead } from '../../src/codec/http-response';
import { checkRangeHead } from '../../src/codec/web-seed-url';
import { MeshseedError } from '../../src/errors';
import { FIXTURES as LPD_FIXTURES } from '../codec/lpd-fixtures';
import { ROOT } from '../helpers';
import { registerFuzzTarget } from './harness';

const text = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const hash = (n: number) => new Uint8Array(20).fill(n);
const isTyped = (...types: (new (...a: never[]) => Error)[]) => (err: unknown) => types.some((t) => err instanceof t);

// ---- .torrent files and bencode ----

const torrentSamples = (): Uint8Array[] => {
  const info = (over: Record<string, unknown>) => ({ name: 'openwrt-24.10', 'piece length': 16384, pieces: new Uint8Array(40), ...over });
  return [
    encode({ announce: 'http://10.0.0.1:6969/announce', 'creation date': 1700000000, info: info({ length: 20000 }) } as never),
    encode({
      'announce-list': [['http://10.0.0.1:6969/announce'], ['udp://10.0.0.2:6969']],
      'url-list': ['http://10.0.0.1/openwrt/'],
      comment: 'mesh images',
      info: info({
        files: [
          { length: 10, path: ['a.txt'] },
          { length: 20000, path: ['targets', 'x86', 'image.img.gz'] },
          { length: 6, path: ['.pad', '6'], attr: 'p' },
        ],
        private: 1,
      }),
    } as never),
  ];
};

registerFuzzTarget({ name: 'bencode', samples: torrentSamples, run: (b) => void decode(b) });
registerFuzzTarget({
  name: 'metainfo',
  samples: torrentSamples,
  run: (b) => {
    countFiles(b);
    try {
      parseMetainfo(b, { maxFiles: 2 });
    } catch (err) {
      if (!(err instanceof MeshseedError)) throw err;
    }
    parseMetainfo(b);
  },
});

// ---- files the daemon wrote, read back after a power cut (truncated, zeroed, swapped) ----

registerFuzzTarget({
  name: 'resume-data',
  samples: () => [encodeResume({ infoHash: hash(1), files: [{ size: 10, mtimeMs: 1700000000000, id: '2049:1234' }, { size: 0, mtimeMs: 0 }], verified: Uint8Array.of(0xc0) })],
  run: (b) => void decodeResume(b, hash(1), 2, 2),
});
registerFuzzTarget({
  name: 'tracker-state',
  samples: () => [encodeState({ torrents: new Map([['ab'.repeat(20), 3], ['cd'.repeat(20), 0]]) })],
  run: (b) => void decodeState(b),
});

// ---- UCI ----

registerFuzzTarget({
  name: 'uci',
  samples: () => [readFileSync(join(ROOT, 'files/etc/config/meshseed')), text(`config tracker 'tracker'\n\toption port "69\\"69"\n\tlist address '::1'\n`)],
  run: (b) => void applyUci(parseUci(Buffer.from(b).toString('utf8')), 'fuzz'),
});

// ---- tracker: HTTP and UDP requests (our tracker reads them) ----

const httpRequests = [
  'GET /announce?info_hash=%12%34V%78%9a%bc%de%f0%12%34V%78%9a%bc%de%f0%12%34V%78&peer_id=-TR3000-abcdefghijkl&port=51413&uploaded=0&downloaded=0&left=1000&event=started&compact=1&numwant=80&key=1a2b HTTP/1.1\r\nHost: 10.0.0.1:6969\r\nUser-Agent: Transmission/3.00\r\n\r\n',
  'GET /scrape?info_hash=%00%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13&info_hash=aaaaaaaaaaaaaaaaaaaa HTTP/1.0\r\n\r\n',
  'GET / HTTP/1.1\nHost: x\n\n',
];
registerFuzzTarget({
  name: 'tracker-http-request',
  samples: () => httpRequests.map(text),
  run: (b) => {
    const head = parseHead(Buffer.from(b));
    if (head.kind !== 'request') return;
    const t = parseRequestTarget(head.target);
    if (!t.ok) return;
    if (t.value.path === '/announce') decodeAnnounceParams(t.value.params);
    else decodeScrapeParams(t.value.params);
  },
});

const connId = new Uint8Array(8).fill(7);
registerFuzzTarget({
  name: 'tracker-udp-request',
  samples: () => [
    encodeConnectRequest(0x1234),
    encodeUdpAnnounce({ connectionId: connId, transactionId: 9, infoHash: hash(1), peerId: hash(2), left: 100, event: 'started', port: 6881, numWant: 50 }),
    encodeUdpAnnounce({ connectionId: connId, transactionId: 9, infoHash: hash(1), peerId: hash(2), left: 0, port: 1, options: Uint8Array.of(2, 5, 0x2f, 0x61, 0x3f, 0x62, 0x3d, 1, 0) }),
    encodeScrapeRequest(connId, 5, [hash(1), hash(3)]),
  ],
  run: (b) => void decodeUdpRequest(b),
});

// ---- tracker responses (the seeder's announce client reads them) ----

registerFuzzTarget({
  name: 'announce-client-http-reply',
  samples: () => [
    encodeHttpAnnounceResponse({ interval: 120, minInterval: 30, complete: 2, incomplete: 1, downloaded: 3, peers4: Uint8Array.of(10, 0, 0, 2, 0x1a, 0xe1), peers6: new Uint8Array(18).fill(1) }),
    encodeHttpAnnounceResponse({ interval: 1800, minInterval: 60, complete: 0, incomplete: 0, downloaded: 0, dictPeers: [{ ip: '10.0.0.3', port: 6881, peerId: hash(4) }, { ip: 'fd00::1', port: 1, peerId: hash(5) }] }),
    encodeFailure('torrent not allowed', 60),
    encodeHttpScrapeResponse([{ infoHash: hash(1), complete: 1, downloaded: 2, incomplete: 3 }] as never),
  ],
  run: (b) => void parseHttpAnnounceReply(b),
});

registerFuzzTarget({
  name: 'announce-client-udp-reply',
  samples: () => [
    encodeConnectResponse(9, connId),
    encodeUdpAnnounceResponse({ transactionId: 9, interval: 120, leechers: 1, seeders: 2, peers: Uint8Array.of(10, 0, 0, 2, 0x1a, 0xe1, 10, 0, 0, 3, 0, 1) }),
    encodeErrorResponse(9, 'unknown torrent'),
  ],
  run: (b) => {
    decodeUdpConnectReply(b, 9);
    decodeUdpAnnounceReply(b, 9, 4);
    decodeUdpAnnounceReply(b, 9, 6);
  },
});

// ---- web seed answers (BEP 19): a response head, its framing, its range check, a chunked body ----

registerFuzzTarget({
  name: 'web-seed-response',
  samples: () => [
    text('HTTP/1.1 206 Partial Content\r\nServer: nginx\r\nContent-Range: bytes 100-199/1000\r\nContent-Length: 100\r\nConnection: keep-alive\r\n\r\n' + 'x'.repeat(100)),
    text('HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 100-199/*\r\nTransfer-Encoding: chunked\r\n\r\n32;ext=1\r\n' + 'y'.repeat(50) + '\r\n32\r\n' + 'z'.repeat(50) + '\r\n0\r\nX-T: 1\r\n\r\n'),
    text('HTTP/1.1 302 Found\r\nLocation: /mirror/file.iso\r\nContent-Length: 0\r\n\r\n'),
    text('HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\n'),
    text('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */50\r\n\r\n'),
    text('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n'),
    text('HTTP/1.0 404 Not Found\nServer: uhttpd\n\n'),
  ],
  run: (b) => {
    const buf = Buffer.from(b);
    const p = parseResponseHead(buf, 16384);
    if (p.kind !== 'head') return;
    const framing = bodyFraming(p.head);
    checkRangeHead(p.head, { first: 100, last: 199, fileLength: 1000 });
    if (framing.kind !== 'chunked') return;
    new ChunkedDecoder().push(buf, p.head.length, buf.length, () => undefined);
    // and in pieces, as sockets deliver it
    const d = new ChunkedDecoder();
    for (let at = p.head.length; at < buf.length && !d.done; at += 7) {
      const r = d.push(buf, at, Math.min(buf.length, at + 7), () => undefined);
      if ('error' in r) return;
    }
  },
});

// ---- peer wire: a whole incoming stream, framed, each message decoded as the session does ----

const PIECES = 1000;
const wireSamples = (): Uint8Array[] => {
  const hs = encodeHandshake({ infoHash: hash(1), peerId: hash(2), reserved: Uint8Array.of(0, 0, 0, 0, 0, 0x10, 0, 0x05) } as never);
  const ext = (extId: number, payload: Uint8Array) => encodeMessage({ type: 'extended', extId, payload });
  const stream = Buffer.concat([
    hs,
    ext(0, encodeExtendedHandshake({ m: new Map([['ut_metadata', 3], ['ut_pex', 4]]), metadataSize: 30000, port: 6881, version: 'libtorrent/2.0.8', reqq: 500 })),
    encodeMessage({ type: 'bitfield', bits: new Uint8Array(Math.ceil(PIECES / 8)) }),
    encodeMessage({ type: 'interested' }),
    encodeMessage({ type: 'request', index: 3, begin: 16384, length: 16384 }),
    encodeMessage({ type: 'have', index: 999 }),
    ext(1, encodeMetadataMessage({ msgType: 'request', piece: 1 })),
    ext(2, encodePex({ added: [{ address: '10.0.0.9', port: 6881, flags: 0x10 }, { address: 'fd00::9', port: 6882, flags: 2 }], dropped: [] } as never)),
    encodeMessage({ type: 'piece', index: 1, begin: 0, block: new Uint8Array(64) }),
    new Uint8Array(4),
  ]);
  return [stream, stream.subarray(68)];
};
registerFuzzTarget({
  name: 'peer-wire',
  samples: wireSamples,
  expected: isTyped(PeerWireError, MeshseedError),
  run: (b) => {
    const limits = { pieceCount: PIECES };
    // a stream that starts with the handshake, or (after MSE) may not
    const framer = new PeerWireFramer(maxMessageLength(limits), b[0] === 19);
    const onMessage = (body: Uint8Array) => {
      const m = decodeMessage(body, limits);
      if (m.type !== 'extended') return;
      if (m.extId === 0) decodeExtendedHandshake(m.payload);
      else if (m.extId === 1) decodeMetadataMessage(m.payload);
      else if (m.extId === 2) decodePex(m.payload);
    };
    // in chunks whose sizes come from the input, as TCP would cut it
    for (let at = 0; at < b.length; ) {
      const n = 1 + (b[at]! % 97);
      framer.push(b.subarray(at, at + n), () => undefined, onMessage);
      at += n;
    }
  },
});

// ---- MSE: a hostile step 1, and a valid step 1 followed by a hostile step 3 ----

const mseHash = hash(9);
const findMse = (k: string) => (k === mseTorrentKey(mseHash) ? mseHash : undefined);
registerFuzzTarget({
  name: 'mse',
  // two Diffie-Hellman exponentiations per valid step 1 (~1 ms each)
  samples: () => [Uint8Array.of(0, ...new Uint8Array(120)), Uint8Array.of(1, ...new MseInitiator(mseHash).hello)],
  expected: isTyped(MseError),
  run: (b) => {
    const responder = new MseResponder(findMse);
    if (b[0] === 0) {
      // the input XORed onto a valid step 3: reaches the header, PadC and IA checks
      const a = new MseInitiator(mseHash);
      const o = responder.push(a.hello);
      const step3 = Buffer.concat([a.step3(o.send!, text('\x13BitTorrent protocol')), Buffer.alloc(16)]);
      const delta = b.subarray(1);
      const out = Buffer.concat([step3, Buffer.alloc(Math.max(0, delta.length - step3.length))]);
      for (let i = 0; i < delta.length; i++) out[i]! ^= delta[i]!;
      responder.push(out);
    } else {
      for (let at = 1; at < b.length; at += 200) responder.push(b.subarray(at, at + 200));
    }
  },
});

// ---- MSE, the connecting side: a hostile Yb, PadB and step 4 (what a peer we dial sends) ----

registerFuzzTarget({
  name: 'mse-initiator',
  // byte 0 picks the mode: 0 XORs the input onto a real responder's step 2 and step 4; else raw chunks
  samples: () => {
    const a = new MseInitiator(mseHash, 3, 0, text('\x13BitTorrent protocol'));
    const b = new MseResponder(findMse);
    const two = b.push(a.hello).send!;
    const four = b.push(a.push(two.subarray(0, 96)).send!).send!;
    return [Uint8Array.of(0, ...new Uint8Array(200)), Uint8Array.of(1, ...two, ...four, ...text('\x13BitTorrent protocol'))];
  },
  expected: isTyped(MseError),
  run: (b) => {
    const a = new MseInitiator(mseHash, 3, 0, text('\x13BitTorrent protocol'));
    if (b[0] === 0) {
      const responder = new MseResponder(findMse);
      const two = Buffer.from(responder.push(a.hello).send!);
      const delta = b.subarray(1);
      // the first 96 bytes of the delta spoil Yb (then the keys differ and step 4 cannot be found), the rest PadB and step 4
      const yb = Buffer.from(two.subarray(0, 96));
      for (let i = 0; i < Math.min(96, delta.length); i++) yb[i]! ^= delta[i]!;
      const step3 = a.push(yb).send;
      if (!step3) return;
      const four = Buffer.concat([two.subarray(96), Buffer.from(responder.push(step3).send ?? [])]);
      const rest = delta.subarray(96);
      const out = Buffer.concat([four, Buffer.alloc(Math.max(0, rest.length - four.length))]);
      for (let i = 0; i < rest.length; i++) out[i]! ^= rest[i]!;
      a.push(out);
    } else {
      for (let at = 1; at < b.length; at += 200) if (a.push(b.subarray(at, at + 200)).payload) return;
    }
  },
});

// ---- LPD ----

registerFuzzTarget({
  name: 'lpd',
  samples: () => [...LPD_FIXTURES.map((f) => text(f.text)), formatSearch({ host: '239.192.152.143', port: 6881, infoHashHex: 'ab'.repeat(20), cookie: 'c00k1e' })],
  run: (b) => void parseSearch(b),
});

// ---- the mesh DHT (KRPC) ----
import './krpc-target';
