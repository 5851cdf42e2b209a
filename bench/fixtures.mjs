// Bench helpers shared by the benchmarks (cold-start, router, seed, webseed): single-file torrents
// written without any tool (a few lines of bencode), median, number flags, child processes, RSS from /proc.
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';

/** Bencode of strings (as Buffers or text), integers, lists and dictionaries (keys sorted). */
export function bencode(v) {
  if (typeof v === 'number') return Buffer.from(`i${v}e`);
  if (typeof v === 'string') v = Buffer.from(v);
  if (Buffer.isBuffer(v)) return Buffer.concat([Buffer.from(`${v.length}:`), v]);
  if (Array.isArray(v)) return Buffer.concat([Buffer.from('l'), ...v.map(bencode), Buffer.from('e')]);
  const keys = Object.keys(v).sort();
  return Buffer.concat([Buffer.from('d'), ...keys.flatMap((k) => [bencode(k), bencode(v[k])]), Buffer.from('e')]);
}

/**
 * Writes `dataDir/name` (`bytes` of seeded pseudo-random data) and `torrentDir/name.torrent`.
 * `files` ([{ path, bytes }]) makes a multi-file torrent instead: `dataDir/name/<path>`.
 * `urlList`: BEP 19 web seeds. Returns the info hash (Buffer).
 */
export function makeTorrent({ torrentDir, dataDir, name, bytes, files, pieceLength = 1 << 18, announce, urlList, seed = 1 }) {
  const parts = files ? files.map((f) => ({ file: join(dataDir, name, f.path), bytes: f.bytes })) : [{ file: join(dataDir, name), bytes }];
  if (files) mkdirSync(join(dataDir, name), { recursive: true });
  const total = parts.reduce((n, p) => n + p.bytes, 0);
  const fds = parts.map((p) => openSync(p.file, 'w'));
  let f = 0;
  let leftInFile = parts[0].bytes;
  const pieces = [];
  let x = seed >>> 0 || 1;
  for (let off = 0; off < total; off += pieceLength) {
    const n = Math.min(pieceLength, total - off);
    const words = Buffer.allocUnsafe((n + 3) & ~3);
    for (let i = 0; i < words.length; i += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words.writeUInt32LE(x >>> 0, i);
    }
    const piece = words.subarray(0, n);
    // the piece's bytes go to the files they belong to, in order
    for (let at = 0; at < piece.length; ) {
      while (leftInFile === 0) leftInFile = parts[++f].bytes;
      const n = Math.min(leftInFile, piece.length - at);
      writeSync(fds[f], piece, at, n);
      at += n;
      leftInFile -= n;
    }
    pieces.push(createHash('sha1').update(piece).digest());
  }
  for (const fd of fds) closeSync(fd);
  const info = files
    ? { files: files.map((x) => ({ length: x.bytes, path: x.path.split('/') })), name, 'piece length': pieceLength, pieces: Buffer.concat(pieces) }
    : { length: bytes, name, 'piece length': pieceLength, pieces: Buffer.concat(pieces) };
  const infoBytes = bencode(info);
  const extra = urlList ? Buffer.concat([bencode('url-list'), bencode(urlList)]) : Buffer.alloc(0);
  writeFileSync(join(torrentDir, `${name}.torrent`), Buffer.concat([Buffer.from('d8:announce'), bencode(announce), Buffer.from('4:info'), infoBytes, extra, Buffer.from('e')]));
  return createHash('sha1').update(infoBytes).digest();
}

/** `--name N` from the command line as a number, or `def`. */
/**
 * Bundles src/ modules for a bench as dist/meshseed.js is bundled (scripts/build.mjs's
 * options): `build` is esbuild's; each entry becomes `<outdir>/<name>.cjs`.
 */
export const bundleForBench = (build, entryPoints, outdir, define = {}) =>
  build({ entryPoints, outdir, bundle: true, platform: 'node', target: 'node18', format: 'cjs', minify: true, outExtension: { '.js': '.cjs' }, define, logLevel: 'warning' });

export const numberArg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * The cold-start benches' folder: `torrents` small torrents (256 KiB each, their data in
 * place) announcing to a random loopback port; removed at exit.
 */
export function coldStartFolder(torrents, prefix = 'meshseed-cold-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const torrentDir = join(dir, 'torrents');
  const dataDir = join(dir, 'data');
  mkdirSync(torrentDir);
  mkdirSync(dataDir);
  const port = 20000 + Math.floor(Math.random() * 30000);
  for (let t = 0; t < torrents; t++)
    makeTorrent({ torrentDir, dataDir, name: `file-${t}.bin`, bytes: 256 << 10, announce: `http://127.0.0.1:${port}/announce`, seed: t + 1 });
  return { dir, torrentDir, dataDir, port };
}

