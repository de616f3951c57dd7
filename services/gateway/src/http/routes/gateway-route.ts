import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods, RouteHandlerMethod } from 'fastify';
import { bodyLimit } from './body-limits.js';
import { ERRORS } from './route-schemas.js';

/** What a route declares besides its method, URL and handler; its schema is made of these. */
export interface RouteSpec {
  summary: string;
  description?: string;
  params?: object;
  querystring?: object;
  body?: object;
  /** Who may call it, when not the default bearer caller (`[]`: anyone). */
  security?: readonly { [label: string]: readonly string[] }[];
  /** The schema of the success answer. */
  answer: object;
  /**
   * The status of the success answer (default 200): the handler's result is
   * sent with it, unless the handler answered itself (returned the reply).
   */
  status?: number;
  /** The route's own body limit (a write's), never more than the gateway's. */
  bodyLimit?: number;
  /** What the 413 answer says besides the limit (see problem.ts). */
  bodyLimitNote?: string;
}

/** The request as the route's schema checked it: its params, query and body typed. */
export type RouteRequest<P, Q, B> = FastifyRequest<{ Params: P; Querystring: Q; Body: B }>;

export type RouteHandler<P, Q, B> = (request: RouteRequest<P, Q, B>, reply: FastifyReply) => Promise<unknown>;

/**
 * The routes of one family, each declared as method, URL, spec and handler:
 * the schema gets the family's tags and the `default` (problem+json) answer,
 * so every route documents its errors the same way.
 */
export function gatewayRoutes(app: FastifyInstance, tags: readonly string[]) {
  return function route<P = unknown, Q = unknown, B = unknown>(
    method: HTTPMethods,
    url: string,
    spec: RouteSpec,
    handler: RouteHandler<P, Q, B>,
  ): void {
    const { answer, status = 200, bodyLimit: limit, bodyLimitNote, ...parts } = spec;
    const answered: RouteHandler<P, Q, B> =
      status === 200
        ? handler
        : async (request, reply) => {
            const result = await handler(request, reply);
            return result === reply ? reply : reply.code(status).send(result);
          };
    app.route({
      method,
      url,
      ...(limit === undefined ? {} : { bodyLimit: bodyLimit(app, limit) }),
      ...(bodyLimitNote === undefined ? {} : { config: { bodyLimitNote } }),
      schema: { tags: [...tags], ...parts, response: { [status]: answer, ...ERRORS } },
      handler: answered as RouteHandlerMethod,
    });
  };
}

export type GatewayRoute = ReturnType<typeof gatewayRoutes>;

/** `value`, or the error `missing()` makes when this gateway was started without it. */
export function configured<T>(value: T | undefined, missing: () => Error): T {
  if (value === undefined) throw missing();
  return value;
}
