import type { FastifyInstance } from 'fastify';

/** The console's Content-Security-Policy: its own scripts and styles only, no framing, no plugins. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/**
 * Security headers on every answer (routes, errors, 404s, static files):
 * a strict CSP, no MIME sniffing, no Referer (a login link's code must not
 * leak to another site), HSTS when serving HTTPS, and no caching of API
 * answers or of the login path.
 */
export function installSecurityHeaders(app: FastifyInstance, opts: { https: boolean }): void {
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    if (opts.https) reply.header('strict-transport-security', 'max-age=31536000');
    const path = request.url.split('?')[0] ?? '';
    if (path.startsWith('/api/') || path === '/login' || path.startsWith('/login/')) {
      reply.header('cache-control', 'no-store');
    }
    return payload;
  });
}
