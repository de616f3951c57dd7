import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from '@latchkey/logger';
import type { Upstream } from '../clients.js';
import type { ConsoleSessions } from '../session/console-sessions.js';
import type { Caller } from './caller.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The caller of this request (its bearer token, or the console
     * session's), or a thrown 401 problem. Every route that calls a service
     * asks for it and forwards it; the gateway decides nothing itself.
     */
    caller(): Caller;
  }
}

/** What every route family gets. */
export interface RouteDeps {
  /** The services, called as the request's caller. */
  upstream: Pick<Upstream, 'call'>;
  logger: Logger;
  /** The console's sessions (absent: the gateway takes Bearer tokens only). */
  sessions?: ConsoleSessions | undefined;
}

/** One family of routes (workloads, secrets, ...): a Fastify plugin given the RouteDeps. */
export type RouteFamily = FastifyPluginAsync<RouteDeps>;
