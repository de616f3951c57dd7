import type { FastifyRequest } from 'fastify';
import { LatchkeyError } from '@latchkey/errors';
import { looksLikeJwt } from '@latchkey/grpc';

/**
 * Who is calling the gateway: the caller's own token, forwarded to the
 * services as the CLI sends it. The gateway never decides access itself
 * and never checks the token beyond its shape: the services verify it.
 */
export interface Caller {
  token: string;
  /** Where the token came from. */
  source: 'bearer' | 'session';
}

/**
 * One way of finding the caller of a request (the Authorization header;
 * the console's session cookie): undefined when the request does not use
 * it, a thrown LatchkeyError when it does but wrongly.
 */
export type CallerSource = (request: FastifyRequest) => Caller | undefined;

/** `Bearer <token>`: the token, as the Authorization header carries it. */
export const BEARER = /^Bearer\s+(\S+)$/i;

/**
 * `Authorization: Bearer <jwt>`: exactly the token the CLI uses (from
 * `latchkey login`, or LATCHKEY_TOKEN). Anything else in the header is
 * refused with the reason, never echoed.
 */
export const bearerCaller: CallerSource = (request) => {
  const header = request.headers.authorization;
  if (header === undefined || header === '') return undefined;
  const m = BEARER.exec(header);
  const token = m?.[1];
  if (token === undefined) {
    throw new LatchkeyError(
      'auth.unauthenticated',
      'the Authorization header is not "Bearer <token>": send the token latchkey login stored (or LATCHKEY_TOKEN) as Authorization: Bearer <token>',
      { kind: 'unauthenticated' },
    );
  }
  if (!looksLikeJwt(token)) {
    throw new LatchkeyError(
      'auth.unauthenticated',
      'the bearer token is not a JWT: send the identity token latchkey login stored (or LATCHKEY_TOKEN), not a service token',
      { kind: 'unauthenticated' },
    );
  }
  return { token, source: 'bearer' };
};

/** The first source that finds a caller; a request none of them names is refused (401). */
export function resolveCaller(request: FastifyRequest, sources: readonly CallerSource[]): Caller {
  for (const source of sources) {
    const caller = source(request);
    if (caller !== undefined) return caller;
  }
  throw new LatchkeyError(
    'auth.unauthenticated',
    'no credentials: send Authorization: Bearer <token> (the token latchkey login stored, or LATCHKEY_TOKEN), or sign in to the console',
    { kind: 'unauthenticated' },
  );
}
