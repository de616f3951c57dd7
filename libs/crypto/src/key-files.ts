import { randomBytes, createHash } from 'node:crypto';
import { mkdir, readFile, writeFile, chmod, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LatchkeyError } from '@latchkey/errors';
import type { Kek } from './envelope.js';
import { exportSealKeyPair, generateSealKeyPair, importSealPrivateKey, type SealKeyPair } from './seal.js';

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function writePrivate(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // 'wx': never overwrite a key that another process created meanwhile.
  await writeFile(path, content, { mode: 0o600, flag: 'wx' });
  await chmod(path, 0o600);
}

/** Reads a KEK file ({"id","key"} with a base64 32-byte key). */
export async function readKekFile(path: string): Promise<Kek> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (cause) {
    throw new LatchkeyError('crypto.kek_unreadable', `cannot read the key-encryption key file ${path}`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const p = parsed as { id?: unknown; key?: unknown } | undefined;
  const key = typeof p?.key === 'string' ? Buffer.from(p.key, 'base64') : undefined;
  if (typeof p?.id !== 'string' || !key || key.length !== 32) {
    throw new LatchkeyError(
      'crypto.kek_malformed',
      `key-encryption key file ${path} is not {"id": string, "key": base64 of 32 bytes}`,
    );
  }
  return { id: p.id, key };
}

/** Loads the KEK at `path`, creating one (mode 0600) if there is none. */
export async function ensureKekFile(path: string): Promise<Kek> {
  if (!(await exists(path))) {
    const key = randomBytes(32);
    const id = `kek-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
    try {
      await writePrivate(path, JSON.stringify({ id, key: key.toString('base64') }) + '\n');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return readKekFile(path);
}

export async function readSealKeyFile(path: string): Promise<SealKeyPair> {
  try {
    return importSealPrivateKey(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new LatchkeyError('crypto.seal_key_unreadable', `cannot read the deployer's sealing key ${path}`, { cause });
  }
}

/**
 * Loads the deployer's X25519 key pair at `privatePath`, creating it (and the
 * public key at `publicPath`) if missing.
 */
export async function ensureSealKeyFiles(privatePath: string, publicPath: string): Promise<SealKeyPair> {
  if (!(await exists(privatePath))) {
    const pair = generateSealKeyPair();
    const { privatePem, publicPem } = exportSealKeyPair(pair);
    try {
      await writePrivate(privatePath, privatePem);
      await writeFile(publicPath, publicPem, { mode: 0o644 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return readSealKeyFile(privatePath);
}
