import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { trace } from '@opentelemetry/api';
import { type Pool } from '@latchkey/db';
import {
  auditRecord,
  eventTypes,
  subjects,
  type ReferenceSpec,
  type ResolvedVersion,
  type SecretChanged,
  type WorkloadStale,
} from '@latchkey/events';
import { initTracing, inSpan } from '@latchkey/logger';
import { PostgresStalenessStore, partitionStart } from '../src/adapters/postgres-staleness-store.js';
import { PostgresWorkloadRepo } from '../src/adapters/postgres-workload-repo.js';
import type { DeploymentRecord, WorkloadRecord } from '../src/domain/deployment-types.js';
import { migratedPool, rotated, usePostgres } from './deployer-test-support.js';

const postgres = usePostgres();

/** A fresh migrated database with the repo over it, closed when the test ends. */
async function freshRepo(t: TestContext): Promise<{ pool: Pool; repo: PostgresWorkloadRepo }> {
  const pool = await migratedPool(t, postgres(), 'deployer');
  return { pool, repo: new PostgresWorkloadRepo(pool) };
}

/** A managed reference and the version its deployment received. */
function managed(scope: string, key: string, version: number): { ref: ReferenceSpec; got: ResolvedVersion } {
  const refId = `MANAGED:${scope}:${key}`;
  return {
    ref: { refId, key, sourceType: 'MANAGED', sourceId: scope, legacy: false },
    got: { refId, key, sourceType: 'MANAGED', scope, version },
  };
}

/** A legacy `${secrets.KEY}` in a workload of `domain`, answered by `answeredBy` (the domain or global). */
function legacy(domain: string, key: string, answeredBy: string, version: number) {
  const refId = `LEGACY:${key}`;
  return {
    ref: { refId, key, sourceType: 'MANAGED', sourceId: domain, legacy: true } satisfies ReferenceSpec,
    got: { refId, key, sourceType: 'MANAGED', scope: answeredBy, version } satisfies ResolvedVersion,
  };
}

async function workload(repo: PostgresWorkloadRepo, domain: string, name: string): Promise<WorkloadRecord> {
  return repo.upsertWorkload(domain, { name, kind: 'COMPUTE', envVars: {}, sparkConf: {} }, []);
}

/** A workload whose live (last) deployment received exactly `refs`. */
async function deployed(
  repo: PostgresWorkloadRepo,
  domain: string,
  name: string,
  refs: { ref: ReferenceSpec; got: ResolvedVersion }[],
): Promise<{ workload: WorkloadRecord; deployment: DeploymentRecord }> {
  const w = await workload(repo, domain, name);
  const d = await repo.createDeployment(
    w,
    'admin',
    refs.map((r) => r.ref),
  );
  const claimed = await repo.claimForStart(
    `resolved:${d.id}`,
    d.id,
    'runner-1',
    refs.map((r) => r.got),
  );
  assert.ok(claimed, 'the deployment could be claimed');
  await repo.markDeployed(claimed.deployment, 4242);
  const after = await repo.getWorkload(domain, name);
  assert.equal(after?.lastDeploymentId, d.id, 'the deployment is the live one');
  return { workload: after, deployment: claimed.deployment };
}

async function staleRows(pool: Pool): Promise<{ id: string; subject: string; type: string; data: WorkloadStale }[]> {
  const { rows } = await pool.query<{ id: string; subject: string; type: string; data: WorkloadStale }>(
    `SELECT id, subject, type, data FROM outbox WHERE type = $1 ORDER BY seq`,
    [eventTypes.stale],
  );
  return rows;
}

/**
 * An event id without its partition (`stale:<event>:<domain>:<partition>.<n>` ->
 * `...:<domain>:<n>`): which partition marks a dependent depends on its random
 * deployment id.
 */
const withoutPartition = (id: string) => id.replace(/:\d+\.(\d+)$/, ':$1');

/** Each workload the queued workload.stale events name, with its event's domain and change. */
async function staleEntries(pool: Pool) {
  return (await staleRows(pool)).flatMap((r) =>
    r.data.workloads.map((w) => ({ ...w, domain: r.data.domain, changed: r.data.changed })),
  );
}

const staleNames = async (pool: Pool) =>
  (await pool.query<{ name: string }>('SELECT name FROM workloads WHERE stale ORDER BY name')).rows.map((r) => r.name);

