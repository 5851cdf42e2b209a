// deadline: 60s
/**
 * A directory listing and an RSS feed served by a real web server (Debian's nginx, autoindex
 * on) work like a node's catalog.json: every .torrent listed (names with spaces and UTF-8,
 * percent-encoded by nginx) arrives in torrent_dir, byte for byte; a file deleted from the
 * served folder is removed with catalog_remove; the feed's enclosures arrive too.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CatalogService } from '../../src/catalog/catalog-service';
import { defaultSettings, type Settings } from '../../src/config/settings';
import { ManualClock } from '../../src/util/clock';
import { deadline, requirePrograms, tempDir } from '../helpers';
import { startNginx, NGINX } from '../helpers/nginx';
import { makeTorrent, memoryLogger } from '../tracker/fixtures';
import { hashesIn } from './ns-nodes';

test(
  'nginx autoindex listing and an RSS feed: torrents arrive, a deleted one is removed',
  deadline(50_000, async () => {
    if (!requirePrograms(NGINX)) return;
    const tmp = tempDir('meshseed-nginx-catalog-');
    const root = join(tmp.path, 'www');
    mkdirSync(join(root, 'listing'), { recursive: true });
    mkdirSync(join(root, 'feed'), { recursive: true });
    const listed = ['OpenWrt 24.10 image', 'été 2026', 'plain'].map((n) => ({ n, t: makeTorrent(`${n}.iso`) }));
    for (const { n, t } of listed) writeFileSync(join(root, 'listing', `${n}.torrent`), t.bytes);
    writeFileSync(join(root, 'listing', 'readme.txt'), 'not a torrent');
    const fed = ['feed-a', 'feed-b'].map((n) => ({ n, t: makeTorrent(`${n}.bin`) }));
    for (const { n, t } of fed) writeFileSync(join(root, 'feed', `${n}.torrent`), t.bytes);
    const web = await startNginx({
      root,
      serverConfig: `    location /listing/ { autoindex on; }
    types { application/x-bittorrent torrent; application/rss+xml xml; }`,
    });
    writeFileSync(
      join(root, 'feed', 'feed.xml'),
      `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>mesh</title><link>${web.url}</link>
${fed.map(({ n }) => `<item><title>${n}</title><enclosure url="${web.url}feed/${n}.torrent" length="300" type="application/x-bittorrent"/></item>`).join('\n')}
</channel></rss>`,
    );
    const log = memoryLogger();
    const settings = {
      ...defaultSettings(),
      'main.state_dir': join(tmp.path, 'state'),
      'seeder.torrent_dir': join(tmp.path, 'torrents'),
      'seeder.catalog': [`${web.url}listing/`, `${web.url}feed/feed.xml`],
      'seeder.catalog_remove': true,
    } as Settings;
    const svc = new CatalogService({ log, clock: new ManualClock() }, settings);
    try {
      const listing = await (await fetch(`${web.url}listing/`)).text();
      assert.match(listing, /href="OpenWrt%2024\.10%20image\.torrent"/, 'nginx percent-encodes the links');
      await svc.start();
      await svc.refreshAll();
      const dir = join(tmp.path, 'torrents');
      assert.equal(hashesIn(dir), [...listed, ...fed].map(({ t }) => t.hex).sort(), log.lines.join('\n'));
      assert.ok(readdirSync(dir).includes('été 2026.iso.torrent'));
      for (const { n, t } of listed) assert.equal(readFileSync(join(dir, `${n}.iso.torrent`)), Buffer.from(t.bytes));
      const st = svc.status() as { catalogs: { lastResult: string }[] };
      assert.equal(st.catalogs.map((c) => c.lastResult), ['ok: listing, 3 torrent(s)', 'ok: rss, 2 torrent(s)']);
      // the operator deletes one file from the served folder
      unlinkSync(join(root, 'listing', 'plain.torrent'));
      await svc.refreshAll();
      assert.equal(hashesIn(dir), [listed[0]!.t.hex, listed[1]!.t.hex, ...fed.map(({ t }) => t.hex)].sort());
      assert.ok(log.lines.some((l) => /plain\.iso\.torrent removed: it left http:\/\/127\.0\.0\.1:\d+\/listing\//.test(l)));
    } finally {
      await svc.close();
      await web.stop();
      tmp.remove();
    }
  }),
);

test.run();
