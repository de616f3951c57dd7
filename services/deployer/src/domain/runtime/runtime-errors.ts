import { invalidArgument, LatchkeyError, permissionDenied } from '@latchkey/errors';

/** The codes of a runtime read's own refusals, each listed once. */
const RUNTIME_READ_ERRORS = {
  tokenInvalid: 'runtime.token_invalid',
  referenceNotInSpec: 'runtime.reference_not_in_spec',
  referenceAmbiguous: 'runtime.reference_ambiguous',
  invalidSource: 'runtime.invalid_source',
} as const;

/**
 * An unknown token, or one whose deployment ended or was replaced: one
 * answer for all three, so that a token cannot be probed.
 */
export function tokenInvalid(): LatchkeyError {
  return new LatchkeyError(
    RUNTIME_READ_ERRORS.tokenInvalid,
    'the workload token is not valid: it is unknown, or its deployment has ended or was replaced; a workload reads with the token of its own running deployment (LATCHKEY_WORKLOAD_TOKEN)',
    { kind: 'unauthenticated' },
  );
}

export function referenceNotInSpec(key: string): LatchkeyError {
  return permissionDenied(
    RUNTIME_READ_ERRORS.referenceNotInSpec,
    `key ${key} is not referenced by this deployment's spec: a workload token reads only its own deployment's references (GET /api/v1/runtime/secrets lists them)`,
  );
}

export function referenceAmbiguous(key: string, sources: readonly string[]): LatchkeyError {
  return invalidArgument(
    RUNTIME_READ_ERRORS.referenceAmbiguous,
    `key ${key} is referenced from more than one source (${sources.join(', ')}): say which with source_type and source_id`,
  );
}

/** The resolver refused the read (ras, the catalog, a team's Vault): its code, passed on. */
export function runtimeReadRefused(code: string, message: string): LatchkeyError {
  const kind = code.startsWith('ras.')
    ? 'permission_denied'
    : code.endsWith('.not_found')
      ? 'not_found'
      : code.endsWith('.unavailable') || code.startsWith('vault.')
        ? 'unavailable'
        : 'failed_precondition';
  return new LatchkeyError(code, message, { kind });
}

export function invalidSource(what: string): LatchkeyError {
  return invalidArgument(RUNTIME_READ_ERRORS.invalidSource, what);
}
