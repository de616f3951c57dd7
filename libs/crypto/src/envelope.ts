import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { LatchkeyError } from '@latchkey/errors';

/** A key-encryption key: 32 random bytes and a stable id. */
export interface Kek {
  id: string;
  key: Buffer;
}

/** What is stored for one value: nothing here is readable without the KEK. */
export interface SealedRecord {
  kekId: string;
  /** The data key, AES-256-GCM-wrapped by the KEK: iv(12) | tag(16) | ciphertext(32). */
  wrappedDek: Buffer;
  /** The value, AES-256-GCM-encrypted by the data key: iv(12) | tag(16) | ciphertext. */
  ciphertext: Buffer;
}

const IV = 12;
const TAG = 16;

export function gcmEncrypt(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ct]);
}

export function gcmDecrypt(key: Buffer, blob: Buffer, aad: Buffer): Buffer {
  if (blob.length < IV + TAG) throw new LatchkeyError('crypto.malformed', 'ciphertext is too short to be valid');
  const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(0, IV));
  decipher.setAAD(aad);
  decipher.setAuthTag(blob.subarray(IV, IV + TAG));
  try {
    return Buffer.concat([decipher.update(blob.subarray(IV + TAG)), decipher.final()]);
  } catch (cause) {
    throw new LatchkeyError('crypto.auth_failed', 'ciphertext failed authentication (wrong key or tampered data)', {
      cause,
    });
  }
}

/**
 * Envelope encryption: a fresh data key per value, the value encrypted with it
 * (AES-256-GCM, `context` as associated data so a ciphertext cannot be moved
 * to another key or version), and the data key wrapped by the KEK.
 */
export function envelopeEncrypt(kek: Kek, plaintext: Buffer, context: string): SealedRecord {
  const dek = randomBytes(32);
  try {
    const ciphertext = gcmEncrypt(dek, plaintext, Buffer.from(context, 'utf8'));
    const wrappedDek = gcmEncrypt(kek.key, dek, Buffer.from(`latchkey.dek:${kek.id}`, 'utf8'));
    return { kekId: kek.id, wrappedDek, ciphertext };
  } finally {
    dek.fill(0);
  }
}

export function envelopeDecrypt(keks: ReadonlyMap<string, Kek>, record: SealedRecord, context: string): Buffer {
  const kek = keks.get(record.kekId);
  if (!kek) {
    throw new LatchkeyError(
      'crypto.kek_unknown',
      `value is wrapped by key-encryption key ${record.kekId}, which is not loaded`,
    );
  }
  const dek = gcmDecrypt(kek.key, record.wrappedDek, Buffer.from(`latchkey.dek:${kek.id}`, 'utf8'));
  try {
    return gcmDecrypt(dek, record.ciphertext, Buffer.from(context, 'utf8'));
  } finally {
    dek.fill(0);
  }
}

/** Unwraps a data key with `from` and wraps it with `to`; the value's ciphertext is not touched. */
export function rewrapDek(from: Kek, wrappedDek: Buffer, to: Kek): Buffer {
  const dek = gcmDecrypt(from.key, wrappedDek, Buffer.from(`latchkey.dek:${from.id}`, 'utf8'));
  try {
    return gcmEncrypt(to.key, dek, Buffer.from(`latchkey.dek:${to.id}`, 'utf8'));
  } finally {
    dek.fill(0);
  }
}
