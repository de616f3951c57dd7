import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { Logger, LogFields } from '@latchkey/logger';
import type {
  DeleteSecretRequest,
  InventoryRequest,
  PutSecretRequest,
  SecretMetadata,
  SelectorRequest,
  SetRotationPolicyRequest,
} from '@latchkey/proto';
import { SECRET_BODY_LIMIT } from '../src/http/routes/body-limits.js';
import { unlessForced } from '@latchkey/testing';
import {
  fail,
  jwtLike,
  secretMeta,
  startFakeGateway,
  type FakeGateway,
  assertProblem,
  problemOf,
  injectAs,
} from './gateway-fixture.js';

const ALICE = `Bearer ${jwtLike('alice')}`;
const asAlice = (...args: Parameters<ReturnType<typeof injectAs>>) => injectAs(gw, ALICE)(...args);
const CANARY = 'canary-secret-value-5d1e8b';

/** Every line the gateway logs, as text (a leak in any field shows). */
const logged: string[] = [];
const capturing: Logger = {
  debug: (msg: string, fields?: LogFields) => void logged.push(JSON.stringify({ msg, fields })),
  info: (msg: string, fields?: LogFields) => void logged.push(JSON.stringify({ msg, fields })),
  warn: (msg: string, fields?: LogFields) => void logged.push(JSON.stringify({ msg, fields })),
  error: (msg: string, fields?: LogFields) => void logged.push(JSON.stringify({ msg, fields })),
  child: () => capturing,
};

const meta = (over: Partial<SecretMetadata> = {}): SecretMetadata =>
  secretMeta({ description: 'the warehouse', rotateEvery: '90d', ...over });

let gw: FakeGateway;
/** The value bytes the fake catalog received on its last PutSecret. */
let received: string | undefined;

before(async () => {
  gw = await startFakeGateway({ logger: capturing, bodyLimit: 1024 * 1024 });
});
after(() => gw.close());
beforeEach(() => {
  gw.calls.length = 0;
  received = undefined;
  gw.set({
    catalog: {
      putSecret: (call, cb) => {
        received = Buffer.from(call.request.value).toString('utf8');
        if (call.request.key === 'TOO_BIG') {
          fail(
            cb,
            status.INVALID_ARGUMENT,
            'secret.value_too_large',
            'the value is 70000 bytes; at most 65536 bytes are allowed',
          );
          return;
        }
        cb(null, meta({ scope: call.request.scope, key: call.request.key, version: 4 }));
      },
      listSecrets: (call, cb) => cb(null, { secrets: [meta({ scope: call.request.scope })] }),
      deleteSecret: unlessForced(
        'secret.in_use',
        'DB_PASSWORD is referenced by 1 workload (analytics/etl): delete it with force to mark them stale',
        () => ({ deleted: meta(), dependents: ['analytics/etl'], recoverUntil: '' }),
      ),
      setRotationPolicy: (call, cb) => cb(null, meta({ rotateEvery: call.request.rotateEvery })),
      rotateKek: (_call, cb) => cb(null, { newKekId: 'kek-2', rewrapped: 7, retiredKekIds: ['kek-1'] }),
      selector: (call, cb) => {
        const page = call.request.pageToken;
        cb(null, {
          entries: [
            {
              key: page === '' ? 'A' : 'B',
              sourceType: page === '' ? 'MANAGED' : 'VAULT',
              backend: page === '' ? 'database' : '',
              sourceId: page === '' ? 'analytics' : 'vi-1',
              integrationName: page === '' ? '' : 'team-vault',
              readOnly: page !== '',
            },
          ],
          sources: [{ source: 'vault:team-vault', available: page === '', reason: page === '' ? '' : 'sealed' }],
          nextPageToken: page === '' ? 'p2' : '',
        });
      },
      inventory: (call, cb) =>
        cb(null, {
          entries: [
            {
              secret: meta({ scope: call.request.scope }),
              workloadCount: 2,
              workloads: ['analytics/etl', 'analytics/nb'],
              unreferenced: false,
              rotationDue: true,
              rotationDueAt: '2026-04-01T00:00:00Z',
            },
          ],
        }),
    },
  });
});

