import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ensureSystemFolder, moveLegacyCluster, systemFolderFor } from './system-folder.js';

const isRoot = process.getuid?.() === 0;

test(
  'as root, each data folder gets its own passable, root-owned system folder; one whose data folder is gone is removed',
  { skip: isRoot ? false : 'only root starts use it' },
  async (t) => {
    const base = path.join(await mkdtemp(path.join(tmpdir(), 'latchkey-system-')), 'lib');
    const homes = await mkdtemp(path.join(tmpdir(), 'latchkey-homes-'));
    t.after(() => rm(path.dirname(base), { recursive: true, force: true }));
    t.after(() => rm(homes, { recursive: true, force: true }));
    const a = path.join(homes, 'a');
    const b = path.join(homes, 'b');
    const ownA = await ensureSystemFolder(a, base);
    assert.equal(ownA, systemFolderFor(a, base));
    for (const dir of [base, ownA]) {
      const st = await stat(dir);
      assert.equal(st.mode & 0o777, 0o711, `${dir} is passable, not listable`);
      assert.equal(st.uid, 0);
    }
    assert.equal((await readFile(path.join(ownA, 'data-folder'), 'utf8')).trim(), a);
    assert.equal(((await stat(path.join(ownA, 'data-folder'))).mode & 0o777).toString(8), '600');
    // a's data folder never existed (or was deleted): the next start of another one removes a's leftovers.
    await mkdir(b);
    const ownB = await ensureSystemFolder(b, base);
    await assert.rejects(stat(ownA), /ENOENT/);
    await ensureSystemFolder(b, base);
    assert.ok((await stat(ownB)).isDirectory(), 'a folder whose data folder exists is kept');
  },
);

test('a cluster an earlier version kept in the data folder moves once to the system folder', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'latchkey-move-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const legacy = path.join(dir, 'home', 'postgres');
  const target = path.join(dir, 'system', 'postgres');
  await mkdir(legacy, { recursive: true });
  await mkdir(path.dirname(target));
  await writeFile(path.join(legacy, 'PG_VERSION'), '18\n');
  assert.equal(await moveLegacyCluster(legacy, target), true);
  assert.equal(await readFile(path.join(target, 'PG_VERSION'), 'utf8'), '18\n');
  assert.equal(await moveLegacyCluster(legacy, target), false, 'nothing left to move');
});