test('claimForStart claims a deployment once: a second claim gets nothing, by the same or another event id', async (t) => {
  const { pool, repo } = await freshRepo(t);
  const w = await workload(repo, 'analytics', 'etl');
  const ref = managed('analytics', 'db_password', 3);
  const d = await repo.createDeployment(w, 'admin', [ref.ref]);
  assert.equal(d.status, 'resolving');

  const first = await repo.claimForStart('evt-1', d.id, 'runner-a', [ref.got]);
  assert.ok(first);
  assert.equal(first.deployment.status, 'starting');
  assert.equal(first.workload.id, w.id);
  assert.deepEqual(first.deployment.versions, [ref.got]);

  assert.equal(await repo.claimForStart('evt-1', d.id, 'runner-b', [ref.got]), undefined, 'a redelivery');
  assert.equal(await repo.claimForStart('evt-2', d.id, 'runner-b', [ref.got]), undefined, 'a second event');

  const { rows } = await pool.query<{ runner: string; status: string }>(
    'SELECT runner, status FROM deployments WHERE id = $1',
    [d.id],
  );
  assert.deepEqual(rows, [{ runner: 'runner-a', status: 'starting' }]);
  const versions = await pool.query('SELECT * FROM deployment_versions WHERE deployment_id = $1', [d.id]);
  assert.equal(versions.rowCount, 1, 'the versions are recorded once');
});

test('a newer version marks stale exactly the workloads that received an older one, once per event', async (t) => {
  const { pool, repo } = await freshRepo(t);
  const older = await deployed(repo, 'analytics', 'older', [
    managed('analytics', 'db_password', 1),
    managed('analytics', 'api_token', 4),
  ]);
  await deployed(repo, 'analytics', 'current', [managed('analytics', 'db_password', 2)]);
  await deployed(repo, 'analytics', 'unrelated', [managed('analytics', 'api_token', 1)]);
  const outboxBefore = (await pool.query('SELECT 1 FROM outbox')).rowCount ?? 0;

  const change = rotated('analytics', 'db_password', 2);
  const eventId = `secret.updated:analytics/db_password/2`;
  assert.deepEqual(await repo.markStale(eventId, change), { marked: 1, events: 1 });
  assert.deepEqual(await staleNames(pool), ['older']);
  const w = await repo.getWorkload('analytics', 'older');
  assert.deepEqual(w?.staleReasons, [
    { scope: 'analytics', key: 'db_password', deployedVersion: 1, currentVersion: 2, change: 'updated' },
  ]);
  const rows = await staleRows(pool);
  assert.equal(rows.length, 1);
  assert.equal(withoutPartition(rows[0]?.id ?? ''), `stale:${eventId}:analytics:0`);
  assert.equal(rows[0]?.subject, subjects.stale('analytics'));
  assert.deepEqual(rows[0]?.data, {
    domain: 'analytics',
    changed: { scope: 'analytics', key: 'db_password', currentVersion: 2, change: 'updated' },
    workloads: [{ workloadId: older.workload.id, workload: 'older', deployedVersion: 1, redeployMode: 'manual' }],
  });

  // The same event delivered again changes nothing and writes nothing.
  assert.deepEqual(await repo.markStale(eventId, change), { marked: 0, events: 0 });
  assert.deepEqual(await staleNames(pool), ['older']);
  assert.deepEqual((await repo.getWorkload('analytics', 'older'))?.staleReasons, w?.staleReasons);
  assert.equal((await pool.query('SELECT 1 FROM outbox')).rowCount, outboxBefore + 1);
});

test('a domain secret created marks the workloads of that domain whose legacy placeholder global scope answered', async (t) => {
  const { pool, repo } = await freshRepo(t);
  const shadowed = await deployed(repo, 'analytics', 'legacy-global', [legacy('analytics', 'api_token', 'global', 3)]);
  // Not affected: a legacy placeholder in another domain, and a structured reference to the global secret.
  await deployed(repo, 'finance', 'legacy-global-elsewhere', [legacy('finance', 'api_token', 'global', 3)]);
  await deployed(repo, 'analytics', 'structured-global', [managed('global', 'api_token', 3)]);

  const change: SecretChanged = {
    scope: 'analytics',
    key: 'api_token',
    source: 'MANAGED',
    version: 1,
    change: 'created',
    by: 'admin',
  };
  assert.deepEqual(await repo.markStale(`secret.created:analytics/api_token/1`, change), { marked: 1, events: 1 });
  const marked = await staleEntries(pool);
  assert.deepEqual(
    marked.map((m) => [m.workloadId, m.workload, m.domain, m.deployedVersion]),
    [[shadowed.workload.id, 'legacy-global', 'analytics', 3]],
  );
  assert.deepEqual(marked[0]?.changed, { scope: 'analytics', key: 'api_token', currentVersion: 1, change: 'created' });
  assert.deepEqual(await staleNames(pool), ['legacy-global']);
});

