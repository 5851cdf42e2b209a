// deadline: 60s
/**
 * The subscription service against a loopback HTTP server: a good catalog.json adds its
 * torrents (and only them) into torrent_dir, a second round is a conditional GET that changes
 * nothing, a torrent that leaves the catalog is removed with catalog_remove (a hand-placed one
 * never is), max_disk_mb makes the rest wait in catalog order. Hostile catalogs (huge, slow,
 * malformed, a torrent with a hostile path, an oversize torrent, a wrong info hash, a name
 * with <script>) change nothing and log one line each, once.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CATALOG_STATE_FILE, CatalogService, MAX_STATE_BYTES } from '../../src/catalog/catalog-service';
import { defaultSettings, type Settings } from '../../src/config/settings';
import { ManualClock } from '../../src/util/clock';
import { deadline, tempDir } from '../helpers';
import { makeTorrent, memoryLogger } from '../tracker/fixtures';
import { multiInfo, torrent } from '../fixtures/hostile-torrents';

interface Site {
  server: Server;
  base: string;
  files: Map<string, { body: Buffer | string; type?: string }>;
  conditional: number;
  close(): Promise<void>;
}

async function site(): Promise<Site> {
  const s = { files: new Map(), conditional: 0 } as unknown as Site;
  s.server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/slow') {
      // a byte a second, never finished: the fetch deadline must cut it
      res.writeHead(200, { 'Content-Type': 'text/html' });
      const t = setInterval(() => res.write('<'), 1000);
      res.on('close', () => clearInterval(t));
      return;
    }
    if (path === '/huge') {
      res.writeHead(200, { 'Content-Type': 'text/html' }); // no Content-Length: counted while read
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      const more = () => {
        while (sent < 6 << 20) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end();
      };
      res.on('error', () => undefined);
      return more();
    }
    const f = s.files.get(path);
    if (!f) return void res.writeHead(404).end();
    const etag = `"${Buffer.from(String(f.body.length) + String(f.body).slice(0, 4000)).toString('base64').slice(0, 40)}"`;
    if (req.headers['if-none-match'] === etag) {
      s.conditional++;
      return void res.writeHead(304, { ETag: etag }).end();
    }
    res.writeHead(200, { 'Content-Type': f.type ?? 'application/x-bittorrent', ETag: etag });
    res.end(f.body);
  });
  await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r));
  s.base = `http://127.0.0.1:${(s.server.address() as { port: number }).port}`;
  s.close = () =>
    new Promise<void>((r) => {
      s.server.closeAllConnections();
      s.server.close(() => r());
    });
  return s;
}

function settings(dir: string, catalogs: string[], over: Partial<Settings> = {}): Settings {
  return {
    ...defaultSettings(),
    'main.state_dir': join(dir, 'state'),
    'seeder.torrent_dir': join(dir, 'torrents'),
    'seeder.catalog': catalogs,
    ...over,
  } as Settings;
}

const catalogJson = (s: Site, names: string[], extra: object[] = []) =>
  JSON.stringify({ catalog: 'meshseed', version: 1, torrents: [...names.map((n) => ({ name: n, torrent_url: `${s.base}/t/${n}.torrent` })), ...extra] });

const torrentsIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.torrent')).sort() : []);

test(
  'catalog.json: new torrents added, a second round is a conditional GET, removal with catalog_remove, hand-placed kept',
  deadline(20_000, async () => {
    const s = await site();
    const tmp = tempDir('meshseed-catalog-');
    const log = memoryLogger();
    const made = ['alpha', 'beta', 'gamma'].map((n) => ({ n, t: makeTorrent(`${n}.iso`) }));
    for (const { n, t } of made) s.files.set(`/t/${n}.torrent`, { body: Buffer.from(t.bytes) });
    s.files.set('/catalog.json', { body: catalogJson(s, ['alpha', 'beta', 'gamma']), type: 'application/json' });
    const svc = new CatalogService({ log, clock: new ManualClock() }, settings(tmp.path, [`${s.base}/catalog.json`], { 'seeder.catalog_remove': true }));
    try {
      mkdirSync(join(tmp.path, 'torrents'), { recursive: true });
      const hand = makeTorrent('by-hand.iso');
      writeFileSync(join(tmp.path, 'torrents', 'by-hand.torrent'), hand.bytes);
      await svc.start();
      await svc.refreshAll();
      assert.equal(torrentsIn(join(tmp.path, 'torrents')), ['alpha.iso.torrent', 'beta.iso.torrent', 'by-hand.torrent', 'gamma.iso.torrent']);
      assert.ok(log.lines.some((l) => /catalog\.json: 3 torrent\(s\) added, 0 removed/.test(l)), log.lines.join('\n'));
      const lines = log.lines.length;
      await svc.refreshAll();
      assert.is(s.conditional, 1, 'the second fetch is answered 304');
      assert.is(log.lines.length, lines, 'nothing logged when nothing changed');
      // beta leaves the catalog
      s.files.set('/catalog.json', { body: catalogJson(s, ['alpha', 'gamma']), type: 'application/json' });
      await svc.refreshAll();
      assert.equal(torrentsIn(join(tmp.path, 'torrents')), ['alpha.iso.torrent', 'by-hand.torrent', 'gamma.iso.torrent']);
      assert.ok(log.lines.some((l) => /beta\.iso\.torrent removed: it left/.test(l)));
      // the record survives a restart: gamma leaves while the daemon was down
      await svc.close();
      s.files.set('/catalog.json', { body: catalogJson(s, ['alpha']), type: 'application/json' });
      const again = new CatalogService({ log, clock: new ManualClock() }, settings(tmp.path, [`${s.base}/catalog.json`], { 'seeder.catalog_remove': true }));
      await again.start();
      await again.refreshAll();
      await again.close();
      assert.equal(torrentsIn(join(tmp.path, 'torrents')), ['alpha.iso.torrent', 'by-hand.torrent']);
    } finally {
      await svc.close();
      await s.close();
      tmp.remove();
    }
  }),
);

test(
  'a state file over its size cap is not read: one warning, the service runs with no record',
  deadline(20_000, async () => {
    const s = await site();
    const tmp = tempDir('meshseed-catalog-');
    const log = memoryLogger();
    const t = makeTorrent('delta.iso');
    s.files.set('/t/delta.torrent', { body: Buffer.from(t.bytes) });
    s.files.set('/catalog.json', { body: catalogJson(s, ['delta']), type: 'application/json' });
    mkdirSync(join(tmp.path, 'state'), { recursive: true });
    // valid JSON, one byte over the cap: it must be refused on its size, not parsed
    const big = JSON.stringify({ version: 1, subscriptions: {}, pad: '' });
    writeFileSync(join(tmp.path, 'state', CATALOG_STATE_FILE), big.replace('""', `"${'x'.repeat(MAX_STATE_BYTES + 1 - big.length)}"`));
    const svc = new CatalogService({ log, clock: new ManualClock() }, settings(tmp.path, [`${s.base}/catalog.json`]));
    try {
      await svc.start();
      await svc.refreshAll();
      assert.ok(log.lines.some((l) => /larger than 4 MiB .*starting with no record/.test(l)), log.lines.join('\n'));
      assert.equal(torrentsIn(join(tmp.path, 'torrents')), ['delta.iso.torrent'], 'the catalog is still followed');
    } finally {
      await svc.close();
      await s.close();
      tmp.remove();
    }
  }),
);

test(
  'max_disk_mb: torrents that do not fit wait, in catalog order, and show as waiting',
  deadline(20_000, async () => {
    const s = await site();
    const tmp = tempDir('meshseed-catalog-');
    const names = ['one', 'two', 'three'];
    for (const n of names) s.files.set(`/t/${n}.torrent`, { body: Buffer.from(makeTorrent(`${n}.iso`, 700 * 1024).bytes) });
    s.files.set('/catalog.json', { body: catalogJson(s, names), type: 'application/json' });
    // what torrent_dir's torrents take (the daemon asks the seeder)
    const usedBytes = () => torrentsIn(join(tmp.path, 'torrents')).length * 700 * 1024;
    const svc = new CatalogService({ log: memoryLogger(), clock: new ManualClock(), usedBytes }, settings(tmp.path, [`${s.base}/catalog.json`], { 'seeder.max_disk_mb': 1 }));
    try {
      await svc.start();
      await svc.refreshAll();
      assert.equal(torrentsIn(join(tmp.path, 'torrents')), ['one.iso.torrent']);
      const st = svc.status() as { catalogs: { waiting: { name: string; state: string }[] }[] };
      assert.equal(st.catalogs[0]!.waiting.map((w) => [w.name, w.state]), [
        ['two.iso', 'waiting: over max_disk_mb'],
        ['three.iso', 'waiting: over max_disk_mb'],
      ]);
      // more room: the next in catalog order comes in (from the 304 path), the last still waits
      svc.reload(settings(tmp.path, [`${s.base}/catalog.json`], { 'seeder.max_disk_mb': 2 }));
      await svc.refreshAll();
      assert.equal(torrentsIn(join(tmp.path, 'torrents')), ['one.iso.torrent', 'two.iso.torrent']);
    } finally {
      await svc.close();
      await s.close();
      tmp.remove();
    }
  }),
);

test(
  'hostile catalogs change nothing and log one line each, once',
  deadline(40_000, async () => {
    const s = await site();
    const tmp = tempDir('meshseed-catalog-');
    const log = memoryLogger();
    const good = makeTorrent('fine.iso');
    const script = makeTorrent('<script>alert(1)<img src=x>.iso');
    s.files.set('/t/fine.torrent', { body: Buffer.from(good.bytes) });
    s.files.set('/t/script.torrent', { body: Buffer.from(script.bytes) });
    s.files.set('/t/traversal.torrent', { body: Buffer.from(torrent(multiInfo({ files: [{ length: 20015, path: ['..', 'etc', 'passwd'] }] }))) });
    s.files.set('/t/big.torrent', { body: Buffer.alloc(9 << 20, 0x64) });
    s.files.set('/t/junk.torrent', { body: 'this is not bencode' });
    s.files.set('/malformed.json', { body: '{"torrents": [{"torrent_url": ', type: 'application/json' });
    s.files.set('/binary', { body: Buffer.from([0, 1, 2, 3, 255]), type: 'application/octet-stream' });
    s.files.set('/listing/', {
      type: 'text/html',
      body: `<html><pre><a href="../">../</a>
<a href="/t/traversal.torrent">traversal.torrent</a>
<a href="/t/big.torrent">big.torrent</a>
<a href="/t/junk.torrent">junk.torrent</a>
<a href="/t/missing.torrent">missing.torrent</a>
<a href="javascript:alert(1)//x.torrent">x.torrent</a>
</pre></html>`,
    });
    s.files.set('/lying.json', {
      type: 'application/json',
      body: JSON.stringify({ torrents: [{ info_hash: '0'.repeat(40), name: '<script>alert(1)</script>', torrent_url: '/t/fine.torrent' }, { name: '<script>', torrent_url: 'javascript:alert(1)' }] }),
    });
    s.files.set('/script.json', { type: 'application/json', body: JSON.stringify({ torrents: [{ torrent_url: '/t/script.torrent' }] }) });
    const catalogs = ['/huge', '/slow', '/malformed.json', '/binary', '/listing/', '/lying.json', '/nowhere.json'].map((p) => `${s.base}${p}`);
    const svc = new CatalogService({ log, clock: new ManualClock(), timeoutMs: 3000 }, settings(tmp.path, catalogs));
    try {
      await svc.start();
      const t0 = Date.now();
      await svc.refreshAll();
      console.log(`hostile round: ${Date.now() - t0} ms`);
      assert.equal(torrentsIn(join(tmp.path, 'torrents')), [], 'nothing written');
      const warn = log.lines.filter((l) => /WARN|ERROR|warn|error/.test(l));
      const about = (re: RegExp) => warn.filter((l) => re.test(l)).length;
      assert.is(about(/\/huge: .*larger than/), 1, warn.join('\n'));
      assert.is(about(/\/slow: .*within 3 s/), 1, warn.join('\n'));
      assert.is(about(/\/malformed\.json: catalog\.json does not parse/), 1);
      assert.is(about(/\/binary: not a catalog/), 1);
      assert.is(about(/\/nowhere\.json: HTTP 404/), 1);
      assert.is(about(/traversal\.torrent \(from .*\/listing\/\) refused: .*path traversal/), 1);
      assert.is(about(/big\.torrent \(from .*\) refused: .*larger than/), 1);
      assert.is(about(/junk\.torrent \(from .*\) refused/), 1);
      assert.is(about(/missing\.torrent \(from .*\) refused: HTTP 404/), 1);
      assert.is(about(/fine\.torrent \(from .*lying\.json\) refused: its info hash is .* the catalog said 0{40}/), 1);
      assert.is(warn.length, 10, warn.join('\n'));
      // a second round logs nothing new: the same problems are not repeated
      await svc.refreshAll();
      assert.is(log.lines.filter((l) => /WARN|ERROR|warn|error/.test(l)).length, 10);
      // a torrent named <script> is only a name: written under a safe file name
      svc.reload(settings(tmp.path, [`${s.base}/script.json`]));
      await svc.refreshAll();
      assert.equal(torrentsIn(join(tmp.path, 'torrents')), ['<script>alert(1)<img src=x>.iso.torrent']);
    } finally {
      await svc.close();
      await s.close();
      tmp.remove();
    }
  }),
);

test.run();
