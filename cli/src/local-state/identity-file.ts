import { chmod, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CliError } from '../output/cli-errors.js';
import { readPrivateFile } from './private-file.js';

/** The CLI's current identity: a token of the local issuer and who it names. */
export interface StoredIdentity {
  user: string;
  groups: string[];
  token: string;
  /** ISO time. */
  expiresAt: string;
}

export function identityFilePath(home: string): string {
  return path.join(home, 'identity.json');
}

/** The stored identity, or undefined when there is none. */
export async function readIdentityFile(home: string): Promise<StoredIdentity | undefined> {
  const file = identityFilePath(home);
  // Only a file of yours (0600): one someone else wrote would make you act as them.
  const read = await readPrivateFile(
    file,
    'the identity file',
    'Log in again (latchkey login --user NAME) or set LATCHKEY_HOME to your own data folder',
  );
  if (read === undefined) return undefined;
  const raw = read.text;
  let parsed: Partial<StoredIdentity> | undefined;
  try {
    parsed = JSON.parse(raw) as Partial<StoredIdentity>;
  } catch {
    parsed = undefined;
  }
  if (
    typeof parsed?.user !== 'string' ||
    typeof parsed.token !== 'string' ||
    typeof parsed.expiresAt !== 'string' ||
    !Array.isArray(parsed.groups)
  ) {
    throw new CliError(`your identity ${file} is malformed: log in again (latchkey login --user NAME)`, {
      code: 'cli.identity_malformed',
    });
  }
  return { user: parsed.user, groups: parsed.groups.map(String), token: parsed.token, expiresAt: parsed.expiresAt };
}

/** Written atomically, mode 0600: it holds a bearer token. */
export async function writeIdentityFile(home: string, identity: StoredIdentity): Promise<void> {
  const file = identityFilePath(home);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(identity, null, 2) + '\n', { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

export function isExpired(identity: StoredIdentity, now = new Date()): boolean {
  const t = Date.parse(identity.expiresAt);
  return !Number.isFinite(t) || t <= now.getTime();
}
