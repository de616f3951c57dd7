import { LatchkeyError } from '@latchkey/errors';
import type { ConsoleSessions, WhoAmI } from '../../session/console-sessions.js';
import { requestSession } from '../../session/session-http.js';
import { sessionCookieHeader } from '../../session/session-cookie.js';
import { PROBLEM_REF } from '../openapi.js';
import type { RouteDeps, RouteFamily } from '../route-context.js';

/** Where a browser lands once signed in: the console. */
export const CONSOLE_HOME = '/';

const notConfigured = (): LatchkeyError =>
  new LatchkeyError(
    'session.not_configured',
    'this gateway keeps no console sessions: set LATCHKEY_SESSION_KEY_FILE (latchkey up does), or call the API with Authorization: Bearer <token>',
    { kind: 'unavailable' },
  );

const SESSION_SCHEMA = {
  type: 'object',
  required: ['user', 'groups', 'platformAdmin', 'expiresAt', 'csrfToken'],
  properties: {
    user: { type: 'string' },
    groups: { type: 'array', items: { type: 'string' } },
    platformAdmin: { type: 'boolean' },
    expiresAt: { type: 'string', format: 'date-time' },
    csrfToken: { type: 'string', description: 'Send as the x-csrf-token header on every write made with this session' },
    via: { type: 'string', enum: ['link', 'oidc'] },
  },
} as const;

/** ras's WhoAmI with `token` as the caller: the services verify it and say who it is. */
export const whoAmIOf =
  (upstream: RouteDeps['upstream']): WhoAmI =>
  (token) =>
    upstream.call({ token, source: 'session' }, 'ras', (r) => r.whoAmI, {});

/**
 * The console's sign-in: `GET /login?code=` (a one-time login link that
 * `latchkey up` and `latchkey console --user U` print) sets the session
 * cookie; `GET /api/v1/session` says who is signed in and gives the CSRF
 * token; `POST /api/v1/session/logout` ends the session.
 */
export const sessionRoutes: RouteFamily = async (app, { upstream, sessions }) => {
  const need = (): ConsoleSessions => {
    if (sessions === undefined) throw notConfigured();
    return sessions;
  };

  app.get(
    '/login',
    {
      schema: {
        tags: ['session'],
        summary: 'Open a one-time login link (embedded mode): sets the session cookie and goes to the console',
        security: [],
        querystring: {
          type: 'object',
          required: ['code'],
          properties: { code: { type: 'string', minLength: 1, maxLength: 8192 } },
        },
        response: { 303: { type: 'null', description: 'Signed in: to the console' }, default: PROBLEM_REF },
      },
    },
    async (request, reply) => {
      const s = need();
      const { code } = request.query as { code: string };
      const session = await s.fromLoginLink(code, whoAmIOf(upstream));
      return reply
        .header('set-cookie', sessionCookieHeader(s.codec.seal(session), s.remainingSec(session)))
        .redirect(CONSOLE_HOME, 303);
    },
  );

  app.get(
    '/api/v1/session',
    {
      schema: {
        tags: ['session'],
        summary: 'The console session: who is signed in, until when, and its CSRF token',
        security: [],
        response: { 200: SESSION_SCHEMA, default: PROBLEM_REF },
      },
    },
    async (request) => {
      const s = need();
      const session = requestSession(s, request);
      if (session === undefined) {
        throw new LatchkeyError('session.none', 'not signed in to the console: open a login link, or sign in', {
          kind: 'unauthenticated',
        });
      }
      return {
        user: session.user,
        groups: session.groups,
        platformAdmin: session.platformAdmin,
        expiresAt: new Date(session.exp * 1000).toISOString(),
        csrfToken: s.codec.csrfToken(session),
        via: session.via,
      };
    },
  );

  app.post(
    '/api/v1/session/logout',
    {
      schema: {
        tags: ['session'],
        summary: 'End the console session (clears its cookie); needs x-csrf-token',
        security: [],
        response: { 204: { type: 'null', description: 'Signed out' }, default: PROBLEM_REF },
      },
    },
    async (_request, reply) => {
      need();
      return reply.header('set-cookie', sessionCookieHeader('', 0)).code(204).send();
    },
  );
};
