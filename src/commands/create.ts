import { accessSync, constants, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { buildTorrent, parseTiers, parseWebSeeds } from '../torrent/build.js';
import { choosePieceLength, MAX_PIECE_EXPONENT, MIN_PIECE_EXPONENT } from '../torrent/piece-length.js';
import { listSource } from '../torrent/source-files.js';
import { checkPathComponent, parseMetainfo } from '../codec/metainfo.js';
import { hashFilesParallel } from '../storage/parallel-hasher.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { formatBytes, Progress } from '../util/progress.js';
import { MeshseedError, usageError } from '../errors.js';
import { VERSION } from '../version.js';
import { many, single, type Command } from './command.js';
import { progressSink } from './torrent-common.js';

/** Most hashing threads (-t): mktorrent's limit is the same order; more than the cores only costs memory. */
const MAX_THREADS = 64;
/**
 * Most memory for pieces being read and hashed (two per thread): with 16 MiB pieces (data over
 * 12.5 GiB) on a 4-core router, -t 4 would hold 128 MiB; fewer pieces are hashed at once then.
 */
const MAX_PIECE_MEMORY = 64 << 20;
/** libuv's thread pool when UV_THREADPOOL_SIZE is not set: it runs the hashes and the reads. */
const UV_DEFAULT_POOL = 4;

/** The default -t: one hashing thread per core, as mktorrent's. */
const defaultThreads = (): number => Math.min(MAX_THREADS, Math.max(1, availableParallelism()));

/**
 * What to do about a torrent made without -a: the mesh tracker of this router's config when
 * it names one. (The config modules are loaded only then: `create` starts sooner without them.)
 */
async function trackerHint(output: string): Promise<string> {
  const { DEFAULT_CONFIG_FILE, loadUciFile } = await import('../config/resolve.js');
  let url = 'http://<mesh router>:6969/announce';
  if (existsSync(DEFAULT_CONFIG_FILE)) url = loadUciFile(DEFAULT_CONFIG_FILE).settings['seeder.mesh_tracker'][0] ?? url;
  return `clients find its peers only by LPD, PEX or the DHT. Add the mesh tracker: -a ${url} (or now: meshseed reannounce ${url} ${output})`;
}

export const createCommand: Command = {
  name: 'create',
  summary: 'make a .torrent from a file or a folder (mktorrent flags)',
  help: `Usage: meshseed create [options] <file|folder>

Hashes the data and writes a v1 .torrent. Same data, piece length and options as mktorrent
give the same info hash. A folder's dot-files, CVS, core, Thumbs.db and desktop.ini are
left out; files are listed in byte order of their path.

Options:
  -a, --announce URL[,URL...]  a tracker tier (commas: several trackers in the tier);
                               repeat -a for more tiers, first tier first
  -w, --web-seed URL[,URL...]  web seed (BEP 19 url-list); repeat for more
  -p, --private                set the private flag (BEP 27)
  -l, --piece-length N         pieces of 2^N bytes (${MIN_PIECE_EXPONENT}..${MAX_PIECE_EXPONENT}); default: by size,
                               2^15 up to 50 MiB, doubling with the size, 2^24 above 12.5 GiB
  -c, --comment TEXT           comment
  -n, --name NAME              name of the torrent (default: the target's name)
  -s, --source TEXT            source string, inside the info dict (changes the info hash)
  -d, --no-date                leave out the creation date
  -o, --output FILE            where to write (default: <name>.torrent here)
  -f, --force                  overwrite the output file if it exists
  -q, --quiet                  no progress and no summary
  -t, --threads N              hashing threads (1..${MAX_THREADS}, default: one per core, as
                               mktorrent): the main thread, then each one more a thread of
                               libuv's pool holding two more pieces in memory

Progress goes to stderr: a bar on a terminal, a line per 10% otherwise.

Examples:
  meshseed create -a http://10.0.0.1:6969/announce -a udp://tracker.example.invalid:6969 \\
      -w http://10.0.0.1/openwrt/ openwrt-24.10/
  meshseed create -l 20 -d -o image.torrent openwrt-x86-64.img.gz`,
  options: {
    string: ['announce', 'web-seed', 'piece-length', 'comment', 'name', 'source', 'output', 'threads'],
    boolean: ['private', 'no-date', 'date', 'force', 'quiet'],
    alias: { a: 'announce', w: 'web-seed', l: 'piece-length', c: 'comment', n: 'name', s: 'source', o: 'output', p: 'private', d: 'no-date', f: 'force', q: 'quiet', t: 'threads' },
  },
  async run(args, io) {
    if (args._.length !== 1) throw usageError(args._.length === 0 ? 'create needs a file or folder' : `create takes one file or folder (got ${args._.length})`);
    const target = String(args._[0]);
    const tiers = parseTiers(many(args, 'announce'));
    const webSeeds = parseWebSeeds(many(args, 'web-seed'));
    const quiet = Boolean(args.quiet);
    const noDate = Boolean(args['no-date']) || args.date === false;
    const exponentText = single(args, 'piece-length');
    let exponent: number | undefined;
    if (exponentText !== undefined) {
      exponent = Number(exponentText);
      if (!/^\d+$/.test(exponentText) || exponent < MIN_PIECE_EXPONENT || exponent > MAX_PIECE_EXPONENT)
        throw usageError(`-l ${exponentText}: the piece length is 2^N with N from ${MIN_PIECE_EXPONENT} to ${MAX_PIECE_EXPONENT}`);
    }
    const threadsText = single(args, 'threads');
    const threads = threadsText === undefined ? defaultThreads() : Number(threadsText);
    if (threadsText !== undefined && (!/^\d+$/.test(threadsText) || threads < 1 || threads > MAX_THREADS))
      throw usageError(`-t ${threadsText}: the number of hashing threads is 1 to ${MAX_THREADS}`);
    // The pool hashes up to `threads` pieces and reads the next ones: with more threads than
    // its default 4 it is grown, before its first use (the file listing below), unless the
    // operator sized it.
    if (threads + 1 > UV_DEFAULT_POOL && process.env.UV_THREADPOOL_SIZE === undefined) process.env.UV_THREADPOOL_SIZE = String(threads + 1);
    const nameOption = single(args, 'name');
    if (nameOption !== undefined) {
      try {
        checkPathComponent(nameOption, 'name');
      } catch (err) {
        throw usageError(`-n: ${(err as Error).message}`);
      }
    }

    const source = await listSource(target);
    const name = nameOption ?? source.name;
    const output = single(args, 'output') ?? `${name}.torrent`;
    const force = Boolean(args.force);
    if (source.length === 0) throw new MeshseedError('EIO', `'${target}' holds no data (every file is empty)`);
    const outputPath = resolve(output);
    if (source.files.some((f) => resolve(f.path) === outputPath)) throw usageError(`the output ${output} is one of the files to publish`);
    // Fail before hashing, not after (the write checks again, atomically).
    try {
      accessSync(dirname(outputPath), constants.W_OK);
    } catch (err) {
      throw new MeshseedError('EIO', `cannot write ${output}: ${(err as Error).message}`);
    }
    if (!force) {
      if (existsSync(output)) throw new MeshseedError('EIO', `'${output}' exists (use -f to overwrite it)`);
    }
    const pieceLength = exponent !== undefined ? 2 ** exponent : choosePieceLength(source.length);
    const pieceCount = Math.ceil(source.length / pieceLength);
    const pieces = new Uint8Array(pieceCount * 20);

    const progress = new Progress(progressSink(io, quiet), 'hashing');
    let problems;
    try {
      problems = await hashFilesParallel(source.files, {
        pieceLength,
        lanes: Math.max(1, Math.min(threads, Math.floor(MAX_PIECE_MEMORY / (2 * pieceLength)))),
        onPiece: (i, digest) => {
          if (digest) pieces.set(digest, i * 20);
        },
        onProgress: (done, total) => progress.update(done, total),
      });
    } finally {
      progress.finish();
    }
    if (problems.length > 0) {
      const p = problems[0]!;
      const f = source.files[p.file]!;
      const what = p.kind === 'unreadable' ? `cannot be read (${p.message})` : p.kind === 'missing' ? 'disappeared' : 'changed size while it was hashed';
      throw new MeshseedError('EIO', `${f.path} ${what}`);
    }

    const bytes = buildTorrent({
      name,
      pieceLength,
      pieces,
      ...(source.singleFile ? { length: source.length } : { files: source.files.map((f) => ({ path: f.components, length: f.length })) }),
      announceTiers: tiers,
      webSeeds,
      private: Boolean(args.private),
      ...(single(args, 'comment') !== undefined ? { comment: single(args, 'comment')! } : {}),
      ...(single(args, 'source') !== undefined ? { source: single(args, 'source')! } : {}),
      createdBy: `meshseed ${VERSION}`,
      ...(noDate ? {} : { creationDate: Math.floor(Date.now() / 1000) }),
    });
    const m = parseMetainfo(bytes); // what we write, we must read back
    writeFileAtomic(output, bytes, { overwrite: force });
    if (!quiet && tiers.length === 0) io.err(`meshseed: warning: ${output} has no tracker: ${await trackerHint(output)}`);
    if (!quiet) {
      io.out(`${output}: ${m.name}, ${formatBytes(m.length)} in ${m.files.length} file${m.files.length === 1 ? '' : 's'}, ${m.pieceCount} pieces of ${formatBytes(m.pieceLength)}`);
      io.out(`info hash ${m.infoHashHex}`);
    }
    return 0;
  },
};