const last = <T>(method: string): T => {
  const c = gw.calls.filter((x) => x.method.endsWith(`/${method}`)).at(-1);
  assert.ok(c, `${method} was called`);
  return c.request as T;
};

test('PUT a domain secret sends the value to the catalog as the caller and answers its metadata, never the value', async () => {
  const res = await asAlice('PUT', '/api/v1/domains/analytics/secrets/DB_PASSWORD', {
    value: CANARY,
    description: 'the warehouse',
    rotateEvery: '30d',
  });
  assert.equal(res.statusCode, 200);
  assert.equal(received, CANARY);
  const req = last<PutSecretRequest>('PutSecret');
  assert.deepEqual(
    { scope: req.scope, key: req.key, description: req.description, rotateEvery: req.rotateEvery },
    {
      scope: { domain: 'analytics', global: false },
      key: 'DB_PASSWORD',
      description: 'the warehouse',
      rotateEvery: '30d',
    },
  );
  assert.deepEqual(gw.calls.at(-1)?.authorization, [ALICE]);
  assert.deepEqual(res.json(), {
    scope: { domain: 'analytics', global: false },
    key: 'DB_PASSWORD',
    source: 'database',
    version: 4,
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-02T00:00:00Z',
    updatedBy: 'alice',
    description: 'the warehouse',
    rotateEvery: '90d',
  });
  assert.equal(res.body.includes(CANARY), false);
  const keep = await asAlice('PUT', '/api/v1/domains/analytics/secrets/DB_PASSWORD', { value: CANARY });
  assert.equal(keep.statusCode, 200);
  assert.equal(last<PutSecretRequest>('PutSecret').rotateEvery, undefined, 'absent keeps the policy as it is');
});

test('global secrets use the global scope for list, put, delete and policy', async () => {
  const list = await gw.app.inject({ method: 'GET', url: '/api/v1/global/secrets', headers: { authorization: ALICE } });
  assert.equal(list.statusCode, 200);
  assert.deepEqual(gw.calls.at(-1)?.request, { scope: { domain: '', global: true }, deleted: false });
  const put = await asAlice('PUT', '/api/v1/global/secrets/SHARED', { value: CANARY });
  assert.equal(put.statusCode, 200);
  assert.deepEqual(last<PutSecretRequest>('PutSecret').scope, { domain: '', global: true });
  await asAlice('DELETE', '/api/v1/global/secrets/SHARED?force=true');
  assert.deepEqual(last<DeleteSecretRequest>('DeleteSecret'), {
    scope: { domain: '', global: true },
    key: 'SHARED',
    force: true,
    recoveryDays: undefined,
  });
  await asAlice('PUT', '/api/v1/global/secrets/SHARED/rotation-policy', { rotateEvery: 'never' });
  assert.deepEqual(last<SetRotationPolicyRequest>('SetRotationPolicy'), {
    scope: { domain: '', global: true },
    key: 'SHARED',
    rotateEvery: 'never',
  });
});

test('GET secrets lists metadata; DELETE is refused in use with the catalog’s code and text, and forced lists the dependents', async () => {
  const list = await asAlice('GET', '/api/v1/domains/analytics/secrets');
  assert.equal(list.statusCode, 200);
  assert.equal((list.json() as { secrets: { key: string }[] }).secrets[0]?.key, 'DB_PASSWORD');
  const refused = await asAlice('DELETE', '/api/v1/domains/analytics/secrets/DB_PASSWORD');
  assert.equal(refused.statusCode, 409);
  const p = problemOf(refused);
  assert.equal(p.code, 'secret.in_use');
  assert.match(p.detail, /referenced by 1 workload \(analytics\/etl\)/);
  assert.equal(last<DeleteSecretRequest>('DeleteSecret').force, false);
  const forced = await asAlice('DELETE', '/api/v1/domains/analytics/secrets/DB_PASSWORD?force=true');
  assert.equal(forced.statusCode, 200);
  assert.deepEqual((forced.json() as { dependents: string[] }).dependents, ['analytics/etl']);
});

