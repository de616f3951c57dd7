// The README and docs/ARCHITECTURE.md name the files (tests above all) that
// hold each promise. A file moved or renamed without its mention updated
// would leave a promise pointing at nothing: this test fails on any named
// repository path that does not exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './system-harness.js';

const DOCS = ['README.md', 'docs/ARCHITECTURE.md'];
const TOP = ['libs', 'services', 'cli', 'test', 'deploy', 'scripts', 'proto', 'docs'];

/** Every `path` in backquotes that starts at a top-level folder, without placeholders or globs. */
export function namedPaths(markdown: string): string[] {
  const found = new Set<string>();
  for (const m of markdown.matchAll(/`([A-Za-z0-9_./-]+)`/g)) {
    const p = m[1]!.replace(/[.,:]$/, '');
    if (TOP.includes(p.split('/')[0]!) && p.includes('/')) found.add(p);
  }
  return [...found].sort();
}

test('namedPaths finds repository paths in backquotes and leaves out placeholders and plain words', () => {
  const md =
    'see `services/ras/test/audit.test.ts`, `<lib>/tsconfig.json`, `npm test`, `libs/**/*.ts` and `docs/A.md`.';
  assert.deepEqual(namedPaths(md), ['docs/A.md', 'services/ras/test/audit.test.ts']);
});

for (const doc of DOCS) {
  test(`every repository path ${doc} names exists`, () => {
    const named = namedPaths(readFileSync(join(REPO, doc), 'utf8'));
    assert.ok(named.length > 10, `${doc} names almost no file: is the pattern still right?`);
    const missing = named.filter((p) => !existsSync(join(REPO, p)));
    assert.deepEqual(missing, [], `${doc} names files that do not exist: update the text to where they moved`);
  });
}
