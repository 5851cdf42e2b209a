// deadline: 30s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { rawHttp, makeTorrent, memoryLogger, trackerSettings } from './fixtures';
import { contentDisposition, renderCatalogJson, renderFrontPage, type CatalogItem, type NodeSummary } from '../../src/tracker/front-page';
import { announceUrls, FrontRoutes, originHost } from '../../src/tracker/front-routes';
import { nameSortKey, publicMessage, seededEntries, stateText } from '../../src/tracker/offered';
import type { TorrentStatus } from '../../src/seeder/torrent-session';
import { parseMagnet } from '../../src/codec/magnet';
import { parseMetainfo } from '../../src/codec/metainfo';
import { TrackerService, fetchingMagnets } from '../../src/tracker/tracker-service';
import { ManualClock } from '../../src/util/clock';
import { deadline, tempDir } from '../helpers';

const item = (over: Partial<CatalogItem> = {}): CatalogItem => ({
  infoHashHex: 'ab'.repeat(20),
  name: 'OpenWrt image.bin',
  size: 3 * 1024 * 1024,
  files: 1,
  seeders: 2,
  leechers: 1,
  downloaded: 7,
  state: 'seeding',
  trackers: ['http://10.9.9.9:6969/announce'],
  webSeeds: ['http://10.0.0.5/files/'],
  private: false,
  ...over,
});
const node: NodeSummary = {
  announceUrls: announceUrls('10.0.0.1:6969', 6969),
  torrents: 1,
  peers: 3,
  seeders: 2,
  leechers: 1,
  downloaded: 7,
  mode: 'open',
  interval: 120,
  uptimeSeconds: 3700,
  lpd: 'LPD on 1 interface(s)',
  uploadRate: 2048,
  downloadRate: 0,
};

