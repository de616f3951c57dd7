/**
 * How the Vault client turns a failure into a LatchkeyError: one code per
 * kind of failure, a message naming the integration (or host), the operation
 * and the HTTP status, and never the token, the secret id, a value or the
 * library's error object (node-vault's network errors are AxiosErrors whose
 * `config.headers` carry `X-Vault-Token`, so nothing is attached as `cause`).
 */
import { LatchkeyError, type ErrorKind } from '@latchkey/errors';
import { KV2_EXAMPLE } from './vault-kv2-path.js';

export type Op = 'read' | 'write' | 'list' | 'metadata' | 'delete' | 'lookup' | 'login' | 'creds' | 'renew' | 'revoke';

export const OP_TEXT: Record<Op, string> = {
  read: 'reading',
  write: 'writing',
  list: 'listing',
  metadata: 'reading the metadata of',
  delete: 'deleting',
  lookup: 'looking up its token',
  login: 'AppRole login',
  creds: 'issuing credentials at',
  renew: 'renewing a lease at',
  revoke: 'revoking a lease at',
};

/** Vault's answers to a renewal of a lease it no longer has (revoked, expired, or never issued). */
const LEASE_GONE = new Set(['lease not found', 'invalid lease']);

/** One call: what it did, and where. */
export interface CallContext {
  op: Op;
  path: string;
}

/** The client an error is about. */
export interface ErrorSubject {
  /** `"name" (https://host:8200)` or the host. */
  label: string;
  timeoutMs: number;
  /** Takes any credential text out of a message. */
  scrub(text: string): string;
}

const TLS_CODES = new Set([
  'EPROTO',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** What the commonest certificate failures mean, in words. */
const TLS_WHY: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: ': the certificate is not issued by a CA the catalog trusts',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: ': the certificate is not issued by a CA the catalog trusts',
  SELF_SIGNED_CERT_IN_CHAIN: ': the certificate chain ends in a CA the catalog does not trust',
  DEPTH_ZERO_SELF_SIGNED_CERT: ': the certificate is self-signed and not trusted',
  ERR_TLS_CERT_ALTNAME_INVALID: ': the certificate is for another host name',
  CERT_HAS_EXPIRED: ': the certificate has expired',
  CERT_NOT_YET_VALID: ': the certificate is not valid yet',
  ERR_SSL_WRONG_VERSION_NUMBER: ': the host does not speak TLS (is it http://?)',
};

const SAFE_LOGIN_MESSAGES = new Set(['invalid role or secret ID', 'missing secret_id', 'missing role_id']);
const POLICY_DENIED = /^1 error occurred:\s*\* permission denied\s*$/;

export interface ApiFailure {
  status: number;
  message: string;
  body: unknown;
}

/** node-vault's ApiResponseError (not exported): `{message, response: {statusCode, body}}`. */
export function apiFailure(err: unknown): ApiFailure | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const response = (err as { response?: unknown }).response;
  if (typeof response !== 'object' || response === null) return undefined;
  const status = (response as { statusCode?: unknown }).statusCode;
  if (typeof status !== 'number') return undefined;
  const message = (err as { message?: unknown }).message;
  return { status, message: typeof message === 'string' ? message : '', body: (response as { body?: unknown }).body };
}

function networkCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^[A-Z0-9_]+$/.test(code)) return code;
  const cause = (err as { cause?: unknown }).cause;
  return cause === err ? undefined : networkCode(cause);
}

/** The error `code` about `subject`: `what` went wrong, with the HTTP status and path in the details. */
export function vaultClientError(
  subject: ErrorSubject,
  code: string,
  what: string,
  o: { kind: ErrorKind; retryable?: boolean; status?: number; path?: string },
): LatchkeyError {
  const status = o.status === undefined ? '' : ` (HTTP ${o.status})`;
  const message = subject.scrub(`Vault integration ${subject.label}: ${what}${status}`);
  const details: Record<string, string | number | boolean> = { integration: subject.label };
  if (o.status !== undefined) details['status'] = o.status;
  if (o.path !== undefined) details['path'] = subject.scrub(o.path);
  return new LatchkeyError(code, message, {
    kind: o.kind,
    ...(o.retryable === undefined ? {} : { retryable: o.retryable }),
    details,
  });
}

/** An answer of a shape Latchkey does not know. */
export function unexpectedAnswer(subject: ErrorSubject, ctx: CallContext): LatchkeyError {
  return vaultClientError(
    subject,
    'vault.error',
    `${OP_TEXT[ctx.op]} ${ctx.path} gave a response Latchkey does not understand`,
    { kind: 'internal' },
  );
}

export function readOnlyRefused(label: string, op: Op): LatchkeyError {
  return new LatchkeyError('vault.read_only', `Vault integration ${label} is read-only: ${OP_TEXT[op]} refused`, {
    kind: 'failed_precondition',
  });
}

/** What the failure of one call means, whatever node-vault or the network threw. */
export function mapVaultError(subject: ErrorSubject, err: unknown, ctx: CallContext): LatchkeyError {
  if (err instanceof LatchkeyError) return err;
  const on = `${OP_TEXT[ctx.op]} ${ctx.op === 'login' || ctx.op === 'lookup' ? '' : ctx.path}`.trimEnd();
  const api = apiFailure(err);
  return api === undefined ? networkError(subject, err, ctx, on) : apiError(subject, api, ctx, on);
}

