// deadline: 300s
/**
 * libtorrent (python3-libtorrent) downloads from meshseed as the only seed: a multi-file
 * torrent from its .torrent file; the same from a magnet link alone (the info dict comes
 * over BEP 9 ut_metadata); and with an upload limit, where the real transfer time brackets
 * the limit (loose bounds: at least 85% of size/rate, since a burst of a tenth of a second
 * is allowed; and not absurdly slower).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, deadline, requirePrograms, run, tempDir } from '../helpers';
import { makeData, makeTorrent, startDaemon, treeDigest } from './seed-helpers';

const PY = '/usr/bin/python3';
const LT = join(ROOT, 'test', 'interop', 'lt-download.py');

function setup(name: string, sizes?: number[]) {
  const tmp = tempDir(`meshseed-seed-lt-${name}-`);
  for (const d of ['torrents', 'data', 'state', 'dl']) mkdirSync(join(tmp.path, d));
  const src = makeData(join(tmp.path, 'data'), name, sizes);
  return { tmp, base: tmp.path, src };
}

test(
  'libtorrent downloads a multi-file torrent from meshseed, byte for byte',
  deadline(60_000, async () => {
    if (!requirePrograms(PY, 'mktorrent')) return;
    const { tmp, base, src } = setup('lt-files');
    try {
      const t = await makeTorrent(join(base, 'data'), 'lt-files', join(base, 'torrents', 'lt-files.torrent'));
      const daemon = await startDaemon(base, ['--seeder-upload-rate', '0']);
      try {
        const r = await run(PY, [LT, '--torrent', t.file, '--save', join(base, 'dl'), '--peer', `127.0.0.1:${daemon.port}`, '--timeout', '40'], { timeoutMs: 50_000 });
        assert.is(r.code, 0, `libtorrent failed:\n${r.stdout}${r.stderr}\n${daemon.log()}`);
        assert.equal(treeDigest(join(base, 'dl', 'lt-files')), treeDigest(src));
      } finally {
        await daemon.stop();
      }
    } finally {
      tmp.remove();
    }
  }),
);

test(
  'a magnet link completes against meshseed (metadata over ut_metadata)',
  deadline(60_000, async () => {
    if (!requirePrograms(PY, 'mktorrent')) return;
    // an info dict of more than 16 KiB, so several ut_metadata pieces are needed
    const { tmp, base, src } = setup('lt-magnet', [35_000_000, 70_001, 3]);
    try {
      const t = await makeTorrent(join(base, 'data'), 'lt-magnet', join(base, 'torrents', 'lt-magnet.torrent'), undefined, 15);
      const daemon = await startDaemon(base, ['--seeder-upload-rate', '0']);
      try {
        const magnet = `magnet:?xt=urn:btih:${t.infoHash}&dn=lt-magnet`;
        const r = await run(PY, [LT, '--magnet', magnet, '--save', join(base, 'dl'), '--peer', `127.0.0.1:${daemon.port}`, '--timeout', '45'], { timeoutMs: 55_000 });
        assert.is(r.code, 0, `libtorrent failed:\n${r.stdout}${r.stderr}\n${daemon.log()}`);
        assert.equal(treeDigest(join(base, 'dl', 'lt-magnet')), treeDigest(src));
      } finally {
        await daemon.stop();
      }
    } finally {
      tmp.remove();
    }
  }),
);

test(
  'the upload limit holds against libtorrent on loopback',
  deadline(90_000, async () => {
    if (!requirePrograms(PY, 'mktorrent')) return;
    const size = 6 * 1024 * 1024;
    const rateKiB = 1024;
    const { tmp, base, src } = setup('lt-rate', [size - 1000, 990, 10]);
    try {
      const t = await makeTorrent(join(base, 'data'), 'lt-rate', join(base, 'torrents', 'lt-rate.torrent'));
      const daemon = await startDaemon(base, ['--seeder-upload-rate', String(rateKiB)]);
      try {
        const r = await run(PY, [LT, '--torrent', t.file, '--save', join(base, 'dl'), '--peer', `127.0.0.1:${daemon.port}`, '--timeout', '70'], { timeoutMs: 80_000 });
        assert.is(r.code, 0, `libtorrent failed:\n${r.stdout}${r.stderr}`);
        assert.equal(treeDigest(join(base, 'dl', 'lt-rate')), treeDigest(src));
        const seconds = Number(/complete ([\d.]+) s/.exec(r.stdout)![1]);
        const ideal = size / (rateKiB * 1024);
        assert.ok(seconds >= 0.85 * ideal, `${size} bytes in ${seconds} s is faster than ${rateKiB} KiB/s allows`);
        assert.ok(seconds <= 6 * ideal + 20, `${size} bytes took ${seconds} s at ${rateKiB} KiB/s`);
      } finally {
        await daemon.stop();
      }
    } finally {
      tmp.remove();
    }
  }),
);

test(
  'two libtorrent clients learn each other over PEX from meshseed',
  deadline(60_000, async () => {
    if (!requirePrograms(PY, 'mktorrent')) return;
    // slow enough that both are still downloading when PEX goes out
    const { tmp, base } = setup('lt-pex', [8 * 1024 * 1024, 1000, 10]);
    try {
      const t = await makeTorrent(join(base, 'data'), 'lt-pex', join(base, 'torrents', 'lt-pex.torrent'));
      const daemon = await startDaemon(base, ['--seeder-upload-rate', '64']);
      try {
        const r = await run(PY, [join(ROOT, 'test', 'interop', 'lt-pex.py'), t.file, join(base, 'dl'), `127.0.0.1:${daemon.port}`, '--timeout', '40'], { timeoutMs: 50_000 });
        assert.is(r.code, 0, `no PEX:\n${r.stdout}${r.stderr}\n${daemon.log()}`);
        assert.match(r.stdout, /pex ok/);
      } finally {
        await daemon.stop();
      }
    } finally {
      tmp.remove();
    }
  }),
);

test.run();
