import { invalidArgument, LatchkeyError, notFound } from '@latchkey/errors';
import { GLOBAL_SCOPE } from '@latchkey/events';

/**
 * The errors of managed secrets and their scopes, each built in one place.
 * (A bad domain name is libs/events' `domain.invalid_name`; a bad rotation
 * period is rotation-errors.ts'.)
 */
export const SECRET_ERROR_CODES = [
  'scope.ambiguous',
  'scope.missing',
  'secret.invalid_key',
  'secret.empty_value',
  'secret.value_too_short',
  'secret.value_too_large',
  'secret.description_too_long',
  'secret.not_found',
  'secret.in_use',
  'secret.backend_mismatch',
  'secret.value_missing',
  'source.unsupported',
  'kek.not_applicable',
  'audit.unavailable',
] as const;
export type SecretErrorCode = (typeof SECRET_ERROR_CODES)[number];

/** A failed reference's answer (a return value, not an exception). */
export interface MissingAnswer {
  refId: string;
  found: false;
  code: string;
  message: string;
}

/** `global scope` or `domain D`, as messages name a scope. */
export const scopeText = (scope: string): string => (scope === GLOBAL_SCOPE ? 'global scope' : `domain ${scope}`);

export const scopeAmbiguous = (): LatchkeyError =>
  invalidArgument('scope.ambiguous', 'give either a domain or global scope, not both');

export const scopeMissing = (): LatchkeyError =>
  invalidArgument('scope.missing', 'no scope: give a domain (--domain D) or global scope (--global)');

export const invalidKey = (key: string): LatchkeyError =>
  invalidArgument(
    'secret.invalid_key',
    `invalid secret key ${JSON.stringify(key.slice(0, 80))}: use 1-253 letters, digits, '.', '_' or '-', other than . and ..`,
  );

export const emptyValue = (): LatchkeyError =>
  invalidArgument('secret.empty_value', 'the value is empty: pass it on standard input or with --value-file');

export const valueTooShort = (bytes: number, min: number): LatchkeyError =>
  invalidArgument(
    'secret.value_too_short',
    `the value is ${bytes} byte(s); managed values need at least ${min}, because a shorter one cannot be redacted from workload output without masking ordinary text: use a longer value`,
  );

/**
 * A value over what the backend stores: names the backend, its limit (when
 * it states one) and where the limit comes from, and the value's size.
 */
export const valueTooLarge = (backend: string, bytes: number, limit: { bytes?: number; why: string }): LatchkeyError =>
  invalidArgument(
    'secret.value_too_large',
    `the value is ${bytes} bytes; the ${backend} backend stores ` +
      `${limit.bytes === undefined ? 'less' : `at most ${limit.bytes} bytes`} (${limit.why}): store a smaller value`,
    { backend, bytes, ...(limit.bytes === undefined ? {} : { limitBytes: limit.bytes }) },
  );

export const descriptionTooLong = (max: number): LatchkeyError =>
  invalidArgument('secret.description_too_long', `the description is longer than ${max} characters`);

/** `hint`, when given, follows the message after a colon (what to do instead). */
export const secretNotFound = (key: string, scope: string, hint?: string): LatchkeyError =>
  notFound(
    'secret.not_found',
    `secret ${key} not found in ${scopeText(scope)}${hint === undefined ? '' : `: ${hint}`}`,
  );

/**
 * A delete refused because workloads reference what it deletes (`what`: "secret K"), naming them
 * and what `--force` does (`forced`).
 */
export const referencedError = (code: string, what: string, dependents: string[], forced: string): LatchkeyError =>
  new LatchkeyError(
    code,
    `${what} is referenced by ${dependents.length} workload(s): ${dependents.join(', ')}; ` +
      `change them first, or delete anyway with --force (${forced})`,
    { kind: 'failed_precondition', details: { dependents: dependents.join(',') } },
  );

export const secretInUse = (key: string, dependents: string[]): LatchkeyError =>
  referencedError('secret.in_use', `secret ${key}`, dependents, 'they become stale and their next deployment fails');

export const kekNotApplicable = (backend: string): LatchkeyError =>
  new LatchkeyError(
    'kek.not_applicable',
    `the ${backend} backend does not use Latchkey's key-encryption key: rotate keys in that system`,
    { kind: 'failed_precondition' },
  );

export const auditUnavailable = (cause: unknown): LatchkeyError =>
  new LatchkeyError(
    'audit.unavailable',
    "values not served: the audit record of this read could not be written and audit.failClosed is on; deploy again once the catalog's database is back",
    { kind: 'failed_precondition', cause },
  );

/** A reference to a key none of `scopes` holds. */
export const secretNotFoundAnswer = (refId: string, key: string, scopes: string[]): MissingAnswer => ({
  refId,
  found: false,
  code: 'secret.not_found',
  message: `secret ${key} not found in ${scopes.map(scopeText).join(' or ')}`,
});

export const noVaultAnswer = (refId: string, key: string): MissingAnswer => ({
  refId,
  found: false,
  code: 'source.unsupported',
  message: `reference ${key}: this catalog has no Vault integrations configured`,
});

/** The installation changed backends: this version's value is in another system. */
export const backendMismatchAnswer = (
  refId: string,
  at: { key: string; scope: string; version: number; backend: string },
  current: string,
): MissingAnswer => ({
  refId,
  found: false,
  code: 'secret.backend_mismatch',
  message: `secret ${at.key} in ${at.scope} version ${at.version} lives in the ${at.backend} backend, but this catalog uses ${current}: put the secret again`,
});

export const valueMissingAnswer = (
  refId: string,
  at: { key: string; scope: string; version: number },
  backend: string,
): MissingAnswer => ({
  refId,
  found: false,
  code: 'secret.value_missing',
  message: `secret ${at.key} in ${at.scope} version ${at.version} has no value in the ${backend} backend`,
});

/** A value its backend could not give back (decryption or the backend's own refusal), by that error's code. */
export const undecryptableAnswer = (refId: string, key: string, scope: string, code: string): MissingAnswer => ({
  refId,
  found: false,
  code,
  message: `secret ${key} in ${scope} cannot be decrypted (${code})`,
});