test('a bad secret body is 400 naming each JSON path, never quoting the value, and reaches no service', async () => {
  const cases: [unknown, { path: string; message: string }[]][] = [
    [{}, [{ path: '$.value', message: 'is required' }]],
    [{ value: 42 }, [{ path: '$.value', message: 'must be string' }]],
    [{ value: '' }, [{ path: '$.value', message: 'must NOT have fewer than 1 characters' }]],
    [
      { value: CANARY, rotateEvery: `${CANARY}d` },
      [{ path: '$.rotateEvery', message: 'must match pattern "^(\\d{1,6}[dh]|never)$"' }],
    ],
    [
      { value: CANARY, secret: CANARY },
      [{ path: '$.secret', message: 'is not a known field (see /api/openapi.json)' }],
    ],
  ];
  for (const [payload, errors] of cases) {
    const res = await asAlice('PUT', '/api/v1/domains/analytics/secrets/K', payload as object);
    assert.equal(res.statusCode, 400, JSON.stringify(payload));
    const p = problemOf(res);
    assert.equal(p.code, 'request.invalid');
    assert.deepEqual(p.errors, errors);
    assert.equal(res.body.includes(CANARY), false);
  }
  const policy = await asAlice('PUT', '/api/v1/domains/analytics/secrets/K/rotation-policy', { rotateEvery: 'weekly' });
  assert.deepEqual(problemOf(policy).errors, [
    { path: '$.rotateEvery', message: 'must match pattern "^(\\d{1,6}[dh]|never)$"' },
  ]);
  const force = await asAlice('DELETE', '/api/v1/domains/analytics/secrets/K?force=maybe');
  assert.deepEqual(problemOf(force).errors, [{ path: 'query parameter force', message: 'must be boolean' }]);
  assert.equal(gw.calls.length, 0);
});

