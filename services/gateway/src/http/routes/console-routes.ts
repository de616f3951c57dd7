import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyReply } from 'fastify';
import { LatchkeyError } from '@latchkey/errors';
import type { RouteFamily } from '../route-context.js';

/** The built console (scripts/build-console.mjs): services/gateway/console/dist. */
export const CONSOLE_DIST = fileURLToPath(new URL('../../../../console/dist/', import.meta.url));

/**
 * The web console: `/` and `/console` lead to `/console/`; every
 * `/console/...` path is the single-page app (its index.html, which routes
 * in the browser) except its hashed files under `/console/assets/`. The
 * strict CSP and the other security headers are the server's, on every
 * answer (security-headers.ts); the API routes are the other families'.
 */
export const consoleRoutes: RouteFamily = async (app, { logger }) => {
  const built = existsSync(join(CONSOLE_DIST, 'index.html'));
  app.get('/', { schema: { hide: true } }, (_request, reply) => reply.redirect('/console/'));
  app.get('/console', { schema: { hide: true } }, (_request, reply) => reply.redirect('/console/'));
  if (!built) {
    logger.warn('the web console is not built: run node scripts/build-console.mjs', { dir: CONSOLE_DIST });
    const notBuilt = () => {
      throw new LatchkeyError(
        'console.not_built',
        'the web console is not built: run `node scripts/build-console.mjs` (npm start does), then reload',
        { kind: 'unavailable' },
      );
    };
    app.get('/console/', { schema: { hide: true } }, notBuilt);
    app.get('/console/*', { schema: { hide: true } }, notBuilt);
    return;
  }
  await app.register(fastifyStatic, {
    root: join(CONSOLE_DIST, 'assets'),
    prefix: '/console/assets/',
    // File names carry their content's hash.
    immutable: true,
    maxAge: '365d',
    index: false,
    list: false,
    dotfiles: 'deny',
    schemaHide: true,
  });
  // The page itself is never cached: it names the current hashed files.
  const page = (_request: unknown, reply: FastifyReply) =>
    reply.header('cache-control', 'no-store').sendFile('index.html', CONSOLE_DIST, { cacheControl: false });
  app.get('/console/', { schema: { hide: true } }, page);
  app.get('/console/*', { schema: { hide: true } }, page);
};