test('markFailed fails only deployments still resolving or starting', async (t) => {
  const { pool, repo } = await freshRepo(t);
  const w = await workload(repo, 'analytics', 'etl');
  const ref = managed('analytics', 'db_password', 1);

  const resolving = await repo.createDeployment(w, 'admin', [ref.ref]);
  const starting = await repo.createDeployment(w, 'admin', [ref.ref]);
  assert.ok(await repo.claimForStart(`resolved:${starting.id}`, starting.id, 'runner-1', [ref.got]));
  const live = await deployed(repo, 'analytics', 'etl', [ref]);
  const ended = await repo.createDeployment(w, 'admin', [ref.ref]);
  const endedClaim = await repo.claimForStart(`resolved:${ended.id}`, ended.id, 'runner-1', [ref.got]);
  assert.ok(endedClaim);
  await repo.markDeployed(endedClaim.deployment, 4343);
  await repo.markEnded(ended.id, 'exited', 0);

  assert.equal(await repo.markFailed(resolving, ['secret.not_found: db_password']), true);
  assert.equal(await repo.markFailed(starting, ['runtime.start_failed']), true);
  assert.equal(await repo.markFailed(live.deployment, ['late failure']), false);
  assert.equal(await repo.markFailed(ended, ['late failure']), false);
  assert.equal(await repo.markFailed(resolving, ['again']), false, 'a failed deployment stays as it failed');

  const status = async (d: { id: string }) => (await repo.getDeployment(d.id))?.status;
  assert.equal(await status(resolving), 'failed');
  assert.equal(await status(starting), 'failed');
  assert.equal(await status(live.deployment), 'deployed');
  assert.equal(await status(ended), 'exited');
  assert.deepEqual((await repo.getDeployment(resolving.id))?.reasons, ['secret.not_found: db_password']);

  // One workload.failed event per failed deployment, none for the refused ones.
  const { rows } = await pool.query<{ id: string }>('SELECT id FROM outbox WHERE type = $1 ORDER BY seq', [
    eventTypes.failed,
  ]);
  assert.deepEqual(
    rows.map((r) => r.id),
    [`failed:${resolving.id}`, `failed:${starting.id}`],
  );
});

test('markFailed for a resolution_failed event applies once per event id', async (t) => {
  const { repo } = await freshRepo(t);
  const w = await workload(repo, 'analytics', 'etl');
  const d = await repo.createDeployment(w, 'admin', []);
  const eventId = randomUUID();
  assert.equal(await repo.markFailed(d, ['secret.not_found: a'], eventId), true);
  assert.equal(await repo.markFailed(d, ['secret.not_found: a'], eventId), false);
  assert.deepEqual((await repo.getDeployment(d.id))?.reasons, ['secret.not_found: a']);
});

/** A structured Vault reference and the version its deployment received; `scope` is the integration id. */
function vault(integrationId: string, key: string, version: number): { ref: ReferenceSpec; got: ResolvedVersion } {
  const refId = `VAULT:${integrationId}:${key}`;
  return {
    ref: { refId, key, sourceType: 'VAULT', sourceId: integrationId, legacy: false },
    got: { refId, key, sourceType: 'VAULT', scope: integrationId, version },
  };
}

