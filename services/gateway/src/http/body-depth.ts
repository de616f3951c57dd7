import type { FastifyInstance } from 'fastify';
import { LatchkeyError } from '@latchkey/errors';

/**
 * How deep a request body may nest objects and arrays. No request of the API
 * nests more than a few levels (a workload's `config.envVars.X.source`); a
 * body nested thousands deep would make every recursive step after the
 * parser (a JSON.stringify on its way to a service) run out of stack.
 */
export const MAX_BODY_DEPTH = 32;

/** The JSON path of the first value nested deeper than `max`, found without recursion; undefined when none is. */
export function tooDeepAt(body: unknown, max = MAX_BODY_DEPTH): string | undefined {
  const stack: { value: unknown; depth: number; path: string }[] = [{ value: body, depth: 0, path: '$' }];
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= max) return path;
    const entries = Array.isArray(value)
      ? value.map((v, i) => [`[${i}]`, v] as const)
      : Object.entries(value).map(
          ([k, v]) => [/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k.slice(0, 40))}]`, v] as const,
        );
    for (const [step, v] of entries) stack.push({ value: v, depth: depth + 1, path: `${path}${step}` });
  }
  return undefined;
}

export function bodyTooDeep(path: string): LatchkeyError {
  const shown = path.length > 120 ? `${path.slice(0, 120)}…` : path;
  return new LatchkeyError(
    'request.too_deep',
    `${shown}: the request body nests objects and arrays more than ${MAX_BODY_DEPTH} levels deep; no request of this API nests that deep (see /api/openapi.json)`,
    { kind: 'invalid_argument', details: { path: shown, message: `nested more than ${MAX_BODY_DEPTH} levels deep` } },
  );
}

/** Refuses, before validation and before any handler, a body nested deeper than MAX_BODY_DEPTH. */
export function installBodyDepthCheck(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const at = tooDeepAt(request.body);
    if (at !== undefined) throw bodyTooDeep(at);
  });
}
