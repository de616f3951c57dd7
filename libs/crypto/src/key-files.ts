import { randomBytes, createHash } from 'node:crypto';
import { mkdir, readFile, writeFile, chmod, stat, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LatchkeyError } from '@latchkey/errors';
import type { Kek } from './envelope.js';
import { exportSealKeyPair, generateSealKeyPair, importSealPrivateKey, type SealKeyPair } from './seal.js';
import {
  exportSigningKeyPair,
  generateSigningKeyPair,
  importSigningPrivateKey,
  importSigningPublicKey,
  type SigningKeyPair,
  type SigningPublicKey,
} from './signing.js';

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

/**
 * Creates a key's files unless `privatePath` exists: the private one (mode
 * 0600, never over one another process created meanwhile) and, when given, a
 * public one (0644). `make` is called only when the key is created.
 */
async function createKeyFiles(
  privatePath: string,
  make: () => { privateText: string; publicText?: string },
  publicPath?: string,
): Promise<void> {
  if (await exists(privatePath)) return;
  const { privateText, publicText } = make();
  try {
    await writePrivate(privatePath, privateText);
    if (publicPath !== undefined && publicText !== undefined) await writeFile(publicPath, publicText, { mode: 0o644 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/** A PEM key pair as createKeyFiles writes it. */
const pemFiles = (pem: { privatePem: string; publicPem: string }) => ({
  privateText: pem.privatePem,
  publicText: pem.publicPem,
});

/**
 * Reads and parses a key file; a failure of either is a LatchkeyError of
 * `code`: "cannot read <what> <path>", then ": <fix>" when given.
 */
async function readKeyFile<T>(
  path: string,
  parse: (text: string) => T,
  code: string,
  what: string,
  fix?: string,
): Promise<T> {
  const message = `cannot read ${what} ${path}${fix === undefined ? '' : `: ${fix}`}`;
  try {
    return parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new LatchkeyError(code, message, { cause });
  }
}

/** A key ring: the current KEK wraps new data keys; the others only unwrap until retired. */
export interface KekRingFile {
  current: Kek;
  keys: Map<string, Kek>;
}

function parseKek(p: { id?: unknown; key?: unknown } | undefined): Kek | undefined {
  const key = typeof p?.key === 'string' ? Buffer.from(p.key, 'base64') : undefined;
  if (typeof p?.id !== 'string' || !key || key.length !== 32) return undefined;
  return { id: p.id, key };
}

/**
 * Reads a KEK file: one key `{"id","key"}` (base64 of 32 bytes), or a ring
 * `{"current": id, "keys": [{"id","key"}, ...]}` written by a rotation.
 */
export async function readKekRing(path: string): Promise<KekRingFile> {
  const raw = await readKeyFile(path, (text) => text, 'crypto.kek_unreadable', 'the key-encryption key file');
  let parsed: { id?: unknown; key?: unknown; current?: unknown; keys?: unknown } | undefined;
  try {
    parsed = JSON.parse(raw) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  const single = parseKek(parsed);
  if (single) return { current: single, keys: new Map([[single.id, single]]) };
  const keys = new Map<string, Kek>();
  if (Array.isArray(parsed?.keys)) {
    for (const k of parsed.keys as { id?: unknown; key?: unknown }[]) {
      const kek = parseKek(k);
      if (kek) keys.set(kek.id, kek);
    }
  }
  const current = typeof parsed?.current === 'string' ? keys.get(parsed.current) : undefined;
  if (!current) {
    throw new LatchkeyError(
      'crypto.kek_malformed',
      `key-encryption key file ${path} is neither {"id", "key"} nor {"current", "keys": [...]} with base64 32-byte keys`,
    );
  }
  return { current, keys };
}

/** Writes a ring atomically (a temporary file renamed over the old one), mode 0600. */
export async function writeKekRing(path: string, ring: { current: Kek; keys: Iterable<Kek> }): Promise<void> {
  const body = {
    current: ring.current.id,
    keys: [...ring.keys].map((k) => ({ id: k.id, key: k.key.toString('base64') })),
  };
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify(body) + '\n', { mode: 0o600, flag: 'wx' });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

export function generateKek(): Kek {
  const key = randomBytes(32);
  return { id: `kek-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`, key };
}

/** Reads the current KEK of a KEK file. */
export async function readKekFile(path: string): Promise<Kek> {
  return (await readKekRing(path)).current;
}

/** Loads the KEK at `path`, creating one (mode 0600) if there is none. */
export async function ensureKekFile(path: string): Promise<Kek> {
  await createKeyFiles(path, () => {
    const { id, key } = generateKek();
    return { privateText: JSON.stringify({ id, key: key.toString('base64') }) + '\n' };
  });
  return readKekFile(path);
}

export function readSealKeyFile(path: string): Promise<SealKeyPair> {
  return readKeyFile(path, importSealPrivateKey, 'crypto.seal_key_unreadable', "the deployer's sealing key");
}

/**
 * Loads the deployer's X25519 key pair at `privatePath`, creating it (and the
 * public key at `publicPath`) if missing.
 */
export async function ensureSealKeyFiles(privatePath: string, publicPath: string): Promise<SealKeyPair> {
  await createKeyFiles(privatePath, () => pemFiles(exportSealKeyPair(generateSealKeyPair())), publicPath);
  return readSealKeyFile(privatePath);
}

export function readSigningKeyFile(path: string): Promise<SigningKeyPair> {
  return readKeyFile(
    path,
    importSigningPrivateKey,
    'crypto.signing_key_unreadable',
    'the Ed25519 signing key',
    'give a PKCS#8 PEM file',
  );
}

/**
 * Reads the public keys in `paths` (Ed25519 SPKI PEM), by key id: more than
 * one while a signing key is rotated.
 */
export async function readSigningPublicKeyFiles(paths: readonly string[]): Promise<Map<string, SigningPublicKey>> {
  const keys = new Map<string, SigningPublicKey>();
  for (const path of paths) {
    const key = await readKeyFile(
      path,
      importSigningPublicKey,
      'crypto.signing_key_unreadable',
      'the Ed25519 public key',
      "give an SPKI PEM file (the deployer's deployer-sign.pub)",
    );
    keys.set(key.kid, key);
  }
  return keys;
}

/**
 * Loads an Ed25519 key pair at `privatePath`, creating it (and the public
 * key at `publicPath`) if missing; the private key file is mode 0600.
 */
export async function ensureSigningKeyFiles(privatePath: string, publicPath: string): Promise<SigningKeyPair> {
  await createKeyFiles(privatePath, () => pemFiles(exportSigningKeyPair(generateSigningKeyPair())), publicPath);
  // A public key file lost or never written (a crash between the two writes) is written again.
  const pair = await readSigningKeyFile(privatePath);
  if (!(await exists(publicPath))) await writeFile(publicPath, exportSigningKeyPair(pair).publicPem, { mode: 0o644 });
  return pair;
}
