import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LatchkeyError } from '@latchkey/errors';
import type { CallerSource } from '../http/caller.js';
import type { ConsoleSessions } from './console-sessions.js';
import { readCookie, SESSION_COOKIE, type OpenedSession } from './session-cookie.js';

/** The header every write made with the session cookie must carry (GET /api/v1/session gives its value). */
const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The session cookie of a request, opened (a thrown 401 problem when it is altered, foreign or expired). */
export function requestSession(sessions: ConsoleSessions, request: FastifyRequest): OpenedSession | undefined {
  const value = readCookie(request.headers.cookie, SESSION_COOKIE);
  if (value === undefined || value === '') return undefined;
  return sessions.open(value);
}

/** The console's session cookie as a caller source (after the Authorization header). */
export function sessionCaller(sessions: ConsoleSessions): CallerSource {
  return (request) => {
    const session = requestSession(sessions, request);
    return session === undefined ? undefined : { token: session.token, source: 'session' };
  };
}

/**
 * CSRF: a request that is authenticated by the session cookie (it has no
 * Authorization header: a cross-site page cannot send one) and is not a
 * read must carry the session's token in x-csrf-token, checked before any
 * route runs, so a refused write changes nothing.
 */
export function installCsrfCheck(app: FastifyInstance, sessions: ConsoleSessions): void {
  app.addHook('onRequest', async (request) => {
    if (SAFE_METHODS.has(request.method)) return;
    const authorization = request.headers.authorization;
    if (authorization !== undefined && authorization !== '') return;
    let session: OpenedSession | undefined;
    try {
      session = requestSession(sessions, request);
    } catch {
      // A bad cookie names no caller: the route's own caller() refuses it (401), logout clears it.
      return;
    }
    if (session === undefined) return;
    const given = request.headers[CSRF_HEADER];
    if (given === undefined || given === '') {
      throw new LatchkeyError(
        'session.csrf_missing',
        `a write made with the console session must carry the ${CSRF_HEADER} header: its value is csrfToken from GET /api/v1/session`,
        { kind: 'permission_denied' },
      );
    }
    if (typeof given !== 'string' || !sessions.codec.csrfMatches(session, given)) {
      throw new LatchkeyError(
        'session.csrf_mismatch',
        `the ${CSRF_HEADER} header is not this session's token: read it again from GET /api/v1/session`,
        { kind: 'permission_denied' },
      );
    }
  });
}
