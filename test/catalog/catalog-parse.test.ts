// deadline: 20s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeEntities, parseCatalog, MAX_CATALOG_ENTRIES, MAX_CATALOG_BYTES } from '../../src/catalog/catalog-parse';
import { planDisk, planFetch, torrentFileName } from '../../src/catalog/catalog-plan';
import { MeshseedError } from '../../src/errors';

const BASE = 'http://10.0.0.1/torrents/';
const urls = (text: string, base = BASE, type = '') => parseCatalog(text, base, type).entries.map((e) => e.url);

// listings as the servers print them (shortened)
const NGINX = `<html>
<head><title>Index of /torrents/</title></head>
<body>
<h1>Index of /torrents/</h1><hr><pre><a href="../">../</a>
<a href="OpenWrt%2024.10.torrent">OpenWrt 24.10.torrent</a>                              01-Dec-2026 15:00                 312
<a href="%C3%A9t%C3%A9.torrent">&#233;t&#233;.torrent</a>                                  01-Dec-2026 15:00                 298
<a href="readme.txt">readme.txt</a>                                         01-Dec-2026 15:00                  12
<a href="sub/">sub/</a>                                               01-Dec-2026 15:00                   -
</pre><hr></body>
</html>`;
const LIGHTTPD = `<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN" "http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en"><head><title>Index of /torrents/</title></head><body>
<table summary="Directory Listing" cellpadding="0" cellspacing="0"><tbody>
<tr class="d"><td class="n"><a href="../">Parent Directory</a>/</td><td class="m">&nbsp;</td></tr>
<tr><td class="n"><a href="a.torrent">a.torrent</a></td><td class="m">2026-Dec-01 15:00:00</td></tr>
<tr><td class="n"><a href="b%26c.torrent">b&amp;c.torrent</a></td></tr>
</tbody></table></body></html>`;
const APACHE = `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN"><html><head><title>Index of /torrents</title></head><body>
<table><tr><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th></tr>
<tr><td><a href="/">Parent Directory</a></td></tr>
<tr><td><a href="x.torrent">x.torrent</a></td></tr></table></body></html>`;
const UHTTPD = `<html><head><title>Index of /torrents/</title></head><body><h1>Index of /torrents/</h1><hr><ol>
<li><strong><a href='/torrents/../'>..</a>/</strong><br><small>modified: Mon, 01 Dec 2026 15:00:00 GMT<br>directory - 4.0 Kbyte<br><br></small></li>
<li><strong><a href='/torrents/u.torrent'>u.torrent</a></strong><br><small>modified: ...</small></li>
</ol><hr></body></html>`;

test('directory listings: nginx, lighttpd, Apache, uhttpd', () => {
  assert.equal(urls(NGINX), [`${BASE}OpenWrt%2024.10.torrent`, `${BASE}%C3%A9t%C3%A9.torrent`]);
  assert.is(parseCatalog(NGINX, BASE).kind, 'listing');
  assert.equal(urls(LIGHTTPD), [`${BASE}a.torrent`, `${BASE}b%26c.torrent`]);
  assert.equal(urls(APACHE, 'http://10.0.0.1/torrents'), ['http://10.0.0.1/x.torrent']);
  assert.equal(urls(UHTTPD), [`${BASE}u.torrent`]);
});

