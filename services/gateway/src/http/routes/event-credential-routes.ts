import type { RouteFamily } from '../route-context.js';
import { bodyLimit, SMALL_BODY_LIMIT } from './body-limits.js';
import { answerObject, ERRORS } from './route-schemas.js';

/**
 * `POST /api/v1/event-credentials`: NATS credentials for an event subscriber
 * outside Latchkey (as `latchkey events credentials`). ras decides (the caller
 * must own every domain named, or be a platform admin) and mints them; the
 * answer is the subscriber's own credential, never a stored value, and is
 * marked `no-store`.
 */
export const eventCredentialRoutes: RouteFamily = async (app, { upstream }) => {
  app.post(
    '/api/v1/event-credentials',
    {
      bodyLimit: bodyLimit(app, SMALL_BODY_LIMIT),
      schema: {
        tags: ['access'],
        summary:
          "NATS credentials for an outside subscriber: it may only subscribe to the domains' public events (latchkey events credentials)",
        body: {
          type: 'object',
          required: ['domains', 'name'],
          additionalProperties: false,
          properties: {
            domains: { type: 'array', minItems: 1, maxItems: 16, items: { type: 'string' } },
            name: { type: 'string' },
            ttlDays: { type: 'integer', minimum: 1, maximum: 3650 },
          },
        },
        response: {
          201: answerObject({
            creds: { type: 'string', description: 'a NATS credentials file: a secret for the subscriber alone' },
            user: 'string',
            expiresAt: 'string',
            subjects: 'string[]',
          }),
          ...ERRORS,
        },
      },
    },
    async (request, reply) => {
      const { domains, name, ttlDays } = request.body as { domains: string[]; name: string; ttlDays?: number };
      const minted = await upstream.call(request.caller(), 'ras', (r) => r.mintEventCredentials, {
        domains,
        name,
        ttlDays: ttlDays ?? 0,
      });
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ creds: minted.creds, user: minted.user, expiresAt: minted.expiresAt, subjects: [...minted.subjects] });
    },
  );
};
