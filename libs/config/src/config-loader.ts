import { z } from 'zod';
import { LatchkeyError } from '@latchkey/errors';

/**
 * Parses `env` with `schema` once, at start. A bad or missing variable fails
 * with one message naming each variable and what is expected of it.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    return `${name}: ${issue.message}`;
  });
  throw new LatchkeyError('config.invalid', `invalid configuration: ${problems.join('; ')}`, {
    kind: 'invalid_argument',
  });
}

/** A TCP port number, from a string. 0 asks the OS for a free one. */
export const port = (fallback?: number) => {
  const base = z.coerce.number().int().min(0).max(65535);
  return fallback === undefined ? base : base.default(fallback);
};

/** A required string with no default: for secrets and file paths. */
export const required = (what: string) => z.string({ error: `required: ${what}` }).min(1, `required: ${what}`);

export { z };

/**
 * audit.failClosed (LATCHKEY_AUDIT_FAIL_CLOSED): 1 refuses a value read
 * whose audit record cannot be written; 0 (the default) serves it and logs
 * the failure. The resolver and the catalog read the same variable.
 */
export const auditFailClosed = () =>
  z
    .enum(['1', '0', 'true', 'false', ''], { error: 'use 1 (refuse unaudited reads) or 0 (serve them, logged)' })
    .default('0')
    .transform((v) => v === '1' || v === 'true');

/** LATCHKEY_LOG_LEVEL: how much a service logs (default info; silent logs nothing). */
export const logLevel = () =>
  z
    .enum(['debug', 'info', 'warn', 'error', 'silent'], { error: 'one of debug, info, warn, error, silent' })
    .default('info');

/**
 * features.secretsV2 (LATCHKEY_SECRETS_V2): `true` (the default) takes
 * structured secret references `{key, source}` beside `${secrets.KEY}`
 * placeholders, which read the workload's domain first, then global scope.
 * `false` is the legacy mode the seeds migrate from: only placeholders, read
 * from global scope only; structured references are refused. The deployer and
 * the resolver read the same variable and must be given the same value.
 */
export const secretsV2 = () =>
  z
    .enum(['true', 'false', '1', '0', ''], {
      error: 'use true (Secrets V2: structured references; the default) or false (legacy ${secrets.KEY} only)',
    })
    .default('true')
    .transform((v) => v !== 'false' && v !== '0');
