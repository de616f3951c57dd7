import { constants } from 'node:fs';
import { access, chmod, mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { CliError } from '../output/cli-errors.js';

/** LATCHKEY_HOME or ./.latchkey, as an absolute path. */
export function resolveHome(env: NodeJS.ProcessEnv, cwd: string): string {
  const configured = env['LATCHKEY_HOME'];
  return path.resolve(cwd, configured !== undefined && configured !== '' ? configured : '.latchkey');
}

function unusable(home: string, why: string): CliError {
  return new CliError(`cannot use data folder ${home}: ${why}; set LATCHKEY_HOME to a writable folder`, {
    code: 'cli.data_folder_unusable',
  });
}

function reasonOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a parent of it is not a directory';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on device';
    default:
      return e.message ?? String(err);
  }
}

/** An empty folder, or one holding a Latchkey data folder's key-encryption key. */
async function isOwnFolder(home: string): Promise<boolean> {
  const entries = await readdir(home);
  return entries.length === 0 || entries.includes('kek.json');
}

/**
 * Creates the data folder (0700) and its `logs` and `work` subfolders, or
 * checks that an existing one is a readable, writable directory, and makes
 * it 0700 (an earlier version left it 0711 for PostgreSQL as root).
 */
export async function ensureDataFolder(home: string): Promise<void> {
  let existing;
  try {
    existing = await stat(home);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw unusable(home, reasonOf(err));
  }
  if (existing === undefined) {
    try {
      await mkdir(home, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw unusable(home, `cannot create it (${reasonOf(err)})`);
    }
  } else if (!existing.isDirectory()) {
    throw unusable(home, 'it is not a directory');
  }
  try {
    await access(home, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (err) {
    throw unusable(home, `it is not readable and writable (${reasonOf(err)})`);
  }
  // Private to the services' user (PostgreSQL's cluster and the sandbox's work
  // folders live elsewhere when that is root: see system-folder.ts).
  const mode = (await stat(home)).mode & 0o777;
  if (mode !== 0o700) {
    if (!(await isOwnFolder(home))) {
      throw unusable(
        home,
        `it is open to other users (mode ${mode.toString(8)}) and is not a Latchkey data folder (no kek.json), so its mode is left alone: choose a new or empty folder`,
      );
    }
    try {
      await chmod(home, 0o700);
    } catch (err) {
      throw unusable(home, `cannot make it private (chmod 700: ${reasonOf(err)})`);
    }
  }
  for (const sub of ['logs', 'work']) {
    const dir = path.join(home, sub);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await access(dir, constants.R_OK | constants.W_OK | constants.X_OK);
    } catch (err) {
      throw unusable(home, `cannot use ${dir} (${reasonOf(err)})`);
    }
  }
}
