import type { RouteFamily } from '../route-context.js';
import { PROBLEM_REF } from '../openapi.js';
import { answerObject } from './route-schemas.js';

/** `GET /api/v1/whoami`: the caller as the services see it (ras's WhoAmI, as `latchkey whoami`). */
export const identityRoutes: RouteFamily = async (app, { upstream }) => {
  app.get(
    '/api/v1/whoami',
    {
      schema: {
        tags: ['access'],
        summary: 'Who the caller is, as the services see it',
        response: {
          200: answerObject({ principal: 'string', platformAdmin: 'boolean', groups: 'string[]' }),
          default: PROBLEM_REF,
        },
      },
    },
    async (request) => {
      const res = await upstream.call(request.caller(), 'ras', (r) => r.whoAmI, {});
      return { principal: res.principal, platformAdmin: res.platformAdmin, groups: [...res.groups] };
    },
  );
};
