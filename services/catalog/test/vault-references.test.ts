/** VAULT references: values and keys read from a domain's integrations, only for that domain, read-only. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { vault, useVaultWorld, world, create, dump, putVersions } from './vault-world.js';

useVaultWorld();

describe('vault integrations: happy paths', () => {
  test('a VAULT reference reads the value and Vault version, one GET per distinct key', async (t) => {
    const w = await world(t);
    const i = await create(w);
    await putVersions(w, 'db_password', 'canary-vault-1', 'canary-vault-2');
    vault.clearRequests();
    const answers = await w.secrets.readValues([
      {
        refId: 'a',
        key: 'db_password',
        scope: 'analytics',
        fallbackToGlobal: false,
        sourceType: 'VAULT',
        integrationId: i.id,
      },
      {
        refId: 'b',
        key: 'db_password',
        scope: 'analytics',
        fallbackToGlobal: false,
        sourceType: 'VAULT',
        integrationId: i.id,
      },
      {
        refId: 'c',
        key: 'missing',
        scope: 'analytics',
        fallbackToGlobal: false,
        sourceType: 'VAULT',
        integrationId: i.id,
      },
    ]);
    const byRef = new Map(answers.map((a) => [a.refId, a]));
    const a = byRef.get('a');
    assert.ok(a?.found);
    assert.equal(a.value.toString(), 'canary-vault-2');
    assert.equal(a.version, 2);
    assert.equal(a.scope, i.id);
    assert.ok(byRef.get('b')?.found);
    const c = byRef.get('c');
    assert.ok(c && !c.found);
    assert.equal(c.code, 'vault.not_found');
    const gets = vault.requests().filter((r) => r.path.includes(`/data/${w.base}/db_password`));
    assert.equal(gets.length, 1, 'one read per distinct key');
  });

  test('findKeys answers whether Vault keys exist from one listing, without reading any value', async (t) => {
    const w = await world(t);
    const i = await create(w);
    await putVersions(w, 'db_password', 'canary-vault-find');
    await putVersions(w, 'api_key', 'canary-vault-find-2');
    vault.clearRequests();
    const q = (refId: string, key: string, scope = 'analytics', integrationId = i.id) => ({
      refId,
      key,
      scope,
      fallbackToGlobal: false,
      sourceType: 'VAULT' as const,
      integrationId,
    });
    const answers = await w.secrets.findKeys([
      q('a', 'db_password'),
      q('b', 'api_key'),
      q('c', 'missing'),
      q('d', 'k', 'finance'),
    ]);
    const byRef = new Map(answers.map((a) => [a.refId, a]));
    assert.deepEqual(byRef.get('a'), { refId: 'a', found: true, scope: i.id, version: 0 });
    assert.deepEqual(byRef.get('b'), { refId: 'b', found: true, scope: i.id, version: 0 });
    const c = byRef.get('c');
    assert.ok(c && !c.found);
    assert.equal(c.code, 'vault.not_found');
    assert.match(c.message, /has no key missing/);
    const d = byRef.get('d');
    assert.ok(d && !d.found);
    assert.equal(d.code, 'vault.integration_not_found', 'another domain learns nothing about the integration');
    const reads = vault.requests().filter((r) => r.path.includes('/data/'));
    assert.deepEqual(reads, [], 'no value was read');
    assert.ok(!JSON.stringify(answers).includes('canary-vault-find'));

    vault.seal(true);
    try {
      const [sealed] = await w.secrets.findKeys([q('e', 'db_password')]);
      assert.ok(sealed && !sealed.found);
      assert.equal(sealed.code, 'vault.sealed');
    } finally {
      vault.seal(false);
    }
  });

  test('an integration answers only for its own domain, the same way as a missing one', async (t) => {
    const w = await world(t);
    const i = await create(w);
    const [other, missing] = await w.secrets.readValues([
      { refId: 'x', key: 'k', scope: 'finance', fallbackToGlobal: false, sourceType: 'VAULT', integrationId: i.id },
      {
        refId: 'y',
        key: 'k',
        scope: 'finance',
        fallbackToGlobal: false,
        sourceType: 'VAULT',
        integrationId: '00000000-0000-4000-8000-000000000000',
      },
    ]);
    assert.ok(other && !other.found && missing && !missing.found);
    assert.equal(other.code, 'vault.integration_not_found');
    assert.equal(other.code, missing.code);
    assert.equal(
      other.message.replace(i.id, 'ID'),
      missing.message.replace('00000000-0000-4000-8000-000000000000', 'ID'),
    );
  });

  test('AppRole: concurrent and repeated reads share one login', async (t) => {
    const w = await world(t);
    const roleId = `role-${w.base}`;
    const secretId = `approle-secret-canary-${w.base}`;
    await vault.addAppRole(roleId, secretId, [`secret/data/${w.base}`, `secret/metadata/${w.base}`]);
    const i = await create(w, 'approle-vault', { authMethod: 'approle', roleId, credential: Buffer.from(secretId) });
    await putVersions(w, 'k1', 'v1-value');
    await putVersions(w, 'k2', 'v2-value');
    vault.clearRequests();
    const q = (refId: string, key: string) => ({
      refId,
      key,
      scope: 'analytics',
      fallbackToGlobal: false,
      sourceType: 'VAULT' as const,
      integrationId: i.id,
    });
    await Promise.all([w.secrets.readValues([q('a', 'k1')]), w.secrets.readValues([q('b', 'k2')])]);
    await w.secrets.readValues([q('a', 'k1'), q('b', 'k2')]);
    const logins = vault.requests().filter((r) => r.path.endsWith('/auth/approle/login'));
    assert.equal(logins.length, 1);
    assert.ok(!(await dump(w.pool)).includes(secretId));
  });

  test('Latchkey sends no write to an integration: only GETs and the AppRole login reach it', async (t) => {
    const w = await world(t);
    const roleId = `role-w-${w.base}`;
    await vault.addAppRole(roleId, 'sid-write-check', [`secret/data/${w.base}`, `secret/metadata/${w.base}`]);
    vault.clearRequests();
    const i = await create(w, 'rw-check', {
      authMethod: 'approle',
      roleId,
      credential: Buffer.from('sid-write-check'),
    });
    await putVersions(w, 'k', 'some-value');
    await w.integrations.test('alice', 'analytics', { integration: i.id });
    await w.views.selector('alice', 'analytics', 0, '');
    await w.secrets.readValues([
      { refId: 'a', key: 'k', scope: 'analytics', fallbackToGlobal: false, sourceType: 'VAULT', integrationId: i.id },
    ]);
    w.dependents.deployed = [{ integrationId: i.id, key: 'k', version: 1 }];
    await w.watch().pollOnce();
    await w.integrations.update('alice', 'analytics', i.id, { name: 'rw-check-2' });
    await w.integrations.delete('alice', 'analytics', i.id, true);
    const verbs = vault.requests().map((r) => `${r.method} ${r.path}`);
    assert.ok(verbs.length >= 4, `requests were made: ${verbs.join(', ')}`);
    for (const v of verbs) {
      assert.ok(v.startsWith('GET ') || v === 'POST /v1/auth/approle/login', `unexpected request ${v}`);
    }
  });

  test('the fields layout reads each field of one secret as a key', async (t) => {
    const w = await world(t);
    await vault.putSecret('secret', `${w.base}/app`, { user: 'etl', password: 'fields-canary' });
    const i = await create(w, 'fields', { path: `/v1/secret/data/${w.base}/app`, layout: 'fields' });
    const page = await w.views.selector('alice', 'analytics', 0, '');
    assert.deepEqual(
      page.entries.filter((e) => e.sourceType === 'VAULT').map((e) => e.key),
      ['password', 'user'],
    );
    const [a] = await w.secrets.readValues([
      {
        refId: 'a',
        key: 'password',
        scope: 'analytics',
        fallbackToGlobal: false,
        sourceType: 'VAULT',
        integrationId: i.id,
      },
    ]);
    assert.ok(a?.found);
    assert.equal(a.value.toString(), 'fields-canary');
  });
});

describe('vault integrations: failures', () => {
  test('a sealed Vault fails its references with vault.sealed, never a value or token', async (t) => {
    const w = await world(t);
    const i = await create(w);
    await putVersions(w, 'k', 'sealed-canary');
    vault.seal(true);
    let answers;
    try {
      answers = await w.secrets.readValues([
        { refId: 'a', key: 'k', scope: 'analytics', fallbackToGlobal: false, sourceType: 'VAULT', integrationId: i.id },
      ]);
    } finally {
      vault.seal(false);
    }
    const [a] = answers;
    assert.ok(a && !a.found);
    assert.equal(a.code, 'vault.sealed');
    assert.ok(!a.message.includes(w.token));
  });
});
