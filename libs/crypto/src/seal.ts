import {
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { LatchkeyError } from '@latchkey/errors';
import { gcmDecrypt, gcmEncrypt } from './envelope.js';

/** A sealed payload: only the holder of the recipient's private key opens it. */
export interface SealedBox {
  /** Id of the recipient key pair. */
  kid: string;
  /** Ephemeral X25519 public key, base64 (raw 32 bytes). */
  epk: string;
  /** iv | tag | ciphertext, base64. */
  box: string;
}

export interface SealPublicKey {
  kid: string;
  key: KeyObject;
}

export interface SealKeyPair extends SealPublicKey {
  privateKey: KeyObject;
}

const INFO = Buffer.from('latchkey-seal-v1', 'utf8');

/**
 * A new private key of `crv`: 32 bytes from the CSPRNG, which is what an
 * X25519 private key or an Ed25519 seed is (RFC 7748 section 5, RFC 8032
 * section 5.1.5), imported as a JWK. Not `generateKeyPairSync`: on Node 20 a
 * key it made can deadlock the thread that uses it. Its job object's
 * destructor takes the key's mutex, and the garbage collector may run that
 * destructor from inside an export or agreement that already holds the same
 * mutex (an allocation there starts a collection): the main thread then
 * waits on itself for good (seen under load as a resolver that stopped
 * answering, even SIGTERM; `seal.test.ts` reproduces it in a child process).
 * The JWK's `x` is not read for a private key (only `d`); the public key is
 * derived from `d` by `createPublicKey`.
 */
export function freshPrivateKey(crv: 'X25519' | 'Ed25519'): KeyObject {
  const d = randomBytes(32);
  try {
    return createPrivateKey({ key: { kty: 'OKP', crv, d: d.toString('base64url'), x: '' }, format: 'jwk' });
  } finally {
    d.fill(0);
  }
}

function rawPublic(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new LatchkeyError('crypto.bad_key', 'not an X25519 public key');
  return Buffer.from(jwk.x, 'base64url');
}

/**
 * A long-lived key's raw public bytes, exported once per key object (each
 * seal and open needs the recipient's): a JWK export per deployment is
 * work done once instead. Callers never write to the buffer.
 */
const rawPublicOfKey = new WeakMap<KeyObject, Buffer>();
function recipientRaw(key: KeyObject): Buffer {
  let raw = rawPublicOfKey.get(key);
  if (!raw) {
    raw = rawPublic(key);
    rawPublicOfKey.set(key, raw);
  }
  return raw;
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(rawPublic(publicKey)).digest('hex').slice(0, 16);
}

/** A private key with its public key, named by the public key's id (the sealing and the signing key pairs). */
export function namedKeyPair(privateKey: KeyObject): { kid: string; key: KeyObject; privateKey: KeyObject } {
  const key = createPublicKey(privateKey);
  return { kid: keyIdOf(key), key, privateKey };
}

/** A key pair as PEM: the private key PKCS#8, the public key SPKI. */
export function exportKeyPairPem(pair: { key: KeyObject; privateKey: KeyObject }): {
  privatePem: string;
  publicPem: string;
} {
  return {
    privatePem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: pair.key.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export function generateSealKeyPair(): SealKeyPair {
  return namedKeyPair(freshPrivateKey('X25519'));
}

export function exportSealKeyPair(pair: SealKeyPair): { privatePem: string; publicPem: string } {
  return exportKeyPairPem(pair);
}

export function importSealPrivateKey(pem: string): SealKeyPair {
  return namedKeyPair(createPrivateKey(pem));
}

export function importSealPublicKey(pem: string): SealPublicKey {
  const key = createPublicKey(pem);
  return { kid: keyIdOf(key), key };
}

function deriveKey(shared: Buffer, epk: Buffer, recipient: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([epk, recipient]), INFO, 32));
}

/**
 * Seals `plaintext` to `recipient` with an ephemeral X25519 agreement,
 * HKDF-SHA256 and AES-256-GCM. `binding` (e.g. the deployment id) is the
 * associated data: a box opened with any other binding fails.
 */
export function seal(recipient: SealPublicKey, plaintext: Buffer, binding: string): SealedBox {
  const ephPrivate = freshPrivateKey('X25519');
  const shared = diffieHellman({ privateKey: ephPrivate, publicKey: recipient.key });
  const epk = rawPublic(createPublicKey(ephPrivate));
  const key = deriveKey(shared, epk, recipientRaw(recipient.key));
  try {
    const box = gcmEncrypt(key, plaintext, Buffer.from(binding, 'utf8'));
    return { kid: recipient.kid, epk: epk.toString('base64'), box: box.toString('base64') };
  } finally {
    key.fill(0);
    shared.fill(0);
  }
}

export function open(pairs: ReadonlyMap<string, SealKeyPair>, sealed: SealedBox, binding: string): Buffer {
  const pair = pairs.get(sealed.kid);
  if (!pair) {
    throw new LatchkeyError(
      'crypto.seal_key_unknown',
      `sealed for key ${sealed.kid}, which this deployer does not hold`,
    );
  }
  const epk = Buffer.from(sealed.epk, 'base64');
  const ephPublic = createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: epk.toString('base64url') },
    format: 'jwk',
  });
  const shared = diffieHellman({ privateKey: pair.privateKey, publicKey: ephPublic });
  const key = deriveKey(shared, epk, recipientRaw(pair.key));
  try {
    return gcmDecrypt(key, Buffer.from(sealed.box, 'base64'), Buffer.from(binding, 'utf8'));
  } finally {
    key.fill(0);
    shared.fill(0);
  }
}
