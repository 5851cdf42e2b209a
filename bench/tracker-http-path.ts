/**
 * The HTTP announce path alone, without sockets: request head bytes in (as bench/tracker.lua
 * sends them: 1,000 torrents, random peer ids and ports), parseHead, the tracker service's
 * handler, the reply written into the front's reply buffer; reply bytes out. Prints the CPU time per announce and how many
 * announces pass between two young-generation GCs (garbage made per announce), the part of
 * an HTTP announce the tracker's own code decides (bundled and run by bench/tracker.mjs,
 * with the init script's node flags).
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSettings, type Settings } from '../src/config/settings';
import { createLogger } from '../src/util/log';
import { systemClock } from '../src/util/clock';
import { TrackerService } from '../src/tracker/tracker-service';
import { parseHead, responseLength, writeResponse, type FrontReply, type RequestHeaders } from '../src/tracker/http-front';

const ANNOUNCES = Number(process.env.ANNOUNCES ?? 200000);
const TORRENTS = 1000;
const dir = mkdtempSync(join(tmpdir(), 'meshseed-http-path-'));
const settings = {
  ...defaultSettings(),
  'main.state_dir': dir,
  'tracker.allowed_dir': join(dir, 'torrents'),
  'tracker.rate_limit': 0,
  'tracker.max_torrents': 1e6,
  'tracker.max_peers': 1e7,
  'tracker.max_peers_per_torrent': 1e6,
} as Settings;
const service = new TrackerService({ log: createLogger('error', () => {}), clock: systemClock }, settings);
// the handler the HTTP front calls for each request (private: reached as the front reaches it)
type Handler = (target: Uint8Array, from: Uint8Array, local: () => Uint8Array | undefined, headers: RequestHeaders) => FrontReply | Promise<FrontReply>;
const handle = (service as unknown as { handleHttp: Handler }).handleHttp.bind(service);

const hex = (n: number) => '%' + n.toString(16).toUpperCase().padStart(2, '0');
const rnd = (n: number) => Math.floor(Math.random() * n);
function request(): Buffer {
  const t = rnd(TORRENTS);
  const ih = '%6D'.repeat(16) + hex((t >>> 24) & 255) + hex((t >>> 16) & 255) + hex((t >>> 8) & 255) + hex(t & 255);
  let pid = '-BENCH0-';
  for (let i = 0; i < 12; i++) pid += hex(rnd(256));
  const left = rnd(2) ? '0' : '1000';
  const target = `/announce?info_hash=${ih}&peer_id=${pid}&port=${1024 + rnd(64000)}&uploaded=0&downloaded=0&left=${left}&compact=1&numwant=50`;
  return Buffer.from(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
}
const requests = Array.from({ length: 65536 }, request);
const from = new Uint8Array([10, 0, 0, 1]);
let replyBytes = 0;
// the front's reply buffer (a reply the kernel takes at once leaves it free for the next)
const replyBuffer = Buffer.allocUnsafeSlow(16 * 1024);
function run(n: number): void {
  for (let i = 0; i < n; i++) {
    const head = parseHead(requests[i & 65535]!);
    if (head.kind !== 'request') throw new Error('bad request in the bench');
    const reply = handle(head.target, from, () => from, head.headers);
    if (reply instanceof Promise) throw new Error('an announce answers at once');
    if (responseLength(reply, false) > replyBuffer.length) throw new Error('an announce reply fits the reply buffer');
    replyBytes += replyBuffer.subarray(0, writeResponse(reply, false, replyBuffer)).length;
  }
}

let minorGcs = 0;
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minorGcs++;
});
run(65536); // warm-up: every peer announced once, the path compiled
observer.observe({ entryTypes: ['gc'] });
const cpu0 = process.cpuUsage();
run(ANNOUNCES);
const cpu = process.cpuUsage(cpu0);
// gc entries are delivered asynchronously
setTimeout(() => {
  observer.disconnect();
  rmSync(dir, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      announces: ANNOUNCES,
      peers: service.core.store.peers,
      cpu_us_per_announce: Math.round(((cpu.user + cpu.system) / ANNOUNCES) * 100) / 100,
      announces_per_minor_gc: minorGcs ? Math.round(ANNOUNCES / minorGcs) : null,
      reply_bytes: replyBytes,
    }),
  );
}, 100);
