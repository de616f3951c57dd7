import { createHash } from 'node:crypto';
import { chmod, chown, lstat, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_SYSTEM_DIR } from '@latchkey/embedded';
import { CliError } from '../output/cli-errors.js';

/** Where `latchkey up` as root keeps what other OS users must reach, one folder per data folder. */
export { DEFAULT_SYSTEM_DIR };

const OWNER_FILE = 'data-folder';
const ENTRY = /^[0-9a-f]{16}$/;

function unusable(base: string, why: string): CliError {
  return new CliError(
    `cannot use ${base} for what PostgreSQL and the workload sandbox must reach when Latchkey runs as root (${why}): make it a folder owned by root and writable by root alone, set LATCHKEY_SYSTEM_DIR to another such folder, or run latchkey as a non-root user`,
    { code: 'cli.system_folder_unusable' },
  );
}

/** A folder owned by root, writable by root alone, passable by everyone (0711), created if missing. */
async function ensureRootFolder(dir: string, base: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o711 });
  } catch (err) {
    throw unusable(base, `cannot create ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const st = await lstat(dir);
  if (!st.isDirectory()) throw unusable(base, `${dir} is not a folder`);
  // Another user's folder here could be swapped under us: refuse rather than adopt it.
  if (st.uid !== 0) throw unusable(base, `${dir} belongs to uid ${st.uid}, not root`);
  if ((st.mode & 0o777) !== 0o711) await chmod(dir, 0o711);
}

/** The system folder's entry for data folder `home`: <base>/<first 16 hex of sha256(home)>. */
export function systemFolderFor(home: string, base: string): string {
  const hash = createHash('sha256').update(path.resolve(home)).digest('hex').slice(0, 16);
  return path.join(path.resolve(base), hash);
}

/**
 * As root: creates `<base>/<hash of home>` (0711, root's) for the PostgreSQL
 * cluster (its own folder, 0700, the postgres user's) and the sandbox's work
 * folders (each deployment's 0700, its domain uid's), since the data folder
 * stays 0700 and may sit in a private home (/root). Entries whose data folder
 * no longer exists are removed: without its key-encryption key their data
 * cannot be read anyway.
 */
export async function ensureSystemFolder(home: string, base: string): Promise<string> {
  const root = path.resolve(base);
  await ensureRootFolder(root, root);
  const own = systemFolderFor(home, root);
  await ensureRootFolder(own, root);
  await writeFile(path.join(own, OWNER_FILE), path.resolve(home) + '\n', { mode: 0o600 });
  await chown(path.join(own, OWNER_FILE), 0, 0);
  for (const name of await readdir(root)) {
    const entry = path.join(root, name);
    if (!ENTRY.test(name) || entry === own) continue;
    const owner = (await readFile(path.join(entry, OWNER_FILE), 'utf8').catch(() => '')).trim();
    if (owner === '' || systemFolderFor(owner, root) !== entry) continue;
    const gone = await stat(owner).then(
      () => false,
      (err: NodeJS.ErrnoException) => err.code === 'ENOENT',
    );
    if (gone) await rm(entry, { recursive: true, force: true }).catch(() => undefined);
  }
  return own;
}

/**
 * The PostgreSQL cluster an earlier version kept in the data folder moves to
 * `target` (once, when `target` does not exist yet).
 */
export async function moveLegacyCluster(legacy: string, target: string): Promise<boolean> {
  const has = (dir: string) =>
    stat(path.join(dir, 'PG_VERSION')).then(
      () => true,
      () => false,
    );
  if (
    !(await has(legacy)) ||
    (await stat(target).then(
      () => true,
      () => false,
    ))
  )
    return false;
  try {
    await rename(legacy, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new CliError(
      `the PostgreSQL cluster of this data folder (${legacy}) must move to ${target}, which a root start now uses, and it could not be moved (${code}): move it yourself (mv ${legacy} ${target}) and start again`,
      { code: 'cli.cluster_move_failed' },
    );
  }
  return true;
}
