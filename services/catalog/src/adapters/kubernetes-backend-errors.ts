/**
 * The errors of the kubernetes backend, each built in one place. Only the
 * status, our own words and a network error code go in: ApiException's
 * message carries response headers and its body may echo the request, so
 * neither is kept, and the original error is never attached as a cause.
 */
import { LatchkeyError } from '@latchkey/errors';

/** The largest decoded sum of a Secret's data values that the API server accepts. */
export const KUBERNETES_SECRET_LIMIT_BYTES = 1_048_576;

export const KUBERNETES_BACKEND_ERROR_CODES = [
  'backend.invalid_scope',
  'backend.invalid_key',
  'backend.invalid_version',
  'backend.bad_ref',
  'backend.capacity_exceeded',
  'backend.foreign_secret',
  'backend.rejected',
  'backend.namespace_not_found',
  'backend.permission_denied',
  'backend.unavailable',
] as const;

/** An API call that did not answer within its deadline. */
export class CallTimeout extends Error {}

const number = (n: number) => n.toLocaleString('en-US');

export const invalidScope = (): LatchkeyError =>
  new LatchkeyError('backend.invalid_scope', 'scope must be "global" or a domain name (^[a-z0-9][a-z0-9-]{0,62}$)', {
    kind: 'invalid_argument',
  });

export const invalidKey = (): LatchkeyError =>
  new LatchkeyError('backend.invalid_key', 'key must match ^[A-Za-z0-9._-]{1,253}$', { kind: 'invalid_argument' });

export const invalidVersion = (): LatchkeyError =>
  new LatchkeyError('backend.invalid_version', 'version must be a non-negative integer', { kind: 'invalid_argument' });

export const badRef = (version: number): LatchkeyError =>
  new LatchkeyError('backend.bad_ref', `the stored reference does not name version ${version} of this key`, {
    kind: 'internal',
  });

export const gaveUp = (namespace: string, secret: string, attempts: number): LatchkeyError =>
  new LatchkeyError(
    'backend.unavailable',
    `gave up after ${attempts} attempts to update Secret "${secret}" in namespace "${namespace}": ` +
      'concurrent writers kept changing it; try again',
    { kind: 'unavailable', retryable: true, details: { namespace, secret, attempts } },
  );

export const foreignSecret = (namespace: string, secret: string, label: string): LatchkeyError =>
  new LatchkeyError(
    'backend.foreign_secret',
    `Secret "${secret}" in namespace "${namespace}" exists but is not labelled ${label}=latchkey; ` +
      'Latchkey will not write to a Secret it does not manage',
    { kind: 'failed_precondition', details: { namespace, secret } },
  );

export const immutableSecret = (namespace: string, secret: string): LatchkeyError =>
  new LatchkeyError(
    'backend.rejected',
    `Secret "${secret}" in namespace "${namespace}" is marked immutable; Latchkey cannot update it`,
    { kind: 'failed_precondition', details: { namespace, secret } },
  );

export const namespaceNotFound = (namespace: string): LatchkeyError =>
  new LatchkeyError(
    'backend.namespace_not_found',
    `namespace "${namespace}" does not exist; create it or configure another namespace for the secret store`,
    { kind: 'failed_precondition', details: { namespace } },
  );

export function capacityExceeded(scope: string, key: string, heldBytes: number, afterBytes: number): LatchkeyError {
  const where = `key ${key} of ${scope === 'global' ? 'global scope' : `domain ${scope}`}`;
  const held = number(Math.round(heldBytes / 1024));
  const more = number(Math.max(1, Math.ceil((afterBytes - KUBERNETES_SECRET_LIMIT_BYTES) / 1024)));
  return new LatchkeyError(
    'backend.capacity_exceeded',
    `${where} holds ${held} KiB; this value needs ${more} KiB more than fits in its Kubernetes Secret (1 MiB)`,
    {
      kind: 'failed_precondition',
      details: {
        scope,
        key,
        heldBytes,
        neededBytes: afterBytes - KUBERNETES_SECRET_LIMIT_BYTES,
        limitBytes: KUBERNETES_SECRET_LIMIT_BYTES,
      },
    },
  );
}

/** The HTTP status of an ApiException (duck-typed: `code` is a number, `body` present). */
export function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('body' in err) || !('code' in err)) return undefined;
  return typeof err.code === 'number' ? err.code : undefined;
}

/** `: <reason>` from a Status body, when it has a plain one (never the message, which can echo input). */
function statusReason(err: unknown): string {
  if (typeof err !== 'object' || err === null || !('body' in err)) return '';
  const raw = err.body;
  try {
    const body: unknown = typeof raw === 'string' ? JSON.parse(raw) : raw;
    if (typeof body !== 'object' || body === null || !('reason' in body)) return '';
    return typeof body.reason === 'string' && /^[A-Za-z]{1,40}$/.test(body.reason) ? ` ${body.reason}` : '';
  } catch {
    return '';
  }
}

/** ` ECONNREFUSED` and the like, from a network error or its cause. */
function networkCode(err: unknown): string {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 3; depth++) {
    if ('code' in e && typeof e.code === 'string' && /^E[A-Z_]{2,30}$/.test(e.code)) return ` ${e.code}`;
    e = 'cause' in e ? e.cause : undefined;
  }
  return '';
}

/**
 * A safe error for anything the client threw. Only the status, our own words
 * and a network error code go in: ApiException's message carries response
 * headers and its body may echo the request, so neither is kept, and the
 * original error is not attached as a cause.
 */
export function translateApiError(
  err: unknown,
  where: { namespace: string; secret: string; timeoutMs: number },
  verb: string,
): LatchkeyError {
  const ns = where.namespace;
  const name = where.secret;
  const status = statusOf(err);
  const details = { namespace: ns, secret: name, ...(status === undefined ? {} : { status }) };
  if (status === 401) {
    return new LatchkeyError(
      'backend.permission_denied',
      `the Kubernetes API did not accept Latchkey's credentials (HTTP 401) for Secrets in namespace "${ns}"; ` +
        'check the service account token',
      { kind: 'permission_denied', details },
    );
  }
  if (status === 403) {
    return new LatchkeyError(
      'backend.permission_denied',
      `the Kubernetes API denied Latchkey permission to ${verb} Secret "${name}" in namespace "${ns}" (HTTP 403); ` +
        'grant its service account get, create and update on secrets in that namespace',
      { kind: 'permission_denied', details },
    );
  }
  if (status === undefined || status === 408 || status === 429 || status >= 500) {
    const why =
      err instanceof CallTimeout
        ? `timed out after ${where.timeoutMs} ms`
        : status !== undefined
          ? `HTTP ${status}`
          : `network error${networkCode(err)}`;
    return new LatchkeyError(
      'backend.unavailable',
      `the Kubernetes API is unavailable (${why}) for Secret "${name}" in namespace "${ns}"; try again`,
      { kind: 'unavailable', retryable: true, details },
    );
  }
  const reason = statusReason(err);
  return new LatchkeyError(
    'backend.rejected',
    `the Kubernetes API rejected the ${verb} of Secret "${name}" in namespace "${ns}" (HTTP ${status}${reason})`,
    { kind: status === 422 ? 'failed_precondition' : 'internal', details },
  );
}
