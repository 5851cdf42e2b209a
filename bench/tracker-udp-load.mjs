#!/usr/bin/env node
// UDP tracker load generator (BEP 15) for bench/tracker.mjs. Plain JS, no dependencies.
//
//   rate mode (default): connect on each of --sockets sockets, then send announces open loop
//     at --rate per second for --seconds (never waiting on replies), varying info hashes
//     among --torrents from --torrent-base
//     (the bench's pattern: 16 bytes 0x6d + uint32 torrent index), peer ids, ports and left;
//     prints {"sent","received","seconds","replies_per_s","sent_per_s","loss"}.
//   fill mode (--fill): announces every (torrent, port) pair for --torrents × --peers, at most
//     --window outstanding, resending what is unanswered; prints {"announced","seconds"}.
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
};
const host = arg('host', '127.0.0.1');
const port = Number(arg('port', '6969'));
const torrents = Number(arg('torrents', '1000'));
/** First torrent index (a stepped bench gives each step fresh swarms). */
const torrentBase = Number(arg('torrent-base', '0'));
const fill = process.argv.includes('--fill');

const PROTOCOL_ID = 0x41727101980n;
const hash = (t) => {
  const b = Buffer.alloc(20, 0x6d);
  b.writeUInt32BE(t, 16);
  return b;
};
function connectRequest(tid) {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(PROTOCOL_ID, 0);
  b.writeUInt32BE(0, 8);
  b.writeUInt32BE(tid, 12);
  return b;
}
function announce(cid, tid, t, peerPort, left, numWant) {
  const b = Buffer.alloc(98);
  cid.copy(b, 0);
  b.writeUInt32BE(1, 8);
  b.writeUInt32BE(tid, 12);
  hash(t).copy(b, 16);
  b.write('-BENCH0-', 36, 'latin1');
  randomBytes(12).copy(b, 44);
  b.writeBigUInt64BE(BigInt(left), 64);
  b.writeUInt32BE(2, 80); // started
  b.writeInt32BE(numWant, 92);
  b.writeUInt16BE(peerPort, 96);
  return b;
}

async function connectAll(n) {
  const socks = [];
  for (let i = 0; i < n; i++) {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise((r) => s.bind(0, r));
    s.setRecvBufferSize?.(4 << 20);
    socks.push(s);
  }
  return Promise.all(
    socks.map(
      (s, i) =>
        new Promise((resolve, reject) => {
          let tries = 0;
          const tid = 0x10000 + i;
          const send = () => {
            if (tries++ > 5) return reject(new Error('no connect reply'));
            s.send(connectRequest(tid), port, host);
          };
          const t = setInterval(send, 500);
          s.once('message', (m) => {
            clearInterval(t);
            if (m.readUInt32BE(0) !== 0 || m.readUInt32BE(4) !== tid) return reject(new Error('bad connect reply'));
            resolve({ s, cid: m.subarray(8, 16) });
          });
          send();
        }),
    ),
  );
}

async function rateMode() {
  const rate = Number(arg('rate', '20000'));
  const seconds = Number(arg('seconds', '10'));
  const conns = await connectAll(Number(arg('sockets', '32')));
  let received = 0;
  let sent = 0;
  let counting = true;
  for (const { s } of conns) s.on('message', (m) => counting && m.length >= 20 && m.readUInt32BE(0) === 1 && received++);
  const start = process.hrtime.bigint();
  let k = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
      if (elapsed >= seconds) return resolve();
      const due = Math.floor(elapsed * rate) - sent;
      for (let i = 0; i < Math.min(due, 2000); i++) {
        const c = conns[k++ % conns.length];
        c.s.send(announce(c.cid, sent, torrentBase + Math.floor(Math.random() * torrents), 1024 + Math.floor(Math.random() * 64000), Math.random() < 0.5 ? 0 : 1000, -1), port, host);
        sent++;
      }
      setImmediate(tick);
    };
    tick();
  });
  // replies still in flight are counted for a moment, then the count stops
  await new Promise((r) => setTimeout(r, 300));
  counting = false;
  console.log(JSON.stringify({ sent, received, seconds, replies_per_s: Math.round(received / seconds), sent_per_s: Math.round(sent / seconds), loss: sent ? 1 - received / sent : 0 }));
  for (const { s } of conns) s.close();
}

async function fillMode() {
  const peers = Number(arg('peers', '10'));
  const window = Number(arg('window', '512'));
  const [{ s, cid }] = await connectAll(1);
  const total = torrents * peers;
  const pending = new Map(); // tid -> sentAt
  let next = 0;
  let done = 0;
  const start = Date.now();
  const sendOne = (i) => {
    pending.set(i, Date.now());
    s.send(announce(cid, i, Math.floor(i / peers), 10000 + (i % peers), 1000, 0), port, host);
  };
  await new Promise((resolve) => {
    s.on('message', (m) => {
      if (m.length < 8 || m.readUInt32BE(0) !== 1) return;
      const tid = m.readUInt32BE(4);
      if (!pending.delete(tid)) return;
      done++;
      while (next < total && pending.size < window) sendOne(next++);
      if (done === total) resolve();
    });
    const resend = setInterval(() => {
      const now = Date.now();
      for (const [tid, at] of pending) if (now - at > 1000) sendOne(tid);
      if (done === total) clearInterval(resend);
    }, 500);
    while (next < total && pending.size < window) sendOne(next++);
  });
  console.log(JSON.stringify({ announced: total, seconds: (Date.now() - start) / 1000 }));
  s.close();
}

(fill ? fillMode() : rateMode()).catch((e) => {
  console.error(e.message);
  process.exit(1);
});