test('front page: a card per torrent with its .torrent and magnet links; the node below', () => {
  const html = renderFrontPage([item()], node);
  assert.match(html, /name="viewport"/);
  assert.match(html, /<article class="t" id="t-abab/);
  assert.match(html, /href="\/torrents\/(ab){20}\.torrent"/);
  assert.match(html, /3\.0 MiB · 1 file · .*2 seeding.*1 downloading/);
  assert.match(html, /<code>http:\/\/10\.0\.0\.1:6969\/announce<\/code><br><code>udp:\/\/10\.0\.0\.1:6969\/announce<\/code>/);
  assert.match(html, /upload 2\.0 KiB\/s, download 0 B\/s/);
  assert.match(html, /href="\/stats"/);
  assert.not.match(html, /<script|src=|https?:\/\/[^"<]*\.(css|js)/);
  const href = /class="magnet" href="([^"]+)"/.exec(html)![1]!.replace(/&#38;/g, '&');
  const m = parseMagnet(href);
  assert.is(m.infoHashHex, 'ab'.repeat(20));
  assert.is(m.name, 'OpenWrt image.bin');
  assert.is(m.length, 3 * 1024 * 1024);
  // this tracker first, then the torrent's own; web seeds as ws
  assert.equal(m.trackers, ['http://10.0.0.1:6969/announce', 'http://10.9.9.9:6969/announce']);
  assert.equal(m.webSeeds, ['http://10.0.0.5/files/']);
});

test('front page: the introductions line is not prefixed twice', () => {
  const html = renderFrontPage([], { ...node, introductions: 'introductions: 0 sent, 0 peers given, 0 refused' });
  assert.match(html, /<dt>Introductions<\/dt><dd>0 sent, 0 peers given/);
});

test('front page: magnets fetching their metadata are listed (escaped), never in catalog.json', () => {
  const fetching = fetchingMagnets({ magnets: [{ file: 'x.magnet', infoHash: 'cd'.repeat(20), name: '<b>OpenWrt</b>', state: 'fetching metadata', forS: 12 }, { infoHash: 'ef'.repeat(20) }, { bogus: 1 }] });
  assert.equal(fetching, [
    { infoHashHex: 'cd'.repeat(20), name: '<b>OpenWrt</b>', forS: 12 },
    { infoHashHex: 'ef'.repeat(20), forS: 0 },
  ]);
  assert.equal(fetchingMagnets(undefined), []);
  const html = renderFrontPage([], { ...node, fetching });
  assert.match(html, new RegExp(`<li>&#60;b&#62;OpenWrt&#60;/b&#62; <code>${'cd'.repeat(20)}</code>: fetching metadata \\(12 s\\)</li>`));
  assert.match(html, new RegExp(`<li><code>${'ef'.repeat(20)}</code>: fetching metadata \\(0 s\\)</li>`));
  assert.not.match(html, /<b>/);
  const json = JSON.parse(renderCatalogJson([], { ...node, fetching }, { origin: 'http://10.0.0.1:6969' }));
  assert.equal(json.torrents, []);
  assert.not.match(renderFrontPage([], node), /fetching metadata/);
});

test('front page: untrusted names and states are escaped; no torrents says what to do', () => {
  const html = renderFrontPage([item({ name: '<script>alert(1)</script>"&\'', state: 'error: <b>' })], { ...node, lpd: '<i>' });
  assert.not.match(html, /<script>|<b>|<i>/);
  assert.match(html, /&#60;script&#62;alert\(1\)&#60;\/script&#62;&#34;&#38;&#39;/);
  assert.match(renderFrontPage([], node), /No files yet/);
  // hidden names: the info hash stands in, and the magnet has no dn
  const hidden = renderFrontPage([item({ name: undefined })], node);
  assert.match(hidden, /<h3><code>(ab){20}<\/code><\/h3>/);
  assert.not.match(hidden, /dn=/);
});

test('a private torrent (BEP 27) gets only its own trackers in its magnet', () => {
  const json = JSON.parse(renderCatalogJson([item({ private: true })], node, { origin: 'http://10.0.0.1:6969' }));
  assert.equal(parseMagnet(json.torrents[0].magnet).trackers, ['http://10.9.9.9:6969/announce']);
});

test('catalog.json: info hash, name, size, files, torrent URL, magnet', () => {
  const json = JSON.parse(renderCatalogJson([item()], node, { origin: 'http://10.0.0.1:6969' }));
  assert.is(json.catalog, 'meshseed');
  assert.is(json.version, 1);
  const t = json.torrents[0];
  assert.is(t.info_hash, 'ab'.repeat(20));
  assert.is(t.name, 'OpenWrt image.bin');
  assert.is(t.size, 3 * 1024 * 1024);
  assert.is(t.files, 1);
  assert.is(t.torrent_url, `http://10.0.0.1:6969/torrents/${'ab'.repeat(20)}.torrent`);
  assert.is(parseMagnet(t.magnet).infoHashHex, 'ab'.repeat(20));
});

const dispositions: [string, string][] = [
  ['plain.iso', 'attachment; filename="plain.iso.torrent"'],
  ['a "quoted"\\ name', `attachment; filename="a _quoted__ name.torrent"; filename*=UTF-8''a%20%22quoted%22_%20name.torrent`],
  ['été.mkv', `attachment; filename="_t_.mkv.torrent"; filename*=UTF-8''%C3%A9t%C3%A9.mkv.torrent`],
  ['../../etc/passwd', `attachment; filename="_.._etc_passwd.torrent"`],
  ['\r\nSet-Cookie: x', `attachment; filename="__Set-Cookie_ x.torrent"; filename*=UTF-8''__Set-Cookie%3A%20x.torrent`],
  ['...', 'attachment; filename="download.torrent"; filename*=UTF-8\'\'.torrent'],
];
for (const [name, want] of dispositions)
  test(`Content-Disposition for ${JSON.stringify(name)}`, () => {
    const got = contentDisposition(name);
    assert.is(got, want);
    assert.not.match(got, /[\r\n]/);
  });

test('the Host header is used only when it is a plain host[:port]', () => {
  const at = (a: string | undefined) => () => a;
  assert.is(originHost('10.0.0.1:6969', at('10.0.0.1'), 6969), '10.0.0.1:6969');
  assert.is(originHost('[fd00::1]:6969', at(undefined), 6969), '[fd00::1]:6969');
  assert.is(originHost('router.lan', at(undefined), 6969), 'router.lan');
  assert.is(originHost('evil"><script>', at('10.0.0.1'), 6969), '10.0.0.1:6969');
  assert.is(originHost(undefined, at('::ffff:10.0.0.2'), 6969), '10.0.0.2:6969');
  assert.is(originHost(undefined, at('fd00::2'), 7000), '[fd00::2]:7000');
  assert.equal(announceUrls('router.lan', 6969), ['http://router.lan/announce', 'udp://router.lan:6969/announce']);
});

test('names sort as people read them, accents and case aside, without the ICU collator', () => {
  const names = ['zebra', 'Été 2026', 'apple', 'ete 2025', 'École', 'Zoo', 'eclair'];
  assert.equal([...names].sort((a, b) => (nameSortKey(a) < nameSortKey(b) ? -1 : 1)), ['apple', 'eclair', 'École', 'ete 2025', 'Été 2026', 'zebra', 'Zoo']);
  assert.is(nameSortKey('Ünïcödé'), 'unicode');
});

test('state text', () => {
  const s = (state: string, avail: number) => stateText({ file: '', meta: undefined as never, state, pieces: 100, piecesAvailable: avail });
  assert.is(s('seeding', 100), 'seeding');
  assert.is(s('downloading', 43), 'downloading 43%');
  assert.is(s('checking', 5), 'checking 5%');
  assert.is(s('missing data', 0), 'missing data');
  assert.is(s('missing data', 12), 'missing data (12% here)');
  assert.is(stateText(undefined), 'listed (not seeded here)');
  // the waiting reason is shown (the page escapes it)
  const reason = 'waiting: seeder.min_free_mb (needs 1001 MiB, 100 MiB free: 1 MiB of data fits, but min_free_mb=1000 must stay free)';
  assert.is(stateText({ file: '', meta: undefined as never, state: 'waiting', pieces: 100, piecesAvailable: 0, message: reason }), reason);
  assert.is(stateText({ file: '', meta: undefined as never, state: 'waiting', pieces: 100, piecesAvailable: 0 }), 'waiting');
  const html = renderFrontPage([item({ state: 'waiting: cannot write <x>' })], node);
  assert.match(html, /waiting: cannot write &#60;x&#62;/);
  // a public page never shows the node's folders: at most a file's name
  const err = stateText({ file: '', meta: undefined as never, state: 'error', message: "cannot read '/mnt/disk/data/a b.iso': EACCES", pieces: 1, piecesAvailable: 0 });
  assert.is(err, "error: cannot read 'a b.iso': EACCES");
  assert.is(publicMessage('the same torrent as /tmp/x/sample.bin.torrent'), 'the same torrent as sample.bin.torrent');
  assert.is(publicMessage('data_dir=/mnt/d/, file (/a/b/c) and /'), 'data_dir=d, file (c) and /');
  assert.is(publicMessage('no path here: 1/2 done'), 'no path here: 1/2 done');
});

test('a duplicate .torrent (same info hash, refused with an error) does not stand for the torrent seeded', () => {
  const meta = { infoHashHex: 'cd'.repeat(20) } as never;
  const status = (file: string, state: string, message?: string) =>
    ({ file, infoHash: 'cd'.repeat(20), state, pieces: 4, piecesAvailable: state === 'seeding' ? 4 : 0, ...(message ? { message } : {}) }) as unknown as TorrentStatus;
  const seeded = [{ file: '/t/sample.torrent', meta, infoHashHex: 'cd'.repeat(20) } as never];
  for (const order of [0, 1]) {
    const states = [status('/t/sample.torrent', 'seeding'), status('/t/copy.torrent', 'error', 'the same torrent as /t/sample.torrent')];
    if (order) states.reverse();
    const e = seededEntries(seeded, states);
    assert.is(e.length, 1);
    assert.is(e[0]!.file, '/t/sample.torrent');
    assert.is(stateText(e[0]), 'seeding');
  }
});

function split(raw: Buffer) {
  const end = raw.indexOf('\r\n\r\n');
  return { head: raw.subarray(0, end).toString('latin1'), body: raw.subarray(end + 4) };
}
const get = (port: number, target: string, headers = 'Host: 10.1.2.3:6969\r\n') => rawHttp(port, `GET ${target} HTTP/1.1\r\n${headers}\r\n`).then(split);

test(
  '/torrents/: at most 4 .torrent files read at once, the rest get 503 with Retry-After, then all are served again',
  deadline(10_000, async () => {
    const dir = tempDir('meshseed-front-');
    try {
      const a = makeTorrent('busy.iso');
      writeFileSync(`${dir.path}/busy.torrent`, a.bytes);
      const routes = new FrontRoutes({
        offered: () => [{ item: item({ infoHashHex: a.hex, name: 'busy.iso' }), path: `${dir.path}/busy.torrent` }],
        node: () => node,
        port: () => 6969,
      });
      const path = `/torrents/${a.hex}.torrent`;
      // eight requests in one tick: four reads start, four are turned away before reading
      const replies = await Promise.all(Array.from({ length: 8 }, () => routes.handle(path, {}, () => undefined, 0)));
      const statuses = replies.map((r) => r!.status);
      assert.equal(statuses, [200, 200, 200, 200, 503, 503, 503, 503]);
      assert.is(replies[4]!.headers?.['Retry-After'], '1');
      assert.equal(Buffer.from(replies[0]!.body), Buffer.from(a.bytes));
      // the reads are over: the next request is served
      assert.is((await routes.handle(path, {}, () => undefined, 0))!.status, 200);
    } finally {
      dir.remove();
    }
  }),
);

test(
  'over loopback: /, /catalog.json (ETag, 304), /torrents/<hash>.torrent, /stats keeps the bttrack table',
  deadline(15000, async () => {
    const dir = tempDir('meshseed-front-');
    const clock = new ManualClock();
    const t = new TrackerService({ log: memoryLogger(), clock }, trackerSettings(dir.path));
    try {
      mkdirSync(`${dir.path}/torrents`);
      const a = makeTorrent('été <b>.iso');
      const b = makeTorrent('plain.iso', 5000);
      writeFileSync(`${dir.path}/torrents/a.torrent`, a.bytes);
      writeFileSync(`${dir.path}/torrents/b.torrent`, b.bytes);
      await t.start();
      const page = await get(t.port, '/');
      assert.match(page.head, /^HTTP\/1\.1 200/);
      assert.match(page.head, /Content-Security-Policy: default-src 'none'/);
      const html = page.body.toString();
      assert.match(html, /été &#60;b&#62;\.iso/);
      assert.match(html, /<code>http:\/\/10\.1\.2\.3:6969\/announce<\/code>/);
      assert.ok(html.indexOf(a.hex) < html.indexOf(b.hex), 'sorted by name');

      const cat = await get(t.port, '/catalog.json');
      const json = JSON.parse(cat.body.toString());
      assert.equal(json.torrents.map((x: { info_hash: string }) => x.info_hash), [a.hex, b.hex]);
      assert.is(json.torrents[0].torrent_url, `http://10.1.2.3:6969/torrents/${a.hex}.torrent`);
      const etag = /ETag: (".*")/.exec(cat.head)![1]!;
      const again = await get(t.port, '/catalog.json', `Host: 10.1.2.3:6969\r\nIf-None-Match: ${etag}\r\n`);
      assert.match(again.head, /^HTTP\/1\.1 304/);
      assert.is(again.body.length, 0);

      const file = await get(t.port, `/torrents/${a.hex}.torrent`);
      assert.match(file.head, /Content-Type: application\/x-bittorrent/);
      assert.match(file.head, /Content-Disposition: attachment; filename="_t_ _b_.iso.torrent"; filename\*=UTF-8''%C3%A9t%C3%A9%20%3Cb%3E.iso.torrent/);
      assert.is(parseMetainfo(file.body).infoHashHex, a.hex);
      assert.match((await get(t.port, `/torrents/${'0'.repeat(40)}.torrent`)).head, /^HTTP\/1\.1 404/);
      assert.match((await get(t.port, `/torrents/../../etc/passwd`)).head, /^HTTP\/1\.1 404/);

      const stats = (await get(t.port, '/stats')).body.toString();
      // full announce URLs, with the host the browser used
      assert.match(stats, /Announce URLs: <code>http:\/\/10\.1\.2\.3:6969\/announce<\/code> or <code>udp:\/\/10\.1\.2\.3:6969\/announce<\/code>/);
      // a browser's icon request is answered 404 and is not a tracker refusal
      const before = JSON.stringify(t.status());
      const icon = await get(t.port, '/favicon.ico');
      assert.match(icon.head, /^HTTP\/1\.1 404/);
      assert.is(JSON.stringify(t.status()), before, 'no refusal counted');
      assert.match(stats, /<th class="n">complete<\/th><th class="n">downloading<\/th><th class="n">downloaded<\/th><th class="n">transferred<\/th>/);
      const sj = JSON.parse((await get(t.port, '/stats.json')).body.toString());
      assert.equal(sj.offered.map((o: { info_hash: string }) => o.info_hash), [a.hex, b.hex]);
      assert.is(sj.offered[0].state, 'listed (not seeded here)');
    } finally {
      await t.close();
      dir.remove();
    }
  }),
);

test.run();
