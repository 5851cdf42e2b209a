// deadline: 200s
/**
 * Mirror mode with web seeds (BEP 19) served by Debian's nginx on loopback: a multi-file and
 * a single-file torrent downloaded from the web seed alone; two libtorrent seeders plus the
 * web seed at once; a web seed serving wrong bytes is dropped while an honest peer completes
 * the download. Byte for byte each time.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, cpSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, deadline, meshseed, randomPort, requirePrograms, run, tempDir, waitFor } from '../helpers';
import { NGINX, startNginx } from '../helpers/nginx';
import { makeData, startDaemon, treeDigest } from './seed-helpers';

const PY = '/usr/bin/python3';

async function mktorrent(dir: string, name: string, out: string, webSeed: string): Promise<string> {
  const r = await run('mktorrent', ['-l', '16', '-a', 'http://127.0.0.1:1/announce', '-w', webSeed, '-o', out, name], { cwd: dir, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`mktorrent failed: ${r.stderr}`);
  return out;
}

function setup(name: string) {
  const tmp = tempDir(`meshseed-mirror-web-${name}-`);
  for (const d of ['torrents', 'data', 'state', 'www']) mkdirSync(join(tmp.path, d));
  return { tmp, base: tmp.path };
}

async function ltSeeder(torrent: string, data: string, peer: string, host: string, limit: number): Promise<ChildProcess> {
  const c = spawn(PY, [join(ROOT, 'test', 'interop', 'lt-seeder.py'), '--torrent', torrent, '--data', data, '--port', String(randomPort()), '--peer', peer, '--host', host, '--upload-limit', String(limit)]);
  let log = '';
  c.stdout!.on('data', (d) => (log += d));
  c.stderr!.on('data', (d) => (log += d));
  await waitFor('a libtorrent seeder', 30_000, () => log.includes('ready') || c.exitCode !== null);
  return c;
}

const completeLine = (log: string, name: string) => new RegExp(`${name}: download complete: .*`).exec(log)?.[0] ?? '';

test(
  'from a web seed alone: a multi-file torrent and a single-file one',
  deadline(60_000, async () => {
    if (!requirePrograms(NGINX, 'mktorrent')) return;
    const { tmp, base } = setup('alone');
    const src = makeData(join(base, 'www'), 'web-multi', [3_000_017, 200_000, 9]);
    const nginx = await startNginx({ root: join(base, 'www') });
    try {
      await mktorrent(join(base, 'www'), 'web-multi', join(base, 'torrents', 'web-multi.torrent'), nginx.url);
      await mktorrent(join(base, 'www', 'web-multi'), 'a.bin', join(base, 'torrents', 'web-single.torrent'), `${nginx.url}web-multi/a.bin`);
      const daemon = await startDaemon(base, [], { waitSeeding: false });
      try {
        await waitFor('both downloads to complete', 40_000, () => completeLine(daemon.log(), 'web-multi') !== '' && completeLine(daemon.log(), 'a.bin') !== '');
        for (const name of ['web-multi', 'a.bin']) {
          assert.match(completeLine(daemon.log(), name), /from peers 0 B, from web seeds /);
          console.log(`  ${completeLine(daemon.log(), name)}`);
        }
        assert.equal(treeDigest(join(base, 'data', 'web-multi')), treeDigest(src));
        assert.equal(treeDigest(join(base, 'data')).get('a.bin'), treeDigest(src).get('a.bin'));
        const status = JSON.parse((await meshseed(['status', '--json', '--state-dir', join(base, 'state')])).stdout);
        const t = status.torrents.find((x: { name: string }) => x.name === 'web-multi');
        assert.is(t.progress, 1);
        assert.is(t.webSeeds[0].url, nginx.url);
        assert.is(t.webSeeds[0].state, 'ok');
      } finally {
        await daemon.stop();
      }
    } finally {
      await nginx.stop();
      tmp.remove();
    }
  }),
);

test(
  'from a web seed with the hash thread on (seeder.hash_thread_rate 1): the pieces it hashes are the served bytes',
  deadline(60_000, async () => {
    if (!requirePrograms(NGINX, 'mktorrent')) return;
    const { tmp, base } = setup('thread');
    const src = makeData(join(base, 'www'), 'web-thread', [48 * 2 ** 20 + 5]);
    const nginx = await startNginx({ root: join(base, 'www') });
    try {
      await mktorrent(join(base, 'www', 'web-thread'), 'a.bin', join(base, 'torrents', 'web-thread.torrent'), `${nginx.url}web-thread/a.bin`);
      const daemon = await startDaemon(base, ['--seeder-hash-thread-rate', '1'], { waitSeeding: false });
      try {
        await waitFor('the download to complete', 40_000, () => completeLine(daemon.log(), 'a.bin') !== '');
        await waitFor('the hash thread to have started', 10_000, () => /hash thread started: a web seed reads at \d+ MiB\/s/.test(daemon.log()));
        console.log(`  ${completeLine(daemon.log(), 'a.bin')}`);
        assert.not.match(daemon.log(), /failed its hash check|hash thread failed|hash thread ended/);
        assert.equal(treeDigest(join(base, 'data')).get('a.bin'), treeDigest(src).get('a.bin'));
      } finally {
        await daemon.stop();
      }
    } finally {
      await nginx.stop();
      tmp.remove();
    }
  }),
);

test(
  'two libtorrent seeders and a web seed fill one download together',
  deadline(60_000, async () => {
    if (!requirePrograms(NGINX, 'mktorrent', PY)) return;
    const { tmp, base } = setup('together');
    const src = makeData(join(base, 'www'), 'web-both', [20_000_017, 100_000, 9]);
    // the web seed slowed down (32 KiB/s a connection: nginx allows each response a second's
    // worth at once, so a 64 KiB piece takes about a second), so the peers are up before it is done
    const nginx = await startNginx({ root: join(base, 'www'), serverConfig: 'limit_rate 32k;' });
    const seeders: ChildProcess[] = [];
    try {
      const torrent = await mktorrent(join(base, 'www'), 'web-both', join(base, 'torrents', 'web-both.torrent'), nginx.url);
      const daemon = await startDaemon(base, [], { waitSeeding: false });
      try {
        for (const host of ['127.0.0.2', '127.0.0.3']) seeders.push(await ltSeeder(torrent, join(base, 'www'), `127.0.0.1:${daemon.port}`, host, 0));
        await waitFor('the download to complete', 40_000, () => completeLine(daemon.log(), 'web-both') !== '');
        const line = completeLine(daemon.log(), 'web-both');
        console.log(`  ${line}`);
        const m = /from peers ([\d.]+) (\w+), from web seeds ([\d.]+) (\w+)/.exec(line)!;
        assert.ok(Number(m[1]) > 0 && Number(m[3]) > 0, `both peers and the web seed contributed: ${line}`);
        assert.equal(treeDigest(join(base, 'data', 'web-both')), treeDigest(src));
      } finally {
        await daemon.stop();
      }
    } finally {
      for (const s of seeders) s.kill('SIGKILL');
      await nginx.stop();
      tmp.remove();
    }
  }),
);

test(
  'two reads in flight at once, on two kept-alive connections, each a run of whole pieces',
  deadline(60_000, async () => {
    if (!requirePrograms(NGINX, 'mktorrent')) return;
    const { tmp, base } = setup('inflight');
    // 6 pieces of 64 KiB and a short seventh; nginx slowed to 32 KiB/s a connection (a second's
    // worth at once), so a one-piece answer takes about a second and two reads in flight overlap
    const size = 6 * 65536 + 1000;
    const src = makeData(join(base, 'www'), 'web-two', [size]);
    const nginx = await startNginx({ root: join(base, 'www'), serverConfig: 'limit_rate 32k;', accessLog: true });
    try {
      await mktorrent(join(base, 'www', 'web-two'), 'a.bin', join(base, 'torrents', 'web-two.torrent'), `${nginx.url}web-two/a.bin`);
      const daemon = await startDaemon(base, [], { waitSeeding: false });
      try {
        await waitFor('the download to complete', 40_000, () => completeLine(daemon.log(), 'a.bin') !== '');
        console.log(`  ${completeLine(daemon.log(), 'a.bin')}`);
        assert.equal(treeDigest(join(base, 'data')).get('a.bin'), treeDigest(src).get('a.bin'));
      } finally {
        await daemon.stop();
      }
      // <end s> <duration s> <connection> <status> bytes=<first>-<last>
      const requests = nginx
        .accessLog()
        .trim()
        .split('\n')
        .map((line) => {
          const [end, duration, connection, status, range] = line.split(' ');
          const [first, last] = /^bytes=(\d+)-(\d+)$/.exec(range ?? '')!.slice(1).map(Number);
          return { start: Number(end) - Number(duration), end: Number(end), connection: Number(connection), status: Number(status), first: first!, last: last! };
        });
      for (const r of requests) console.log(`  ${r.connection}: ${r.first}-${r.last} from ${r.start.toFixed(3)} to ${r.end.toFixed(3)}`);
      assert.ok(requests.every((r) => r.status === 206));
      // whole pieces, each asked once: the ranges tile the file
      const sorted = [...requests].sort((a, b) => a.first - b.first);
      let next = 0;
      for (const r of sorted) {
        assert.is(r.first, next, 'ranges start where the last one ended');
        assert.ok((r.last + 1) % 65536 === 0 || r.last + 1 === size, `range ${r.first}-${r.last} ends on a piece boundary`);
        next = r.last + 1;
      }
      assert.is(next, size);
      const overlapping = requests.some((a) => requests.some((b) => a.connection !== b.connection && a.start < b.end && b.start < a.end));
      assert.ok(overlapping, 'two requests on two connections were answered at the same time');
      assert.is(new Set(requests.map((r) => r.connection)).size, 2, 'two connections, kept alive');
    } finally {
      await nginx.stop();
      tmp.remove();
    }
  }),
);

test(
  'a web seed serving wrong bytes is dropped; an honest peer completes the download',
  deadline(60_000, async () => {
    if (!requirePrograms(NGINX, 'mktorrent', PY)) return;
    const { tmp, base } = setup('bad');
    const src = makeData(join(base, 'www'), 'web-bad', [3_000_017, 100_000, 9]);
    // the web server's copy is corrupted (one byte in every 64 KiB)
    const bad = join(base, 'bad');
    cpSync(join(base, 'www'), bad, { recursive: true });
    const fd = openSync(join(bad, 'web-bad', 'a.bin'), 'r+');
    for (let at = 7; at < 3_000_017; at += 65536) writeSync(fd, Buffer.from([at & 0xff ^ 0xa5]), 0, 1, at);
    closeSync(fd);
    const nginx = await startNginx({ root: bad });
    let seeder: ChildProcess | undefined;
    try {
      // the torrent names this nginx as its web seed
      const torrent = await mktorrent(join(base, 'www'), 'web-bad', join(base, 'torrents', 'web-bad.torrent'), nginx.url);
      const daemon = await startDaemon(base, [], { waitSeeding: false });
      try {
        await waitFor('the web seed to be dropped', 30_000, () => /web seed .* dropped/.test(daemon.log()));
        seeder = await ltSeeder(torrent, join(base, 'www'), `127.0.0.1:${daemon.port}`, '127.0.0.2', 0);
        await waitFor('the download to complete', 30_000, () => completeLine(daemon.log(), 'web-bad') !== '');
        assert.equal(treeDigest(join(base, 'data', 'web-bad')), treeDigest(src));
        const status = JSON.parse((await meshseed(['status', '--json', '--state-dir', join(base, 'state')])).stdout);
        assert.is(status.torrents[0].webSeeds[0].state, 'dropped');
      } finally {
        await daemon.stop();
      }
    } finally {
      seeder?.kill('SIGKILL');
      await nginx.stop();
      tmp.remove();
    }
  }),
);

test.run();
