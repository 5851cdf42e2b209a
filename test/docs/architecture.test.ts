// deadline: 10s
/**
 * docs/architecture.md stays true: the README links it (and no DESIGN.md the repository does
 * not have), and every file or folder it names exists.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers';

const doc = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

test('the README links docs/architecture.md and names no DESIGN.md', () => {
  assert.match(readme, /\[docs\/architecture\.md\]\(docs\/architecture\.md\)/);
  assert.not.match(readme, /DESIGN\.md/);
  assert.not.ok(existsSync(join(ROOT, 'DESIGN.md')));
});

test('every path docs/architecture.md names exists (the parts still to come are marked as such)', () => {
  const named = [...doc.matchAll(/`((?:src|test|files|scripts|openwrt-feed)\/[^`\s]*)`/g)].map((m) => m[1]!);
  assert.ok(named.length > 20, `${named.length} paths`);
  const toCome = /\| `(src\/[a-z/]+)` .*_to be written_/;
  const future = new Set(doc.split('\n').flatMap((l) => [...l.matchAll(/`(src\/[a-z-]+\/?)`/g)].filter(() => toCome.test(l)).map((m) => m[1]!)));
  for (const p of named) {
    if (future.has(p)) continue;
    assert.ok(existsSync(join(ROOT, p)), `${p} does not exist`);
  }
  // the seams it describes are the ones src/parts.ts declares
  const parts = readFileSync(join(ROOT, 'src', 'parts.ts'), 'utf8');
  for (const name of ['TrackerRegistry', 'SeederView', 'SeededTorrent', 'PeerCandidate']) {
    assert.ok(doc.includes(`\`${name}\``), name);
    assert.match(parts, new RegExp(`export interface ${name} `));
  }
});

test.run();
