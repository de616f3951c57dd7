import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A deployment's workload token: `lkw_` and 32 random bytes (base64url).
 * Only its SHA-256 is stored; the token itself exists in the workload's
 * environment (and, masked, in the redactor of its output) only.
 */
export const WORKLOAD_TOKEN = /^lkw_[A-Za-z0-9_-]{43}$/;

export function newWorkloadToken(): string {
  return `lkw_${randomBytes(32).toString('base64url')}`;
}

export function workloadTokenHash(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Whether two token hashes are the same, in time that does not depend on where they differ. */
export function sameTokenHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
