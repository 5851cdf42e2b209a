/**
 * A reader for the tar archives of an .ipk, so tests can check header fields the tar
 * program does not print (format magic, numeric owner, mtime). Only what opkg reads:
 * 512-byte headers, regular files and folders, no extensions.
 */
import { run } from '../helpers';
import { gunzipSync } from 'node:zlib';

export interface TarEntry {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  size: number;
  mtime: number;
  type: string;
  /** bytes 257..264: 'ustar  \0' for GNU tar, 'ustar\u000000' for POSIX/pax */
  magic: string;
  data: Buffer;
}

function text(b: Buffer, start: number, len: number): string {
  const s = b.subarray(start, start + len);
  const nul = s.indexOf(0);
  return s.subarray(0, nul < 0 ? s.length : nul).toString('latin1');
}

function octal(b: Buffer, start: number, len: number): number {
  const s = text(b, start, len).trim();
  if (!/^[0-7]+$/.test(s)) throw new Error(`bad octal field '${s}' at ${start}`);
  return parseInt(s, 8);
}

export function readTar(tar: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  let at = 0;
  while (at + 512 <= tar.length) {
    const h = tar.subarray(at, at + 512);
    if (h.every((x) => x === 0)) break;
    const size = octal(h, 124, 12);
    out.push({
      name: text(h, 0, 100),
      mode: octal(h, 100, 8),
      uid: octal(h, 108, 8),
      gid: octal(h, 116, 8),
      size,
      mtime: octal(h, 136, 12),
      type: String.fromCharCode(h[156]!),
      magic: h.subarray(257, 265).toString('latin1'),
      uname: text(h, 265, 32),
      gname: text(h, 297, 32),
      data: Buffer.from(tar.subarray(at + 512, at + 512 + size)),
    });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

export const readTarGz = (bytes: Buffer): TarEntry[] => readTar(gunzipSync(bytes));

export function member(entries: TarEntry[], name: string): TarEntry {
  const e = entries.find((x) => x.name === name);
  if (!e) throw new Error(`no ${name} in [${entries.map((x) => x.name).join(', ')}]`);
  return e;
}

/** `Field: value` lines, continuation lines (starting with a space) joined to the field. */
export function parseControl(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  let last = '';
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith(' ')) {
      fields.set(last, `${fields.get(last)}\n${line.slice(1)}`);
      continue;
    }
    const m = /^([A-Za-z0-9-]+): (.*)$/.exec(line);
    if (!m) throw new Error(`bad control line '${line}'`);
    last = m[1]!;
    if (fields.has(last)) throw new Error(`field ${last} twice`);
    fields.set(last, m[2]!);
  }
  return fields;
}

/** Runs a program, killed after `timeoutMs` (test/helpers.ts run()). */
export const exec = run;
