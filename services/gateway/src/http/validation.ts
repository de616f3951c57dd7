import { Ajv, type Options, type ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

const COMMON: Options = { allErrors: true, removeAdditional: false, useDefaults: false, strict: false };

/**
 * One Ajv per request part. A body is checked exactly as it came: no
 * coercion (42 stays a number, and a spec the gateway passes through to a
 * service reaches it unchanged), no defaults, nothing removed. Path and
 * query parameters, which are strings on the wire, are coerced to the
 * types their schemas declare (`?limit=5`, `?stale=true`).
 * Schemas are inline: a `$ref` to a schema added with `addSchema` is not
 * resolved by these validators.
 */
const byPart: Record<string, Ajv> = {
  body: new Ajv({ ...COMMON, coerceTypes: false }),
  params: new Ajv({ ...COMMON, coerceTypes: true }),
  querystring: new Ajv({ ...COMMON, coerceTypes: 'array' }),
  headers: new Ajv({ ...COMMON, coerceTypes: true }),
};

/** Compiles `schema` for `httpPart` now (what a request's first check does; tests compile every route's up front). */
export function compileValidator(schema: object, httpPart: string | undefined): ValidateFunction {
  const ajv = byPart[httpPart ?? 'body'] ?? byPart['body'];
  if (ajv === undefined) throw new Error('no validator');
  return ajv.compile(schema);
}

/**
 * Compiled on a route's first request, not at start: a gateway starts with
 * some 150 route schemas, and compiling them all took most of its start's CPU
 * (the start of every test system, the gateway's every component test) while
 * a run uses a few. `test/route-schemas.test.ts` compiles every one, so a bad
 * schema still fails a test rather than a first request.
 */
export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  let compiled: ValidateFunction | undefined;
  const validate = (data: unknown): boolean => {
    compiled ??= compileValidator(schema, httpPart);
    const ok = compiled(data) as boolean;
    validate.errors = compiled.errors;
    return ok;
  };
  validate.errors = null as ValidateFunction['errors'];
  return validate;
};
