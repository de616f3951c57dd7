import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from '@latchkey/logger';

/** Who is calling: a person (bearer token) or another Latchkey service. */
export interface Principal {
  id: string;
  kind: 'user' | 'service';
  /** The groups of the identity (from the token's groups claim); grants to them count for the principal. */
  groups: readonly string[];
}

export interface CallContext {
  principal: Principal;
  requestId: string;
  logger: Logger;
}

/**
 * Maps a bearer token to a principal: undefined when the token is unknown,
 * or a thrown LatchkeyError of kind `unauthenticated` whose message says why
 * the token is refused (never the token itself). May be asynchronous.
 */
export type Authenticator = (token: string) => Principal | undefined | Promise<Principal | undefined>;

/** The embedded credentials file: the bootstrap admin's token and one token per service. */
export interface Credentials {
  admin: string;
  services: Record<string, string>;
}

/** The services' own tokens (service-to-service calls): `service:<name>` principals. */
export function serviceTokenAuthenticator(tokens: Readonly<Record<string, string>>): Authenticator {
  const byToken = new Map<string, Principal>();
  for (const [name, token] of Object.entries(tokens)) {
    if (token !== '') byToken.set(token, { id: `service:${name}`, kind: 'service', groups: [] });
  }
  return (token) => byToken.get(token);
}

/** A credentials file as it is: its admin token is the user `admin`, each service token that service. */
export function staticAuthenticator(creds: Credentials): Authenticator {
  const services = serviceTokenAuthenticator(creds.services);
  const admin: Principal = { id: 'admin', kind: 'user', groups: [] };
  return (token) => (token === creds.admin ? admin : services(token));
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** True when `token` has the shape of a JWT (three base64url parts). */
export function looksLikeJwt(token: string): boolean {
  return JWT_SHAPE.test(token);
}

/**
 * JWTs go to `jwt`, any other bearer token to `opaque` (the services' own
 * tokens until they authenticate with certificates).
 */
export function routeByTokenShape(jwt: Authenticator, opaque: Authenticator): Authenticator {
  return (token) => (looksLikeJwt(token) ? jwt(token) : opaque(token));
}

const calls = new AsyncLocalStorage<CallContext>();

/** Runs `fn` as the handling of one call: currentCall() answers `ctx` inside it. */
export function runInCall<T>(ctx: CallContext, fn: () => T): T {
  return calls.run(ctx, fn);
}

/** The call being handled (inside a gRPC handler of createServer), else undefined. */
export function currentCall(): CallContext | undefined {
  return calls.getStore();
}
