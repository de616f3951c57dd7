import { alreadyExists, invalidArgument, LatchkeyError, notFound } from '@latchkey/errors';
import { referencedError, type MissingAnswer } from '../secrets/secret-errors.js';

/**
 * The errors of read-only Vault integrations as the domain raises them, each
 * built in one place. (A Vault's own failures, `vault.unreachable`,
 * `vault.auth_failed` ..., are the Vault client adapter's.)
 */
export const VAULT_INTEGRATION_ERROR_CODES = [
  'domain.reserved',
  'vault.invalid_name',
  'vault.invalid_auth_method',
  'vault.invalid_layout',
  'vault.invalid_namespace',
  'vault.invalid_host',
  'vault.role_id_required',
  'vault.role_id_unexpected',
  'vault.credential_missing',
  'vault.credential_invalid',
  'vault.bundle_required',
  'vault.bundle_fixed',
  'bundle.not_found',
  'vault.integration_exists',
  'vault.integration_missing',
  'vault.integration_not_found',
  'vault.integration_in_use',
  'vault.not_found',
] as const;
export type VaultIntegrationErrorCode = (typeof VAULT_INTEGRATION_ERROR_CODES)[number];

/** How a name given by a caller is shown: quoted, cut to 80 characters. */
const shown = (text: string, max = 80): string => JSON.stringify(text.slice(0, max));

/** What the credential is called for an auth method. */
const credentialName = (authMethod: string, long: boolean): string =>
  authMethod === 'token' ? 'token' : long ? 'AppRole secret id' : 'secret id';

export const globalIsNoDomain = (): LatchkeyError =>
  invalidArgument(
    'domain.reserved',
    '"global" is the platform-wide scope, not a domain: Vault integrations belong to domains (give --domain D)',
  );

export const invalidIntegrationName = (name: string): LatchkeyError =>
  invalidArgument(
    'vault.invalid_name',
    `invalid integration name ${shown(name)}: 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`,
  );

export const invalidAuthMethod = (authMethod: string): LatchkeyError =>
  invalidArgument(
    'vault.invalid_auth_method',
    `auth method ${shown(authMethod, 40)} is not supported: use token or approle`,
  );

export const invalidLayout = (layout: string): LatchkeyError =>
  invalidArgument(
    'vault.invalid_layout',
    `layout ${shown(layout, 40)} is not known: use children (each key a child secret holding {"value"}) or fields (each field of one secret a key)`,
  );

export const invalidNamespace = (namespace: string): LatchkeyError =>
  invalidArgument(
    'vault.invalid_namespace',
    `namespace ${shown(namespace)} is not a Vault namespace path like team or team/sub`,
  );

export const roleIdRequired = (given: string): LatchkeyError =>
  invalidArgument(
    'vault.role_id_required',
    given === ''
      ? 'AppRole auth needs the role id (--role-id ID)'
      : 'the role id must be 1-256 printable characters without spaces',
  );

export const roleIdUnexpected = (): LatchkeyError =>
  invalidArgument('vault.role_id_unexpected', 'a role id is only for AppRole auth: drop it or use approle');

/** vault.credential_missing: what needs the credential, then how to pass it. */
const credentialNeeded = (what: string): LatchkeyError =>
  invalidArgument('vault.credential_missing', `${what}: pass it on standard input or with --credential-file`);

export const credentialMissing = (authMethod: string): LatchkeyError =>
  credentialNeeded(`no ${credentialName(authMethod, true)}`);

export const credentialNeededForAuthMethod = (authMethod: string): LatchkeyError =>
  credentialNeeded(`changing the auth method to ${authMethod.slice(0, 40)} needs its credential`);

/** The stored credential is sent only to the host it was given for. */
export const credentialNeededForHost = (): LatchkeyError =>
  credentialNeeded(
    'changing the host needs the credential again (the stored one is sent only to the host it was given for)',
  );

export const credentialInvalid = (authMethod: string): LatchkeyError =>
  invalidArgument(
    'vault.credential_invalid',
    `the ${credentialName(authMethod, false)} must be 1-4096 printable characters without spaces or line breaks (it is not shown here)`,
  );

export const credentialsInHost = (): LatchkeyError =>
  invalidArgument(
    'vault.invalid_host',
    'the Vault host must not carry credentials (user:password@): give the token or secret id on standard input',
  );

export const bundleRequired = (): LatchkeyError =>
  invalidArgument(
    'vault.bundle_required',
    'an integration belongs to a resource bundle: give --bundle B (create one with latchkey bundle create B --domain D)',
  );

export const bundleNotFound = (domain: string, bundle: string): LatchkeyError =>
  notFound(
    'bundle.not_found',
    `bundle ${bundle.slice(0, 80)} not found in domain ${domain}: create it with latchkey bundle create ${bundle.slice(0, 80)} --domain ${domain}`,
  );

export const bundleFixed = (integration: { name: string; bundle: string }, wanted: string): LatchkeyError =>
  new LatchkeyError(
    'vault.bundle_fixed',
    `integration ${integration.name} belongs to bundle ${integration.bundle}, fixed at creation: to use bundle ${wanted.slice(0, 80)}, create a new integration with --bundle ${wanted.slice(0, 80)} and delete this one`,
    { kind: 'failed_precondition' },
  );

/** `then` ends the message: what to do (default: choose another name or update it). */
export const integrationExists = (
  domain: string,
  name: string,
  then = 'choose another name or update it',
): LatchkeyError =>
  alreadyExists('vault.integration_exists', `domain ${domain} already has a Vault integration named ${name}: ${then}`);

export const integrationMissing = (): LatchkeyError =>
  invalidArgument('vault.integration_missing', 'name the integration (its name or id)');

export const integrationNotFound = (domain: string, integration: string): LatchkeyError =>
  notFound(
    'vault.integration_not_found',
    `no Vault integration ${shown(integration)} in domain ${domain}: see latchkey vault list --domain ${domain}`,
  );

export const integrationDeleted = (integration: { domain: string; name: string }): LatchkeyError =>
  notFound('vault.integration_not_found', `Vault integration ${integration.domain}/${integration.name} was deleted`);

export const integrationInUse = (name: string, dependents: string[]): LatchkeyError =>
  referencedError(
    'vault.integration_in_use',
    `integration ${name}`,
    dependents,
    'they become stale; Vault itself is not touched',
  );

/** A VAULT reference to an integration that is missing or belongs to another domain: the same answer. */
export const integrationNotFoundAnswer = (refId: string, key: string, id: string, domain: string): MissingAnswer => ({
  refId,
  found: false,
  code: 'vault.integration_not_found',
  message: `reference ${key}: no Vault integration ${shown(id)} in domain ${domain}`,
});

/** An integration that could not be listed (`listed`) or read, for each of its references. */
export const integrationFailedAnswer = (
  refId: string,
  key: string,
  integration: string,
  code: string,
  listed: boolean,
): MissingAnswer => ({
  refId,
  found: false,
  code,
  message: `reference ${key}: Vault integration ${integration} could not be ${listed ? 'listed' : 'read'} (${code})`,
});

export const vaultKeyNotFoundAnswer = (refId: string, key: string, integration: string): MissingAnswer => ({
  refId,
  found: false,
  code: 'vault.not_found',
  message: `reference ${key}: Vault integration ${integration} has no key ${key}`,
});
