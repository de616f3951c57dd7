import Fastify, { type FastifyInstance, type FastifyRequest, type FastifySchema } from 'fastify';
import type { Logger } from '@latchkey/logger';
import type { Upstream } from '../clients.js';
import type { RuntimeReads } from '../runtime-reads.js';
import { bearerCaller, resolveCaller, type CallerSource } from './caller.js';
import { registerOpenApi } from './openapi.js';
import { installProblemHandlers } from './problem.js';
import { installBodyDepthCheck } from './body-depth.js';
import { installSecurityHeaders } from './security-headers.js';
import type { ConsoleSessions } from '../session/console-sessions.js';
import { installCsrfCheck, sessionCaller } from '../session/session-http.js';
import type { RouteFamily } from './route-context.js';
import { ROUTE_FAMILIES } from './routes/index.js';
import { lazySerializerCompiler } from './serialization.js';
import { validatorCompiler } from './validation.js';

/** A route as registered (one per method). */
export interface RegisteredRoute {
  method: string;
  url: string;
  /** Left out of the OpenAPI document on purpose (`schema.hide`). */
  hidden: boolean;
  /** Its schema as given (request parts and responses by status). */
  schema?: FastifySchema;
}

const ROUTES = new WeakMap<FastifyInstance, RegisteredRoute[]>();

/** Every route `app` (made by buildGateway) registered, in order. */
export function registeredRoutes(app: FastifyInstance): readonly RegisteredRoute[] {
  return ROUTES.get(app) ?? [];
}

export interface GatewayDeps {
  /** The services (or, in tests, a fake of the same shape). */
  upstream: Pick<Upstream, 'call'>;
  logger: Logger;
  /** The largest request body accepted, in bytes. */
  bodyLimit: number;
  /** HTTPS certificate and key (PEM); plain HTTP without (LATCHKEY_INSECURE=1, and app.inject in tests). */
  https?: { cert: Buffer; key: Buffer };
  /**
   * The console's sessions: the session cookie becomes a caller source
   * after the Authorization header, and writes made with it need the CSRF
   * header. Absent: Bearer tokens only.
   */
  sessions?: ConsoleSessions;
  /** Where callers are found, in order (default: the Authorization header, then the session cookie). */
  callerSources?: readonly CallerSource[];
  /** The deployer's runtime reads (secrets from inside a workload); without it those routes answer 503. */
  runtime?: RuntimeReads;
  /** The route families (default: ROUTE_FAMILIES). */
  families?: readonly { name: string; plugin: RouteFamily }[];
}

/**
 * The gateway's HTTP server, not yet listening (`app.listen`, or
 * `app.inject` in tests): problem+json errors, the OpenAPI document, and
 * every route family, each calling the services as the request's caller.
 * Request bodies are never logged (they may hold secret values): one line
 * per request with its method, route pattern, status and time.
 */
export async function buildGateway(deps: GatewayDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: deps.bodyLimit,
    schemaController: { compilersFactory: { buildSerializer: lazySerializerCompiler } },
    ...(deps.https !== undefined ? { https: { cert: deps.https.cert, key: deps.https.key } } : {}),
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  installSecurityHeaders(app, { https: deps.https !== undefined });
  const sources =
    deps.callerSources ?? (deps.sessions !== undefined ? [bearerCaller, sessionCaller(deps.sessions)] : [bearerCaller]);
  if (deps.sessions !== undefined) installCsrfCheck(app, deps.sessions);
  app.decorateRequest('caller', function (this: FastifyRequest) {
    return resolveCaller(this, sources);
  });
  installProblemHandlers(app, { logger: deps.logger, bodyLimit: deps.bodyLimit });
  installBodyDepthCheck(app);
  const routes: RegisteredRoute[] = [];
  ROUTES.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat())
      routes.push({
        method,
        url: route.url,
        hidden: route.schema?.hide === true,
        ...(route.schema !== undefined ? { schema: route.schema } : {}),
      });
  });
  const log = deps.logger;
  app.addHook('onResponse', (request, reply, done) => {
    log.debug('http request', {
      method: request.method,
      route: request.routeOptions.url ?? '(no route)',
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
    });
    done();
  });
  await registerOpenApi(app);
  for (const family of deps.families ?? ROUTE_FAMILIES) {
    await app.register(family.plugin, {
      upstream: deps.upstream,
      logger: deps.logger,
      sessions: deps.sessions,
      ...(deps.runtime ? { runtime: deps.runtime } : {}),
    });
  }
  await app.ready();
  return app;
}
