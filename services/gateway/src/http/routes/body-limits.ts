import type { FastifyInstance } from 'fastify';

/** The catalog's default largest value (its LATCHKEY_MAX_VALUE_BYTES); the catalog checks the real one. */
export const CATALOG_DEFAULT_MAX_VALUE_BYTES = 65_536;

/**
 * The largest body of a secret write: room for a value of the catalog's
 * size in JSON (escapes make a value's JSON text longer than its bytes)
 * and little beside it. A value within this but over the catalog's limit
 * is refused by the catalog with `secret.value_too_large`, naming it.
 */
export const SECRET_BODY_LIMIT = 4 * CATALOG_DEFAULT_MAX_VALUE_BYTES + 16 * 1024;

/** What the 413 answer of a secret write says besides its limit. */
export const SECRET_BODY_LIMIT_NOTE = `a secret's value may be at most the catalog's LATCHKEY_MAX_VALUE_BYTES (${CATALOG_DEFAULT_MAX_VALUE_BYTES} bytes unless changed)`;

/** A Vault write (settings and a token or secret id): 64 KiB is far more than any. */
export const VAULT_BODY_LIMIT = 64 * 1024;

/** A small body (a name, a role, a rotation policy): 16 KiB. */
export const SMALL_BODY_LIMIT = 16 * 1024;

/** A route's body limit: its own, but never more than the gateway's (LATCHKEY_HTTP_BODY_LIMIT). */
export function bodyLimit(app: FastifyInstance, limit: number): number {
  return Math.min(limit, app.initialConfig.bodyLimit ?? limit);
}
