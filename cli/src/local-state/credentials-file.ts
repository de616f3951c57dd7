import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { CliError } from '../output/cli-errors.js';

export const SERVICE_NAMES = ['ras', 'catalog', 'resolver', 'deployer'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface CredentialsFile {
  admin: string;
  services: Record<ServiceName, string>;
}

/** A random 32-byte token, base64url. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

export function generateCredentials(): CredentialsFile {
  return {
    admin: generateToken(),
    services: { catalog: generateToken(), ras: generateToken(), resolver: generateToken(), deployer: generateToken() },
  };
}

function isToken(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0;
}

export async function readCredentialsFile(path: string): Promise<CredentialsFile> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read the credentials file ${path} (${(err as Error).message})`, {
      code: 'cli.credentials_unreadable',
      cause: err,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const p = parsed as { admin?: unknown; services?: Record<string, unknown> } | undefined;
  const services = p?.services;
  if (
    !isToken(p?.admin) ||
    typeof services !== 'object' ||
    services === null ||
    !SERVICE_NAMES.every((s) => isToken(services[s]))
  ) {
    throw new CliError(
      `the credentials file ${path} is malformed (expected {"admin": token, "services": {"catalog", "ras", "resolver", "deployer"}}): delete it to generate new tokens`,
      { code: 'cli.credentials_malformed' },
    );
  }
  return parsed as CredentialsFile;
}

/** Loads the credentials file, creating it (mode 0600) on first use. */
export async function ensureCredentialsFile(path: string): Promise<CredentialsFile> {
  try {
    await writeFile(path, JSON.stringify(generateCredentials(), null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readCredentialsFile(path);
}
