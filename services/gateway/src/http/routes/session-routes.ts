import { LatchkeyError } from '@latchkey/errors';
import type { ConsoleSessions, WhoAmI } from '../../session/console-sessions.js';
import { requestSession } from '../../session/session-http.js';
import { OIDC_TX_COOKIE, OIDC_TX_TTL_SEC, type OidcSignIn } from '../../session/oidc-sign-in.js';
import { cookieHeader, readCookie, sessionCookieHeader } from '../../session/session-cookie.js';
import type { RouteDeps, RouteFamily } from '../route-context.js';
import { configured, gatewayRoutes } from './gateway-route.js';
import { answerObject } from './route-schemas.js';

/** Where a browser lands once signed in: the console. */
export const CONSOLE_HOME = '/';

/** Scaled mode's sign-in: the redirect to the identity provider, and where it sends the browser back. */
export const OIDC_LOGIN_PATH = '/api/v1/session/oidc/login';
export const OIDC_CALLBACK_PATH = '/api/v1/session/oidc/callback';

/**
 * The callback's answer: a page that goes on to the console. Not a
 * redirect: the browser arrived from the provider's site, and on a
 * redirect chain that began cross-site a SameSite=Strict cookie is not
 * sent; this page's own navigation is same-site. No script (the CSP).
 */
const SIGNED_IN_PAGE = `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${CONSOLE_HOME}"><title>Signed in</title></head><body><a href="${CONSOLE_HOME}">Continue to the Latchkey console</a></body></html>`;

const notConfigured = (): LatchkeyError =>
  new LatchkeyError(
    'session.not_configured',
    'this gateway keeps no console sessions: set LATCHKEY_SESSION_KEY_FILE (latchkey up does), or call the API with Authorization: Bearer <token>',
    { kind: 'unavailable' },
  );

const SESSION_SCHEMA = answerObject(
  {
    user: 'string',
    groups: 'string[]',
    platformAdmin: 'boolean',
    expiresAt: { type: 'string', format: 'date-time' },
    csrfToken: { type: 'string', description: 'Send as the x-csrf-token header on every write made with this session' },
    via: { type: 'string', enum: ['link', 'oidc'] },
  },
  { optional: ['via'] },
);

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
  const need = (): ConsoleSessions => configured(sessions, notConfigured);

  const route = gatewayRoutes(app, ['session']);
  route<unknown, { code: string }>(
    'GET',
    '/login',
    {
      summary: 'Open a one-time login link (embedded mode): sets the session cookie and goes to the console',
      security: [],
      querystring: {
        type: 'object',
        required: ['code'],
        properties: { code: { type: 'string', minLength: 1, maxLength: 8192 } },
      },
      answer: { type: 'null', description: 'Signed in: to the console' },
      status: 303,
    },
    async (request, reply) => {
      const s = need();
      const { code } = request.query;
      const session = await s.fromLoginLink(code, whoAmIOf(upstream));
      return reply
        .header('set-cookie', sessionCookieHeader(s.codec.seal(session), s.remainingSec(session)))
        .redirect(CONSOLE_HOME, 303);
    },
  );

  const needOidc = (): OidcSignIn =>
    configured(
      need().oidc,
      () =>
        new LatchkeyError(
          'session.oidc_not_configured',
          'this gateway signs in with no identity provider (LATCHKEY_CONSOLE_OIDC_CLIENT_ID is not set): in embedded mode print a login link with latchkey console --user USER',
          { kind: 'failed_precondition' },
        ),
    );

  route(
    'GET',
    OIDC_LOGIN_PATH,
    {
      summary: 'Sign in with the identity provider (scaled mode): redirects there, PKCE S256 with state and nonce',
      security: [],
      answer: { type: 'null', description: 'To the identity provider' },
      status: 302,
    },
    async (_request, reply) => {
      const { url, transaction } = await needOidc().start();
      return reply
        .header('set-cookie', cookieHeader(OIDC_TX_COOKIE, transaction, OIDC_TX_TTL_SEC, 'Lax'))
        .redirect(url, 302);
    },
  );

  route(
    'GET',
    OIDC_CALLBACK_PATH,
    {
      summary: 'Where the identity provider sends the browser back: sets the session cookie',
      security: [],
      querystring: {
        type: 'object',
        properties: {
          code: { type: 'string', maxLength: 4096 },
          state: { type: 'string', maxLength: 1024 },
          iss: { type: 'string', maxLength: 2048 },
          error: { type: 'string', maxLength: 256 },
          error_description: { type: 'string', maxLength: 2048 },
        },
      },
      answer: { type: 'string', description: 'Signed in: a page that goes on to the console' },
    },
    async (request, reply) => {
      const s = need();
      const oidc = needOidc();
      const query = new URL(request.url, 'http://gateway.invalid').searchParams;
      const token = await oidc.finish(query, readCookie(request.headers.cookie, OIDC_TX_COOKIE));
      const session = await s.fromToken(token, 'oidc', whoAmIOf(upstream));
      return reply
        .header('set-cookie', [
          sessionCookieHeader(s.codec.seal(session), s.remainingSec(session)),
          cookieHeader(OIDC_TX_COOKIE, '', 0, 'Lax'),
        ])
        .type('text/html; charset=utf-8')
        .send(SIGNED_IN_PAGE);
    },
  );

  route(
    'GET',
    '/api/v1/session',
    {
      summary: 'The console session: who is signed in, until when, and its CSRF token',
      security: [],
      answer: SESSION_SCHEMA,
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

  route(
    'POST',
    '/api/v1/session/logout',
    {
      summary: 'End the console session (clears its cookie); needs x-csrf-token',
      security: [],
      answer: { type: 'null', description: 'Signed out' },
      status: 204,
    },
    async (_request, reply) => {
      need();
      return reply.header('set-cookie', sessionCookieHeader('', 0)).code(204).send();
    },
  );
};