test("a Vault key's new version marks stale only the workloads holding an older version of that integration's key", async (t) => {
  const { pool, repo } = await freshRepo(t);
  const integration = randomUUID();
  const older = await deployed(repo, 'analytics', 'vault-older', [vault(integration, 'db_password', 2)]);
  await deployed(repo, 'analytics', 'vault-current', [vault(integration, 'db_password', 3)]);
  await deployed(repo, 'analytics', 'other-integration', [vault(randomUUID(), 'db_password', 1)]);
  await deployed(repo, 'analytics', 'other-key', [vault(integration, 'api_token', 1)]);
  // A domain named like the integration id: its managed secret of that key is another secret.
  await deployed(repo, integration, 'managed-lookalike', [managed(integration, 'db_password', 1)]);

  const change: SecretChanged = {
    scope: integration,
    key: 'db_password',
    source: 'VAULT',
    version: 3,
    change: 'updated',
    by: 'vault-watch',
  };
  const eventId = `secret.updated:${integration}/db_password/3`;
  assert.deepEqual(await repo.markStale(eventId, change), { marked: 1, events: 1 });
  assert.deepEqual(await staleEntries(pool), [
    {
      workloadId: older.workload.id,
      workload: 'vault-older',
      domain: 'analytics',
      changed: { scope: integration, key: 'db_password', currentVersion: 3, change: 'updated' },
      deployedVersion: 2,
      redeployMode: 'manual',
    },
  ]);
  assert.deepEqual(await staleNames(pool), ['vault-older']);
  assert.deepEqual(
    (await staleRows(pool)).map((r) => withoutPartition(r.id)),
    [`stale:${eventId}:analytics:0`],
  );
  assert.deepEqual(await repo.markStale(eventId, change), { marked: 0, events: 0 }, 'a redelivery changes nothing');
  assert.deepEqual(await staleNames(pool), ['vault-older']);
});

test('a managed change whose scope equals an integration id leaves Vault references alone, and a Vault change leaves managed ones alone', async (t) => {
  const { pool, repo } = await freshRepo(t);
  const id = randomUUID();
  await deployed(repo, 'analytics', 'vault-user', [vault(id, 'db_password', 1)]);
  const lookalike = await deployed(repo, id, 'managed-user', [managed(id, 'db_password', 1)]);
  const legacyGlobal = await deployed(repo, id, 'legacy-global', [legacy(id, 'db_password', 'global', 4)]);

  // A Vault key appearing in an integration does not shadow a global secret for a domain of that name.
  const vaultCreated: SecretChanged = {
    scope: id,
    key: 'db_password',
    source: 'VAULT',
    version: 9,
    change: 'created',
    by: 'vault-watch',
  };
  assert.deepEqual(await repo.markStale(`secret.created:vault:${id}/db_password/9`, vaultCreated), {
    marked: 1,
    events: 1,
  });
  assert.deepEqual(
    (await staleEntries(pool)).map((m) => m.workload),
    ['vault-user'],
  );

  const managedCreated: SecretChanged = { ...vaultCreated, source: 'MANAGED', version: 5, by: 'admin' };
  const created = await repo.markStale(`secret.created:${id}/db_password/5`, managedCreated);
  // Both in one domain: one event, or one per partition of the live deployments holding them.
  assert.equal(created.marked, 2);
  assert.ok(created.events === 1 || created.events === 2, `${created.events} events`);
  const marked = (await staleEntries(pool)).filter((m) => m.changed.currentVersion === 5);
  assert.deepEqual(marked.map((m) => m.workloadId).sort(), [lookalike.workload.id, legacyGlobal.workload.id].sort());
  assert.deepEqual(await staleNames(pool), ['legacy-global', 'managed-user', 'vault-user']);
  // vault-user was marked once, by the Vault change only.
  assert.deepEqual((await repo.getWorkload('analytics', 'vault-user'))?.staleReasons, [
    { scope: id, key: 'db_password', deployedVersion: 1, currentVersion: 9, change: 'created' },
  ]);
});

test('deleting a Vault key marks every workload holding it, whatever version it holds', async (t) => {
  const { pool, repo } = await freshRepo(t);
  const id = randomUUID();
  await deployed(repo, 'analytics', 'holds-3', [vault(id, 'db_password', 3)]);
  await deployed(repo, 'finance', 'holds-5', [vault(id, 'db_password', 5)]);
  await deployed(repo, id, 'managed-lookalike', [managed(id, 'db_password', 1)]);

  const eventId = `secret.deleted:${id}/db_password/5`;
  const counts = await repo.markStale(eventId, {
    scope: id,
    key: 'db_password',
    source: 'VAULT',
    version: 5,
    change: 'deleted',
    by: 'vault-watch',
  });
  assert.deepEqual(counts, { marked: 2, events: 2 }, 'one event per domain');
  const marked = await staleEntries(pool);
  assert.deepEqual(marked.map((m) => m.workload).sort(), ['holds-3', 'holds-5']);
  assert.deepEqual(
    marked.map((m) => m.changed.currentVersion),
    [0, 0],
  );
  assert.deepEqual((await staleRows(pool)).map((r) => [withoutPartition(r.id), r.subject]).sort(), [
    [`stale:${eventId}:analytics:0`, subjects.stale('analytics')],
    [`stale:${eventId}:finance:0`, subjects.stale('finance')],
  ]);
  assert.deepEqual(await staleNames(pool), ['holds-3', 'holds-5']);
});

