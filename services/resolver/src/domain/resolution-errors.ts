import { invalidArgument, LatchkeyError } from '@latchkey/errors';
import type { Decision } from '@latchkey/authz';
import type { ReferenceSpec } from '@latchkey/events';

/**
 * Every code the resolver itself gives: to a deployment (per reference, in
 * `workload.resolution_failed` or `_retrying`), to a plan request, or as an
 * error thrown to the consumer runner. Codes a backend answered (such as
 * `secret.not_found` or `vault.sealed`) are passed on as they came.
 */
export const RESOLUTION_ERROR_CODES = [
  'resolution.retry',
  'resolver.invalid_request',
  'resolver.unattributed_request',
  'bus.unattributed',
  'audit.unavailable',
  'catalog.unavailable',
  'catalog.no_answer',
  'ras.unavailable',
  'ras.permission_denied',
  'ras.cross_domain',
  'secret.value_too_large',
  'deployment.values_too_large',
  'workload.secrets_v2_disabled',
] as const;

export type ResolutionErrorCode = (typeof RESOLUTION_ERROR_CODES)[number];

/**
 * Why one reference did not resolve: an expected outcome, returned rather
 * than thrown. `retryable`: a later attempt may not meet it.
 */
export interface ReferenceProblem {
  code: string;
  message: string;
  retryable: boolean;
}

const problem = (code: string, message: string, retryable = false): ReferenceProblem => ({
  code,
  message,
  retryable,
});

/**
 * Per-reference failures that a later attempt may not meet: the team's
 * Vault was unreachable, sealed, slow, rate limited (429) or failed with a
 * server error (5xx). (A catalog or ras that cannot be
 * reached, or a managed backend that is unavailable, fails the whole read
 * with a retryable error, which counts the same.)
 */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  'vault.unreachable',
  'vault.sealed',
  'vault.timeout',
  'vault.rate_limited',
  'vault.server_error',
]);

/** The catalog could not say which bundle a Vault reference's integration belongs to. */
export function bundleLookupFailed(ref: ReferenceSpec, err: LatchkeyError): ReferenceProblem {
  return problem(
    err.retryable ? 'catalog.unavailable' : err.code,
    `the bundle of Vault integration ${ref.sourceId} could not be looked up: ${err.code}: ${err.message}`,
    err.retryable,
  );
}

/** ras could not answer the batched permission check. */
export function permissionsUnchecked(err: LatchkeyError): ReferenceProblem {
  return problem(
    err.retryable ? 'ras.unavailable' : err.code,
    `permissions could not be checked: ras answered ${err.code}: ${err.message}`,
    err.retryable,
  );
}

/** ras refused the key (or gave no decision for it). */
export function referenceDenied(d: Decision | undefined): ReferenceProblem {
  return problem(d?.code || 'ras.permission_denied', d?.reason || 'not permitted');
}

/** ras refused USE on the bundle of the reference's Vault integration (or gave no decision for it). */
export function bundleDenied(ref: ReferenceSpec, bundle: string, d: Decision | undefined): ReferenceProblem {
  return problem(
    d?.code || 'ras.permission_denied',
    `reference ${ref.key} of Vault integration ${ref.sourceId} needs USE on its bundle ${bundle}: ${d?.reason || 'not permitted'}`,
  );
}

/** A reference into a domain other than the workload's (and not global). */
export function crossDomain(ref: ReferenceSpec, scope: string, domain: string): ReferenceProblem {
  return problem(
    'ras.cross_domain',
    `reference ${ref.key} names domain ${scope}, but the workload is in ${domain}: a workload may use its own domain's secrets and global ones`,
  );
}

/**
 * A structured reference while Secrets V2 is off (the legacy mode): the
 * deployer refuses such workloads; the resolver does not read one either.
 */
export function secretsV2Disabled(ref: ReferenceSpec): ReferenceProblem {
  return problem(
    'workload.secrets_v2_disabled',
    `reference ${ref.key} (${ref.sourceType} ${ref.sourceId}) is a structured reference, and Secrets V2 is off on this installation: only \${secrets.KEY} placeholders resolve, from global scope. Turn Secrets V2 on (features.secretsV2.enabled: true in the Helm values; LATCHKEY_SECRETS_V2=true on the deployer and the resolver)`,
  );
}

/** The catalog's read failed as a whole. */
export function catalogUnreadable(err: LatchkeyError): ReferenceProblem {
  return problem(
    err.retryable ? 'catalog.unavailable' : err.code,
    `the catalog could not be read: ${err.code}: ${err.message}`,
    err.retryable,
  );
}

/** The catalog answered a reference with a failure of its own (its code is passed on). */
export function catalogRefused(code: string, message: string): ReferenceProblem {
  return problem(code, message, RETRYABLE_CODES.has(code));
}

export function catalogNoAnswer(ref: ReferenceSpec): ReferenceProblem {
  return problem('catalog.no_answer', `the catalog gave no answer for ${ref.key}`);
}

export function valueTooLarge(
  ref: ReferenceSpec,
  read: { scope: string; version: number },
  bytes: number,
  max: number,
): ReferenceProblem {
  return problem(
    'secret.value_too_large',
    `the value of ${ref.key} (${read.scope} version ${read.version}) is ${bytes} bytes; at most ${max} bytes are injected: keep large artifacts such as certificates or keystores in object storage and reference a smaller secret`,
  );
}

export function valuesTooLarge(total: number, max: number): ReferenceProblem {
  return problem(
    'deployment.values_too_large',
    `the values of this deployment come to ${total} bytes; at most ${max} bytes are injected into one deployment`,
  );
}

/** Fail-closed audit: the record of the read could not be written, so no value is served. */
export function auditUnavailable(): ReferenceProblem {
  return problem(
    'audit.unavailable',
    'value not served: the audit record of this read could not be written and audit.failClosed is on; deploy again once the audit stream is back',
  );
}

/**
 * Thrown to the consumer runner while only backends were unavailable: it
 * redelivers the deploying event after a growing delay.
 */
export function retryLater(deploymentId: string, attempt: number, maxAttempts: number, codes: string[]): LatchkeyError {
  return new LatchkeyError(
    'resolution.retry',
    `deployment ${deploymentId}: attempt ${attempt} of ${maxAttempts} found a backend unavailable (${[...new Set(codes)].join(', ')})`,
    { kind: 'unavailable', retryable: true },
  );
}

/** The failure answer of a request/reply request (a plan request, a runtime read). */
export interface RequestRefusal {
  ok: false;
  code: string;
  message: string;
}

/** The reply to a request (plan request, runtime read) that is not one. */
export function invalidRequest(message: string): RequestRefusal {
  return { ok: false, code: 'resolver.invalid_request', message };
}

/** The reply to a request the deployer did not sign; `what` names it (`plan request`, `runtime read`). */
export function unattributedRequest(what: 'plan request' | 'runtime read', why: string): RequestRefusal {
  return {
    ok: false,
    code: 'resolver.unattributed_request',
    message: `${what} refused: ${why}; the resolver answers only ${what}s signed by the deployer`,
  };
}

/** A deploying event the deployer did not sign: refused permanently. */
export function unattributedDeploying(eventId: string, why: string): LatchkeyError {
  return invalidArgument(
    'bus.unattributed',
    `deploying event ${eventId} refused: ${why}; nothing was read (the resolver acts only on events signed by the deployer)`,
  );
}
