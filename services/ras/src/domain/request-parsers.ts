import { checkDomainName, GLOBAL_SCOPE } from '@latchkey/events';
import { invalidBundleName } from './bundle-errors.js';
import { globalIsNoDomain } from './domain-errors.js';
import {
  invalidGrantee,
  invalidGranteeKind,
  invalidPermission,
  invalidRole,
  noGrantee,
  noPermission,
} from './grant-errors.js';
import type { Grantee } from './grant-types.js';
import {
  BUNDLE_NAME,
  GRANTEE_ID,
  isBundlePermission,
  isGranteeKind,
  isRole,
  type BundlePermission,
  type Role,
} from './permission-model.js';

/**
 * The arguments of ras's RPCs, checked and turned into domain values; each
 * bad one throws the error of its concept (domain-, bundle-, grant-errors.ts).
 */

/** A domain name as an RPC argument: syntax only, so the answer says nothing about existence. */
export function requireDomainName(name: string): void {
  if (name === GLOBAL_SCOPE) throw globalIsNoDomain();
  checkDomainName(name);
}

export function requireBundleName(name: string): void {
  if (!BUNDLE_NAME.test(name)) throw invalidBundleName(name);
}

export function parseGrantee(input: { kind: string; id: string } | undefined): Grantee {
  if (input === undefined || (input.kind === '' && input.id === '')) throw noGrantee();
  if (!isGranteeKind(input.kind)) throw invalidGranteeKind(input.kind);
  if (!GRANTEE_ID.test(input.id)) throw invalidGrantee(input.kind, input.id);
  return { kind: input.kind, id: input.id };
}

export function parseRole(role: string): Role {
  if (!isRole(role)) throw invalidRole(role);
  return role;
}

/** Bundle permissions as given (case-insensitive, each once); at least one unless `allowNone`. */
export function parseBundlePermissions(input: readonly string[], allowNone: boolean): BundlePermission[] {
  const out: BundlePermission[] = [];
  for (const raw of input) {
    const p = raw.toUpperCase();
    if (!isBundlePermission(p)) throw invalidPermission(raw);
    if (!out.includes(p)) out.push(p);
  }
  if (out.length === 0 && !allowNone) throw noPermission();
  return out;
}