const RSS = `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>mesh files</title>
<item><title>one</title><enclosure url="http://10.0.0.2/one.torrent" length="300" type="application/x-bittorrent"/></item>
<item><title>two</title><enclosure type="application/x-bittorrent" url="two.torrent?id=2&amp;k=1" length="300"></enclosure></item>
<item><title>a podcast</title><enclosure url="http://10.0.0.2/ep.mp3" length="300" type="audio/mpeg"/></item>
<item><title>untyped</title><enclosure url='http://10.0.0.2/three.torrent' length="300"/></item>
</channel></rss>`;
const ATOM = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>mesh</title>
<entry><title>a</title><link rel="alternate" href="http://10.0.0.3/a.html"/><link rel="enclosure" type="application/x-bittorrent" href="http://10.0.0.3/a.torrent"/></entry>
<entry><title>b</title><link href="/b.torrent" type="application/x-bittorrent; charset=binary" rel="enclosure"/></entry>
</feed>`;

test('RSS 2.0 enclosures and Atom rel=enclosure links of type application/x-bittorrent', () => {
  const r = parseCatalog(RSS, 'http://10.0.0.2/feed.xml');
  assert.is(r.kind, 'rss');
  assert.equal(r.entries.map((e) => e.url), ['http://10.0.0.2/one.torrent', 'http://10.0.0.2/two.torrent?id=2&k=1', 'http://10.0.0.2/three.torrent']);
  const a = parseCatalog(ATOM, 'http://10.0.0.3/feed.atom');
  assert.is(a.kind, 'atom');
  assert.equal(a.entries.map((e) => e.url), ['http://10.0.0.3/a.torrent', 'http://10.0.0.3/b.torrent']);
});

test("a meshseed node's catalog.json: URLs, info hashes and names; bad entries skipped", () => {
  const doc = JSON.stringify({
    catalog: 'meshseed',
    version: 1,
    torrents: [
      { info_hash: 'AB'.repeat(20), name: 'x', torrent_url: 'http://10.0.0.1:6969/torrents/abab.torrent' },
      { torrent_url: '/torrents/rel.torrent' },
      { torrent_url: 'file:///etc/passwd' },
      { torrent_url: 42 },
      null,
      'junk',
    ],
  });
  const r = parseCatalog(doc, 'http://10.0.0.1:6969/catalog.json', 'application/json');
  assert.is(r.kind, 'meshseed');
  assert.equal(r.entries, [
    { url: 'http://10.0.0.1:6969/torrents/abab.torrent', infoHashHex: 'ab'.repeat(20), name: 'x' },
    { url: 'http://10.0.0.1:6969/torrents/rel.torrent' },
  ]);
});

test('hostile links: other schemes, scripts and duplicates are dropped', () => {
  const html = `<html><a href="javascript:alert(1)//.torrent">x</a><a href="file:///a.torrent">f</a><a href="data:text/plain,x.torrent">d</a>
  <a href="ok.torrent">ok</a><a href="ok.torrent#frag">again</a><a href=bare.torrent>bare</a><a title="no href">n</a></html>`;
  assert.equal(urls(html), [`${BASE}ok.torrent`, `${BASE}bare.torrent`]);
});

test('bounded: entries past the cap are counted, not kept; an oversize text is refused', () => {
  const many = '<html>' + Array.from({ length: MAX_CATALOG_ENTRIES + 5 }, (_, i) => `<a href="t${i}.torrent">t</a>`).join('\n');
  const r = parseCatalog(many, BASE);
  assert.is(r.entries.length, MAX_CATALOG_ENTRIES);
  assert.is(r.truncated, 5);
  assert.throws(() => parseCatalog('x'.repeat(MAX_CATALOG_BYTES + 1), BASE), /larger than/);
});

const notCatalogs: [string, string, RegExp][] = [
  ['binary junk', '\u0000\u0001\u0002 garbage', /not a catalog/],
  ['broken JSON', '{"torrents": [', /does not parse/],
  ['JSON without torrents', '{"x":1}', /no 'torrents' list/],
];
for (const [name, text, re] of notCatalogs)
  test(`refused: ${name}`, () => {
    try {
      parseCatalog(text, BASE);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, MeshseedError);
      assert.is((e as MeshseedError).code, 'ECATALOG');
      assert.match((e as Error).message, re);
    }
  });

test('entities in attributes', () => {
  assert.is(decodeEntities('a&amp;b&#233;&#xe9;&lt;&bogus;'), 'a&bééé<&bogus;'.replace('ééé', 'éé'));
});

test('planFetch: new URLs in order, failed ones not retried, gone ones reported', () => {
  const added = new Map([
    ['u1', { infoHashHex: 'a', file: 'a.torrent', size: 1 }],
    ['u9', { infoHashHex: 'z', file: 'z.torrent', size: 1 }],
  ]);
  assert.equal(planFetch(['u1', 'u2', 'u3'], added, new Set(['u3']), false), { fetch: ['u2'], gone: ['u9'] });
  assert.equal(planFetch(['u1', 'u2', 'u3'], added, new Set(['u3']), true), { fetch: ['u2', 'u3'], gone: ['u9'] });
});

const disk: [string, number[], number, number, { admit: string[]; wait: string[] }][] = [
  ['no limit', [5, 5], 100, 0, { admit: ['t0', 't1'], wait: [] }],
  ['all fit', [3, 4], 0, 10, { admit: ['t0', 't1'], wait: [] }],
  ['exactly full', [4, 6], 0, 10, { admit: ['t0', 't1'], wait: [] }],
  ['the second waits', [6, 6], 0, 10, { admit: ['t0'], wait: ['t1'] }],
  ['a later small one fits past a big one', [8, 20, 2], 0, 10, { admit: ['t0', 't2'], wait: ['t1'] }],
  ['what is already there counts', [5], 6, 10, { admit: [], wait: ['t0'] }],
];
for (const [name, sizes, used, limit, want] of disk)
  test(`planDisk: ${name}`, () => {
    assert.equal(planDisk(sizes.map((size, i) => ({ key: `t${i}`, size })), used, limit), want);
  });

const names: [string, string][] = [
  ['OpenWrt 24.10', 'OpenWrt 24.10.torrent'],
  ['../../etc/passwd', '_.._etc_passwd.torrent'],
  ['.hidden', 'hidden.torrent'],
  ['a\nb\0c', 'a_b_c.torrent'],
  ['...', `${'ab'.repeat(20)}.torrent`],
  ['é'.repeat(150), `${'é'.repeat(100)}.torrent`],
];
for (const [name, want] of names) test(`torrent file name for ${JSON.stringify(name.slice(0, 20))}`, () => assert.is(torrentFileName(name, 'ab'.repeat(20)), want));

test.run();
