import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { POLICY_DENIED, useVaultEmulator } from './test-client.js';

describe('vault emulator: tokens, policies and AppRole', () => {
  const fx = useVaultEmulator(async (emu) => {
    await emu.putSecret('secret', 'team/a/key', { value: 'v' });
    await emu.putSecret('secret', 'team/b/key', { value: 'v' });
  });

  test('a bad, missing or expired token is 403 permission denied', async () => {
    const expected = { status: 403, body: { errors: ['permission denied'] } };
    assert.deepEqual(await fx.call('GET', '/v1/secret/data/team/a/key', { token: 'hvs.nope' }), expected);
    assert.deepEqual(await fx.call('GET', '/v1/secret/data/team/a/key'), expected);
    const expired = await fx.emu.addToken([''], { ttlSeconds: 0 });
    assert.deepEqual(await fx.call('GET', '/v1/secret/data/team/a/key', { token: expired }), expected);
  });

  test('a token reads inside its path prefixes and gets the "1 error occurred" 403 outside them', async () => {
    const token = await fx.emu.addToken(['secret/data/team/a/', 'secret/metadata/team/a/']);
    assert.equal((await fx.call('GET', '/v1/secret/data/team/a/key', { token })).status, 200);
    assert.equal((await fx.call('GET', '/v1/secret/metadata/team/a?list=true', { token })).status, 200);
    assert.deepEqual(await fx.call('GET', '/v1/secret/data/team/b/key', { token }), {
      status: 403,
      body: { errors: [POLICY_DENIED] },
    });
    assert.equal((await fx.call('GET', '/v1/secret/metadata/team?list=true', { token })).status, 403);
  });

  test('the token also works as Authorization: Bearer', async () => {
    const res = await fetch(`${fx.emu.url}/v1/secret/data/team/a/key`, {
      headers: { Authorization: `Bearer ${fx.emu.rootToken}` },
    });
    assert.equal(res.status, 200);
  });

  test('lookup-self answers the token data; the root token has ttl 0 and no expire_time', async () => {
    const root = await fx.call('GET', '/v1/auth/token/lookup-self', { token: fx.emu.rootToken });
    const rd = root.body?.['data'] as Record<string, unknown>;
    assert.equal(rd['ttl'], 0);
    assert.equal(rd['expire_time'], null);
    assert.deepEqual(rd['policies'], ['root']);
    const token = await fx.emu.addToken(['secret/'], { ttlSeconds: 3600 });
    const res = await fx.call('GET', '/v1/auth/token/lookup-self', { token });
    const d = res.body?.['data'] as Record<string, unknown>;
    for (const k of [
      'accessor',
      'creation_time',
      'creation_ttl',
      'display_name',
      'entity_id',
      'expire_time',
      'explicit_max_ttl',
      'id',
      'issue_time',
      'meta',
      'num_uses',
      'orphan',
      'path',
      'policies',
      'renewable',
      'ttl',
    ]) {
      assert.ok(k in d, k);
    }
    assert.equal(d['id'], token);
    assert.ok((d['ttl'] as number) > 3500);
    assert.equal(d['renewable'], true);
  });

  test('renew-self extends the token by the increment and answers auth', async () => {
    const token = await fx.emu.addToken(['secret/'], { ttlSeconds: 60 });
    const res = await fx.call('POST', '/v1/auth/token/renew-self', { token, body: { increment: '1h' } });
    assert.equal(res.status, 200);
    const auth = res.body?.['auth'] as Record<string, unknown>;
    assert.equal(auth['client_token'], token);
    assert.equal(auth['lease_duration'], 3600);
    const look = await fx.call('GET', '/v1/auth/token/lookup-self', { token });
    assert.ok(((look.body?.['data'] as Record<string, unknown>)['ttl'] as number) > 3500);
  });

  test('AppRole login answers auth with the configured lease; bad or missing ids are 400', async () => {
    await fx.emu.addAppRole('role-1', 'secret-1', ['secret/data/team/a/'], { leaseSeconds: 90, roleName: 'reader' });
    const ok = await fx.call('POST', '/v1/auth/approle/login', {
      body: { role_id: 'role-1', secret_id: 'secret-1' },
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.body?.['data'], null);
    const auth = ok.body?.['auth'] as Record<string, unknown>;
    assert.equal(auth['lease_duration'], 90);
    assert.equal(auth['renewable'], true);
    assert.equal(auth['token_type'], 'service');
    assert.deepEqual(auth['metadata'], { role_name: 'reader' });
    const token = auth['client_token'] as string;
    assert.equal((await fx.call('GET', '/v1/secret/data/team/a/key', { token })).status, 200);
    assert.equal((await fx.call('GET', '/v1/secret/data/team/b/key', { token })).status, 403);
    assert.deepEqual(
      await fx.call('POST', '/v1/auth/approle/login', { body: { role_id: 'role-1', secret_id: 'wrong' } }),
      { status: 400, body: { errors: ['invalid role or secret ID'] } },
    );
    assert.deepEqual(await fx.call('POST', '/v1/auth/approle/login', { body: { role_id: 'role-1' } }), {
      status: 400,
      body: { errors: ['missing secret_id'] },
    });
  });

  test('the request log records method, path, query, namespace and whether a token was sent, never the token', async () => {
    fx.emu.clearRequests();
    const token = await fx.emu.addToken(['']);
    await fx.call('GET', '/v1/secret/metadata/team?list=true', { token });
    await fx.call('POST', '/v1/auth/approle/login', { body: { role_id: 'role-1', secret_id: 'secret-1' } });
    assert.deepEqual(fx.emu.requests(), [
      {
        method: 'GET',
        path: '/v1/secret/metadata/team',
        query: { list: 'true' },
        namespace: undefined,
        hasToken: true,
      },
      { method: 'POST', path: '/v1/auth/approle/login', query: {}, namespace: undefined, hasToken: false },
    ]);
    assert.ok(!JSON.stringify(fx.emu.requests()).includes(token));
    assert.ok(!JSON.stringify(fx.emu.requests()).includes('secret-1'));
  });
});
