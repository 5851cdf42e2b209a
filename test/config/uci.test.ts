import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseUci } from '../../src/config/uci';

const opt = (text: string, section = 0, name = 'x') => parseUci(text).sections[section]?.options.get(name)?.values;

test('config, option, list, package and short forms', () => {
  const doc = parseUci(`package meshseed
config meshseed 'main'
\toption enabled '1'
c tracker tracker
  o port 6969
  l address 10.0.0.1
  list address '::1'
`);
  assert.equal(doc.problems, []);
  assert.is(doc.sections.length, 2);
  assert.is(doc.sections[0]!.type, 'meshseed');
  assert.is(doc.sections[0]!.name, 'main');
  assert.equal(doc.sections[0]!.options.get('enabled')!.values, ['1']);
  assert.equal(doc.sections[1]!.options.get('address')!.values, ['10.0.0.1', '::1']);
  assert.is(doc.sections[1]!.options.get('address')!.line, 7);
});

test('quoting: single literal, double escapes, adjacent pieces join, multi-line', () => {
  assert.equal(opt(`config a\noption x 'a\\nb'`), ['a\\nb']);
  assert.equal(opt(`config a\noption x "a\\"b\\\\c"`), ['a"b\\c']);
  assert.equal(opt(`config a\noption x 'ab'"cd"ef`), ['abcdef']);
  assert.equal(opt(`config a\noption x 'line1\nline2'`), ['line1\nline2']);
  assert.equal(opt(`config a\noption x "it's"`), ["it's"]);
  assert.equal(opt(`config a\noption x un\\ quoted`), ['un quoted']);
  assert.equal(opt(`config a\noption x 'a # not a comment'`), ['a # not a comment']);
});

test('comments and blank lines', () => {
  const doc = parseUci(`# top\n\nconfig a 'n' # trailing\n  # indented\n  option x 1 # after\n`);
  assert.equal(doc.problems, []);
  assert.equal(doc.sections[0]!.options.get('x')!.values, ['1']);
});

test("option x '' unsets; list x '' adds an empty item", () => {
  assert.is(opt(`config a\noption x 1\noption x ''`), undefined);
  assert.equal(opt(`config a\nlist x ''\nlist x b`), ['', 'b']);
});

test('line continuation with a backslash', () => {
  const doc = parseUci(`config a\noption x \\\n  value\noption y 2`);
  assert.equal(doc.problems, []);
  assert.equal(doc.sections[0]!.options.get('x')!.values, ['value']);
  assert.is(doc.sections[0]!.options.get('y')!.line, 4);
});

test('named sections merge', () => {
  const doc = parseUci(`config t 'n'\noption a 1\nconfig t 'n'\noption b 2`);
  assert.is(doc.sections.length, 1);
  assert.equal([...doc.sections[0]!.options.keys()], ['a', 'b']);
});

const problems: [string, string, RegExp, number][] = [
  ['unterminated quote', `config a\noption x 'abc\noption y 1\n`, /unterminated single quote/, 2],
  ['option outside section', `option x 1`, /outside of a 'config'/, 1],
  ['bad keyword', `config a\n  opton x 1`, /unknown keyword 'opton'/, 2],
  ['bad name', `config a\n  option x-y 1`, /invalid option name 'x-y'/, 2],
  ['too many values', `config a\n  option x 1 2`, /takes a name and one value/, 2],
  ['bad section type', `config a-b`, /invalid section type/, 1],
  ['NUL byte', `config a\n\0`, /NUL byte/, 2],
];
for (const [name, text, re, line] of problems) {
  test(`reports ${name} with its line`, () => {
    const doc = parseUci(text);
    assert.ok(doc.problems.length > 0, 'a problem is reported');
    assert.match(doc.problems[0]!.message, re);
    assert.is(doc.problems[0]!.line, line);
  });
}

test('a bad statement does not hide the good ones after it', () => {
  const doc = parseUci(`config a 'n'\n  option x 1 2\n  option y 3\n`);
  assert.is(doc.problems.length, 1);
  assert.equal(doc.sections[0]!.options.get('y')!.values, ['3']);
});

test.run();
