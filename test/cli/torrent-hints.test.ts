// deadline: 60s
// What create and reannounce tell the user: the warning for a torrent without a tracker,
// and reannounce -q printing only errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deadline, meshseed, tempDir } from '../helpers';

const oneLine = (s: string, what: string) => assert.is(s.trim().split('\n').length, 1, `${what}: ${s}`);

test(
  'create without -a warns (the torrent has no tracker) and suggests the mesh tracker; -q stays silent; with -a no warning',
  deadline(20000, async () => {
    const dir = tempDir();
    try {
      const f = join(dir.path, 'lonely.bin');
      writeFileSync(f, randomBytes(1000));
      const out = join(dir.path, 'lonely.torrent');
      const r = await meshseed(['create', '-o', out, f]);
      assert.is(r.code, 0, r.stderr);
      const warning = r.stderr.split('\n').find((l) => l.startsWith('meshseed: warning:'));
      assert.is(warning, `meshseed: warning: ${out} has no tracker: clients find its peers only by LPD, PEX or the DHT. Add the mesh tracker: -a http://<mesh router>:6969/announce (or now: meshseed reannounce http://<mesh router>:6969/announce ${out})`);
      const q = await meshseed(['create', '-q', '-f', '-o', out, f]);
      assert.is(q.stdout + q.stderr, '');
      const a = await meshseed(['create', '-f', '-a', 'http://127.0.0.1:1/announce', '-o', out, f]);
      assert.not.match(a.stderr, /warning/);
    } finally {
      dir.remove();
    }
  }),
);

test(
  'reannounce -q prints only errors, as its help and the README say',
  deadline(20000, async () => {
    const help = (await meshseed(['reannounce', '--help'])).stdout;
    assert.match(help, /-q, --quiet +print only errors \(on stderr\)/);
    const dir = tempDir();
    try {
      const f = join(dir.path, 'x.bin');
      writeFileSync(f, randomBytes(1000));
      const t = join(dir.path, 'x.torrent');
      assert.is((await meshseed(['create', '-q', '-a', 'http://127.0.0.1:1/announce', '-o', t, f])).code, 0);
      const bad = join(dir.path, 'bad.torrent');
      writeFileSync(bad, 'not bencode');
      const r = await meshseed(['reannounce', '-q', 'http://127.0.0.1:2/announce', t, bad]);
      assert.is(r.code, 1);
      assert.is(r.stdout, '');
      oneLine(r.stderr, 'reannounce -q error');
      assert.match(r.stderr, /bad\.torrent/);
    } finally {
      dir.remove();
    }
  }),
);

test.run();
