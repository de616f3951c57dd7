import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '@latchkey/logger';
import { CONSOLE_DIST, consoleRoutes } from '../src/http/routes/console-routes.js';
import { buildGateway } from '../src/http/server.js';

// The web console's static serving (scripts/build-console.mjs builds it first: npm test does).

const gateway = () =>
  buildGateway({
    upstream: {
      call: () => {
        throw new Error('the console routes call no service');
      },
    },
    logger: silentLogger,
    bodyLimit: 1024 * 1024,
    families: [{ name: 'console', plugin: consoleRoutes }],
  });

test('the console: / leads to /console/, every console path is the app with a strict CSP, its hashed files are served as files', async (t) => {
  const app = await gateway();
  t.after(() => app.close());
  const root = await app.inject({ method: 'GET', url: '/' });
  assert.equal(root.statusCode, 302);
  assert.equal(root.headers.location, '/console/');

  for (const url of ['/console/', '/console/analytics/workloads', '/console/x/y/z?q=1']) {
    const res = await app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 200, url);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.match(res.body, /<div id="root"><\/div>/);
    assert.doesNotMatch(res.body, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(res.body, /<style|style=/, 'no inline style');
  }

  const assets = await readdir(join(CONSOLE_DIST, 'assets'));
  const js = assets.find((f) => f.endsWith('.js'));
  assert.ok(js, 'the bundle has a script');
  const script = await app.inject({ method: 'GET', url: `/console/assets/${js}` });
  assert.equal(script.statusCode, 200);
  assert.match(String(script.headers['content-type']), /javascript/);
  assert.match(String(script.headers['cache-control']), /immutable/);
  assert.doesNotMatch(script.body, /\beval\(|new Function\(/, 'no eval in the bundle');

  const missing = await app.inject({ method: 'GET', url: '/console/assets/no-such-file.js' });
  assert.equal(missing.statusCode, 404);
  const traversal = await app.inject({ method: 'GET', url: '/console/assets/..%2F..%2Fpackage.json' });
  assert.notEqual(traversal.statusCode, 200);
});
