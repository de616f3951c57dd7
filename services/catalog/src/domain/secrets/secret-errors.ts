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
  'secret.deleted',
  'secret.not_deleted',
  'secret.invalid_recovery_days',
  'secret.invalid_version',
  'secret.version_not_found',
  'secret.version_disabled',
  'secret.rollback_to_current',
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

/** How the CLI names a scope: `--global` or `--domain D`. */
export const scopeFlag = (scope: string): string => (scope === GLOBAL_SCOPE ? '--global' : `--domain ${scope}`);

const deletedMessage = (key: string, scope: string, recoverUntil: Date): string =>
  `secret ${key} in ${scopeText(scope)} was deleted; it can be restored until ${recoverUntil.toISOString()} ` +
  `(latchkey secret restore ${key} ${scopeFlag(scope)}), when its values are destroyed`;

/** A change of a deleted secret that is still recoverable (a put, a second delete without --recovery-days 0). */
export const secretDeleted = (key: string, scope: string, recoverUntil: Date, instead: string): LatchkeyError =>
  new LatchkeyError('secret.deleted', `${deletedMessage(key, scope, recoverUntil)}: ${instead}`, {
    kind: 'failed_precondition',
    details: { recoverUntil: recoverUntil.toISOString() },
  });

/** A reference to a deleted secret that is still recoverable. */
export const secretDeletedAnswer = (refId: string, key: string, scope: string, recoverUntil: Date): MissingAnswer => ({
  refId,
  found: false,
  code: 'secret.deleted',
  message: deletedMessage(key, scope, recoverUntil),
});

export const secretNotDeleted = (key: string, scope: string): LatchkeyError =>
  new LatchkeyError(
    'secret.not_deleted',
    `secret ${key} in ${scopeText(scope)} is not deleted: there is nothing to restore`,
    {
      kind: 'failed_precondition',
    },
  );

export const invalidRecoveryDays = (given: number, max: number): LatchkeyError =>
  invalidArgument(
    'secret.invalid_recovery_days',
    `--recovery-days ${given} is not a recovery window: give a whole number of days from 0 to ${max} (0 destroys the values now)`,
  );

export const invalidVersion = (given: number): LatchkeyError =>
  invalidArgument('secret.invalid_version', `version ${given} is not a version number: give a whole number from 1 up`);

export const versionNotFound = (key: string, scope: string, version: number, kept: number[]): LatchkeyError =>
  notFound(
    'secret.version_not_found',
    `secret ${key} in ${scopeText(scope)} has no version ${version}` +
      (kept.length === 0 ? '' : `: the kept versions are ${kept.join(', ')}`) +
      ` (latchkey secret versions ${key} ${scopeFlag(scope)})`,
  );

const disabledMessage = (key: string, scope: string, version: number): string =>
  `secret ${key} in ${scopeText(scope)}: version ${version} is disabled: enable it ` +
  `(latchkey secret enable ${key} ${scopeFlag(scope)} --version ${version}) or roll back to an enabled version ` +
  `(latchkey secret rollback ${key} ${scopeFlag(scope)} --to N)`;

export const versionDisabled = (key: string, scope: string, version: number): LatchkeyError =>
  new LatchkeyError('secret.version_disabled', disabledMessage(key, scope, version), { kind: 'failed_precondition' });

/** A reference whose current version is disabled. */
export const versionDisabledAnswer = (refId: string, key: string, scope: string, version: number): MissingAnswer => ({
  refId,
  found: false,
  code: 'secret.version_disabled',
  message: disabledMessage(key, scope, version),
});

export const rollbackToCurrent = (key: string, scope: string, version: number): LatchkeyError =>
  new LatchkeyError(
    'secret.rollback_to_current',
    `secret ${key} in ${scopeText(scope)}: version ${version} is the current version already: roll back to an older one (latchkey secret versions ${key} ${scopeFlag(scope)} lists them)`,
    { kind: 'failed_precondition' },
  );
