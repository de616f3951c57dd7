import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { LatchkeyError } from '@latchkey/errors';
import { FakeAuthorizer } from '@latchkey/testing';
import { PostgresReferenceIndex } from '../src/adapters/postgres-reference-index.js';
import { ReferenceIndexService } from '../src/domain/reference-index-service.js';
import { computeSpec, migratedPool, newKeys, replica, TestClock, usePostgres } from './deployer-test-support.js';

const postgres = usePostgres();

const VAULT_ID = '0f5c6a2e-3d41-4b7a-9e08-6c2d1b4a7f35';

async function setup(t: TestContext) {
  const pool = await migratedPool(t, postgres(), 'deployer_fence');
  const r = replica(pool, {
    name: 'deployer-a',
    keys: newKeys(),
    authorizer: new FakeAuthorizer(),
    clock: new TestClock(new Date()),
  });
  const index = new ReferenceIndexService({ index: new PostgresReferenceIndex(pool) });
  const apply = (domain: string, name: string, envVars: Record<string, unknown>) =>
    r.workloads.apply('mia', domain, JSON.stringify({ name, kind: 'COMPUTE', envVars, run: { command: ['run-it'] } }));
  return { pool, r, index, apply };
}

async function beingDeleted(p: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof LatchkeyError, String(err));
    assert.equal(err.code, 'reference.being_deleted');
    assert.equal(err.kind, 'failed_precondition');
    assert.match(err.message, message);
    return true;
  });
}

test('a workload applied between the check and the delete of its key is refused until the delete is over', async (t) => {
  const h = await setup(t);
  // The catalog's check: nothing references analytics/db_password, so the key is fenced.
  const check = await h.index.beginDeletion('MANAGED', 'analytics', ['db_password'], false);
  assert.match(check.deletionId, /^[0-9a-f-]{36}$/);
  assert.deepEqual(check.dependents, [{ key: 'db_password', workloads: [] }]);

  // Between the check and the delete: a new reference to the key, in either form, is refused.
  await beingDeleted(
    h.apply('analytics', 'late', { DB: '${secrets.db_password}' }),
    /^\$\{secrets\.db_password\} reads secret db_password of domain analytics, which is being deleted: nothing was changed/,
  );
  await beingDeleted(
    h.apply('analytics', 'late', { DB: { key: 'db_password', source: { type: 'MANAGED', id: 'analytics' } } }),
    /^reference MANAGED:analytics:db_password reads secret db_password of domain analytics, which is being deleted/,
  );
  assert.equal(await h.r.repo.getWorkload('analytics', 'late'), undefined, 'nothing was stored');
  // Other keys, the global key of that name, and other domains are not fenced.
  await h.apply('analytics', 'global-one', { DB: { key: 'db_password', source: { type: 'MANAGED', id: 'global' } } });
  await h.apply('finance', 'theirs', { DB: '${secrets.db_password}' });
  await h.apply('analytics', 'other', { API: '${secrets.api_token}' });

  // The delete is over: the key may be referenced again (the apply's check then says it does not exist).
  await h.index.endDeletion(check.deletionId);
  await h.apply('analytics', 'late', { DB: '${secrets.db_password}' });
});

test("a global key's fence covers every domain's ${secrets.KEY}, which falls back to it", async (t) => {
  const h = await setup(t);
  const check = await h.index.beginDeletion('MANAGED', 'global', ['api_token'], false);
  assert.notEqual(check.deletionId, '');
  await beingDeleted(
    h.apply('finance', 'late', { T: '${secrets.api_token}' }),
    /reads secret api_token of global scope, which is being deleted/,
  );
  await h.apply('finance', 'domain-one', { T: { key: 'api_token', source: { type: 'MANAGED', id: 'finance' } } });
});

