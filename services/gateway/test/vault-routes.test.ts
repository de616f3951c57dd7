import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type {
  CreateVaultIntegrationRequest,
  DeleteVaultIntegrationRequest,
  TestVaultIntegrationRequest,
  UpdateVaultIntegrationRequest,
  VaultIntegration,
} from '@latchkey/proto';
import { unlessForced } from '@latchkey/testing';
import { fail, jwtLike, useFakeGateway, assertProblem, problemOf } from './gateway-fixture.js';

const ALICE = `Bearer ${jwtLike('alice')}`;
const TOKEN = 'canary-vault-token-93c2aa';

const integration = (over: Partial<VaultIntegration> = {}): VaultIntegration => ({
  id: 'vi-1',
  domain: 'analytics',
  name: 'team-vault',
  host: 'https://vault.example:8200',
  path: '/v1/secret/data/team',
  namespace: '',
  bundle: 'b1',
  authMethod: 'token',
  roleId: '',
  layout: 'children',
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:00Z',
  updatedBy: 'alice',
  ...over,
});

let credentials: string[] = [];
const keep = (c: Buffer | undefined) => {
  if (c !== undefined) credentials.push(Buffer.from(c).toString('utf8'));
};

const gw = useFakeGateway(() => {
  credentials = [];
  return {
    catalog: {
      createVaultIntegration: (call, cb) => {
        keep(call.request.settings?.credential);
        cb(null, integration({ name: call.request.name, bundle: call.request.bundle }));
      },
      listVaultIntegrations: (_call, cb) => cb(null, { integrations: [integration()] }),
      getVaultIntegration: (call, cb) => {
        if (call.request.integration !== 'vi-1') {
          fail(
            cb,
            status.NOT_FOUND,
            'vault.not_found',
            `vault integration ${call.request.integration} not found in domain analytics`,
          );
          return;
        }
        cb(null, integration());
      },
      updateVaultIntegration: (call, cb) => {
        keep(call.request.credential);
        if (call.request.bundle !== undefined) {
          fail(cb, status.INVALID_ARGUMENT, 'vault.bundle_fixed', 'a bundle is fixed at creation');
          return;
        }
        cb(null, integration({ host: call.request.host ?? 'https://vault.example:8200' }));
      },
      deleteVaultIntegration: unlessForced(
        'vault.in_use',
        'team-vault is used by analytics/etl: delete it with force',
        () => ({ deleted: integration(), dependents: ['analytics/etl'] }),
      ),
      testVaultIntegration: (call, cb) => {
        keep(call.request.settings?.credential);
        if (call.request.integration === 'vi-1') cb(null, { outcome: 'ok', message: 'listed 3 keys', keys: 3 });
        else
          cb(null, { outcome: 'bad_credentials', message: 'Vault refused the token (403 permission denied)', keys: 0 });
      },
    },
  };
});

const last = <T>(method: string): T => {
  const c = gw.calls.filter((x) => x.method.endsWith(`/${method}`)).at(-1);
  assert.ok(c, `${method} was called`);
  return c.request as T;
};

const base = '/api/v1/domains/analytics/vault-integrations';

test('POST creates an integration: the credential reaches the catalog, the answer (201) has none', async () => {
  const res = await gw.app.inject({
    method: 'POST',
    url: base,
    headers: { authorization: ALICE },
    payload: {
      name: 'team-vault',
      bundle: 'b1',
      host: 'https://vault.example:8200',
      path: '/v1/secret/data/team',
      authMethod: 'token',
      credential: TOKEN,
    },
  });
  assert.equal(res.statusCode, 201);
  assert.deepEqual(credentials, [TOKEN]);
  const req = last<CreateVaultIntegrationRequest>('CreateVaultIntegration');
  assert.deepEqual(
    { ...req, settings: { ...req.settings, credential: undefined } },
    {
      domain: 'analytics',
      name: 'team-vault',
      bundle: 'b1',
      settings: {
        host: 'https://vault.example:8200',
        path: '/v1/secret/data/team',
        namespace: '',
        authMethod: 'token',
        roleId: '',
        layout: 'children',
        credential: undefined,
      },
    },
  );
  assert.equal(res.body.includes(TOKEN), false);
  assert.deepEqual(res.json(), integration());
});

test('list, get by id or name, and a missing one is the catalog’s not_found', async () => {
  const list = await gw.app.inject({ method: 'GET', url: base, headers: { authorization: ALICE } });
  assert.deepEqual(list.json(), { integrations: [integration()] });
  const got = await gw.app.inject({ method: 'GET', url: `${base}/vi-1`, headers: { authorization: ALICE } });
  assert.equal(got.statusCode, 200);
  const missing = await gw.app.inject({ method: 'GET', url: `${base}/nope`, headers: { authorization: ALICE } });
  assertProblem(missing, 404, {
    code: 'vault.not_found',
    detail: 'vault integration nope not found in domain analytics',
  });
});

