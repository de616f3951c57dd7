import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { LatchkeyError } from '@latchkey/errors';
import type { RuntimeReadQuery, RuntimeReads } from '../src/runtime-reads.js';
import { startFakeGateway, type FakeGateway } from './gateway-fixture.js';

const TOKEN = `lkw_${'T'.repeat(43)}`;

/** The deployer's runtime reads, typed to the port: what it was asked, and answers the test sets. */
class FakeRuntimeReads implements RuntimeReads {
  readonly asked: { token: string; q?: RuntimeReadQuery }[] = [];
  error: LatchkeyError | undefined;
  list(token: string) {
    this.asked.push({ token });
    if (this.error) return Promise.reject(this.error);
    return Promise.resolve({
      deploymentId: 'd-1',
      workload: 'etl',
      domain: 'analytics',
      references: [{ key: 'db_password', sourceType: 'MANAGED', sourceId: 'analytics', legacy: false }],
    });
  }
  read(token: string, q: RuntimeReadQuery) {
    this.asked.push({ token, q });
    if (this.error) return Promise.reject(this.error);
    return Promise.resolve({ key: q.key, sourceType: 'MANAGED', scope: 'analytics', version: 3, value: 'v4lue' });
  }
}

const runtime = new FakeRuntimeReads();
let gw: FakeGateway;
let bare: FakeGateway;

before(async () => {
  gw = await startFakeGateway({ runtime });
  bare = await startFakeGateway();
});
after(async () => {
  await gw.close();
  await bare.close();
});
beforeEach(() => {
  runtime.asked.length = 0;
  runtime.error = undefined;
});

test("a runtime read passes the workload's token and the reference named to the deployer, and the value is never cached", async () => {
  const res = await gw.app.inject({
    url: '/api/v1/runtime/secrets/db_password?source=MANAGED&id=analytics',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.deepEqual(res.json(), {
    key: 'db_password',
    sourceType: 'MANAGED',
    scope: 'analytics',
    version: 3,
    value: 'v4lue',
  });
  assert.deepEqual(runtime.asked, [
    { token: TOKEN, q: { key: 'db_password', sourceType: 'MANAGED', sourceId: 'analytics' } },
  ]);
  const list = await gw.app.inject({ url: '/api/v1/runtime/secrets', headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(list.statusCode, 200);
  assert.equal((list.json() as { references: unknown[] }).references.length, 1);
  // No call went to the services as a caller: the token is no caller's.
  assert.deepEqual(gw.calls, []);
});

test("the deployer's refusals come back as problem+json with their codes; a bad key or source is refused before it is asked", async () => {
  runtime.error = new LatchkeyError('runtime.token_invalid', 'the workload token is not valid', {
    kind: 'unauthenticated',
  });
  const dead = await gw.app.inject({ url: '/api/v1/runtime/secrets/db_password' });
  assert.equal(dead.statusCode, 401);
  assert.match(String(dead.headers['content-type']), /^application\/problem\+json/);
  assert.equal((dead.json() as { code: string }).code, 'runtime.token_invalid');
  // No header at all is passed on as an empty token: the deployer gives its one answer.
  assert.deepEqual(runtime.asked, [{ token: '', q: { key: 'db_password', sourceType: '', sourceId: '' } }]);
  runtime.error = new LatchkeyError('runtime.reference_not_in_spec', 'not in its spec', { kind: 'permission_denied' });
  const notInSpec = await gw.app.inject({
    url: '/api/v1/runtime/secrets/other',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(notInSpec.statusCode, 403);
  runtime.asked.length = 0;
  for (const url of [
    '/api/v1/runtime/secrets/bad%20key',
    '/api/v1/runtime/secrets/k?source=DATABASE',
    '/api/v1/runtime/secrets/k?x=1',
  ]) {
    const r = await gw.app.inject({ url, headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(r.statusCode, 400, `${url}: ${r.body}`);
  }
  assert.deepEqual(runtime.asked, []);
});

test('a workload token is no caller of any other route, and a gateway without a runtime identity says what it lacks', async () => {
  const who = await gw.app.inject({ url: '/api/v1/whoami', headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(who.statusCode, 401);
  assert.equal((who.json() as { code: string }).code, 'auth.unauthenticated');
  assert.deepEqual(gw.calls, []);
  const res = await bare.app.inject({ url: '/api/v1/runtime/secrets', headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.statusCode, 503);
  assert.match((res.json() as { detail: string }).detail, /LATCHKEY_RUNTIME_TLS_CERT_FILE/);
});