test('a secret body over the route’s limit is 413 naming the limit and the catalog’s value limit; a value over the catalog’s is its error', async () => {
  const big = await gw.app.inject({
    method: 'PUT',
    url: '/api/v1/domains/analytics/secrets/K',
    headers: { authorization: ALICE, 'content-type': 'application/json' },
    payload: JSON.stringify({ value: CANARY.repeat(Math.ceil(SECRET_BODY_LIMIT / CANARY.length)) }),
  });
  assert.equal(big.statusCode, 413);
  const p = problemOf(big);
  assert.equal(p.code, 'request.body_too_large');
  assert.equal(
    p.detail,
    `the request body is larger than ${SECRET_BODY_LIMIT} bytes, this route's limit: a secret's value may be at most the catalog's LATCHKEY_MAX_VALUE_BYTES (65536 bytes unless changed)`,
  );
  assert.equal(big.body.includes(CANARY), false);
  const policy = await gw.app.inject({
    method: 'PUT',
    url: '/api/v1/domains/analytics/secrets/K/rotation-policy',
    headers: { authorization: ALICE, 'content-type': 'application/json' },
    payload: JSON.stringify({ rotateEvery: 'x'.repeat(20_000) }),
  });
  assert.equal(policy.statusCode, 413, 'a policy body has a small limit of its own');
  assert.match(problemOf(policy).detail, /larger than 16384 bytes, this route's limit$/);
  assert.equal(gw.calls.length, 0);
  const overCatalog = await asAlice('PUT', '/api/v1/domains/analytics/secrets/TOO_BIG', { value: 'v'.repeat(70_000) });
  assertProblem(overCatalog, 400, {
    code: 'secret.value_too_large',
    detail: 'the value is 70000 bytes; at most 65536 bytes are allowed',
  });
});

test('the selector follows every page unless pageSize is given; inventory passes usedBy; kek rotate answers the catalog’s result', async () => {
  const all = await asAlice('GET', '/api/v1/domains/analytics/selector');
  assert.equal(all.statusCode, 200);
  assert.deepEqual(all.json(), {
    entries: [
      {
        key: 'A',
        sourceType: 'MANAGED',
        backend: 'database',
        sourceId: 'analytics',
        integrationName: '',
        readOnly: false,
      },
      { key: 'B', sourceType: 'VAULT', backend: '', sourceId: 'vi-1', integrationName: 'team-vault', readOnly: true },
    ],
    sources: [{ source: 'vault:team-vault', available: false, reason: 'sealed' }],
    nextPageToken: '',
  });
  const one = await asAlice('GET', '/api/v1/domains/analytics/selector?pageSize=1');
  assert.equal((one.json() as { nextPageToken: string }).nextPageToken, 'p2');
  assert.deepEqual(last<SelectorRequest>('Selector'), { domain: 'analytics', pageSize: 1, pageToken: '' });
  const inv = await asAlice('GET', '/api/v1/domains/analytics/inventory?usedBy=DB_PASSWORD');
  assert.equal(inv.statusCode, 200);
  assert.deepEqual(last<InventoryRequest>('Inventory'), {
    scope: { domain: 'analytics', global: false },
    usedByKey: 'DB_PASSWORD',
  });
  const entry = (inv.json() as { entries: { workloads: string[]; rotationDue: boolean }[] }).entries[0];
  assert.deepEqual([entry?.workloads, entry?.rotationDue], [['analytics/etl', 'analytics/nb'], true]);
  await gw.app.inject({ method: 'GET', url: '/api/v1/global/inventory', headers: { authorization: ALICE } });
  assert.deepEqual(last<InventoryRequest>('Inventory'), { scope: { domain: '', global: true }, usedByKey: '' });
  const kek = await gw.app.inject({ method: 'POST', url: '/api/v1/kek/rotate', headers: { authorization: ALICE } });
  assert.deepEqual(kek.json(), { newKekId: 'kek-2', rewrapped: 7, retiredKekIds: ['kek-1'] });
});

test('the gateway logs no request body: a value in a good, a bad and a refused write appears in no log line', async () => {
  logged.length = 0;
  gw.set({
    catalog: {
      putSecret: (_call, cb) => fail(cb, status.INTERNAL, 'internal', 'the catalog broke'),
    },
  });
  const writes = [{ value: CANARY }, { value: CANARY, extra: CANARY }, { value: 7, description: CANARY }];
  for (const payload of writes) {
    await gw.app.inject({
      method: 'PUT',
      url: '/api/v1/domains/analytics/secrets/K',
      headers: { authorization: ALICE },
      payload,
    });
  }
  await gw.app.inject({
    method: 'PUT',
    url: '/api/v1/domains/analytics/secrets/K',
    headers: { authorization: ALICE, 'content-type': 'application/json' },
    payload: `{"value": "${CANARY}"`,
  });
  assert.ok(logged.length >= 4, 'the requests were logged (one line each at least)');
  assert.deepEqual(
    logged.filter((l) => l.includes(CANARY)),
    [],
  );
});

test('the OpenAPI document gives each of these routes its request and response schemas, the value write-only', async () => {
  const doc = (await gw.app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as {
    paths: Record<string, Record<string, { requestBody?: unknown; responses?: Record<string, unknown> }>>;
  };
  const put = doc.paths['/api/v1/domains/{domain}/secrets/{key}']?.['put'];
  const body = (put?.requestBody as { content: Record<string, { schema: { properties: Record<string, unknown> } }> })
    ?.content['application/json']?.schema;
  assert.deepEqual(Object.keys(body?.properties ?? {}).sort(), ['description', 'rotateEvery', 'value']);
  assert.equal((body?.properties['value'] as { writeOnly?: boolean }).writeOnly, true);
  assert.ok(put?.responses?.['200'] && put.responses['default'], 'the answer and the problem are described');
  const routes = [
    ['get', '/api/v1/global/secrets'],
    ['delete', '/api/v1/global/secrets/{key}'],
    ['put', '/api/v1/global/secrets/{key}/rotation-policy'],
    ['post', '/api/v1/kek/rotate'],
    ['post', '/api/v1/domains/{domain}/vault-integrations'],
    ['post', '/api/v1/domains/{domain}/vault-integrations/test'],
    ['post', '/api/v1/domains/{domain}/vault-integrations/{id}/test'],
    ['put', '/api/v1/domains/{domain}/members/{kind}/{id}'],
    ['delete', '/api/v1/domains/{domain}/bundles/{bundle}/grants/{kind}/{id}'],
    ['get', '/api/v1/domains/{domain}/selector'],
    ['get', '/api/v1/global/inventory'],
    ['get', '/api/v1/audit'],
  ] as const;
  for (const [method, path] of routes) {
    const op = doc.paths[path]?.[method];
    assert.ok(op, `${method} ${path} is documented`);
    assert.ok(
      Object.keys(op.responses ?? {}).some((s) => /^2\d\d$/.test(s)),
      `${method} ${path} has a success schema`,
    );
  }
});