test('a rotation with many dependents marks each once and queues events of at most perEvent workloads each, naming each dependent once, carrying the trace', async (t) => {
  const { pool, repo } = await freshRepo(t);
  const dependents = 150;
  const perEvent = 40;
  const ids: string[] = [];
  for (let i = 0; i < dependents; i++) {
    ids.push((await deployed(repo, 'analytics', `job-${i}`, [managed('analytics', 'db_password', 1)])).workload.id);
  }
  await deployed(repo, 'analytics', 'up-to-date', [managed('analytics', 'db_password', 2)]);
  const change = rotated('analytics', 'db_password', 2);
  const eventId = 'secret.updated:analytics/db_password/2';
  const staleness = new PostgresStalenessStore(pool, perEvent, 1);
  initTracing();
  let traceId = '';
  const counts = await inSpan('secret.changed', () => {
    traceId = trace.getActiveSpan()?.spanContext().traceId ?? '';
    return staleness.markStale(eventId, change);
  });
  assert.deepEqual(counts, { marked: dependents, events: Math.ceil(dependents / perEvent) });

  const rows = await staleRows(pool);
  assert.deepEqual(
    rows.map((r) => r.id).sort(),
    [0, 1, 2, 3].map((n) => `stale:${eventId}:analytics:0.${n}`),
  );
  assert.deepEqual(rows.map((r) => r.data.workloads.length).sort(), [30, 40, 40, 40]);
  for (const r of rows) {
    assert.equal(r.subject, subjects.stale('analytics'));
    assert.deepEqual(r.data.changed, { scope: 'analytics', key: 'db_password', currentVersion: 2, change: 'updated' });
  }
  const named = (await staleEntries(pool)).map((m) => m.workloadId);
  assert.deepEqual([...named].sort(), [...ids].sort(), 'each dependent named once, the up-to-date one not');
  for (const m of await staleEntries(pool)) assert.equal(m.deployedVersion, 1);
  const traces = await pool.query<{ trace: Record<string, string> }>('SELECT trace FROM outbox WHERE type = $1', [
    eventTypes.stale,
  ]);
  assert.match(traceId, /^[0-9a-f]{32}$/);
  for (const { trace: headers } of traces.rows)
    assert.match(headers['traceparent'] ?? '', new RegExp(`^00-${traceId}-`));
  const reason = { scope: 'analytics', key: 'db_password', deployedVersion: 1, currentVersion: 2, change: 'updated' };
  assert.deepEqual((await repo.getWorkload('analytics', 'job-0'))?.staleReasons, [reason]);
  assert.equal((await repo.getWorkload('analytics', 'up-to-date'))?.stale, false);

  // Redelivered: nothing changes, nothing more is queued.
  assert.deepEqual(await staleness.markStale(eventId, change), { marked: 0, events: 0 });
  assert.equal((await staleRows(pool)).length, rows.length);
  assert.deepEqual((await repo.getWorkload('analytics', 'job-0'))?.staleReasons, [reason]);
});

