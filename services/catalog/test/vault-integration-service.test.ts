/** VaultIntegrationService: create, get, update, delete and test an integration; bad input; its audit records and credentials. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import type { AuditRecord } from '@latchkey/events';
import { FakeAuthorizer } from '@latchkey/testing';
import { DatabaseValueBackend } from '../src/adapters/database-value-backend.js';
import { rotateKek } from '../src/adapters/kek-rotation.js';
import type { RawVaultSettings } from '../src/domain/vault/vault-integration-service.js';
import { rejection } from './support.js';
import {
  ALLOW,
  DENY,
  vault,
  useVaultWorld,
  world,
  type World,
  settings,
  create,
  dump,
  integrationCount,
} from './vault-world.js';

useVaultWorld();

describe('vault integrations: happy paths', () => {
  test('create stores the credential only encrypted; get and list never carry it', async (t) => {
    const w = await world(t);
    const created = await create(w);
    assert.match(created.id, /^[0-9a-f-]{36}$/);
    assert.equal(created.bundle, 'team-vault');
    assert.equal(created.layout, 'children');
    const got = await w.integrations.get('alice', 'analytics', 'team-vault');
    assert.deepEqual(await w.integrations.get('alice', 'analytics', created.id), got);
    const listed = await w.integrations.list('alice', 'analytics');
    assert.deepEqual(
      listed.map((i) => i.name),
      ['team-vault'],
    );
    for (const view of [JSON.stringify(created), JSON.stringify(got), JSON.stringify(listed), inspect(got)]) {
      assert.ok(!view.includes(w.token), 'the token is never returned');
    }
    const rows = await dump(w.pool);
    assert.ok(!rows.includes(w.token), 'the token is not in any row');
    assert.ok(!rows.includes(Buffer.from(w.token).toString('hex')), 'nor in hex');
    assert.equal((await w.repo.credential(created.id))?.toString(), w.token);
  });

  test('update renames, moves the path and replaces the credential; the connection is rebuilt', async (t) => {
    const w = await world(t);
    const i = await create(w);
    const other = `${w.base}-b`;
    const token2 = await vault.addToken([`secret/data/${other}`, `secret/metadata/${other}`]);
    await vault.putSecret('secret', `${other}/k`, { value: 'moved-value' });
    const u = await w.integrations.update('alice', 'analytics', 'team-vault', {
      name: 'renamed',
      path: `/v1/secret/data/${other}`,
      credential: Buffer.from(token2),
    });
    assert.equal(u.name, 'renamed');
    assert.equal(u.id, i.id);
    assert.equal(u.updatedBy, 'alice');
    const [a] = await w.secrets.readValues([
      { refId: 'a', key: 'k', scope: 'analytics', fallbackToGlobal: false, sourceType: 'VAULT', integrationId: i.id },
    ]);
    assert.ok(a?.found);
    assert.equal(a.value.toString(), 'moved-value');
  });

  test('test reports ok with the number of keys, for saved and unsaved settings', async (t) => {
    const w = await world(t);
    await vault.putSecret('secret', `${w.base}/a`, { value: 'x1x1' });
    await vault.putSecret('secret', `${w.base}/b`, { value: 'x2x2' });
    await create(w);
    assert.deepEqual(await w.integrations.test('alice', 'analytics', { integration: 'team-vault' }), {
      outcome: 'ok',
      keys: 2,
    });
    assert.deepEqual(await w.integrations.test('alice', 'analytics', { settings: settings(w) }), {
      outcome: 'ok',
      keys: 2,
    });
    assert.equal(await integrationCount(w.pool), 1, 'testing unsaved settings saves nothing');
  });
});

describe('vault integrations: bad input changes nothing', () => {
  const cases: [string, (w: World) => Promise<unknown>, string, RegExp][] = [
    ['a bad name', (w) => create(w, 'bad name!'), 'vault.invalid_name', /1-63 letters/],
    [
      'a path that is not KV v2',
      (w) => create(w, 'x', { path: '/v1/secret/team' }),
      'vault.not_kv2',
      /KV v2 path looks like \/v1\/secret\/data\/team\/app/,
    ],
    ['a host that is not a URL', (w) => create(w, 'x', { host: 'vault:8200' }), 'vault.invalid_host', /http\(s\) URL/],
    [
      'an unknown auth method',
      (w) => create(w, 'x', { authMethod: 'ldap' }),
      'vault.invalid_auth_method',
      /token or approle/,
    ],
    [
      'AppRole without a role id',
      (w) => create(w, 'x', { authMethod: 'approle' }),
      'vault.role_id_required',
      /--role-id/,
    ],
    [
      'no credential',
      (w) => create(w, 'x', { credential: Buffer.alloc(0) }),
      'vault.credential_missing',
      /standard input/,
    ],
    [
      'a credential with a line break',
      (w) => create(w, 'x', { credential: Buffer.from('tok\nen') }),
      'vault.credential_invalid',
      /not shown here/,
    ],
    ['an unknown layout', (w) => create(w, 'x', { layout: 'tree' }), 'vault.invalid_layout', /children .* or fields/],
    [
      'a bundle that does not exist',
      (w) => w.integrations.create('alice', { domain: 'analytics', name: 'x', bundle: 'nope', settings: settings(w) }),
      'bundle.not_found',
      /latchkey bundle create nope --domain analytics/,
    ],
  ];

  for (const [what, act, code, message] of cases) {
    test(`create with ${what} is refused with ${code}`, async (t) => {
      const w = await world(t);
      const err = await rejection(act(w));
      assert.equal(err.code, code);
      assert.match(err.message, message);
      assert.ok(!err.message.includes(w.token));
      assert.equal(await integrationCount(w.pool), 0);
    });
  }

  test('a second integration of the same name is refused; the first is untouched', async (t) => {
    const w = await world(t);
    const first = await create(w);
    const err = await rejection(create(w, 'team-vault', { path: '/v1/secret/data/elsewhere' }));
    assert.equal(err.code, 'vault.integration_exists');
    assert.equal((await w.integrations.get('alice', 'analytics', 'team-vault')).path, first.path);
  });

  test('seed rule: an integration’s bundle is fixed at creation (changing it is refused, saying how to move)', async (t) => {
    const w = await world(t);
    await create(w);
    const err = await rejection(w.integrations.update('alice', 'analytics', 'team-vault', { bundle: 'other' }));
    assert.equal(err.code, 'vault.bundle_fixed');
    assert.match(err.message, /create a new integration with --bundle other and delete this one/);
    assert.equal((await w.integrations.get('alice', 'analytics', 'team-vault')).bundle, 'team-vault');
  });

  test('switching to AppRole without its secret id is refused', async (t) => {
    const w = await world(t);
    await create(w);
    const err = await rejection(
      w.integrations.update('alice', 'analytics', 'team-vault', { authMethod: 'approle', roleId: 'r1' }),
    );
    assert.equal(err.code, 'vault.credential_missing');
    assert.equal((await w.integrations.get('alice', 'analytics', 'team-vault')).authMethod, 'token');
  });

  test('moving an integration to another host without its credential is refused: the stored one never goes to a new host', async (t) => {
    const w = await world(t);
    const i = await create(w);
    const err = await rejection(
      w.integrations.update('alice', 'analytics', 'team-vault', { host: 'https://attacker.example:8200' }),
    );
    assert.equal(err.code, 'vault.credential_missing');
    assert.match(err.message, /changing the host needs the credential again/);
    assert.equal((await w.integrations.get('alice', 'analytics', 'team-vault')).host, i.host);
    // The same host, or a new one with its credential, is accepted.
    await w.integrations.update('alice', 'analytics', 'team-vault', { host: i.host, namespace: '' });
    const moved = await w.integrations.update('alice', 'analytics', 'team-vault', {
      host: 'http://127.0.0.1:1',
      credential: Buffer.from('another-token'),
    });
    assert.equal(moved.host, 'http://127.0.0.1:1');
  });

  test('an update that read the integration before someone moved it to another host cannot keep the new credential for the old host', async (t) => {
    const w = await world(t);
    const i = await create(w);
    // Admin A moved it with the new host's credential...
    await w.integrations.update('alice', 'analytics', 'team-vault', {
      host: 'http://127.0.0.1:1',
      credential: Buffer.from('new-host-token'),
    });
    // ...while update B, which had read the old host, writes its settings without a credential.
    const res = await w.repo.update(
      i.id,
      {
        name: i.name,
        host: i.host,
        path: 'elsewhere',
        namespace: i.namespace,
        authMethod: i.authMethod,
        roleId: i.roleId,
        layout: i.layout,
      },
      undefined,
      'bob',
    );
    assert.equal(res, 'credential_needed');
    const now = await w.integrations.get('alice', 'analytics', 'team-vault');
    assert.deepEqual([now.host, now.path], ['http://127.0.0.1:1', i.path], 'nothing was written');
    assert.equal(await w.repo.update(randomUUID(), { ...now, name: now.name }, undefined, 'bob'), undefined);
  });

  test('delete is refused while workloads reference the integration, and lists them', async (t) => {
    const w = await world(t);
    const i = await create(w);
    w.dependents.refs.set(`VAULT|${i.id}|db_password`, ['analytics/etl', 'analytics/nightly']);
    const err = await rejection(w.integrations.delete('alice', 'analytics', 'team-vault', false));
    assert.equal(err.code, 'vault.integration_in_use');
    assert.match(err.message, /analytics\/etl, analytics\/nightly/);
    assert.match(err.message, /--force/);
    assert.equal(await integrationCount(w.pool), 1);
  });

  test('delete checks its dependents and fences the integration in one call to the deployer, deletes, then lifts the fence', async (t) => {
    const w = await world(t);
    const i = await create(w);
    let seenBetween: number | undefined;
    w.dependents.betweenCheckAndDelete = async () => {
      // Between the check and the delete: the integration is still here, and fenced.
      seenBetween = await integrationCount(w.pool);
      assert.equal(w.dependents.fences.size, 1);
    };
    await w.integrations.delete('alice', 'analytics', 'team-vault', false);
    assert.equal(seenBetween, 1);
    assert.equal(w.dependents.calls.length, 2);
    assert.equal(w.dependents.calls[0], `begin VAULT|${i.id}| force=false`);
    assert.match(w.dependents.calls[1] ?? '', /^end [0-9a-f-]{36}$/);
    assert.equal(w.dependents.fences.size, 0, 'the fence was lifted');
    assert.equal(await integrationCount(w.pool), 0);
  });

  test('an unknown integration is not found, naming how to list them', async (t) => {
    const w = await world(t);
    const err = await rejection(w.integrations.get('alice', 'analytics', 'ghost'));
    assert.equal(err.code, 'vault.integration_not_found');
    assert.match(err.message, /latchkey vault list --domain analytics/);
  });

  test('a denied principal changes nothing and learns nothing', async (t) => {
    const w = await world(t, new FakeAuthorizer(() => DENY));
    const err = await rejection(create(w));
    assert.equal(err.code, 'ras.permission_denied');
    assert.equal(await integrationCount(w.pool), 0);
    assert.equal((await rejection(w.integrations.list('bob', 'analytics'))).code, 'ras.permission_denied');
  });
});

describe('vault integrations: failures', () => {
  test('test names each failure: bad credentials, no permission, sealed, unreachable, not KV v2', async (t) => {
    const w = await world(t);
    const outcome = async (over: Partial<RawVaultSettings>) =>
      w.integrations.test('alice', 'analytics', { settings: settings(w, over) });
    const bad = await outcome({ credential: Buffer.from('hvs.not-a-real-token') });
    assert.equal(bad.outcome, 'bad_credentials');
    const narrow = await vault.addToken(['secret/data/elsewhere']);
    assert.equal((await outcome({ credential: Buffer.from(narrow) })).outcome, 'no_permission');
    assert.equal(
      (await outcome({ path: '/v1/nomount/data/x', credential: Buffer.from(vault.rootToken) })).outcome,
      'not_kv2',
    );
    vault.seal(true);
    try {
      assert.equal((await outcome({})).outcome, 'sealed');
    } finally {
      vault.seal(false);
    }
    const unreachable = await outcome({ host: 'http://127.0.0.1:1' });
    assert.equal(unreachable.outcome, 'unreachable');
    for (const o of [bad, unreachable]) {
      assert.ok(!JSON.stringify(o).includes('hvs.not-a-real-token'));
      assert.ok(!JSON.stringify(o).includes(w.token));
    }
  });
});

describe('KEK rotation', () => {
  test('rotating the KEK re-wraps integration credentials; the old KEK leaves the key file', async (t) => {
    const w = await world(t);
    const i = await create(w);
    const before = w.keks.current().id;
    const r = await rotateKek(w.pool, w.keks, [new DatabaseValueBackend(w.pool, w.keks), w.repo]);
    assert.equal(r.rewrapped, 1);
    assert.deepEqual(r.retired, [before]);
    assert.ok(!(await readFile(w.kekFile, 'utf8')).includes(before));
    assert.equal((await w.repo.credential(i.id))?.toString(), w.token);
  });
});

test('creating, updating and deleting an integration each write an audit record in the change transaction, never the credential', async (t) => {
  const authorizer = new FakeAuthorizer(() => ALLOW);
  const w = await world(t, authorizer);
  const created = await w.integrations.create('alice', {
    domain: 'analytics',
    name: 'team-vault',
    bundle: 'team-vault',
    settings: settings(w),
    requestId: 'req-create',
  });
  const newToken = await vault.addToken([`secret/data/${w.base}`, `secret/metadata/${w.base}`]);
  await w.integrations.update(
    'alice',
    'analytics',
    'team-vault',
    { name: 'renamed', credential: Buffer.from(newToken) },
    'req-update',
  );
  await w.integrations.delete('olive', 'analytics', 'renamed', false, 'req-delete');
  // A create that changes nothing (the name is taken) writes nothing.
  await create(w, 'other');
  await rejection(create(w, 'other'));

  const { rows } = await w.pool.query<{ subject: string; data: AuditRecord }>(
    "SELECT subject, data FROM outbox WHERE subject LIKE 'latchkey.audit.%' ORDER BY seq",
  );
  assert.deepEqual(
    rows.map((r) => [r.subject, r.data.actor, r.data.action, r.data.resource, r.data.outcome, r.data.requestId]),
    [
      ['latchkey.audit.catalog.analytics', 'alice', 'vault.create', 'vault:team-vault', 'ok', 'req-create'],
      ['latchkey.audit.catalog.analytics', 'alice', 'vault.update', 'vault:renamed', 'ok', 'req-update'],
      ['latchkey.audit.catalog.analytics', 'olive', 'vault.delete', 'vault:renamed', 'ok', 'req-delete'],
      ['latchkey.audit.catalog.analytics', 'alice', 'vault.create', 'vault:other', 'ok', ''],
    ],
  );
  assert.deepEqual(
    rows.slice(0, 3).map((r) => r.data.reason),
    [
      `integration ${created.id}, bundle team-vault, token auth`,
      `integration ${created.id}, credential replaced`,
      `integration ${created.id}`,
    ],
  );
  const text = JSON.stringify(rows);
  assert.ok(!text.includes(w.token) && !text.includes(newToken), 'no credential in an audit record');
  // Each change's decisions carry its request id: MANAGE_VAULT creates; a role in the domain, then UPDATE on the bundle, change.
  assert.deepEqual(
    authorizer.asked.filter((q) => q.requestId !== undefined).map((q) => [q.action, q.resource ?? '', q.requestId]),
    [
      ['vault.manage', '', 'req-create'],
      ['secret.list', '', 'req-update'],
      ['bundle.update', 'team-vault', 'req-update'],
      ['secret.list', '', 'req-delete'],
      ['bundle.update', 'team-vault', 'req-delete'],
    ],
  );
});
