import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CliError } from '../output/cli-errors.js';
import { ensureDataFolder, resolveHome } from './data-folder.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

test('LATCHKEY_HOME wins, else ./.latchkey; both made absolute', () => {
  assert.equal(resolveHome({}, '/srv/app'), '/srv/app/.latchkey');
  assert.equal(resolveHome({ LATCHKEY_HOME: 'data' }, '/srv/app'), '/srv/app/data');
  assert.equal(resolveHome({ LATCHKEY_HOME: '/var/lk' }, '/srv/app'), '/var/lk');
  assert.equal(resolveHome({ LATCHKEY_HOME: '' }, '/srv/app'), '/srv/app/.latchkey');
});

test('creates a missing data folder, private, with logs and work inside', async () => {
  const home = path.join(await mkdtemp(path.join(tmpdir(), 'latchkey-home-')), 'a', 'b');
  await ensureDataFolder(home);
  // Private whoever runs it: as root, what other OS users need lives in the system folder.
  assert.equal((await stat(home)).mode & 0o777, 0o700);
  assert.ok((await stat(path.join(home, 'logs'))).isDirectory());
  assert.ok((await stat(path.join(home, 'work'))).isDirectory());
  await ensureDataFolder(home); // a second start is fine
});

test('a data folder that is a file is refused with one clear line', async () => {
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'latchkey-home-')), 'file');
  await writeFile(file, 'x');
  await assert.rejects(ensureDataFolder(file), (e: unknown) => {
    assert.ok(e instanceof CliError);
    assert.equal(
      e.message,
      `cannot use data folder ${file}: it is not a directory; set LATCHKEY_HOME to a writable folder`,
    );
    return true;
  });
  await assert.rejects(
    ensureDataFolder(path.join(file, 'below')),
    /cannot use data folder .*: .*; set LATCHKEY_HOME to a writable folder/,
  );
});

test('an unwritable data folder is refused', { skip: isRoot ? 'root can write anywhere' : false }, async () => {
  const home = path.join(await mkdtemp(path.join(tmpdir(), 'latchkey-home-')), 'ro');
  await mkdir(home);
  await chmod(home, 0o500);
  await assert.rejects(
    ensureDataFolder(home),
    /cannot use data folder .*: it is not readable and writable \(permission denied\); set LATCHKEY_HOME/,
  );
});

test('a data folder an earlier version opened (0711) is made private again; a foreign open folder is refused, its mode untouched', async () => {
  const home = path.join(await mkdtemp(path.join(tmpdir(), 'latchkey-home-')), 'old');
  await mkdir(home);
  await writeFile(path.join(home, 'kek.json'), '{}', { mode: 0o600 });
  await chmod(home, 0o711);
  await ensureDataFolder(home);
  assert.equal((await stat(home)).mode & 0o777, 0o700);

  const shared = path.join(await mkdtemp(path.join(tmpdir(), 'latchkey-home-')), 'shared');
  await mkdir(shared);
  await writeFile(path.join(shared, 'notes.txt'), 'x');
  await chmod(shared, 0o755);
  await assert.rejects(ensureDataFolder(shared), /open to other users \(mode 755\).*choose a new or empty folder/);
  assert.equal((await stat(shared)).mode & 0o777, 0o755);
});