/** Vault answered, with a status that is not success. */
function apiError(subject: ErrorSubject, api: ApiFailure, ctx: CallContext, on: string): LatchkeyError {
  const { status } = api;
  const path = ctx.path;
  const fail = (code: string, what: string, kind: ErrorKind, retryable?: boolean) =>
    vaultClientError(subject, code, what, { status, path, kind, ...(retryable === undefined ? {} : { retryable }) });
  if (status >= 300 && status < 400) {
    return fail(
      'vault.redirect_refused',
      `Vault answered ${on} with a redirect, which Latchkey never follows (a redirect could send the token to another host): give the address Vault redirects to as the host`,
      'failed_precondition',
    );
  }
  if (status === 503 && /sealed/i.test(api.message)) {
    return fail('vault.sealed', `Vault is sealed; ${on} failed, retry once it is unsealed`, 'unavailable', true);
  }
  if (ctx.op === 'login' && status >= 400 && status < 500) {
    const said = SAFE_LOGIN_MESSAGES.has(api.message) ? `: ${api.message}` : '';
    return fail('vault.auth_failed', `AppRole login at ${path} was refused${said}`, 'unauthenticated');
  }
  if (status === 403) {
    if (ctx.op === 'lookup' && api.message === 'permission denied') {
      return fail('vault.auth_failed', 'the token is invalid or expired', 'unauthenticated');
    }
    const why = POLICY_DENIED.test(api.message)
      ? "the token's policies do not allow it"
      : 'the token is invalid or expired, or its policies do not allow it';
    return fail('vault.permission_denied', `permission denied ${on}: ${why}`, 'permission_denied');
  }
  if (status === 400 && (ctx.op === 'renew' || ctx.op === 'revoke') && LEASE_GONE.has(api.message)) {
    return fail('vault.lease_not_found', `the lease is gone (revoked or expired) when ${on}`, 'not_found', false);
  }
  if (ctx.op === 'creds' && status === 400 && /^unknown role: [\w.-]+$/.test(api.message)) {
    return fail('vault.unknown_role', `Vault answered ${on}: ${api.message}`, 'failed_precondition', false);
  }
  if (ctx.op === 'creds' && status === 404 && api.message.startsWith('no handler for route')) {
    return fail(
      'vault.not_found',
      `no secrets engine is mounted at ${path} (is the mount name right, and is it a database secrets engine?)`,
      'failed_precondition',
    );
  }
  if (status === 405) {
    return fail('vault.not_kv2', `${path} does not support ${OP_TEXT[ctx.op]}; ${KV2_EXAMPLE}`, 'failed_precondition');
  }
  if (status === 404 && api.message.startsWith('no handler for route')) {
    return fail(
      'vault.not_kv2',
      `no secrets engine is mounted at ${path} (is the mount name right, and is it KV v2?); ${KV2_EXAMPLE}`,
      'failed_precondition',
    );
  }
  if (status === 404) return fail('vault.not_found', `nothing found ${on}`, 'not_found');
  if (status === 413) {
    return fail(
      'vault.too_large',
      `Vault refused ${on}: the request is larger than it accepts (its listener's max_request_size)`,
      'invalid_argument',
    );
  }
  if (status === 429) {
    return fail(
      'vault.rate_limited',
      `Vault's rate limit quota refused ${on}; it is tried again later`,
      'unavailable',
      true,
    );
  }
  if (status >= 500) {
    return fail(
      'vault.server_error',
      `Vault failed ${on} (a server error); it is tried again later`,
      'unavailable',
      true,
    );
  }
  return fail('vault.error', `${on} failed`, status === 400 ? 'invalid_argument' : 'internal', false);
}

/** No answer from Vault: TLS, a timeout, or no connection at all. */
function networkError(subject: ErrorSubject, err: unknown, ctx: CallContext, on: string): LatchkeyError {
  const path = ctx.path;
  const code = networkCode(err);
  const message = typeof (err as { message?: unknown })?.message === 'string' ? (err as Error).message : '';
  if (code !== undefined && (TLS_CODES.has(code) || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL'))) {
    return vaultClientError(
      subject,
      'vault.tls_failure',
      `TLS handshake failed (${code}${TLS_WHY[code] ?? ''}): check the host's certificate and the CA`,
      { kind: 'unavailable', retryable: false, path },
    );
  }
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT' || /timeout/i.test(message)) {
    return vaultClientError(subject, 'vault.unreachable', `no answer within ${subject.timeoutMs} ms while ${on}`, {
      kind: 'unavailable',
      retryable: true,
      path,
    });
  }
  if (code !== undefined) {
    // The same words for a closed port, a refused or reset connection and a
    // server that does not speak HTTP: the library's detail would tell them apart.
    return vaultClientError(subject, 'vault.unreachable', `Vault is unreachable while ${on}`, {
      kind: 'unavailable',
      retryable: true,
      path,
    });
  }
  return vaultClientError(subject, 'vault.error', `unexpected failure while ${on}`, { kind: 'internal', path });
}
