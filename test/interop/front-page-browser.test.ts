// deadline: 150s
/**
 * The front page in a real browser: Debian's headless Chromium loads a daemon's page (tracker
 * and seeder on loopback, three torrents: one seeding, one with its data missing, one with a
 * hostile long name) at 360×800 and 1280×800. From the DOM Chromium rendered (`--dump-dom`)
 * every torrent is listed with a `.torrent` link (fetched: it parses, its info hash is the
 * card's) and a magnet link (parsed: same info hash, this tracker in `tr`); over the DevTools
 * protocol no element is wider than the 360 px viewport and the page does not scroll sideways.
 * MESHSEED_SCREENSHOTS=<dir> also saves PNGs there (scripts/screenshot.sh does).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deadline, requirePrograms, tempDir } from '../helpers';
import { dumpDom, openTab } from '../helpers/chromium';
import { makeData, makeTorrent, randomPort, startDaemon } from './seed-helpers';
import { parseMagnet } from '../../src/codec/magnet';
import { parseMetainfo } from '../../src/codec/metainfo';

const HOSTILE = '<script>alert(1)<img src=x onerror=alert(2)>_a_very_long_name_without_any_space_that_a_phone_must_wrap_somewhere.iso';

test(
  'Chromium at 360 and 1280 px: every torrent with working .torrent and magnet links, nothing wider than a phone',
  deadline(140_000, async () => {
    if (!requirePrograms('chromium', 'mktorrent')) return;
    const tmp = tempDir('meshseed-browser-');
    try {
      const base = tmp.path;
      for (const d of ['torrents', 'data', 'state', 'elsewhere']) mkdirSync(join(base, d));
      makeData(join(base, 'data'), 'mesh-set');
      writeFileSync(join(base, 'data', HOSTILE), 'x'.repeat(70_000));
      makeData(join(base, 'elsewhere'), 'gone-set', [10_000, 5, 5]);
      const trackerPort = randomPort();
      const tr = `http://127.0.0.1:${trackerPort}/announce`;
      const hashes = [
        (await makeTorrent(join(base, 'data'), 'mesh-set', join(base, 'torrents', 'mesh-set.torrent'), tr)).infoHash,
        (await makeTorrent(join(base, 'data'), HOSTILE, join(base, 'torrents', 'hostile.torrent'), tr)).infoHash,
        // its data is not in data_dir: "missing data"
        (await makeTorrent(join(base, 'elsewhere'), 'gone-set', join(base, 'torrents', 'gone-set.torrent'), tr)).infoHash,
      ];
      // seed-only: the page must show a torrent whose data is missing (mirror mode would fetch it)
      const daemon = await startDaemon(base, ['--tracker-allowed-dir', join(base, 'torrents'), '--seeder-download', '0'], { trackerPort });
      try {
        const origin = `http://127.0.0.1:${trackerPort}`;
        for (const [w, h] of [
          [360, 800],
          [1280, 800],
        ] as const) {
          const dom = await dumpDom(`${origin}/`, w, h);
          assert.not.match(dom, /<script>alert|<img/, 'the hostile name is text, not markup');
          assert.match(dom, /&lt;script&gt;alert\(1\)&lt;img src=x onerror=alert\(2\)&gt;/);
          for (const hex of hashes) {
            const card = new RegExp(`<article class="t" id="t-${hex}"[^]*?</article>`).exec(dom)?.[0];
            assert.ok(card, `card for ${hex} at ${w} px`);
            const torrentHref = /class="torrent" href="([^"]+)"/.exec(card!)![1]!;
            const res = await fetch(new URL(torrentHref, origin));
            assert.is(res.status, 200);
            assert.is(res.headers.get('content-type'), 'application/x-bittorrent');
            assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename="/);
            assert.is(parseMetainfo(new Uint8Array(await res.arrayBuffer())).infoHashHex, hex);
            const magnet = parseMagnet(/class="magnet" href="([^"]+)"/.exec(card!)![1]!.replace(/&amp;/g, '&'));
            assert.is(magnet.infoHashHex, hex);
            assert.ok(magnet.trackers.includes(tr), `magnet trackers ${magnet.trackers}`);
          }
          assert.match(dom, new RegExp(`id="t-${hashes[0]}"[^]*?This node: <span class="s seeding">seeding</span>`));
          assert.match(dom, new RegExp(`id="t-${hashes[2]}"[^]*?This node: <span class="s bad">missing data</span>`));
          assert.match(dom, new RegExp(`<code>http://127\\.0\\.0\\.1:${trackerPort}/announce</code>`));
        }

        const tab = await openTab();
        try {
          for (const [w, h, mobile] of [
            [360, 800, true],
            [1280, 800, false],
          ] as const) {
            await tab.load(`${origin}/`, w, h, mobile);
            const r = await tab.evaluate<{ inner: number; scroll: number; wide: string[]; cards: number; columns: number }>(`(() => {
              const inner = window.innerWidth;
              const wide = [...document.querySelectorAll('body *')]
                .filter((e) => e.getBoundingClientRect().right > inner + 0.5 || e.getBoundingClientRect().left < -0.5)
                .map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().width));
              const cards = [...document.querySelectorAll('article.t')];
              const columns = new Set(cards.map((c) => Math.round(c.getBoundingClientRect().left))).size;
              return { inner, scroll: document.documentElement.scrollWidth, wide, cards: cards.length, columns };
            })()`);
            console.log(`${w} px: viewport ${r.inner}, page scroll width ${r.scroll}, ${r.cards} cards in ${r.columns} column(s)`);
            assert.is(r.inner, w);
            assert.equal(r.wide, [], `elements wider than ${w} px`);
            assert.ok(r.scroll <= w, `scroll width ${r.scroll} > ${w}`);
            assert.is(r.cards, 3);
            assert.is(r.columns, mobile ? 1 : 2);
            if (process.env.MESHSEED_SCREENSHOTS) {
              mkdirSync(process.env.MESHSEED_SCREENSHOTS, { recursive: true });
              writeFileSync(join(process.env.MESHSEED_SCREENSHOTS, `front-page-${w}.png`), await tab.screenshot());
            }
          }
        } finally {
          await tab.close();
        }
      } finally {
        await daemon.stop();
      }
    } finally {
      tmp.remove();
    }
  }),
);

test.run();
