// deadline: 10s
// The daemon's memory figures: /proc/PID/status parsed, Node's figures joined, no procfs tolerated.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseProcStatus, processMemory } from '../../src/util/process-memory';

const STATUS = `Name:\tnode
VmPeak:\t 1052348 kB
VmHWM:\t   61232 kB
VmRSS:\t   58100 kB
RssAnon:\t   21012 kB
RssFile:\t   37088 kB
RssShmem:\t       0 kB
Threads:\t7
`;

test('VmRSS, RssAnon, RssFile and VmHWM in bytes; a missing line is null', () => {
  assert.equal(parseProcStatus(STATUS), { rss: 58100 * 1024, rssAnon: 21012 * 1024, rssFile: 37088 * 1024, rssPeak: 61232 * 1024 });
  assert.equal(parseProcStatus('Name:\tnode\nVmRSS:\t12 kB\n'), { rss: 12 * 1024, rssAnon: null, rssFile: null, rssPeak: null });
  // a key is matched whole, at a line start
  assert.equal(parseProcStatus('XRssAnon:\t5 kB\nRssAnonymous:\t6 kB\n').rssAnon, null);
});

const usage = { rss: 50, heapTotal: 40, heapUsed: 30, external: 20, arrayBuffers: 10 };
const spaces = () => [
  { space_name: 'new_space', space_used_size: 5 },
  { space_name: 'code_space', space_used_size: 7 },
];

test("Node's figures, the code space and the kernel's split", () => {
  const m = processMemory({ memoryUsage: () => usage, readProcStatus: () => STATUS, heapSpaces: spaces });
  assert.equal(m, { rss: 50, rssAnon: 21012 * 1024, rssFile: 37088 * 1024, rssPeak: 61232 * 1024, heapTotal: 40, heapUsed: 30, codeSpace: 7, external: 20, arrayBuffers: 10 });
});

test('without procfs the kernel figures are null, the rest is there', () => {
  const m = processMemory({
    memoryUsage: () => usage,
    readProcStatus: () => {
      throw new Error('ENOENT');
    },
    heapSpaces: () => [],
  });
  assert.equal(m, { rss: 50, rssAnon: null, rssFile: null, rssPeak: null, heapTotal: 40, heapUsed: 30, codeSpace: 0, external: 20, arrayBuffers: 10 });
});

test('this process on Linux: every figure is there', () => {
  const m = processMemory();
  assert.ok(m.rssAnon! > 0 && m.rssFile! > 0 && m.rssAnon! + m.rssFile! <= m.rss + 1024 * 1024);
});

test.run();
