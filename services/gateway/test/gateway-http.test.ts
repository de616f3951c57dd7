/// <reference types="@fastify/swagger" />
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { RouteFamily } from '../src/http/route-context.js';
import { undocumentedRoutes } from '../src/http/openapi.js';
import { ROUTE_FAMILIES } from '../src/http/routes/index.js';
import { registeredRoutes } from '../src/http/server.js';
import { fail, jwtLike, startFakeGateway, type FakeGateway, problemOf } from './gateway-fixture.js';

const ALICE = jwtLike('alice');
const CANARY = 'canary-value-7f3a9c';

/** A family only these tests register: a write with an envelope schema, as the real families have. */
const probeRoutes: RouteFamily = async (app, { upstream }) => {
  app.post(
    '/api/v1/probe/:name',
    {
      schema: {
        params: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string', pattern: '^[a-z]+$' } },
        },
        body: {
          type: 'object',
          required: ['value'],
          properties: { value: { type: 'string' }, nested: { type: 'object', properties: { n: { type: 'integer' } } } },
        },
      },
    },
    async (request) => {
      await upstream.call(request.caller(), 'ras', (r) => r.whoAmI, {});
      return { ok: true };
    },
  );
};

let gw: FakeGateway;

before(async () => {
  gw = await startFakeGateway({ families: [...ROUTE_FAMILIES, { name: 'probe', plugin: probeRoutes }] });
});
after(() => gw.close());
beforeEach(() => {
  gw.calls.length = 0;
  gw.set({
    ras: {
      whoAmI: (_call, cb) => cb(null, { principal: 'alice', platformAdmin: false, groups: ['data-eng'] }),
    },
  });
});

test('GET /api/v1/whoami forwards the caller’s bearer token exactly as the CLI sends it, and nothing else', async () => {
  const res = await gw.app.inject({
    method: 'GET',
    url: '/api/v1/whoami',
    headers: { authorization: `Bearer ${ALICE}` },
  });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { principal: 'alice', platformAdmin: false, groups: ['data-eng'] });
  assert.equal(gw.calls.length, 1);
  assert.equal(gw.calls[0]?.method, '/latchkey.v1.RasService/WhoAmI');
  assert.deepEqual(gw.calls[0]?.authorization, [`Bearer ${ALICE}`]);
  gw.set({ ras: { whoAmI: (_call, cb) => cb(null, { principal: 'bob', platformAdmin: true, groups: [] }) } });
  const bob = await gw.app.inject({
    method: 'GET',
    url: '/api/v1/whoami',
    headers: { authorization: `Bearer ${ALICE}` },
  });
  assert.deepEqual(bob.json(), { principal: 'bob', platformAdmin: true, groups: [] }, 'no groups is an empty list');
});

test('a request without credentials is refused with 401 problem+json and reaches no service', async () => {
  const res = await gw.app.inject({ method: 'GET', url: '/api/v1/whoami' });
  assert.equal(res.statusCode, 401);
  const p = problemOf(res);
  assert.equal(p.code, 'auth.unauthenticated');
  assert.equal(p.status, 401);
  assert.equal(p.type, 'urn:latchkey:problem:auth.unauthenticated');
  assert.match(p.detail, /send Authorization: Bearer <token>/);
  assert.equal(gw.calls.length, 0);
});

test('a bearer token that is not a JWT (a service token) or a malformed header is refused, never forwarded or echoed', async () => {
  for (const authorization of ['Bearer some-opaque-service-token', `Basic ${CANARY}`, `Bearer ${CANARY} extra`]) {
    const res = await gw.app.inject({ method: 'GET', url: '/api/v1/whoami', headers: { authorization } });
    assert.equal(res.statusCode, 401, authorization);
    assert.equal(problemOf(res).code, 'auth.unauthenticated');
    assert.equal(res.body.includes('some-opaque-service-token') || res.body.includes(CANARY), false);
  }
  assert.equal(gw.calls.length, 0);
});

