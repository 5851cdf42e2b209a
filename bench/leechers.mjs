#!/usr/bin/env node
// Peer-wire load for bench/router.mjs: --count leechers connect to a seeder on 127.0.0.1:--port,
// each asking for one of --hashes (comma-separated hex info hashes, taken in turn) with
// --pieces pieces of --piece-length bytes, and download for --seconds: plain BEP 3 (no
// extensions), interested, then 16 KiB requests kept --pipeline deep while unchoked, from a
// random first piece onward. Blocks are counted, not checked (this measures the seeder's
// memory under load, not its data). Prints {"connected","failed","unchoked","bytes","seconds"}
// (failed: no handshake, refused or closed before it, or none within 30 s).
// With --seconds 0 it runs until its stdin ends, printing {"progress":true,"connected","failed","bytes"}
// every half second (bench/router.mjs waits on those), and the same report at the end.
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
};
const port = Number(arg('port', '6881'));
const hashes = arg('hashes', '').split(',').filter(Boolean).map((h) => Buffer.from(h, 'hex'));
const count = Number(arg('count', '50'));
const seconds = Number(arg('seconds', '10'));
const pieces = Number(arg('pieces', '128'));
const pieceLength = Number(arg('piece-length', String(1 << 18)));
const pipeline = Number(arg('pipeline', '16'));
const BLOCK = 16384;
const MAX_MESSAGE = BLOCK + 13 + 1024;

let connected = 0;
/** Leechers whose connection ended (refused, closed, or no handshake within HANDSHAKE_MS) before the handshake. */
let failed = 0;
const HANDSHAKE_MS = 30000;
let everUnchoked = 0;
let bytes = 0;
const sockets = [];

function leecher(i) {
  const infoHash = hashes[i % hashes.length];
  // each leecher from its own loopback address (127.0.1.1, 127.0.1.2, ...): 50 peers, as on a
  // mesh, and the seeder's bound on handshakes in progress per address does not refuse them
  const s = connect({ host: '127.0.0.1', port, localAddress: `127.0.${1 + (i >> 8)}.${1 + (i & 255)}` });
  sockets.push(s);
  s.setNoDelay(true);
  let buf = Buffer.alloc(0);
  let handshaken = false;
  let choked = true;
  let unchokedOnce = false;
  let outstanding = 0;
  let piece = Math.floor(Math.random() * pieces);
  let begin = 0;
  const request = () => {
    while (!choked && outstanding < pipeline) {
      const m = Buffer.alloc(17);
      m.writeUInt32BE(13, 0);
      m[4] = 6;
      m.writeUInt32BE(piece, 5);
      m.writeUInt32BE(begin, 9);
      m.writeUInt32BE(BLOCK, 13);
      s.write(m);
      outstanding++;
      begin += BLOCK;
      if (begin >= pieceLength) {
        begin = 0;
        piece = (piece + 1) % pieces;
      }
    }
  };
  s.on('connect', () => {
    const hs = Buffer.alloc(68);
    hs[0] = 19;
    hs.write('BitTorrent protocol', 1, 'latin1');
    infoHash.copy(hs, 28);
    Buffer.from('-BL0001-').copy(hs, 48);
    randomBytes(12).copy(hs, 56);
    s.write(hs);
    s.write(Buffer.from([0, 0, 0, 1, 2])); // interested
  });
  s.on('data', (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    if (!handshaken) {
      if (buf.length < 68) return;
      handshaken = true;
      clearTimeout(handshakeTimer);
      connected++;
      buf = buf.subarray(68);
    }
    while (buf.length >= 4) {
      const len = buf.readUInt32BE(0);
      if (len > MAX_MESSAGE) return s.destroy();
      if (buf.length < 4 + len) break;
      const id = len > 0 ? buf[4] : -1;
      if (id === 0) {
        choked = true;
        outstanding = 0; // no fast extension: a choke drops every request
      } else if (id === 1) {
        choked = false;
        if (!unchokedOnce) {
          unchokedOnce = true;
          everUnchoked++;
        }
      } else if (id === 7) {
        bytes += len - 9;
        outstanding = Math.max(0, outstanding - 1);
      }
      buf = buf.subarray(4 + len);
    }
    request();
  });
  s.on('error', () => {});
  const handshakeTimer = setTimeout(() => s.destroy(), HANDSHAKE_MS);
  s.on('close', () => {
    clearTimeout(handshakeTimer);
    if (!handshaken) failed++;
  });
}

for (let i = 0; i < count; i++) leecher(i);
const started = Date.now();
const end = () => {
  for (const s of sockets) s.destroy();
  console.log(JSON.stringify({ connected, failed, unchoked: everUnchoked, bytes, seconds: (Date.now() - started) / 1000 }));
  process.exit(0);
};
if (seconds > 0) setTimeout(end, seconds * 1000);
else {
  setInterval(() => console.log(JSON.stringify({ progress: true, connected, failed, bytes })), 500);
  process.stdin.on('end', end).resume();
}
