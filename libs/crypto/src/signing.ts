import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { LatchkeyError } from '@latchkey/errors';
import { exportKeyPairPem, freshPrivateKey, keyIdOf, namedKeyPair } from './seal.js';

/** An Ed25519 public key that verifies signatures, named by its key id. */
export interface SigningPublicKey {
  kid: string;
  key: KeyObject;
}

export interface SigningKeyPair extends SigningPublicKey {
  privateKey: KeyObject;
}

/** A detached signature: which key made it, and the Ed25519 signature (base64). */
export interface Signature {
  kid: string;
  sig: string;
}

function ed25519(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new LatchkeyError('crypto.bad_key', `${what} is a ${key.asymmetricKeyType ?? 'symmetric'} key, not Ed25519`);
  }
  return key;
}

export function generateSigningKeyPair(): SigningKeyPair {
  return namedKeyPair(freshPrivateKey('Ed25519'));
}

export function exportSigningKeyPair(pair: SigningKeyPair): { privatePem: string; publicPem: string } {
  return exportKeyPairPem(pair);
}

export function importSigningPrivateKey(pem: string): SigningKeyPair {
  return namedKeyPair(ed25519(createPrivateKey(pem), 'the signing key'));
}

export function importSigningPublicKey(pem: string): SigningPublicKey {
  const key = ed25519(createPublicKey(pem), 'the signing public key');
  return { kid: keyIdOf(key), key };
}

/** Signs `payload` (the exact bytes the verifier rebuilds) with `pair`. */
export function signPayload(pair: SigningKeyPair, payload: Buffer): Signature {
  return { kid: pair.kid, sig: sign(null, payload, pair.privateKey).toString('base64') };
}

/**
 * Why `signature` is not a valid signature of `payload` by one of `keys`
 * (by key id), or undefined when it is.
 */
export function signatureProblem(
  keys: ReadonlyMap<string, SigningPublicKey>,
  payload: Buffer,
  signature: unknown,
): string | undefined {
  if (signature === undefined || signature === null) return 'it carries no signature';
  const s = signature as Partial<Signature>;
  if (typeof s.kid !== 'string' || typeof s.sig !== 'string') return 'its signature is malformed';
  const key = keys.get(s.kid);
  if (!key) return `it is signed by key ${JSON.stringify(s.kid.slice(0, 40))}, which is not a key this service trusts`;
  const sig = Buffer.from(s.sig, 'base64');
  if (sig.length !== 64 || !verify(null, payload, key.key, sig)) {
    return `its signature by key ${key.kid} does not verify: the message was altered or not signed by that key`;
  }
  return undefined;
}