test('a service’s error keeps its stable code and text: permission denied is 403, not found 404, unavailable 503', async () => {
  const cases = [
    [status.PERMISSION_DENIED, 'ras.permission_denied', 403],
    [status.NOT_FOUND, 'workload.not_found', 404],
    [status.UNAUTHENTICATED, 'auth.unauthenticated', 401],
    [status.FAILED_PRECONDITION, 'workload.running', 409],
    [status.INVALID_ARGUMENT, 'workload.invalid', 400],
    [status.UNAVAILABLE, 'catalog.unavailable', 503],
  ] as const;
  for (const [grpcCode, code, httpStatus] of cases) {
    gw.set({ ras: { whoAmI: (_call, cb) => fail(cb, grpcCode, code, `the text of ${code}`) } });
    const res = await gw.app.inject({
      method: 'GET',
      url: '/api/v1/whoami',
      headers: { authorization: `Bearer ${ALICE}` },
    });
    assert.equal(res.statusCode, httpStatus, code);
    const p = problemOf(res);
    assert.deepEqual(
      { code: p.code, status: p.status, detail: p.detail, type: p.type },
      { code, status: httpStatus, detail: `the text of ${code}`, type: `urn:latchkey:problem:${code}` },
    );
  }
});

test('a body that breaks the envelope schema is 400 naming each JSON path, never quoting the value', async () => {
  const res = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/probe/ok',
    headers: { authorization: `Bearer ${ALICE}` },
    payload: { value: 42, nested: { n: CANARY } },
  });
  assert.equal(res.statusCode, 400);
  const p = problemOf(res);
  assert.equal(p.code, 'request.invalid');
  assert.deepEqual(p.errors, [
    { path: '$.value', message: 'must be string' },
    { path: '$.nested.n', message: 'must be integer' },
  ]);
  assert.match(p.detail, /\$\.value: must be string; \$\.nested\.n: must be integer/);
  assert.equal(res.body.includes(CANARY), false);
  const missing = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/probe/BAD',
    headers: { authorization: `Bearer ${ALICE}` },
    payload: {},
  });
  assert.deepEqual(problemOf(missing).errors, [
    { path: 'path parameter name', message: 'must match pattern "^[a-z]+$"' },
  ]);
  assert.equal(gw.calls.length, 0);
});

test('a body over the limit is 413 naming the limit; broken JSON is 400 without quoting it', async () => {
  const big = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/probe/ok',
    headers: { authorization: `Bearer ${ALICE}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ value: CANARY.repeat(10_000) }),
  });
  assert.equal(big.statusCode, 413);
  const p = problemOf(big);
  assert.equal(p.code, 'request.body_too_large');
  assert.match(p.detail, /larger than 65536 bytes.*LATCHKEY_HTTP_BODY_LIMIT/);
  const broken = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/probe/ok',
    headers: { authorization: `Bearer ${ALICE}`, 'content-type': 'application/json' },
    payload: `{"value": "${CANARY}"`,
  });
  assert.equal(broken.statusCode, 400);
  assert.equal(problemOf(broken).code, 'request.invalid_json');
  assert.equal(broken.body.includes(CANARY), false);
  assert.equal(gw.calls.length, 0);
});

test('an unknown route is 404 problem+json pointing at the OpenAPI document', async () => {
  const res = await gw.app.inject({ method: 'GET', url: '/api/v1/nothing-here?x=1' });
  assert.equal(res.statusCode, 404);
  const p = problemOf(res);
  assert.equal(p.code, 'http.not_found');
  assert.equal(p.detail, 'no route GET /api/v1/nothing-here: the API is described at /api/openapi.json');
});

test('the OpenAPI document is OpenAPI 3 and lists every API route the gateway registered', async () => {
  const res = await gw.app.inject({ method: 'GET', url: '/api/openapi.json' });
  assert.equal(res.statusCode, 200);
  const doc = res.json() as { openapi: string; paths: Record<string, Record<string, unknown>> };
  assert.match(doc.openapi, /^3\./);
  const routes = registeredRoutes(gw.app);
  assert.ok(routes.some((r) => r.url === '/api/v1/whoami'));
  assert.ok(routes.some((r) => r.url === '/api/v1/probe/:name'));
  assert.deepEqual(undocumentedRoutes(routes, doc), []);
  assert.ok(doc.paths['/api/v1/probe/{name}']?.['post'], 'path parameters are written as OpenAPI templates');
});

test('the route check fails for a route left out of the document', async () => {
  const hidden: RouteFamily = async (app) => {
    app.get('/api/v1/hidden', { schema: { hide: true } }, () => ({}));
  };
  const other = await startFakeGateway({ families: [{ name: 'hidden', plugin: hidden }] });
  try {
    const doc = (await other.app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    assert.deepEqual(undocumentedRoutes(registeredRoutes(other.app), doc), ['GET /api/v1/hidden']);
  } finally {
    await other.close();
  }
});
