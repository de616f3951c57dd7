/** who may see and change a Vault integration: its resource bundle decides. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeAuthorizer } from '@latchkey/testing';
import { rejection } from './support.js';
import { ALLOW, useVaultWorld, world, bundleGrants, settings, create, integrationCount } from './vault-world.js';

useVaultWorld();

describe('vault integrations: who may see and change them (the bundle decides)', () => {
  test('VIEW on its bundle shows an integration’s configuration; without it get is refused and list leaves it out', async (t) => {
    // vic: VIEW on team-vault; ursula: UPDATE on ops-vault (implies VIEW); una: USE on both; bob: a role, no grant.
    const authorizer = bundleGrants(['alice', 'vic', 'ursula', 'una', 'bob'], {
      alice: ['UPDATE team-vault', 'UPDATE ops-vault'],
      vic: ['VIEW team-vault'],
      ursula: ['UPDATE ops-vault'],
      una: ['USE team-vault', 'USE ops-vault'],
    });
    const w = await world(t, authorizer);
    await create(w);
    await w.integrations.create('alice', {
      domain: 'analytics',
      name: 'ops',
      bundle: 'ops-vault',
      settings: settings(w),
    });
    const names = async (who: string) => (await w.integrations.list(who, 'analytics')).map((i) => i.name).sort();
    assert.deepEqual(await names('alice'), ['ops', 'team-vault']);
    assert.deepEqual(await names('vic'), ['team-vault']);
    assert.deepEqual(await names('ursula'), ['ops']);
    assert.deepEqual(await names('una'), [], 'USE lists keys in the selector, it does not show configurations');
    assert.deepEqual(await names('bob'), []);
    assert.equal((await w.integrations.get('vic', 'analytics', 'team-vault')).bundle, 'team-vault');
    assert.equal((await w.integrations.get('ursula', 'analytics', 'ops')).bundle, 'ops-vault');
    for (const [who, name] of [
      ['vic', 'ops'],
      ['una', 'team-vault'],
      ['bob', 'team-vault'],
    ] as const) {
      const err = await rejection(w.integrations.get(who, 'analytics', name));
      assert.equal(err.code, 'ras.permission_denied', `${who} get ${name}`);
      assert.match(err.message, new RegExp(`^${who} may not bundle\\.view on bundle`));
    }
  });

  test('UPDATE on its bundle modifies, tests and deletes an integration; VIEW or USE alone does not', async (t) => {
    const authorizer = bundleGrants(['alice', 'vic', 'una', 'ursula'], {
      alice: ['UPDATE team-vault'],
      vic: ['VIEW team-vault'],
      una: ['USE team-vault'],
      ursula: ['UPDATE team-vault'],
    });
    const w = await world(t, authorizer);
    await create(w);
    for (const who of ['vic', 'una']) {
      const refused = [
        await rejection(w.integrations.update(who, 'analytics', 'team-vault', { namespace: 'x' })),
        await rejection(w.integrations.test(who, 'analytics', { integration: 'team-vault' })),
        await rejection(w.integrations.delete(who, 'analytics', 'team-vault', false)),
      ];
      for (const err of refused) {
        assert.equal(err.code, 'ras.permission_denied', who);
        assert.match(err.message, new RegExp(`^${who} may not bundle\\.update on bundle team-vault`));
      }
    }
    assert.equal((await w.integrations.get('alice', 'analytics', 'team-vault')).namespace, '', 'nothing changed');
    const updated = await w.integrations.update('ursula', 'analytics', 'team-vault', { name: 'renamed' });
    assert.deepEqual([updated.name, updated.updatedBy], ['renamed', 'ursula']);
    assert.equal((await w.integrations.test('ursula', 'analytics', { integration: 'renamed' })).outcome, 'ok');
    await w.integrations.delete('ursula', 'analytics', 'renamed', false);
    assert.equal(await integrationCount(w.pool), 0);
  });

  test('without a role in the domain, every integration call is refused alike whether the integration exists or not', async (t) => {
    const w = await world(t, bundleGrants(['alice'], { alice: ['UPDATE team-vault'] }));
    await create(w);
    const calls = (name: string) => ({
      get: () => w.integrations.get('mallory', 'analytics', name),
      update: () => w.integrations.update('mallory', 'analytics', name, { namespace: 'x' }),
      delete: () => w.integrations.delete('mallory', 'analytics', name, true),
      test: () => w.integrations.test('mallory', 'analytics', { integration: name }),
    });
    const existing = calls('team-vault');
    const missing = calls('ghost');
    for (const k of ['get', 'update', 'delete', 'test'] as const) {
      const a = await rejection(existing[k]());
      const b = await rejection(missing[k]());
      assert.deepEqual([a.code, a.message], [b.code, b.message], k);
      assert.equal(a.code, 'ras.permission_denied', k);
    }
    assert.equal((await rejection(w.integrations.list('mallory', 'analytics'))).code, 'ras.permission_denied');
    assert.equal(await integrationCount(w.pool), 1);
  });

  test('"global" is no domain: integrations are refused there before anything is asked', async (t) => {
    const authorizer = new FakeAuthorizer(() => ALLOW);
    const w = await world(t, authorizer);
    const refusals = [
      await rejection(
        w.integrations.create('admin', { domain: 'global', name: 'g', bundle: 'team-vault', settings: settings(w) }),
      ),
      await rejection(w.integrations.list('admin', 'global')),
      await rejection(w.integrations.get('admin', 'global', 'g')),
      await rejection(w.integrations.update('admin', 'global', 'g', { namespace: 'x' })),
      await rejection(w.integrations.delete('admin', 'global', 'g', false)),
      await rejection(w.integrations.test('admin', 'global', { integration: 'g' })),
    ];
    assert.deepEqual(
      refusals.map((e) => [e.code, e.kind]),
      refusals.map(() => ['domain.reserved', 'invalid_argument']),
    );
    assert.deepEqual(authorizer.asked, []);
  });

  test('the resolver learns the bundle of its domain’s integrations only, an id of another domain reads as missing', async (t) => {
    const w = await world(t);
    const i = await create(w);
    const ghost = '00000000-0000-4000-8000-000000000000';
    assert.deepEqual(await w.integrations.bundlesOf('analytics', [i.id, ghost, 'not-an-id']), [
      { id: i.id, bundle: 'team-vault' },
      { id: ghost, bundle: undefined },
      { id: 'not-an-id', bundle: undefined },
    ]);
    assert.deepEqual(await w.integrations.bundlesOf('finance', [i.id]), [{ id: i.id, bundle: undefined }]);
  });
});