test('PUT configures only the fields given; a new credential goes in; the bundle is refused by the catalog', async () => {
  const res = await gw.app.inject({
    method: 'PUT',
    url: `${base}/vi-1`,
    headers: { authorization: ALICE },
    payload: { host: 'https://vault2.example:8200', credential: TOKEN },
  });
  assert.equal(res.statusCode, 200);
  const req = last<UpdateVaultIntegrationRequest>('UpdateVaultIntegration');
  assert.deepEqual(
    Object.entries(req)
      .filter(([, v]) => v !== undefined)
      .map(([k]) => k)
      .sort(),
    ['credential', 'domain', 'host', 'integration'],
  );
  assert.deepEqual(credentials, [TOKEN]);
  assert.equal(res.body.includes(TOKEN), false);
  const bundle = await gw.app.inject({
    method: 'PUT',
    url: `${base}/vi-1`,
    headers: { authorization: ALICE },
    payload: { bundle: 'other' },
  });
  assert.equal(bundle.statusCode, 400);
  assert.equal(problemOf(bundle).code, 'vault.bundle_fixed');
  const empty = await gw.app.inject({
    method: 'PUT',
    url: `${base}/vi-1`,
    headers: { authorization: ALICE },
    payload: {},
  });
  assert.deepEqual(problemOf(empty).errors, [{ path: '$', message: 'must NOT have fewer than 1 properties' }]);
});

test('DELETE is refused while in use (the catalog’s code), forced lists the dependents', async () => {
  const refused = await gw.app.inject({ method: 'DELETE', url: `${base}/vi-1`, headers: { authorization: ALICE } });
  assert.equal(refused.statusCode, 409);
  assert.equal(problemOf(refused).code, 'vault.in_use');
  const forced = await gw.app.inject({
    method: 'DELETE',
    url: `${base}/vi-1?force=true`,
    headers: { authorization: ALICE },
  });
  assert.equal(forced.statusCode, 200);
  assert.deepEqual(last<DeleteVaultIntegrationRequest>('DeleteVaultIntegration'), {
    domain: 'analytics',
    integration: 'vi-1',
    force: true,
  });
  assert.deepEqual((forced.json() as { dependents: string[] }).dependents, ['analytics/etl']);
});

test('test connection of a saved integration and of unsaved settings: ok, or the precise reason', async () => {
  const saved = await gw.app.inject({ method: 'POST', url: `${base}/vi-1/test`, headers: { authorization: ALICE } });
  assert.deepEqual(saved.json(), { ok: true, outcome: 'ok', message: 'listed 3 keys', keys: 3 });
  assert.deepEqual(last<TestVaultIntegrationRequest>('TestVaultIntegration'), {
    domain: 'analytics',
    integration: 'vi-1',
    settings: undefined,
  });
  const unsaved = await gw.app.inject({
    method: 'POST',
    url: `${base}/test`,
    headers: { authorization: ALICE },
    payload: {
      host: 'https://vault.example:8200',
      path: '/v1/secret/data/team',
      authMethod: 'token',
      credential: TOKEN,
    },
  });
  assert.equal(unsaved.statusCode, 200);
  assert.deepEqual(unsaved.json(), {
    ok: false,
    outcome: 'bad_credentials',
    message: 'Vault refused the token (403 permission denied)',
    keys: 0,
  });
  assert.equal(last<TestVaultIntegrationRequest>('TestVaultIntegration').integration, '');
  assert.deepEqual(credentials, [TOKEN]);
  assert.equal(unsaved.body.includes(TOKEN), false);
});

test('bad Vault bodies are 400 naming each JSON path, never quoting the credential, and reach no service', async () => {
  const res = await gw.app.inject({
    method: 'POST',
    url: base,
    headers: { authorization: ALICE },
    payload: { name: 'v', host: 'h', path: 'p', authMethod: 'ldap', credential: 5, token: TOKEN },
  });
  assert.equal(res.statusCode, 400);
  assert.deepEqual(problemOf(res).errors, [
    { path: '$.bundle', message: 'is required' },
    { path: '$.token', message: 'is not a known field (see /api/openapi.json)' },
    { path: '$.authMethod', message: 'must be one of token, approle' },
    { path: '$.credential', message: 'must be string' },
  ]);
  assert.equal(res.body.includes(TOKEN), false);
  const unsaved = await gw.app.inject({
    method: 'POST',
    url: `${base}/test`,
    headers: { authorization: ALICE },
    payload: { host: 'h', path: 'p', authMethod: 'token' },
  });
  assert.deepEqual(problemOf(unsaved).errors, [{ path: '$.credential', message: 'is required' }]);
  assert.equal(gw.calls.length, 0);
});
