import { invalidArgument } from '@latchkey/errors';

/**
 * Naming rules shared by every service and carried in every event: the names
 * an authorization question is about (domain, principal, key, object). Here,
 * in a library that loads nothing else, so that checking a request's names
 * (libs/grpc) does not load the bus and database clients of libs/events,
 * which re-exports them.
 */

/** A domain (a team's tenant). `global` is reserved for the platform-wide scope. */
export const DOMAIN_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** A secret key; `.` and `..` are refused (they are path segments in every backend that has paths). */
export const SECRET_KEY = /^(?!\.\.?$)[A-Za-z0-9._-]{1,253}$/;
/** The platform-wide scope. */
export const GLOBAL_SCOPE = 'global';
/** A Vault integration's id (the catalog assigns UUIDs); what a VAULT reference's source.id names. */
export const INTEGRATION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A workload's, a resource bundle's or a Vault integration's name. */
export const OBJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** A user or a group as grants and audit records name them. */
export const PRINCIPAL_ID = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}$/;

/**
 * The one domain-name check: throws `domain.invalid_name` (value-free: the
 * name is shown cut to 80 characters) unless `name` is a domain name.
 * `global` passes the syntax; refusing it where a domain is required is the
 * caller's rule.
 */
export function checkDomainName(name: string): void {
  if (DOMAIN_NAME.test(name)) return;
  throw invalidArgument(
    'domain.invalid_name',
    name === ''
      ? 'no domain given: name the domain (latchkey ... DOMAIN or --domain DOMAIN)'
      : `invalid domain name ${JSON.stringify(name.slice(0, 80))}: use 1-63 lowercase letters, digits and hyphens, starting with a letter or digit`,
  );
}
