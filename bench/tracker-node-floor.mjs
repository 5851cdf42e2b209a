#!/usr/bin/env node
// The floor under meshseed's HTTP tracker, for bench/tracker.mjs: a bare node:net server that
// answers every request with the same compact announce reply (50 peers) and closes, as the
// tracker's front does, with no parsing, no swarm and no admission. Node's own work per
// connection (accept, getpeername, read, write, close, the Socket object and its garbage) is
// what is left, so meshseed's rate against it says how much of the gap to opentracker is the
// tracker's own code.
//
//   node bench/tracker-node-floor.mjs --port N
import { createServer } from 'node:net';

const i = process.argv.indexOf('--port');
const port = Number(process.argv[i + 1]);
const body = Buffer.concat([
  Buffer.from('d8:completei1e10:downloadedi0e10:incompletei1e8:intervali1800e12:min intervali900e5:peers300:', 'latin1'),
  Buffer.alloc(300, 1),
  Buffer.from('e', 'latin1'),
]);
const reply = Buffer.concat([
  Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n`, 'latin1'),
  body,
]);
const ignore = () => {};
function onData() {
  // the tracker reads the client's address for every announce (a getpeername)
  void this.remoteAddress;
  this.write(reply);
  this.destroy();
}
createServer({ allowHalfOpen: false }, (s) => {
  s.on('error', ignore);
  s.on('data', onData);
}).listen({ host: '127.0.0.1', port, backlog: 511 });
