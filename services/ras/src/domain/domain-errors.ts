import { alreadyExists, invalidArgument, permissionDenied, type LatchkeyError } from '@latchkey/errors';
import { noSuchDomain } from './access-policy.js';
import { decisionError } from './decision-errors.js';

/** Every code ras gives about a domain (`domain.invalid_name` comes from @latchkey/events' checkDomainName). */
export const DOMAIN_ERROR_CODES = [
  'domain.invalid_name',
  'domain.reserved',
  'domain.exists',
  'domain.not_found',
  'ras.permission_denied',
] as const;

/** `global` named where one of ras's RPCs needs a domain. */
export function globalIsNoDomain(): LatchkeyError {
  return invalidArgument(
    'domain.reserved',
    '"global" is the platform-wide scope, not a domain: it has no roles or bundles (platform admins manage it)',
  );
}

/** `global` as the name of a domain to create. */
export function globalNameReserved(): LatchkeyError {
  return invalidArgument(
    'domain.reserved',
    '"global" is reserved for platform-wide secrets: choose another domain name',
  );
}

export function domainExists(name: string): LatchkeyError {
  return alreadyExists('domain.exists', `domain ${name} already exists`);
}

/** Only for a caller allowed to learn that the domain does not exist (the policy's own answer, as an error). */
export function domainNotFound(name: string): LatchkeyError {
  return decisionError(noSuchDomain(name));
}

/** A domain created by anyone but a platform admin (a person). */
export function onlyAdminsCreateDomains(): LatchkeyError {
  return permissionDenied('ras.permission_denied', 'only platform admins create domains');
}