test('a referenced key is not fenced unless the delete is forced; a forced one stops new deployments of its dependents until it is over', async (t) => {
  const h = await setup(t);
  await h.r.workloads.apply('mia', 'analytics', JSON.stringify(computeSpec('etl', 'analytics', ['db_password'])));
  const refused = await h.index.beginDeletion('MANAGED', 'analytics', ['db_password'], false);
  assert.equal(refused.deletionId, '', 'refused: nothing fenced');
  assert.deepEqual(refused.dependents, [{ key: 'db_password', workloads: ['analytics/etl'] }]);
  await h.r.workloads.deploy('mia', 'analytics', 'etl');

  const forced = await h.index.beginDeletion('MANAGED', 'analytics', ['db_password'], true);
  assert.notEqual(forced.deletionId, '');
  assert.deepEqual(forced.dependents, [{ key: 'db_password', workloads: ['analytics/etl'] }]);
  await beingDeleted(h.r.workloads.deploy('mia', 'analytics', 'etl'), /which is being deleted/);
  const results = await h.r.workloads.redeploy('mia', 'analytics', { name: 'etl' }).catch((e: unknown) => e);
  assert.ok(results instanceof LatchkeyError && results.code === 'reference.being_deleted');
  await h.index.endDeletion(forced.deletionId);
  const d = await h.r.workloads.deploy('mia', 'analytics', 'etl');
  assert.equal(d.status, 'resolving');
});

test('a Vault integration being deleted fences every one of its keys', async (t) => {
  const h = await setup(t);
  const check = await h.index.beginDeletion('VAULT', VAULT_ID, [], false);
  assert.notEqual(check.deletionId, '');
  assert.deepEqual(check.dependents, []);
  await beingDeleted(
    h.apply('analytics', 'late', { K: { key: 'anything', source: { type: 'VAULT', id: VAULT_ID } } }),
    new RegExp(`reads Vault integration ${VAULT_ID} \\(key anything\\), which is being deleted`),
  );
  await h.index.endDeletion(check.deletionId);
  await h.apply('analytics', 'late', { K: { key: 'anything', source: { type: 'VAULT', id: VAULT_ID } } });
});

test('a fence the catalog never lifts lapses', async (t) => {
  const h = await setup(t);
  const check = await h.index.beginDeletion('MANAGED', 'analytics', ['db_password'], false);
  await beingDeleted(h.apply('analytics', 'late', { DB: '${secrets.db_password}' }), /being deleted/);
  await h.pool.query("UPDATE deletion_fences SET expires_at = now() - interval '1 second' WHERE id = $1", [
    check.deletionId,
  ]);
  await h.apply('analytics', 'late', { DB: '${secrets.db_password}' });
});

test('applies racing a forced check: every apply that succeeded is among the dependents the check reported', async (t) => {
  const h = await setup(t);
  const names = Array.from({ length: 24 }, (_, i) => `racer-${String(i).padStart(2, '0')}`);
  let check: Awaited<ReturnType<ReferenceIndexService['beginDeletion']>> | undefined;
  const outcomes = await Promise.all(
    names.map(async (name, i) => {
      if (i === names.length / 2) {
        check = await h.index.beginDeletion('MANAGED', 'analytics', ['db_password'], true);
      }
      try {
        await h.apply('analytics', name, { DB: '${secrets.db_password}' });
        return { name, ok: true };
      } catch (err) {
        assert.ok(err instanceof LatchkeyError && err.code === 'reference.being_deleted', String(err));
        return { name, ok: false };
      }
    }),
  );
  assert.ok(check);
  const reported = new Set(check.dependents.flatMap((d) => d.workloads));
  const succeeded = outcomes.filter((o) => o.ok).map((o) => `analytics/${o.name}`);
  for (const w of succeeded) assert.ok(reported.has(w), `${w} was applied but the check did not count it`);
  // And nothing refused was stored.
  const { rows } = await h.pool.query<{ name: string }>('SELECT name FROM workloads ORDER BY name');
  assert.deepEqual(
    rows.map((r) => `analytics/${r.name}`),
    succeeded.sort(),
  );
});
