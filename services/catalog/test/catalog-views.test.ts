/** CatalogViewService: the selector and the inventory over managed secrets and Vault integrations. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeAuthorizer } from '@latchkey/testing';
import { PostgresSecretStore } from '../src/adapters/postgres-secret-store.js';
import { CatalogViewService } from '../src/domain/views/catalog-view-service.js';
import { rejection } from './support.js';
import { ALLOW, DENY, vault, useVaultWorld, world, create } from './vault-world.js';

useVaultWorld();

describe('selector and inventory', () => {
  test('the selector lists managed, global (read-only) and Vault keys, each with its source', async (t) => {
    const w = await world(t);
    await w.secrets.put('alice', {
      scope: { domain: 'analytics', global: false },
      key: 'own',
      value: Buffer.from('own-value'),
      description: '',
    });
    await w.secrets.put('admin', {
      scope: { domain: '', global: true },
      key: 'shared',
      value: Buffer.from('shared-value'),
      description: '',
    });
    await w.secrets.put('alice', {
      scope: { domain: 'finance', global: false },
      key: 'theirs',
      value: Buffer.from('their-value'),
      description: '',
    });
    await vault.putSecret('secret', `${w.base}/vk`, { value: 'vault-value' });
    const i = await create(w);
    const page = await w.views.selector('alice', 'analytics', 0, '');
    assert.deepEqual(
      page.entries.map((e) => [e.key, e.sourceType, e.backend, e.sourceId, e.integrationName, e.readOnly]),
      [
        ['own', 'MANAGED', 'database', 'analytics', '', false],
        ['shared', 'MANAGED', 'database', 'global', '', true],
        ['vk', 'VAULT', '', i.id, 'team-vault', true],
      ],
    );
    assert.ok(page.sources.every((s) => s.available));
    assert.equal(page.nextPageToken, '');
  });

  test('seed rule: listing Vault keys in the selector needs USE on the bundle and LIST_SECRETS', async (t) => {
    // bob lists the domain (LIST_SECRETS) without USE; carol holds USE but no LIST_SECRETS.
    const noUse = new FakeAuthorizer((q) =>
      (q.action === 'bundle.use' && q.resource === 'team-vault' && q.principal === 'bob') ||
      (q.action === 'secret.list' && q.principal === 'carol')
        ? DENY
        : ALLOW,
    );
    const w = await world(t, noUse);
    await vault.putSecret('secret', `${w.base}/vk`, { value: 'vault-value' });
    await create(w);
    const forBob = await w.views.selector('bob', 'analytics', 0, '');
    assert.deepEqual(forBob.entries, []);
    assert.ok(!forBob.sources.some((s) => s.source.startsWith('vault:')), 'not even its name');
    const forAlice = await w.views.selector('alice', 'analytics', 0, '');
    assert.deepEqual(
      forAlice.entries.map((e) => e.key),
      ['vk'],
    );
    assert.equal((await rejection(w.views.selector('carol', 'analytics', 0, ''))).code, 'ras.permission_denied');
  });

  test('one failing integration does not fail the selector: its source says why', async (t) => {
    const w = await world(t);
    await vault.putSecret('secret', `${w.base}/vk`, { value: 'vault-value' });
    await create(w);
    await create(w, 'broken', { credential: Buffer.from('hvs.revoked-token') });
    const page = await w.views.selector('alice', 'analytics', 0, '');
    assert.deepEqual(
      page.entries.map((e) => `${e.integrationName}:${e.key}`),
      ['team-vault:vk'],
    );
    const broken = page.sources.find((s) => s.source === 'vault:broken');
    assert.equal(broken?.available, false);
    assert.match(broken?.reason ?? '', /vault\.(auth_failed|permission_denied)/);
    assert.ok(!JSON.stringify(page).includes('hvs.revoked-token'));
  });

  test('a slow integration times out into an unavailable source', async (t) => {
    const w = await world(t);
    await create(w);
    vault.setLatency(1500);
    let page;
    try {
      page = await w.views.selector('alice', 'analytics', 0, '');
    } finally {
      vault.setLatency(0);
    }
    const s = page.sources.find((x) => x.source === 'vault:team-vault');
    assert.equal(s?.available, false);
    assert.match(s?.reason ?? '', /did not answer within 1 s/);
  });

  test('the selector pages through a long list and refuses a forged page token', async (t) => {
    const w = await world(t);
    for (let n = 0; n < 5; n++) {
      await w.secrets.put('alice', {
        scope: { domain: 'analytics', global: false },
        key: `k${n}`,
        value: Buffer.from(`value-${n}`),
        description: '',
      });
    }
    const keys: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = await w.views.selector('alice', 'analytics', 2, token);
      keys.push(...page.entries.map((e) => e.key));
      token = page.nextPageToken;
      pages += 1;
    } while (token !== '');
    assert.deepEqual(keys, ['k0', 'k1', 'k2', 'k3', 'k4']);
    assert.equal(pages, 3);
    assert.equal(
      (await rejection(w.views.selector('alice', 'analytics', 2, 'forged'))).code,
      'selector.invalid_page_token',
    );
    assert.equal(
      (await rejection(w.views.selector('alice', 'analytics', 99999, ''))).code,
      'selector.invalid_page_size',
    );
  });

  test('paging through a large listing gives each key exactly once, lists each Vault once, and survives keys added behind it', async (t) => {
    const w = await world(t);
    const seed = (scope: string, prefix: string, n: number, deleted = false) =>
      w.pool.query(
        `INSERT INTO secrets (scope, key, current_version, updated_by, deleted_at)
         SELECT $1, $2 || lpad(i::text, 5, '0'), 1, 'seed', CASE WHEN $4 THEN now() END FROM generate_series(1, $3) i`,
        [scope, prefix, n, deleted],
      );
    await seed('analytics', 'own_', 2500);
    await seed('analytics', 'gone_', 3, true);
    await seed('global', 'shared_', 300);
    await seed('finance', 'theirs_', 10);
    for (let n = 0; n < 700; n++) {
      await vault.putSecret('secret', `${w.base}/va_${String(n).padStart(4, '0')}`, { value: 'vault-value' });
      await vault.putSecret('secret', `${w.base}/b/vb_${String(n).padStart(4, '0')}`, { value: 'vault-value' });
    }
    // The same key in two sources is two entries.
    await vault.putSecret('secret', `${w.base}/own_00001`, { value: 'vault-value' });
    const a = await create(w, 'vault-a');
    const b = await create(w, 'vault-b', { path: `/v1/secret/data/${w.base}/b` });
    const expected = 2500 + 300 + 701 + 700;
    const id = (e: { sourceId: string; key: string }) => `${e.sourceId}/${e.key}`;
    const lists = () =>
      vault
        .requests()
        .filter((r) => r.path.includes(`/metadata/${w.base}`) && (r.method === 'LIST' || r.query['list'] !== undefined))
        .length;

    const whole = await w.views.selector('alice', 'analytics', 5000, '');
    assert.equal(whole.entries.length, expected);
    assert.equal(whole.nextPageToken, '');
    assert.deepEqual(
      [...new Set(whole.entries.map((e) => e.sourceId))],
      ['analytics', 'global', a.id, b.id],
      'the domain’s keys, then global, then each integration (by name)',
    );

    // Another replica (no listings of its own) may answer any page.
    const other = new CatalogViewService({
      store: new PostgresSecretStore(w.pool),
      integrations: w.repo,
      sources: w.sources,
      dependents: w.dependents,
      authorizer: new FakeAuthorizer(() => ALLOW),
      backend: 'database',
    });
    for (const [size, replicas] of [
      [997, [w.views]],
      [0, [w.views]],
      [613, [w.views, other]],
    ] as const) {
      vault.clearRequests();
      const seen: string[] = [];
      let token = '';
      let pages = 0;
      do {
        const page = await replicas[pages % replicas.length]!.selector('alice', 'analytics', size, token);
        assert.ok(page.entries.length <= (size || 1000));
        seen.push(...page.entries.map(id));
        token = page.nextPageToken;
        pages += 1;
      } while (token !== '');
      assert.equal(pages, Math.ceil(expected / (size || 1000)), `page size ${size}`);
      assert.deepEqual(seen, whole.entries.map(id), `page size ${size}: each key once, in order`);
      if (replicas.length === 1)
        assert.equal(lists(), 2, `page size ${size}: each Vault listed once, on the first page`);
    }

    // A key added behind the position of the next page neither shifts nor repeats what follows.
    const first = await w.views.selector('alice', 'analytics', 1000, '');
    await w.secrets.put('alice', {
      scope: { domain: 'analytics', global: false },
      key: 'aaa_late',
      value: Buffer.from('late-value'),
      description: '',
    });
    const rest: string[] = [];
    let token = first.nextPageToken;
    while (token !== '') {
      const page = await w.views.selector('alice', 'analytics', 1000, token);
      rest.push(...page.entries.map(id));
      token = page.nextPageToken;
    }
    const all = [...first.entries.map(id), ...rest];
    assert.equal(new Set(all).size, all.length, 'no key twice');
    assert.deepEqual(all, whole.entries.map(id));

    // A token continues only the domain it was given for.
    const err = await rejection(w.views.selector('alice', 'finance', 1000, first.nextPageToken));
    assert.equal(err.code, 'selector.invalid_page_token');
    assert.match(err.message, /continues the selector of domain "analytics", not finance/);
  });

  test('the inventory counts each secret’s workloads, flags unreferenced ones, and lists users of one key', async (t) => {
    const w = await world(t);
    const scope = { domain: 'analytics', global: false };
    await w.secrets.put('alice', { scope, key: 'used', value: Buffer.from('used-value'), description: '' });
    await w.secrets.put('alice', { scope, key: 'idle', value: Buffer.from('idle-value'), description: '' });
    w.dependents.refs.set('MANAGED|analytics|used', ['analytics/a', 'analytics/b']);
    const all = await w.views.inventory('alice', scope, '');
    assert.deepEqual(
      all.map((e) => [
        e.secret.key,
        e.secret.version,
        e.secret.updatedBy,
        e.workloadCount,
        e.unreferenced,
        e.workloads,
      ]),
      [
        ['idle', 1, 'alice', 0, true, []],
        ['used', 1, 'alice', 2, false, []],
      ],
    );
    const one = await w.views.inventory('alice', scope, 'used');
    assert.deepEqual(one[0]?.workloads, ['analytics/a', 'analytics/b']);
    assert.equal((await rejection(w.views.inventory('alice', scope, 'ghost'))).code, 'secret.not_found');
  });
});
