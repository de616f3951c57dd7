import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

export const OPENAPI_PATH = '/api/openapi.json';

/** The problem+json schema every route's error answers share (`default` response). */
export const PROBLEM_SCHEMA = {
  $id: 'Problem',
  type: 'object',
  description: 'An error (RFC 9457): `code` is the same stable dotted code the gRPC API carries',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
} as const;

/** Use as `response: { default: PROBLEM_REF }`. */
export const PROBLEM_REF = { $ref: 'Problem#' } as const;

/**
 * The OpenAPI 3 document, made by @fastify/swagger from the routes' own
 * schemas (so it cannot drift from them), served at OPENAPI_PATH.
 * Register before any route.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  app.addSchema(PROBLEM_SCHEMA);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Latchkey HTTP API',
        version: '1',
        description:
          "The HTTP face of Latchkey: every call is made with the caller's own token (Authorization: Bearer <jwt>, the one `latchkey login` stores) and decided by ras exactly as for the CLI. Secret values go in, never out. Errors are application/problem+json.",
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
      security: [{ bearer: [] }],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (json.$id as string | undefined) ?? `def-${i}`,
    },
  });
  app.get(OPENAPI_PATH, { schema: { tags: ['documents'], summary: 'This OpenAPI 3 document', security: [] } }, () =>
    app.swagger(),
  );
}

/** A Fastify route pattern (`/a/:b/*`) as an OpenAPI path (`/a/{b}/{*}`), as @fastify/swagger writes it. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*$/, '{*}');
}

/**
 * The API routes (under /api/) that the OpenAPI document does not list:
 * `METHOD path` each. HEAD routes (Fastify adds one per GET) are not API
 * routes of their own.
 */
export function undocumentedRoutes(
  routes: readonly { method: string; url: string }[],
  document: { paths?: Record<string, Record<string, unknown> | undefined> },
): string[] {
  const missing: string[] = [];
  for (const r of routes) {
    if (r.method === 'HEAD' || !r.url.startsWith('/api/')) continue;
    if (document.paths?.[openApiPath(r.url)]?.[r.method.toLowerCase()] === undefined) {
      missing.push(`${r.method} ${r.url}`);
    }
  }
  return missing;
}
