/**
 * UCI file parser (the syntax of OpenWrt's libuci, `uci import`):
 *
 *   package <name>                       (ignored: the file name is the package)
 *   config <type> ['<name>']
 *   option <name> '<value>'              option x '' means unset
 *   list <name> '<value>'                list x '' adds an empty item
 *   short forms: p, c, o, l
 *
 * Single quotes are literal; double quotes take backslash escapes; quotes may span lines;
 * adjacent quoted and unquoted pieces join into one word (`'a'"b"c` is `abc`); a backslash
 * outside quotes escapes the next character, and before a newline continues the line;
 * `#` starts a comment where a word could start. Names are `[A-Za-z0-9_]+`.
 * Sections with the same name are merged, as libuci does.
 *
 * Pure: text in, sections or errors (with line numbers) out.
 */
import { MeshseedError } from '../errors.js';

export interface UciOption {
  name: string;
  kind: 'option' | 'list';
  /** For `option`: one value; for `list`: every item in order. */
  values: string[];
  line: number;
}

export interface UciSection {
  type: string;
  name?: string;
  line: number;
  options: Map<string, UciOption>;
}

export interface UciProblem {
  line: number;
  message: string;
}

export interface UciDocument {
  sections: UciSection[];
  /** Syntax errors; statements with errors are skipped, the rest still parsed. */
  problems: UciProblem[];
}

/** Limits: a router's config file is a few KiB; refuse to chew on anything absurd. */
export const MAX_UCI_BYTES = 1 << 20;

const NAME = /^[A-Za-z0-9_]+$/;

interface Statement {
  words: string[];
  line: number;
}

/** Splits text into statements (one per logical line) of words. */
function tokenize(text: string, problems: UciProblem[]): Statement[] {
  const out: Statement[] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  let stmtLine = 0;
  let line = 1;
  let i = 0;
  const n = text.length;

  const endWord = () => {
    if (inWord) {
      words.push(word);
      word = '';
      inWord = false;
    }
  };
  const endStatement = () => {
    endWord();
    if (words.length > 0) out.push({ words, line: stmtLine });
    words = [];
  };
  const startWord = () => {
    if (!inWord) {
      if (words.length === 0) stmtLine = line;
      inWord = true;
    }
  };

  while (i < n) {
    const c = text[i]!;
    if (c === '\n') {
      endStatement();
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      endWord();
      i++;
    } else if (c === '#' && !inWord) {
      while (i < n && text[i] !== '\n') i++;
    } else if (c === "'" || c === '"') {
      startWord();
      const openLine = line;
      i++;
      let closed = false;
      while (i < n) {
        const q = text[i]!;
        if (q === c) {
          closed = true;
          i++;
          break;
        }
        if (q === '\\' && c === '"' && i + 1 < n) {
          const next = text[i + 1]!;
          if (next === '\n') line++;
          else word += next;
          i += 2;
          continue;
        }
        if (q === '\n') line++;
        word += q;
        i++;
      }
      if (!closed) {
        problems.push({ line: openLine, message: `unterminated ${c === "'" ? 'single' : 'double'} quote` });
        word = '';
        inWord = false;
        words = [];
      }
    } else if (c === '\\') {
      if (text[i + 1] === '\n') {
        line++;
        i += 2; // line continuation
      } else if (i + 1 < n) {
        startWord();
        word += text[i + 1];
        i += 2;
      } else {
        i++;
      }
    } else {
      startWord();
      word += c;
      i++;
    }
  }
  endStatement();
  return out;
}

export function parseUci(text: string): UciDocument {
  const problems: UciProblem[] = [];
  const sections: UciSection[] = [];
  const byName = new Map<string, UciSection>();
  let current: UciSection | undefined;

  if (text.length > MAX_UCI_BYTES) {
    return { sections, problems: [{ line: 1, message: `file larger than ${MAX_UCI_BYTES} bytes` }] };
  }
  if (text.includes('\0')) {
    const line = text.slice(0, text.indexOf('\0')).split('\n').length;
    return { sections, problems: [{ line, message: 'NUL byte in file (is it a UCI file?)' }] };
  }

  for (const { words, line } of tokenize(text, problems)) {
    const [keyword, ...args] = words as [string, ...string[]];
    const bad = (message: string) => problems.push({ line, message });
    switch (keyword) {
      case 'package':
      case 'p':
        if (args.length !== 1) bad(`'package' takes one name`);
        break;
      case 'config':
      case 'c': {
        const [type, name] = args;
        if (args.length < 1 || args.length > 2 || type === undefined) {
          bad(`'config' takes a type and an optional name`);
          current = undefined;
          break;
        }
        if (!NAME.test(type)) {
          bad(`invalid section type '${type}' (letters, digits and _ only)`);
          current = undefined;
          break;
        }
        if (name !== undefined && !NAME.test(name)) {
          bad(`invalid section name '${name}' (letters, digits and _ only)`);
          current = undefined;
          break;
        }
        const existing = name !== undefined ? byName.get(name) : undefined;
        if (existing) {
          if (existing.type !== type) bad(`section '${name}' redefined with type '${type}' (was '${existing.type}')`);
          current = existing;
        } else {
          current = { type, line, options: new Map(), ...(name !== undefined ? { name } : {}) };
          sections.push(current);
          if (name !== undefined) byName.set(name, current);
        }
        break;
      }
      case 'option':
      case 'o':
      case 'list':
      case 'l': {
        const kind = keyword === 'option' || keyword === 'o' ? 'option' : 'list';
        if (!current) {
          bad(`'${kind}' outside of a 'config' section`);
          break;
        }
        if (args.length !== 2) {
          bad(`'${kind}' takes a name and one value (quote values with spaces)`);
          break;
        }
        const [name, value] = args as [string, string];
        if (!NAME.test(name)) {
          bad(`invalid option name '${name}' (letters, digits and _ only)`);
          break;
        }
        const prev = current.options.get(name);
        if (kind === 'option') {
          if (value === '') current.options.delete(name);
          else current.options.set(name, { name, kind, values: [value], line });
        } else if (prev && prev.kind === 'list') {
          prev.values.push(value);
          prev.line = line;
        } else {
          // libuci turns an option followed by a list of the same name into a list.
          current.options.set(name, { name, kind, values: prev ? [...prev.values, value] : [value], line });
        }
        break;
      }
      default:
        bad(`unknown keyword '${keyword}' (expected config, option, list or package)`);
    }
  }
  return { sections, problems };
}

/** Parses and throws on the first syntax problem (for callers that want all-or-nothing). */
export function parseUciStrict(text: string, file: string): UciDocument {
  const doc = parseUci(text);
  const first = doc.problems[0];
  if (first) throw new MeshseedError('ECONFIG', `${file}:${first.line}: ${first.message}`);
  return doc;
}