test('a rotation is marked in partitions of the live deployment ids, each claimed apart: a redelivery redoes only the partitions that did not commit, and an event handled whole by an older deployer is not redone', async (t) => {
  const { pool, repo } = await freshRepo(t);
  const partitions = 3;
  const perEvent = 5;
  assert.deepEqual(
    [0, 1, 2].map((p) => partitionStart(p, partitions)),
    [
      '00000000-0000-0000-0000-000000000000',
      '55555555-0000-0000-0000-000000000000',
      'aaaaaaaa-0000-0000-0000-000000000000',
    ],
  );
  const partitionOf = (deploymentId: string) =>
    [2, 1, 0].find((p) => deploymentId >= partitionStart(p, partitions)) ?? 0;
  const byPartition: string[][] = [[], [], []];
  for (let i = 0; i < 40; i++) {
    const { workload: w, deployment } = await deployed(repo, 'analytics', `job-${i}`, [
      managed('analytics', 'db_password', 1),
    ]);
    byPartition[partitionOf(deployment.id)]!.push(w.id);
  }
  const change = rotated('analytics', 'db_password', 2);
  const eventId = 'secret.updated:analytics/db_password/2';
  // The second partition committed on an earlier delivery, the others failed: only its claim is there.
  await pool.query(`INSERT INTO processed_events (consumer, event_id) VALUES ('deployer-secret-changed', $1)`, [
    `${eventId}#2/3`,
  ]);
  const staleness = new PostgresStalenessStore(pool, perEvent, partitions);
  const expected = [...byPartition[0]!, ...byPartition[2]!];
  const events = [0, 2].reduce((n, p) => n + Math.ceil(byPartition[p]!.length / perEvent), 0);
  assert.deepEqual(await staleness.markStale(eventId, change), { marked: expected.length, events });
  const rows = await staleRows(pool);
  for (const r of rows) {
    assert.match(r.id, new RegExp(`^stale:${eventId}:analytics:[02]\\.\\d+$`));
    assert.ok(r.data.workloads.length <= perEvent, `${r.id} names ${r.data.workloads.length} workloads`);
  }
  const named = (await staleEntries(pool)).map((m) => m.workloadId);
  assert.deepEqual([...named].sort(), [...expected].sort(), 'the dependents of the partitions not yet done, each once');
  assert.deepEqual(await staleness.markStale(eventId, change), { marked: 0, events: 0 }, 'every partition is done now');
  assert.equal((await staleRows(pool)).length, rows.length);

  // Version 3's event was handled whole by a deployer before partitions (its claim has no partition): not redone.
  const eventId3 = 'secret.updated:analytics/db_password/3';
  await pool.query(`INSERT INTO processed_events (consumer, event_id) VALUES ('deployer-secret-changed', $1)`, [
    eventId3,
  ]);
  assert.deepEqual(await staleness.markStale(eventId3, rotated('analytics', 'db_password', 3)), {
    marked: 0,
    events: 0,
  });
  assert.equal((await staleRows(pool)).length, rows.length);
});

test('deleting a workload is refused while its deployment runs; once it ended, the workload, its deployments, output and references go, audited', async (t) => {
  const { pool, repo } = await freshRepo(t);
  const db = managed('analytics', 'db_password', 1);
  const { workload: w, deployment: d } = await deployed(repo, 'analytics', 'etl', [db]);
  await repo.upsertWorkload('analytics', { name: 'etl', kind: 'COMPUTE', envVars: {}, sparkConf: {} }, [db.ref]);
  await repo.appendLogs(d.id, [{ seq: 1, stream: 'stdout', line: 'hello' }], 1 << 20);
  const audit = auditRecord({
    service: 'deployer',
    actor: 'alice',
    action: 'workload.delete',
    domain: 'analytics',
    resource: 'workload:etl',
    outcome: 'allow',
  });
  const count = async (sql: string, params: unknown[]) => Number((await pool.query(sql, params)).rows[0].n);
  const audits = () => count('SELECT count(*) AS n FROM outbox WHERE id = $1', [audit.id]);

  const refused = await repo.deleteWorkload(w, audit);
  assert.ok('active' in refused, 'refused while deployed');
  assert.equal(refused.active.id, d.id);
  assert.ok(await repo.getWorkload('analytics', 'etl'), 'nothing was deleted');
  assert.equal(await audits(), 0, 'and nothing audited as deleted');

  await repo.markEnded(d.id, 'stopped', null);
  assert.deepEqual(await repo.deleteWorkload(w, audit), { deleted: true });
  assert.equal(await repo.getWorkload('analytics', 'etl'), undefined);
  assert.equal(await repo.getDeployment(d.id), undefined);
  assert.equal(await count('SELECT count(*) AS n FROM workload_refs WHERE workload_id = $1', [w.id]), 0);
  assert.equal(await count('SELECT count(*) AS n FROM deployment_logs WHERE deployment_id = $1', [d.id]), 0);
  assert.equal(await audits(), 1, 'the audit record is in the outbox with the delete');
  // A second delete of the same (gone) workload changes nothing more.
  assert.deepEqual(await repo.deleteWorkload(w, audit), { deleted: true });
  assert.equal(await audits(), 1);
});