/**
 * A way to start the daemon, "--flag=1 NAME=value ...": node flags (the words starting with
 * `-`) added to `initFlags`, or replacing them when they set --max-old-space-size, and
 * environment variables (bench/router.mjs's --variants, bench/mirror-webseed.mjs's --compare-variant).
 */
export function daemonVariant(text, initFlags) {
  const words = text.split(/\s+/).filter(Boolean);
  const given = words.filter((w) => w.startsWith('-'));
  const env = {};
  for (const kv of words.filter((w) => !w.startsWith('-'))) {
    const at = kv.indexOf('=');
    if (at <= 0) throw new Error(`'${kv}' is neither a node flag nor NAME=value`);
    env[kv.slice(0, at)] = kv.slice(at + 1);
  }
  const flags = given.some((f) => f.startsWith('--max-old-space-size')) ? given : [...initFlags, ...given];
  const label = [...flags, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)].join(' ');
  return { label: label || '(no flags)', flags, env };
}

/** The node flags the init script (files/etc/init.d/meshseed) starts the daemon with, heap 64 MiB. */
export function initScriptNodeFlags(root, heap = 64) {
  const script = readFileSync(join(root, 'files', 'etc', 'init.d', 'meshseed'), 'utf8');
  const line = script.split('\n').find((l) => l.includes('procd_set_param command /usr/bin/node'));
  if (!line) throw new Error('no node command line in the init script');
  const words = line.replace(/.*\/usr\/bin\/node\s+/, '').split(/\s+/);
  return words
    .slice(0, words.indexOf('"$PROG"'))
    .map((w) => w.replace(/"?\$heap"?/, String(heap)))
    .filter((w) => w.startsWith('--'));
}

export function rss(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? 0);
  return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024, anon: kb('RssAnon') * 1024, file: kb('RssFile') * 1024 };
}

export const mib = (b) => (b / 1048576).toFixed(1);

/** Resolves once a TCP connect to host:port succeeds (tries every `everyMs`). */
export async function waitForTcp(port, host = '127.0.0.1', everyMs = 20, limitMs = 20000) {
  const until = Date.now() + limitMs;
  for (;;) {
    const ok = await new Promise((r) => {
      const s = connect({ host, port }, () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on ${host}:${port}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function runToEnd(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out}`))));
  });
}
/**
 * Child processes of a benchmark: `start` spawns one with its output collected in `.out` and
 * its exit in `.done`; every one still running is killed (and `work` removed) when the
 * benchmark exits.
 */
export function processes(work, { spawn, rmSync }) {
  const children = new Set();
  const cleanup = () => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  process.on('SIGINT', () => process.exit(130));
  return function start(cmd, args, opts = {}) {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    children.add(c);
    c.out = '';
    c.stdout.on('data', (d) => (c.out += d));
    c.stderr.on('data', (d) => (c.out += d));
    c.done = new Promise((r) =>
      c.on('exit', (code) => {
        children.delete(c);
        r(code);
      }),
    );
    return c;
  };
}

/** Waits until `check()` is true, looking every `every` ms; throws after `ms`. */
export async function until(what, ms, check, every = 50) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** CPU seconds (user + system) of a process, from /proc/<pid>/stat. */
export function cpuSeconds(pid, readFileSync) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * meshseed's daemon (dist/meshseed.js under `root`) in mirror mode on loopback, tracker and LPD
 * off, with fresh `torrents`, `data` and `state` folders under `base`; resolves once it listens
 * for peers. `start` is a `processes()` starter; `env`: variables added to the daemon's environment.
 */
export async function startMirrorDaemon(start, { root, base, nodeFlags, port, extra = [], js = join(root, 'dist', 'meshseed.js'), env }) {
  for (const d of ['torrents', 'data', 'state']) mkdirSync(join(base, d), { recursive: true });
  const daemon = start(process.execPath, [
    ...nodeFlags,
    js,
    'daemon',
    '--tracker-enabled', '0',
    '--lpd-enabled', '0',
    '--state-dir', join(base, 'state'),
    '--seeder-torrent-dir', join(base, 'torrents'),
    '--seeder-data-dir', join(base, 'data'),
    '--seeder-listen-port', String(port),
    ...extra,
  ], env ? { env: { ...process.env, ...env } } : {});
  await until('the daemon to listen', 15_000, () => /listening for peers/.test(daemon.out));
  return daemon;
}
