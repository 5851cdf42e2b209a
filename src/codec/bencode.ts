/**
 * The one bencode adapter (BEP 3 "bencoding"). Everything in meshseed decodes and encodes
 * bencode through this module.
 *
 * Decoding is a strict parser of our own: the `bencode` package's decoder accepts
 * non-canonical input (leading zeros, `i-0e`, trailing bytes), recurses without bound,
 * copies its input and turns binary dict keys into hex, none of which can be fixed from
 * outside it. This parser:
 *   - rejects truncated input, trailing bytes, leading zeros, `-0`, non-digits in integers,
 *     integers beyond 2^53, string lengths past the end of the input;
 *   - bounds nesting depth and the number of values (every length is checked against the
 *     bytes that remain before anything is sliced);
 *   - returns dicts as `Map`s keyed by the key's raw bytes as a latin1 string, so binary
 *     keys survive and `__proto__` cannot pollute anything; a `__proto__` key is refused all
 *     the same, since no legitimate message carries one;
 *   - reports (does not reject) unsorted or duplicate dict keys, with their path, and keeps
 *     the first value of a duplicate (as libtorrent does), so a torrent with an unsorted
 *     `info` dict still loads and its info hash is still the SHA-1 of the original bytes;
 *   - records the byte span of each top-level dict value (the `info` dict for the info hash).
 *
 * Encoding uses the `bencode` package, handing it dict keys already sorted by raw bytes.
 */
import bencodePkg from 'bencode';
import { nodeCrypto } from '../util/lazy-modules.js';
import { MeshseedError } from '../errors.js';

export type BValue = number | Uint8Array | BValue[] | BDict;
export type BDict = Map<string, BValue>;

export interface DecodeOptions {
  /** Deepest nesting of lists and dicts accepted. */
  maxDepth?: number;
  /** Most values (integers, strings, list and dict openers) accepted. */
  maxValues?: number;
}

export interface Decoded {
  value: BValue;
  /** Unsorted or duplicate keys found, as "path: problem". */
  keyProblems: string[];
  /** Byte spans [start, end) of each value of a top-level dict, by key. */
  topLevelSpans: Map<string, [number, number]>;
}

/** Reasons: the torrents we read nest 5 deep; a torrent of 64 MiB holds ~3.4 M piece hashes in one string. */
export const DEFAULT_MAX_DEPTH = 32;
export const DEFAULT_MAX_VALUES = 1_000_000;

const CH_I = 0x69; // 'i'
const CH_L = 0x6c; // 'l'
const CH_D = 0x64; // 'd'
const CH_E = 0x65; // 'e'
const CH_COLON = 0x3a;
const CH_MINUS = 0x2d;
const CH_0 = 0x30;
const CH_9 = 0x39;

const fail = (message: string, at: number): never => {
  throw new MeshseedError('EBENCODE', `${message} at byte ${at}`);
};

/** Compare two byte strings held as latin1 strings: code units are bytes, so < is byte order. */
const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

class Parser {
  pos = 0;
  values = 0;
  readonly keyProblems: string[] = [];
  readonly topLevelSpans = new Map<string, [number, number]>();
  constructor(
    readonly buf: Uint8Array,
    readonly maxDepth: number,
    readonly maxValues: number,
  ) {}

  value(depth: number, path: string): BValue {
    if (++this.values > this.maxValues) fail(`more than ${this.maxValues} values`, this.pos);
    if (this.pos >= this.buf.length) fail('truncated input', this.pos);
    const c = this.buf[this.pos]!;
    if (c === CH_I) return this.integer();
    if (c >= CH_0 && c <= CH_9) return this.string();
    if (c === CH_L || c === CH_D) {
      if (depth >= this.maxDepth) fail(`nesting deeper than ${this.maxDepth}`, this.pos);
      return c === CH_L ? this.list(depth + 1, path) : this.dict(depth + 1, path);
    }
    return fail(`unexpected byte 0x${c.toString(16).padStart(2, '0')}`, this.pos);
  }

