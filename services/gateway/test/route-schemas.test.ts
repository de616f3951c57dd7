import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { registeredRoutes } from '../src/http/server.js';
import { serializerCompiler } from '../src/http/serialization.js';
import { compileValidator } from '../src/http/validation.js';
import { startFakeGateway, type FakeGateway } from './gateway-fixture.js';

let gw: FakeGateway;
before(async () => {
  gw = await startFakeGateway();
});
after(() => gw.close());

// The gateway compiles a route's request validators and response serializers on
// its first request (validation.ts, serialization.ts): this compiles every one,
// so a schema ajv or fast-json-stringify refuses fails here, not on a first request.
test("every route's request and response schemas compile", () => {
  const routes = registeredRoutes(gw.app);
  let validators = 0;
  let serializers = 0;
  const failures: string[] = [];
  const compileSerializer = serializerCompiler(gw.app.getSchemas());
  for (const route of routes) {
    const schema = route.schema as Record<string, unknown> | undefined;
    if (schema === undefined) continue;
    for (const part of ['body', 'params', 'querystring', 'headers'] as const) {
      const partSchema = schema[part];
      if (partSchema === undefined) continue;
      try {
        compileValidator(partSchema as object, part);
        validators++;
      } catch (err) {
        failures.push(`${route.method} ${route.url} ${part}: ${(err as Error).message}`);
      }
    }
    for (const [httpStatus, responseSchema] of Object.entries((schema['response'] ?? {}) as Record<string, unknown>)) {
      try {
        compileSerializer({ method: route.method, url: route.url, httpStatus, schema: responseSchema });
        serializers++;
      } catch (err) {
        failures.push(`${route.method} ${route.url} response ${httpStatus}: ${(err as Error).message}`);
      }
    }
  }
  assert.deepEqual(failures, []);
  // Enough of both to know the walk saw the route families' schemas, not an empty list.
  assert.ok(validators > 30, `${validators} request schemas compiled`);
  assert.ok(serializers > 30, `${serializers} response schemas compiled`);
});

test('a bad request is still refused with a problem document (its schema a shared one) after the lazy compiles', async () => {
  // The first request to a route compiles its validator: the refusal is what an eager compile gave.
  const bad = await gw.app.inject({ method: 'POST', url: '/api/v1/domains', payload: { name: 42 } });
  assert.equal(bad.statusCode, 400, bad.body);
  assert.match(String(bad.headers['content-type']), /application\/problem\+json/);
});
