import { Ajv, type Options } from 'ajv';
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

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  const ajv = byPart[httpPart ?? 'body'] ?? byPart['body'];
  if (ajv === undefined) throw new Error('no validator');
  return ajv.compile(schema);
};
