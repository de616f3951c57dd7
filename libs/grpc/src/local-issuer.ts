import { createECDH, randomBytes } from 'node:crypto';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { JWK } from 'jose';
import { LatchkeyError } from '@latchkey/errors';

/** The issuer and audience of embedded mode's own tokens. */
export const EMBEDDED_ISSUER = 'urn:latchkey:embedded';
export const EMBEDDED_AUDIENCE = 'latchkey';

export interface LocalIssuerFiles {
  /** The private signing key (a JWK, ES256, mode 0600). */
  signingKeyFile: string;
  /** The public key set the services verify with (JWKS). */
  jwksFile: string;
}

export function localIssuerFiles(home: string): LocalIssuerFiles {
  return {
    signingKeyFile: path.join(home, 'oidc-signing-key.json'),
    jwksFile: path.join(home, 'oidc-jwks.json'),
  };
}

async function writeNew(file: string, content: string, mode: number): Promise<boolean> {
  try {
    await writeFile(file, content, { mode, flag: 'wx' });
    await chmod(file, mode);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

async function readSigningKey(file: string): Promise<JWK> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LatchkeyError(
      code === 'ENOENT' ? 'identity.no_issuer' : 'identity.issuer_unreadable',
      code === 'ENOENT'
        ? `there is no local issuer key (${file}): start Latchkey once with latchkey up (npm start), or set LATCHKEY_HOME to its data folder`
        : `cannot read the local issuer key ${file} (${code ?? (err as Error).message}): only those who can read the data folder may log in`,
      { kind: code === 'ENOENT' ? 'failed_precondition' : 'permission_denied' },
    );
  }
  let jwk: JWK | undefined;
  try {
    jwk = JSON.parse(raw) as JWK;
  } catch {
    jwk = undefined;
  }
  if (jwk?.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.d !== 'string' || typeof jwk.kid !== 'string') {
    throw new LatchkeyError(
      'identity.issuer_malformed',
      `the local issuer key ${file} is not an ES256 private JWK: delete it and ${path.basename(file).replace('signing-key', 'jwks')} and restart Latchkey (every login is then needed again)`,
    );
  }
  return jwk;
}

/**
 * A new P-256 private key as a JWK: 32 bytes from the CSPRNG as the scalar
 * (ECDH refuses one outside [1, n-1], a chance of about 2^-32, and another is
 * drawn), its public point from ECDH. Not a key-generation job (jose's
 * `generateKeyPair`, then `exportJWK`): on Node 20 a JWK export of a key such a
 * job made can deadlock the thread (see freshPrivateKey in @latchkey/crypto).
 */
function freshEs256Jwk(): JWK {
  const ecdh = createECDH('prime256v1');
  for (;;) {
    const d = randomBytes(32);
    try {
      ecdh.setPrivateKey(d);
    } catch {
      continue;
    }
    const point = ecdh.getPublicKey(); // 0x04 | x | y
    return {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33).toString('base64url'),
      d: d.toString('base64url'),
    };
  }
}

/**
 * Creates, once, embedded mode's issuer: an ES256 key pair (the private JWK
 * 0600, named by its thumbprint as kid) and the JWKS the services verify
 * with. Later calls keep what is there; a JWKS missing beside an existing key
 * is written again from it.
 */
export async function ensureLocalIssuer(files: LocalIssuerFiles): Promise<{ kid: string }> {
  let jwk: JWK;
  try {
    jwk = await readSigningKey(files.signingKeyFile);
  } catch (err) {
    if (!(err instanceof LatchkeyError && err.code === 'identity.no_issuer')) throw err;
    const { calculateJwkThumbprint } = await import('jose');
    const fresh = freshEs256Jwk();
    const kid = await calculateJwkThumbprint(fresh);
    // wx: of two starts at once, one key wins and both use it.
    await writeNew(files.signingKeyFile, JSON.stringify({ ...fresh, kid, alg: 'ES256', use: 'sig' }) + '\n', 0o600);
    jwk = await readSigningKey(files.signingKeyFile);
  }
  const { d: _private, ...publicJwk } = jwk;
  const jwks = JSON.stringify({ keys: [publicJwk] }, null, 2) + '\n';
  let current: string | undefined;
  try {
    current = await readFile(files.jwksFile, 'utf8');
  } catch {
    current = undefined;
  }
  if (current !== jwks) {
    const tmp = `${files.jwksFile}.${process.pid}.tmp`;
    await writeFile(tmp, jwks, { mode: 0o644 });
    await rename(tmp, files.jwksFile);
  }
  return { kid: jwk.kid ?? '' };
}

export interface MintInput {
  user: string;
  groups: readonly string[];
  /** Lifetime in seconds. */
  ttlSec: number;
  issuer?: string;
  audience?: string;
  /** The clock (tests). */
  now?: () => Date;
}

/** Signs a token for `user` with the local issuer key; returns it with its expiry. */
export async function mintLocalToken(
  signingKeyFile: string,
  input: MintInput,
): Promise<{ token: string; expiresAt: Date }> {
  // jose is loaded when a token is signed (latchkey login, up), not with the CLI's every call.
  const { importJWK, SignJWT } = await import('jose');
  const jwk = await readSigningKey(signingKeyFile);
  const key = await importJWK(jwk, 'ES256');
  const now = Math.floor((input.now?.() ?? new Date()).getTime() / 1000);
  const exp = now + input.ttlSec;
  const token = await new SignJWT({ groups: [...input.groups] })
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid ?? '', typ: 'JWT' })
    .setIssuer(input.issuer ?? EMBEDDED_ISSUER)
    .setAudience(input.audience ?? EMBEDDED_AUDIENCE)
    .setSubject(input.user)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .sign(key);
  return { token, expiresAt: new Date(exp * 1000) };
}
