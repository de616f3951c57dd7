import { invalidArgument, LatchkeyError, notFound } from '@latchkey/errors';
import { granteeLabel, type Grantee } from './grant-types.js';
import { BUNDLE_PERMISSIONS, GRANTEE_KINDS, ROLES } from './permission-model.js';

/** Every code ras gives about a grant (a domain role or a bundle permission). */
export const GRANT_ERROR_CODES = [
  'grant.no_grantee',
  'grant.invalid_grantee_kind',
  'grant.invalid_grantee',
  'grant.invalid_role',
  'grant.no_permission',
  'grant.invalid_permission',
  'grant.not_found',
  'grant.role_mismatch',
] as const;

const quoted = (s: string): string => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}...` : s);

export function noGrantee(): LatchkeyError {
  return invalidArgument('grant.no_grantee', 'no grantee: name a user (--user U) or a group (--group G)');
}

export function invalidGranteeKind(kind: string): LatchkeyError {
  return invalidArgument(
    'grant.invalid_grantee_kind',
    `grantee kind ${quoted(kind)} is not one of ${GRANTEE_KINDS.join(', ')}`,
  );
}

export function invalidGrantee(kind: string, id: string): LatchkeyError {
  return invalidArgument(
    'grant.invalid_grantee',
    id === ''
      ? `no ${kind} given: name one`
      : `invalid ${kind} ${quoted(id)}: 1-200 letters, digits, '.', '_', '@', '+' or '-', starting with a letter or digit`,
  );
}

export function invalidRole(role: string): LatchkeyError {
  return invalidArgument(
    'grant.invalid_role',
    role === ''
      ? `no role given: one of ${ROLES.join(', ')}`
      : `unknown role ${quoted(role)}: one of ${ROLES.join(', ')}`,
  );
}

export function invalidPermission(raw: string): LatchkeyError {
  return invalidArgument(
    'grant.invalid_permission',
    `unknown bundle permission ${quoted(raw)}: one of ${BUNDLE_PERMISSIONS.join(', ')}`,
  );
}

export function noPermission(): LatchkeyError {
  return invalidArgument('grant.no_permission', `no permission given: one or more of ${BUNDLE_PERMISSIONS.join(', ')}`);
}

export function grantNotFound(what: string, grantee: Grantee, where: string, hint: string): LatchkeyError {
  return notFound('grant.not_found', `${granteeLabel(grantee)} holds no ${what} ${where}: ${hint}`);
}

/** A revoke of a role the grantee does not hold (it holds `held`). */
export function roleMismatch(grantee: Grantee, domain: string, held: string, asked: string): LatchkeyError {
  return new LatchkeyError(
    'grant.role_mismatch',
    `${granteeLabel(grantee)} is ${held} in domain ${domain}, not ${asked}: revoke without --role, or with --role ${held}`,
    { kind: 'failed_precondition' },
  );
}
