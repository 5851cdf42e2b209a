// deadline: 120s
/**
 * Web seeds against a real web server from Debian: nginx serving a temp folder on loopback.
 * Torrents are made by mktorrent (with its `-w` web seed) and read by our metainfo parser, so
 * the file order and offsets are those a download engine gets. Every piece is fetched with
 * `WebSeed.read` (pieces span files) and must be byte-identical and pass its SHA-1.
 * File and folder names carry spaces, UTF-8, `#`, `?` and `%`. HTTPS with a self-signed
 * certificate made by openssl: trusted through the `tls.ca` option, refused without it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMetainfo, pieceSize, type Metainfo } from '../../src/codec/metainfo';
import { WebSeed, WebSeedError, type WebSeedOptions } from '../../src/seeder/web-seed';
import { systemClock } from '../../src/util/clock';
import { createLogger } from '../../src/util/log';
import { deadline, requirePrograms, run, tempDir } from '../helpers';
import { NGINX, selfSignedCert, startNginx, type Nginx } from '../helpers/nginx';

const enabled = requirePrograms(NGINX, 'mktorrent', 'openssl');
const logger = createLogger('warn', (l) => console.log(l));

const SINGLE = 'single file é ü.bin';
const FOLDER = 'Mesh Album ü';
const FOLDER_FILES: [string, number][] = [
  ['01 intro.flac', 20_000],
  ['cd #1/track?.dat', 70_001],
  ['cd #1/empty', 0],
  ['cd #1/100% done', 16_384],
  ['日本/b.bin', 33_333],
  ['z', 7],
];

let web: Nginx;
let https: Nginx;
let cert: { cert: string; key: string; pem: Buffer };
const dir = tempDir('meshseed-webseed-');
const root = join(dir.path, 'www');

async function mktorrent(path: string, url: string): Promise<Metainfo> {
  const out = join(dir.path, `${Math.random().toString(36).slice(2)}.torrent`);
  // -l 15: 32 KiB pieces (mktorrent's smallest), so most pieces of the folder cross a file boundary
  const r = await run('mktorrent', ['-l', '15', '-a', 'http://127.0.0.1:9/announce', '-w', url, '-o', out, path]);
  assert.is(r.code, 0, r.stderr);
  return parseMetainfo(readFileSync(out));
}

/** The torrent's data as the files on disk hold it, in metainfo order. */
function torrentBytes(m: Metainfo): Buffer {
  const base = m.singleFile ? root : join(root, m.name);
  return Buffer.concat(m.files.map((f) => (m.singleFile ? readFileSync(join(base, m.name)) : readFileSync(join(base, ...f.path)))));
}

const optionsOf = (m: Metainfo, url = m.urlList[0]!): WebSeedOptions => ({ url, name: m.name, singleFile: m.singleFile, files: m.files });

/** Fetches every piece through the seed; each must match the disk and its SHA-1. */
async function fetchAllPieces(ws: WebSeed, m: Metainfo): Promise<void> {
  const want = torrentBytes(m);
  for (let i = 0; i < m.pieceCount; i++) {
    const offset = i * m.pieceLength;
    const got = await ws.read(offset, pieceSize(m, i));
    assert.ok(got.equals(want.subarray(offset, offset + got.length)), `piece ${i} differs`);
    assert.equal(createHash('sha1').update(got).digest(), Buffer.from(m.pieces.subarray(i * 20, i * 20 + 20)), `piece ${i} hash`);
  }
}

test.before(async () => {
  if (!enabled) return;
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, SINGLE), randomBytes(5 * 16384 + 777));
  for (const [p, n] of FOLDER_FILES) {
    mkdirSync(join(root, FOLDER, p, '..'), { recursive: true });
    writeFileSync(join(root, FOLDER, p), randomBytes(n));
  }
  cert = await selfSignedCert(dir.path);
  web = await startNginx({ root });
  https = await startNginx({ root, tls: cert });
});

test.after(async () => {
  await web?.stop();
  await https?.stop();
  dir.remove();
});

test(
  'single-file torrent: URL ending in / (name appended, with a space and UTF-8) and URL naming the file',
  deadline(30_000, async () => {
    if (!enabled) return;
    for (const url of [web.url, `${web.url}${encodeURIComponent(SINGLE)}`]) {
      const m = await mktorrent(join(root, SINGLE), url);
      assert.ok(m.singleFile && m.urlList[0] === url);
      const ws = new WebSeed({ clock: systemClock, logger }, optionsOf(m));
      await fetchAllPieces(ws, m);
      // an odd read across nothing in particular, and the last byte
      const all = torrentBytes(m);
      assert.ok((await ws.read(12_345, 40_000)).equals(all.subarray(12_345, 52_345)));
      assert.ok((await ws.read(m.length - 1, 1)).equals(all.subarray(m.length - 1)));
      const st = ws.status();
      assert.is(st.state, 'ok', JSON.stringify(st) + web.errorLog());
      assert.is(st.downloaded, m.length + 40_001);
      ws.close();
    }
  }),
);

test(
  'multi-file torrent: every piece across file boundaries, names with spaces, UTF-8, #, ? and %',
  deadline(30_000, async () => {
    if (!enabled) return;
    for (const url of [web.url, web.url.slice(0, -1)]) {
      const m = await mktorrent(join(root, FOLDER), url);
      assert.ok(!m.singleFile && m.files.length === FOLDER_FILES.length);
      const ws = new WebSeed({ clock: systemClock, logger }, optionsOf(m));
      await fetchAllPieces(ws, m);
      // one read over the whole torrent: one request per non-empty file
      assert.ok((await ws.read(0, m.length)).equals(torrentBytes(m)));
      assert.is(ws.status().state, 'ok');
      ws.close();
    }
  }),
);

test(
  'a file missing on the mirror: 404, the seed backs off',
  deadline(10_000, async () => {
    if (!enabled) return;
    const m = await mktorrent(join(root, FOLDER), `${web.url}not-here/`);
    const ws = new WebSeed({ clock: systemClock, logger }, optionsOf(m));
    try {
      await ws.read(0, 100);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, WebSeedError);
      assert.match((e as Error).message, /HTTP 404/);
    }
    assert.is(ws.status().state, 'backoff');
    ws.close();
  }),
);

test(
  'HTTPS: a self-signed certificate is trusted through tls.ca, and refused without it',
  deadline(30_000, async () => {
    if (!enabled) return;
    const m = await mktorrent(join(root, FOLDER), https.url);
    const trusted = new WebSeed({ clock: systemClock, logger }, { ...optionsOf(m), tls: { ca: cert.pem } });
    await fetchAllPieces(trusted, m);
    trusted.close();
    const untrusted = new WebSeed({ clock: systemClock, logger }, optionsOf(m));
    try {
      await untrusted.read(0, 100);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, WebSeedError, String(e));
      assert.is((e as WebSeedError).problem, 'network');
      assert.match((e as Error).message, /TLS|certificate/i);
      console.log(`without the CA: ${(e as Error).message}`);
    }
    assert.is(untrusted.status().state, 'backoff');
    untrusted.close();
  }),
);

test.run();
