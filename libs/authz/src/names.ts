import { invalidArgument } from '@latchkey/errors';

/**
 * Naming rules shared by every service and carried in every event: the names
 * an authorization question is about (domain, principal, key, object). Here,
 * in a library that loads nothing else, so that checking a request's names
 * (libs/grpc) does not load the bus and database clients of libs/events,
 * which re-exports them.
 */

/**
 * The name of a domain that exists (a team's tenant): what every request,
 * event and row may name. It also accepts the domains created before
 * NEW_DOMAIN_NAME was the rule (up to 63 characters, a leading digit, a
 * trailing `-`): they stay readable and usable wherever their name is valid,
 * but no such domain can be created any more. `global` is reserved for the
 * platform-wide scope.
 */
export const DOMAIN_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * The longest domain name: on the kubernetes runtime a domain's Pods live in
 * namespace `latchkey-<domain>`, which must be a DNS label of at most 63
 * characters (63 - 9 = 54).
 */
export const DOMAIN_NAME_MAX = 54;

/**
 * The name of a domain to create: valid as is in every place a domain name
 * goes. A DNS label (RFC 1123) for the namespace `latchkey-<domain>`, the
 * same as a Kubernetes label value, a NATS subject token (no `.`, `*`, `>`
 * or space), a Vault path segment and a database value: 1-54 lowercase
 * letters, digits and `-`, starting with a letter and ending with a letter
 * or digit.
 */
export const NEW_DOMAIN_NAME = new RegExp(`^[a-z](?:[a-z0-9-]{0,${DOMAIN_NAME_MAX - 2}}[a-z0-9])?$`);

/** The rule of NEW_DOMAIN_NAME in words, for messages. */
export const NEW_DOMAIN_NAME_RULE = `1-${DOMAIN_NAME_MAX} lowercase letters, digits and '-', starting with a letter and ending with a letter or digit (${NEW_DOMAIN_NAME.source})`;

/** What keeps `name` from being the name of a new domain, in words; undefined when it may be one. */
export function newDomainNameProblem(name: string): string | undefined {
  if (NEW_DOMAIN_NAME.test(name)) return undefined;
  if (name === '') return 'it is empty';
  if (name.length > DOMAIN_NAME_MAX) {
    return `it is ${name.length} characters long; at most ${DOMAIN_NAME_MAX} are allowed (the kubernetes runtime's namespace latchkey-<domain> is a DNS label of at most 63)`;
  }
  if (/[A-Z]/.test(name)) return 'it has uppercase letters (Kubernetes namespaces and labels are lowercase)';
  if (/[^a-z0-9-]/.test(name)) return "it has characters other than lowercase letters, digits and '-'";
  if (!/^[a-z]/.test(name)) return 'it does not start with a letter';
  return "it ends with '-' (a DNS label and a Kubernetes label value end with a letter or digit)";
}

/**
 * The check of a domain name where a domain is created (ras CreateDomain):
 * throws `domain.invalid_name` saying what is wrong, the limit and the
 * pattern, unless `name` is a NEW_DOMAIN_NAME. `global` passes the syntax;
 * refusing it is the caller's rule.
 */
export function checkNewDomainName(name: string): void {
  const problem = newDomainNameProblem(name);
  if (problem === undefined) return;
  throw invalidArgument(
    'domain.invalid_name',
    name === ''
      ? `no domain name given: name the domain to create (${NEW_DOMAIN_NAME_RULE})`
      : `invalid domain name ${JSON.stringify(name.slice(0, 80))}: ${problem}; a domain name is ${NEW_DOMAIN_NAME_RULE}`,
  );
}
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
