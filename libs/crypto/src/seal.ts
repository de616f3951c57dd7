import {
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
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
  return namedKeyPair(generateKeyPairSync('x25519').privateKey);
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
  const eph = generateKeyPairSync('x25519');
  const shared = diffieHellman({ privateKey: eph.privateKey, publicKey: recipient.key });
  const epk = rawPublic(eph.publicKey);
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