  /** Reads decimal digits up to `terminator`; checks leading zeros and sign. */
  digits(terminator: number, allowSign: boolean): number {
    const start = this.pos;
    let negative = false;
    if (allowSign && this.buf[this.pos] === CH_MINUS) {
      negative = true;
      this.pos++;
    }
    const first = this.pos;
    let n = 0;
    for (;;) {
      if (this.pos >= this.buf.length) fail('truncated input', this.pos);
      const c = this.buf[this.pos]!;
      if (c === terminator) break;
      if (c < CH_0 || c > CH_9) fail(`invalid character in number`, this.pos);
      n = n * 10 + (c - CH_0);
      if (n > Number.MAX_SAFE_INTEGER) fail('number too large', start);
      this.pos++;
    }
    const len = this.pos - first;
    if (len === 0) fail('empty number', start);
    if (len > 1 && this.buf[first] === CH_0) fail('leading zero in number', start);
    if (negative && n === 0) fail('negative zero', start);
    this.pos++; // terminator
    return negative ? -n : n;
  }

  integer(): number {
    this.pos++; // 'i'
    return this.digits(CH_E, true);
  }

  string(): Uint8Array {
    const at = this.pos;
    const len = this.digits(CH_COLON, false);
    if (len > this.buf.length - this.pos) fail(`string of ${len} bytes runs past the end`, at);
    const s = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  list(depth: number, path: string): BValue[] {
    this.pos++; // 'l'
    const out: BValue[] = [];
    for (;;) {
      if (this.pos >= this.buf.length) fail('truncated input', this.pos);
      if (this.buf[this.pos] === CH_E) break;
      out.push(this.value(depth, `${path}[${out.length}]`));
    }
    this.pos++;
    return out;
  }

  dict(depth: number, path: string): BDict {
    this.pos++; // 'd'
    const out: BDict = new Map();
    let previous: string | undefined;
    for (;;) {
      if (this.pos >= this.buf.length) fail('truncated input', this.pos);
      const c = this.buf[this.pos]!;
      if (c === CH_E) break;
      if (c < CH_0 || c > CH_9) fail('dict key is not a string', this.pos);
      const keyAt = this.pos;
      const key = latin1(this.string());
      if (key === '__proto__') fail('dict key "__proto__" is not allowed', keyAt);
      const keyPath = path ? `${path}.${printableKey(key)}` : printableKey(key);
      if (previous !== undefined) {
        const order = compareKeys(previous, key);
        if (order === 0) this.keyProblems.push(`${keyPath}: duplicate key`);
        else if (order > 0) this.keyProblems.push(`${keyPath}: key out of order`);
      }
      previous = key;
      const valueAt = this.pos;
      const v = this.value(depth, keyPath);
      // The span must belong to the value kept: a second `info` must not lend its bytes to
      // the info hash of the first (a torrent whose hash and files disagree).
      if (!out.has(key)) {
        out.set(key, v);
        if (depth === 1) this.topLevelSpans.set(key, [valueAt, this.pos]);
      }
    }
    this.pos++;
    return out;
  }
}

export function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function printableKey(key: string): string {
  return /^[\x20-\x7e]*$/.test(key) ? key : `<${Buffer.from(key, 'latin1').toString('hex')}>`;
}

/** Decodes exactly one bencoded value filling all of `buf`. Throws MeshseedError('EBENCODE'). */
export function decode(buf: Uint8Array, options: DecodeOptions = {}): Decoded {
  const p = new Parser(buf, options.maxDepth ?? DEFAULT_MAX_DEPTH, options.maxValues ?? DEFAULT_MAX_VALUES);
  if (buf.length === 0) fail('empty input', 0);
  const value = p.value(0, '');
  if (p.pos !== buf.length) fail(`${buf.length - p.pos} trailing bytes`, p.pos);
  return { value, keyProblems: p.keyProblems, topLevelSpans: p.topLevelSpans };
}

/**
 * Decodes one bencoded value at the start of `buf` and says where it ends: for messages
 * that carry raw bytes after a dict (BEP 9 ut_metadata data).
 */
export function decodePrefix(buf: Uint8Array, options: DecodeOptions = {}): { value: BValue; end: number } {
  const p = new Parser(buf, options.maxDepth ?? DEFAULT_MAX_DEPTH, options.maxValues ?? DEFAULT_MAX_VALUES);
  if (buf.length === 0) fail('empty input', 0);
  const value = p.value(0, '');
  return { value, end: p.pos };
}

/** What may be encoded: strings become UTF-8, objects and Maps become dicts. */
export type EncodableValue =
  | number
  | string
  | Uint8Array
  | EncodableValue[]
  | RawBencode
  | Map<string, EncodableValue | undefined>
  | { [key: string]: EncodableValue | undefined };

/**
 * A dict key for the `bencode` package: bytes it writes as a string, whose `toString` is
 * the latin1 form so the package's default `sort()` orders keys by raw bytes.
 */
class ByteKey extends Uint8Array {
  private readonly sortKey: string;
  constructor(bytes: Uint8Array) {
    super(bytes);
    this.sortKey = latin1(bytes);
  }
  override toString(): string {
    return this.sortKey;
  }
}

/**
 * Plain-object dict keys are text (encoded UTF-8); Map keys are raw bytes as latin1 strings
 * (as `decode` returns them). `undefined` values are left out.
 */
function prepare(v: EncodableValue, raws: Uint8Array[], tag: string): unknown {
  if (v instanceof RawBencode) {
    raws.push(v.bytes);
    return rawMarker(tag, raws.length - 1);
  }
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new MeshseedError('EBENCODE', `cannot encode non-integer ${v}`);
    return v;
  }
  if (typeof v === 'string' || v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return v.map((x) => prepare(x, raws, tag));
  const out = new Map<ByteKey, unknown>();
  const entries: [Buffer, EncodableValue | undefined][] =
    v instanceof Map
      ? [...v].map(([k, x]) => [Buffer.from(k, 'latin1'), x])
      : Object.entries(v).map(([k, x]) => [Buffer.from(k, 'utf8'), x]);
  for (const [k, x] of entries) if (x !== undefined) out.set(new ByteKey(k), prepare(x, raws, tag));
  return out;
}

export function encode(value: EncodableValue): Uint8Array {
  const raws: Uint8Array[] = [];
  const tag = nodeCrypto().randomBytes(12).toString('hex');
  const encoded = bencodePkg.encode(prepare(value, raws, tag));
  return raws.length === 0 ? encoded : spliceRaw(encoded, raws, tag);
}

/**
 * Bytes that are already bencoded and must be written as they are: the `info` dict of a
 * torrent whose trackers are rewritten keeps its exact bytes, so its info hash is unchanged.
 */
export class RawBencode {
  constructor(readonly bytes: Uint8Array) {}
}

/**
 * Each RawBencode is first encoded as a marker string of its own, then the marker is replaced.
 * The marker carries a random tag drawn per encode, so a string value taken from a hostile
 * file (a comment crafted to look like a marker) cannot be mistaken for it.
 */
const rawMarker = (tag: string, i: number) => Buffer.from(`\u0000meshseed-raw-bencode-${tag}-${i}\u0000`, 'latin1');

function spliceRaw(encoded: Uint8Array, raws: Uint8Array[], tag: string): Uint8Array {
  let buf = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  raws.forEach((raw, i) => {
    const marker = rawMarker(tag, i);
    const text = Buffer.concat([Buffer.from(`${marker.length}:`), marker]);
    const at = buf.indexOf(text);
    if (at < 0) throw new MeshseedError('EBENCODE', 'internal: raw bencode marker lost');
    buf = Buffer.concat([buf.subarray(0, at), raw, buf.subarray(at + text.length)]);
  });
  return buf;
}

// ---- accessors for decoded values: each names the field it reads in its error ----

export const isDict = (v: BValue | undefined): v is BDict => v instanceof Map;
export const isBytes = (v: BValue | undefined): v is Uint8Array => v instanceof Uint8Array;
export const isList = (v: BValue | undefined): v is BValue[] => Array.isArray(v);
export const isInt = (v: BValue | undefined): v is number => typeof v === 'number';

/** UTF-8 text of a byte string, or undefined if it is not valid UTF-8. */
export function utf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
