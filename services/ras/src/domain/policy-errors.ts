import { invalidArgument, LatchkeyError, notFound } from '@latchkey/errors';
import { denialKind } from '@latchkey/authz';
import { DOMAIN_NAME, GLOBAL_SCOPE } from '@latchkey/events';
import type { Decision } from './access-policy.js';
import { granteeLabel, type Grantee } from './grant-types.js';
import {
  BUNDLE_NAME,
  BUNDLE_PERMISSIONS,
  GRANTEE_ID,
  GRANTEE_KINDS,
  isBundlePermission,
  isGranteeKind,
  isRole,
  ROLES,
  type BundlePermission,
  type Role,
} from './permission-model.js';

const quoted = (s: string): string => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}...` : s);

/** ras's own RPCs name a missing domain or bundle by the resource, not by the check. */
const RPC_CODES: Record<string, string> = {
  'ras.domain_not_found': 'domain.not_found',
  'ras.bundle_not_found': 'bundle.not_found',
};

/** A denial from the policy, as the error an RPC caller gets (the kind as every service maps it). */
export function decisionError(d: Decision): LatchkeyError {
  const code = RPC_CODES[d.code] ?? (d.code || 'ras.permission_denied');
  return new LatchkeyError(code, d.reason || 'permission denied', { kind: denialKind(d.code) });
}

/** A domain name as an RPC argument: syntax only, so the answer says nothing about existence. */
export function requireDomainName(name: string): void {
  if (name === GLOBAL_SCOPE) {
    throw invalidArgument(
      'domain.reserved',
      '"global" is the platform-wide scope, not a domain: it has no roles or bundles (platform admins manage it)',
    );
  }
  if (!DOMAIN_NAME.test(name)) {
    throw invalidArgument(
      'domain.invalid_name',
      name === ''
        ? 'no domain given: name the domain (latchkey ... DOMAIN or --domain DOMAIN)'
        : `invalid domain name ${quoted(name)}: use 1-63 lowercase letters, digits and hyphens, starting with a letter or digit`,
    );
  }
}

export function requireBundleName(name: string): void {
  if (!BUNDLE_NAME.test(name)) {
    throw invalidArgument(
      'bundle.invalid_name',
      name === ''
        ? 'no bundle given: name the bundle'
        : `invalid bundle name ${quoted(name)}: 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
}

export function parseGrantee(input: { kind: string; id: string } | undefined): Grantee {
  if (input === undefined || (input.kind === '' && input.id === '')) {
    throw invalidArgument('grant.no_grantee', 'no grantee: name a user (--user U) or a group (--group G)');
  }
  if (!isGranteeKind(input.kind)) {
    throw invalidArgument(
      'grant.invalid_grantee_kind',
      `grantee kind ${quoted(input.kind)} is not one of ${GRANTEE_KINDS.join(', ')}`,
    );
  }
  if (!GRANTEE_ID.test(input.id)) {
    throw invalidArgument(
      'grant.invalid_grantee',
      input.id === ''
        ? `no ${input.kind} given: name one`
        : `invalid ${input.kind} ${quoted(input.id)}: 1-200 letters, digits, '.', '_', '@', '+' or '-', starting with a letter or digit`,
    );
  }
  return { kind: input.kind, id: input.id };
}

export function parseRole(role: string): Role {
  if (!isRole(role)) {
    throw invalidArgument(
      'grant.invalid_role',
      role === ''
        ? `no role given: one of ${ROLES.join(', ')}`
        : `unknown role ${quoted(role)}: one of ${ROLES.join(', ')}`,
    );
  }
  return role;
}

/** Bundle permissions as given (case-insensitive, each once); at least one unless `allowNone`. */
export function parseBundlePermissions(input: readonly string[], allowNone: boolean): BundlePermission[] {
  const out: BundlePermission[] = [];
  for (const raw of input) {
    const p = raw.toUpperCase();
    if (!isBundlePermission(p)) {
      throw invalidArgument(
        'grant.invalid_permission',
        `unknown bundle permission ${quoted(raw)}: one of ${BUNDLE_PERMISSIONS.join(', ')}`,
      );
    }
    if (!out.includes(p)) out.push(p);
  }
  if (out.length === 0 && !allowNone) {
    throw invalidArgument(
      'grant.no_permission',
      `no permission given: one or more of ${BUNDLE_PERMISSIONS.join(', ')}`,
    );
  }
  return out;
}

export function grantNotFound(what: string, grantee: Grantee, where: string, hint: string): LatchkeyError {
  return notFound('grant.not_found', `${granteeLabel(grantee)} holds no ${what} ${where}: ${hint}`);
}
