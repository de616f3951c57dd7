import assert from 'node:assert/strict';
import { copyFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { migrate, type Pool } from '@latchkey/db';
import {
  eventTypes,
  STALE_WORKLOADS_PER_EVENT,
  type ReferenceSpec,
  type ResolvedVersion,
  type SecretChanged,
} from '@latchkey/events';
import { tempDir } from '@latchkey/testing';
import { PostgresReferenceIndex } from '../src/adapters/postgres-reference-index.js';
import { STALE_MARK_PARTITIONS } from '../src/adapters/postgres-staleness-store.js';
import { PostgresWorkloadRepo } from '../src/adapters/postgres-workload-repo.js';
import { ReferenceIndexService } from '../src/domain/reference-index-service.js';
import type { WorkloadService } from '../src/domain/workload-service.js';
import { parseWorkloadSpec, referencesOf } from '../src/domain/workload-spec.js';
import { migratedPool, MIGRATIONS, usePostgres } from './deployer-test-support.js';
import { testWorkloadService } from './deployer-services.js';

const VAULT_A = 'b3c1f0de-8f0a-4c55-9d1e-5a1f2f0c7e11';
const VAULT_B = '5d0e9a7c-2b44-4f3e-8a61-0c9b7f2d4a90';

const postgres = usePostgres();

interface Harness {
  pool: Pool;
  repo: PostgresWorkloadRepo;
  workloads: WorkloadService;
  index: ReferenceIndexService;
  /** Applies a workload through WorkloadService.apply, as ApplyWorkload does. */
  apply(domain: string, spec: object): Promise<void>;
}

async function harness(t: TestContext): Promise<Harness> {
  const pool = await migratedPool(t, postgres(), 'deployer_refs');
  const repo = new PostgresWorkloadRepo(pool);
  const workloads = testWorkloadService(repo);
  const index = new ReferenceIndexService({ index: new PostgresReferenceIndex(pool) });
  return {
    pool,
    repo,
    workloads,
    index,
    apply: async (domain, spec) => {
      await workloads.apply('admin', domain, JSON.stringify(spec));
    },
  };
}

const ref = (type: string, id: string, key: string) => ({ key, source: { type, id } });
// COMPUTE: the one kind whose shape (top-level envVars and sparkConf) is also
// the flat shape every kind was stored in before per-kind payloads.
const spec = (name: string, envVars: Record<string, unknown>, sparkConf: Record<string, unknown> = {}) => ({
  name,
  kind: 'COMPUTE',
  envVars,
  sparkConf,
});

test("a domain key's dependents are its structured references and that domain's legacy placeholders", async (t) => {
  const h = await harness(t);
  await h.apply('analytics', spec('structured', { DB: ref('MANAGED', 'analytics', 'db_password') }));
  await h.apply('analytics', spec('kubernetes-alias', { DB: ref('KUBERNETES', 'analytics', 'db_password') }));
  await h.apply('analytics', spec('legacy', {}, { 'spark.db.url': 'jdbc:pg://u:${secrets.db_password}@db' }));
  // Not dependents: the global key of the same name, another domain's legacy placeholder, another key.
  await h.apply('analytics', spec('global-ref', { DB: ref('MANAGED', 'global', 'db_password') }));
  await h.apply('finance', spec('legacy-elsewhere', { DB: '${secrets.db_password}' }));
  await h.apply('analytics', spec('other-key', { T: ref('MANAGED', 'analytics', 'api_token') }));
  await h.apply('analytics', spec('escaped', { DB: '$${secrets.db_password}' }));

  assert.deepEqual(await h.index.dependents('MANAGED', 'analytics', ['db_password']), [
    { key: 'db_password', workloads: ['analytics/kubernetes-alias', 'analytics/legacy', 'analytics/structured'] },
  ]);
  assert.deepEqual(
    await h.index.dependents('KUBERNETES', 'analytics', ['db_password']),
    await h.index.dependents('MANAGED', 'analytics', ['db_password']),
    'KUBERNETES asks the same as MANAGED',
  );
  assert.deepEqual(await h.index.dependents('MANAGED', 'finance', ['db_password']), [
    { key: 'db_password', workloads: ['finance/legacy-elsewhere'] },
  ]);
});

test("a global key's dependents are its structured references and legacy placeholders in every domain", async (t) => {
  const h = await harness(t);
  await h.apply('analytics', spec('structured', { T: ref('MANAGED', 'global', 'api_token') }));
  await h.apply('analytics', spec('legacy', { T: 'Bearer ${secrets.api_token}' }));
  await h.apply('finance', spec('legacy', { T: '${secrets.api_token}' }));
  // Both ways in one workload: listed once.
  await h.apply('ops', spec('both', { A: ref('MANAGED', 'global', 'api_token'), B: '${secrets.api_token}' }));
  // Not dependents: a domain's structured reference to its own key of that name.
  await h.apply('analytics', spec('domain-ref', { T: ref('MANAGED', 'analytics', 'api_token') }));

  assert.deepEqual(await h.index.dependents('MANAGED', 'global', ['api_token']), [
    { key: 'api_token', workloads: ['analytics/legacy', 'analytics/structured', 'finance/legacy', 'ops/both'] },
  ]);
});

test("a Vault key's dependents are the structured references to that integration only", async (t) => {
  const h = await harness(t);
  await h.apply('analytics', spec('vault-a', { P: ref('VAULT', VAULT_A, 'db_password') }));
  await h.apply('finance', spec('vault-a', {}, { 'spark.pw': ref('VAULT', VAULT_A, 'db_password') }));
  await h.apply('analytics', spec('vault-b', { P: ref('VAULT', VAULT_B, 'db_password') }));
  // A domain may be named like an integration id: its managed key is another secret.
  await h.apply(VAULT_A, spec('managed-lookalike', { P: ref('MANAGED', VAULT_A, 'db_password') }));
  await h.apply(VAULT_A, spec('legacy-lookalike', { P: '${secrets.db_password}' }));

  assert.deepEqual(await h.index.dependents('VAULT', VAULT_A, ['db_password']), [
    { key: 'db_password', workloads: ['analytics/vault-a', 'finance/vault-a'] },
  ]);
  assert.deepEqual(await h.index.dependents('MANAGED', VAULT_A, ['db_password']), [
    { key: 'db_password', workloads: [`${VAULT_A}/legacy-lookalike`, `${VAULT_A}/managed-lookalike`] },
  ]);
});

test('named keys are answered in the order asked, empty when unused; no keys lists every used key of the source', async (t) => {
  const h = await harness(t);
  await h.apply('analytics', spec('etl', { A: ref('MANAGED', 'analytics', 'b_key'), B: '${secrets.a_key}' }));
  await h.apply('analytics', spec('report', { A: ref('MANAGED', 'analytics', 'b_key') }));
  await h.apply('finance', spec('ledger', { A: '${secrets.c_key}' }));
  await h.apply('finance', spec('global-user', { A: ref('MANAGED', 'global', 'g_key') }));

  assert.deepEqual(await h.index.dependents('MANAGED', 'analytics', ['unused', 'b_key', 'b_key', 'a_key']), [
    { key: 'unused', workloads: [] },
    { key: 'b_key', workloads: ['analytics/etl', 'analytics/report'] },
    { key: 'a_key', workloads: ['analytics/etl'] },
  ]);
  assert.deepEqual(await h.index.dependents('MANAGED', 'analytics', []), [
    { key: 'a_key', workloads: ['analytics/etl'] },
    { key: 'b_key', workloads: ['analytics/etl', 'analytics/report'] },
  ]);
  // Every key global scope may answer: its structured references, and every legacy placeholder.
  assert.deepEqual(await h.index.dependents('MANAGED', 'global', []), [
    { key: 'a_key', workloads: ['analytics/etl'] },
    { key: 'c_key', workloads: ['finance/ledger'] },
    { key: 'g_key', workloads: ['finance/global-user'] },
  ]);
  assert.deepEqual(await h.index.dependents('VAULT', VAULT_A, []), []);
});

test('re-applying a workload replaces its references, and deleting it removes them', async (t) => {
  const h = await harness(t);
  await h.apply('analytics', spec('etl', { A: ref('MANAGED', 'analytics', 'old_key'), B: '${secrets.legacy_key}' }));
  await h.apply('analytics', spec('etl', { A: ref('VAULT', VAULT_A, 'new_key') }));

  assert.deepEqual(await h.index.dependents('MANAGED', 'analytics', []), []);
  assert.deepEqual(await h.index.dependents('VAULT', VAULT_A, []), [{ key: 'new_key', workloads: ['analytics/etl'] }]);
  const { rows } = await h.pool.query<{ ref_id: string }>('SELECT ref_id FROM workload_refs');
  assert.deepEqual(
    rows.map((r) => r.ref_id),
    [`VAULT:${VAULT_A}:new_key`],
  );

  await h.pool.query("DELETE FROM workloads WHERE domain = 'analytics' AND name = 'etl'");
  assert.equal((await h.pool.query('SELECT 1 FROM workload_refs')).rowCount, 0);
});

test('a rejected workload leaves the index as it was', async (t) => {
  const h = await harness(t);
  await h.apply('analytics', spec('etl', { A: ref('MANAGED', 'analytics', 'kept') }));
  await assert.rejects(
    h.apply('analytics', spec('etl', { A: ref('MANAGED', 'finance', 'other_domain') })),
    (err: Error & { code?: string }) => err.code === 'workload.invalid',
  );
  assert.deepEqual(await h.index.dependents('MANAGED', 'analytics', []), [
    { key: 'kept', workloads: ['analytics/etl'] },
  ]);
});

test('the migration indexes workloads stored before it exactly as referencesOf does', async (t) => {
  const only001 = await tempDir('deployer-migrations-');
  t.after(() => only001.cleanup());
  await copyFile(join(MIGRATIONS, '001_workloads.sql'), join(only001.path, '001_workloads.sql'));
  const pool = await migratedPool(t, postgres(), 'deployer_refs', only001.path);

  const stored: { id: string; domain: string; json: object }[] = [
    {
      id: '00000000-0000-4000-8000-000000000001',
      domain: 'analytics',
      json: spec(
        'mixed',
        {
          A: ref('KUBERNETES', 'analytics', 'db.password'),
          B: ref('MANAGED', 'analytics', 'db.password'),
          C: ref('VAULT', VAULT_A, 'db.password'),
          D: 'x${secrets.one}y${secrets.two}z${secrets.one}',
          E: 'literal $${secrets.not_a_ref} and $$${secrets.three}',
          F: 42,
        },
        { 'spark.a': ref('MANAGED', 'global', 'g-key_1'), 'spark.b': '${secrets.db.password}' },
      ),
    },
    { id: '00000000-0000-4000-8000-000000000002', domain: 'finance', json: spec('plain', { A: 'no refs' }) },
    {
      id: '00000000-0000-4000-8000-000000000003',
      domain: 'finance',
      json: { name: 'bare', kind: 'COMPUTE' },
    },
  ];
  const expected: (ReferenceSpec & { workloadId: string })[] = [];
  for (const s of stored) {
    const parsed = parseWorkloadSpec(JSON.stringify(s.json), s.domain);
    await pool.query('INSERT INTO workloads (id, domain, name, kind, spec) VALUES ($1, $2, $3, $4, $5)', [
      s.id,
      s.domain,
      parsed.name,
      parsed.kind,
      JSON.stringify(parsed),
    ]);
    for (const r of referencesOf(parsed, s.domain)) expected.push({ workloadId: s.id, ...r });
  }
  // Structured (the alias folded in), Vault, global, legacy twice and once in Spark conf; no escaped one.
  assert.equal(expected.length, 6, 'the fixture exercises every kind of reference');

  const ran = await migrate(pool, MIGRATIONS);
  assert.deepEqual(
    ran,
    (await readdir(MIGRATIONS)).filter((f) => f.endsWith('.sql') && f !== '001_workloads.sql').sort(),
  );
  const { rows } = await pool.query<{
    workload_id: string;
    ref_id: string;
    key: string;
    source_type: 'MANAGED' | 'VAULT';
    source_id: string;
    legacy: boolean;
  }>('SELECT * FROM workload_refs');
  const byId = (a: { workloadId: string; refId: string }, b: { workloadId: string; refId: string }) =>
    `${a.workloadId} ${a.refId}` < `${b.workloadId} ${b.refId}` ? -1 : 1;
  assert.deepEqual(
    rows
      .map((r) => ({
        workloadId: r.workload_id,
        refId: r.ref_id,
        key: r.key,
        sourceType: r.source_type,
        sourceId: r.source_id,
        legacy: r.legacy,
      }))
      .sort(byId),
    expected.sort(byId),
  );
});

/** A workload whose live deployment received `versions`, through the repo's own path. */
async function deployedWith(h: Harness, domain: string, name: string, versions: ResolvedVersion[]) {
  await h.apply(domain, { ...spec(name, {}), run: { command: ['true'] } });
  const w = await h.repo.getWorkload(domain, name);
  assert.ok(w);
  const d = await h.repo.createDeployment(w, 'admin', []);
  const claimed = await h.repo.claimForStart(`resolved:${d.id}`, d.id, 'runner', versions);
  assert.ok(claimed);
  await h.repo.markDeployed(claimed.deployment, 1);
  return w;
}

const vaultVersion = (id: string, key: string, version: number): ResolvedVersion => ({
  refId: `VAULT:${id}:${key}`,
  key,
  sourceType: 'VAULT',
  scope: id,
  version,
});

test('deployed Vault keys are the lowest version of each key a live deployment holds (a newer one in Vault leaves that one stale)', async (t) => {
  const h = await harness(t);
  await deployedWith(h, 'analytics', 'v5', [vaultVersion(VAULT_A, 'db_password', 5)]);
  await deployedWith(h, 'finance', 'v4', [vaultVersion(VAULT_A, 'db_password', 4), vaultVersion(VAULT_B, 'token', 2)]);
  // A MANAGED secret of a domain named like the integration is not a Vault key.
  await deployedWith(h, VAULT_A, 'managed', [
    { refId: `MANAGED:${VAULT_A}:other`, key: 'other', sourceType: 'MANAGED', scope: VAULT_A, version: 9 },
  ]);
  // Newer deployments that never went live do not count: one still starting, one failed.
  const w = await h.repo.getWorkload('analytics', 'v5');
  assert.ok(w);
  const starting = await h.repo.createDeployment(w, 'admin', []);
  assert.ok(await h.repo.claimForStart('e1', starting.id, 'runner', [vaultVersion(VAULT_A, 'db_password', 9)]));
  const failed = await h.repo.createDeployment(w, 'admin', []);
  assert.ok(await h.repo.claimForStart('e2', failed.id, 'runner', [vaultVersion(VAULT_B, 'unlisted', 1)]));
  assert.equal(await h.repo.markFailed(failed, ['runtime.start_failed']), true);

  // v4 is behind v5: a Vault version 5 must still be announced, for v4's sake.
  const expected = [
    { integrationId: VAULT_A, key: 'db_password', version: 4 },
    { integrationId: VAULT_B, key: 'token', version: 2 },
  ].sort((a, b) => (a.integrationId < b.integrationId ? -1 : 1));
  assert.deepEqual(await h.index.deployedVaultKeys(), expected);
});

const managedVersion = (scope: string, key: string, version: number, legacy = false): ResolvedVersion => ({
  refId: legacy ? `LEGACY:${key}` : `MANAGED:${scope}:${key}`,
  key,
  sourceType: 'MANAGED',
  scope,
  version,
});

test('held versions: which version of one key each live deployment received, by the scope that answered; refused input names what is wrong', async (t) => {
  const h = await harness(t);
  await deployedWith(h, 'analytics', 'etl', [managedVersion('analytics', 'db_password', 3)]);
  await deployedWith(h, 'analytics', 'report', [managedVersion('analytics', 'db_password', 1)]);
  // A legacy placeholder the global key answered holds the global key, not the domain's.
  await deployedWith(h, 'finance', 'legacy', [managedVersion('global', 'db_password', 2, true)]);
  await deployedWith(h, 'analytics', 'other-key', [managedVersion('analytics', 'token', 3)]);
  // A deployment that ended holds nothing.
  await deployedWith(h, 'analytics', 'ended', [managedVersion('analytics', 'db_password', 2)]);
  const ended = await h.repo.getWorkload('analytics', 'ended');
  assert.ok(ended?.lastDeploymentId);
  await h.pool.query(`UPDATE deployments SET status = 'exited' WHERE id = $1`, [ended.lastDeploymentId]);
  assert.deepEqual(await h.index.heldVersions('MANAGED', 'analytics', 'db_password'), [
    { workload: 'analytics/etl', version: 3 },
    { workload: 'analytics/report', version: 1 },
  ]);
  assert.deepEqual(await h.index.heldVersions('MANAGED', 'global', 'db_password'), [
    { workload: 'finance/legacy', version: 2 },
  ]);
  assert.deepEqual(await h.index.heldVersions('MANAGED', 'analytics', 'nothing'), []);
  await assert.rejects(h.index.heldVersions('MANAGED', 'Bad Domain', 'k'), { code: 'dependents.invalid_source_id' });
  await assert.rejects(h.index.heldVersions('MANAGED', 'analytics', 'bad key'), { code: 'dependents.invalid_key' });
  await assert.rejects(h.index.heldVersions('FILE', 'analytics', 'k'), { code: 'dependents.invalid_source_type' });
});

test('one key used by 100,000 workloads: all are listed as dependents, their Vault version is found, and a rotation marks all stale', async (t) => {
  const h = await harness(t);
  const n = 100_000;
  // Bulk-loaded (apply and deploy are covered above): the rows they would write.
  await h.pool.query(
    `INSERT INTO workloads (id, domain, name, kind, spec, last_deployment_id)
     SELECT gen_random_uuid(), 'd' || (i % 50), 'w' || lpad(i::text, 6, '0'), 'COMPUTE', '{}', gen_random_uuid()
     FROM generate_series(1, $1::int) i`,
    [n],
  );
  await h.pool.query(
    `INSERT INTO workload_refs (workload_id, ref_id, key, source_type, source_id, legacy)
     SELECT id, 'LEGACY:shared', 'shared', 'MANAGED', domain, true FROM workloads
     UNION ALL
     SELECT id, 'VAULT:' || $1 || ':shared', 'shared', 'VAULT', $1, false FROM workloads`,
    [VAULT_A],
  );
  await h.pool.query(
    `INSERT INTO deployments (id, workload_id, domain, workload_name, principal, status)
     SELECT last_deployment_id, id, domain, name, 'admin', 'deployed' FROM workloads`,
  );
  await h.pool.query(
    `INSERT INTO deployment_versions (deployment_id, ref_id, key, source_type, scope, version)
     SELECT last_deployment_id, 'VAULT:' || $1 || ':shared', 'shared', 'VAULT', $1, 1 + (random() * 5)::int
     FROM workloads`,
    [VAULT_A],
  );
  await h.pool.query(
    `UPDATE deployment_versions SET version = 1 WHERE deployment_id = (SELECT min(id::text)::uuid FROM deployments)`,
  );
  await h.pool.query('ANALYZE');

  const started = Date.now();
  const [global] = await h.index.dependents('MANAGED', 'global', ['shared']);
  t.diagnostic(`dependents of a global key with ${n} legacy users: ${Date.now() - started} ms`);
  assert.ok(global);
  assert.equal(global.workloads.length, n);
  assert.equal(new Set(global.workloads).size, n);
  assert.deepEqual(global.workloads.slice(0, 2), ['d0/w000050', 'd0/w000100']);
  const [vault] = await h.index.dependents('VAULT', VAULT_A, ['shared']);
  assert.equal(vault?.workloads.length, n);
  const [domain] = await h.index.dependents('MANAGED', 'd7', []);
  assert.equal(domain?.workloads.length, n / 50);
  const vaultStarted = Date.now();
  // The lowest version held (one of them holds 1, none less).
  assert.deepEqual(await h.index.deployedVaultKeys(), [{ integrationId: VAULT_A, key: 'shared', version: 1 }]);
  t.diagnostic(`deployed Vault keys over ${n} live deployments: ${Date.now() - vaultStarted} ms`);

  // The catalog's watch then sees version 8 in Vault: every one of them is stale, in one transaction.
  const staleStarted = Date.now();
  const change: SecretChanged = {
    scope: VAULT_A,
    key: 'shared',
    source: 'VAULT',
    version: 8,
    change: 'updated',
    by: 'vault-watch',
  };
  const marked = await h.repo.markStale(`secret.updated:${VAULT_A}/shared/8`, change);
  t.diagnostic(`marking ${n} workloads stale: ${Date.now() - staleStarted} ms`);
  // One event per domain and STALE_WORKLOADS_PER_EVENT dependents in each partition: a domain's last
  // event of a partition may be short, so each domain has at most STALE_MARK_PARTITIONS - 1 events more.
  const domains = 50; // n / 50 workloads each (d0 ... d49)
  const fewest = domains * Math.ceil(n / domains / STALE_WORKLOADS_PER_EVENT);
  assert.equal(marked.marked, n);
  assert.ok(
    marked.events >= fewest && marked.events <= fewest + domains * (STALE_MARK_PARTITIONS - 1),
    `${marked.events} events for ${n} dependents in ${domains} domains`,
  );
  const events = marked.events;
  const counts = await h.pool.query<{ stale: number; events: number; named: number }>(
    `SELECT (SELECT count(*)::int FROM workloads WHERE stale) AS stale,
            (SELECT count(*)::int FROM outbox WHERE type = $1) AS events,
            (SELECT count(DISTINCT w ->> 'workloadId')::int FROM outbox, json_array_elements(data -> 'workloads') w
             WHERE type = $1) AS named`,
    [eventTypes.stale],
  );
  assert.deepEqual(counts.rows[0], { stale: n, events, named: n });
});
