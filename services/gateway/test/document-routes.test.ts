import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asyncApiDocument } from '@latchkey/events';
import { useFakeGateway } from './gateway-fixture.js';

const gw = useFakeGateway(() => ({}));

test('GET /api/asyncapi.json serves the AsyncAPI 3.0 document of the public events, without a token and without calling a service', async () => {
  const res = await gw.app.inject({ method: 'GET', url: '/api/asyncapi.json' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const doc = res.json() as { asyncapi: string; channels: Record<string, { address: string }> };
  assert.deepEqual(doc, asyncApiDocument());
  assert.equal(doc.asyncapi, '3.0.0');
  assert.deepEqual(
    Object.values(doc.channels)
      .map((c) => c.address)
      .sort(),
    [
      'latchkey.secret.changed.{scope}',
      'latchkey.secret.rotation_due.{scope}',
      'latchkey.workload.deployed.{domain}',
      'latchkey.workload.failed.{domain}',
      'latchkey.workload.stale.{domain}',
    ],
  );
  assert.deepEqual(gw.calls, [], 'no service was called');

  const openapi = (await gw.app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as {
    paths: Record<string, Record<string, { security?: unknown[] }>>;
  };
  assert.deepEqual(openapi.paths['/api/asyncapi.json']?.['get']?.security, [], 'listed in the OpenAPI document, open');
});
