import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createPool, type Pool } from '@latchkey/db';
import { OutboxRelay, STREAM_EVENTS, eventTypes, type WorkloadStale } from '@latchkey/events';
import { silentLogger } from '@latchkey/logger';
import { ConsumerRunner, ensureConsumer } from '@latchkey/nats';
import { FakeAuthorizer, waitFor } from '@latchkey/testing';
import type { Authorizer } from '@latchkey/authz';
import { CLAIM_LOCK } from '../src/adapters/postgres-redeploy-repo.js';
import type { DeploymentRecord } from '../src/domain/deployment-types.js';
import {
  mayNameAutoWorkload,
  WORKLOAD_STALE_CONSUMER,
  workloadStaleConsumer,
} from '../src/transport/events/deployer-consumers.js';
import {
  computeSpec,
  deploymentRows,
  migratedPool,
  newKeys,
  replica,
  resolve,
  rotated,
  TestClock,
  type Replica,
  testBus,
  usePostgres,
} from './deployer-test-support.js';

const postgres = usePostgres();

const MINUTE = 60_000;

async function setup(t: TestContext, start: string, cooldownMs = MINUTE, scanLimit?: number) {
  const pool = await migratedPool(t, postgres(), 'deployer_auto');
  const keys = newKeys();
  const authorizer = new FakeAuthorizer();
  const clock = new TestClock(new Date(start));
  const r = replica(pool, { name: 'deployer-a', keys, authorizer, clock, cooldownMs, scanLimit });
  /** Applies and deploys (as mia, of group data-eng) workloads holding db_password version 1. */
  const running = async (domain: string, names: string[], policy?: Record<string, unknown>) => {
    for (const name of names) {
      const extra = policy ? { redeployPolicy: policy } : {};
      await r.workloads.apply('mia', domain, JSON.stringify(computeSpec(name, domain, ['db_password'], extra)), [
        'data-eng',
      ]);
      const d = await r.workloads.deploy('mia', domain, name, ['data-eng']);
      await resolve(r, keys, d, { db_password: 1 });
    }
  };
  return { pool, keys, authorizer, clock, r, running };
}

/**
 * Three more replicas over the same database, each with its own
 * connections as separate processes would have, and every workload's id.
 */
async function threeReplicas(t: TestContext, h: Awaited<ReturnType<typeof setup>>) {
  const url = await createTestDatabaseUrl(h.pool);
  const replicas: Replica[] = ['x', 'y', 'z'].map((n) => {
    const pool = createPool(url);
    t.after(() => pool.end());
    return replica(pool, { name: `deployer-${n}`, keys: h.keys, authorizer: h.authorizer, clock: h.clock });
  });
  const ids = (await h.pool.query<{ id: string }>('SELECT id FROM workloads ORDER BY name')).rows.map((r) => r.id);
  return { replicas, ids };
}

/** The workload.stale events queued so far, oldest first. */
async function staleBatches(pool: Pool): Promise<WorkloadStale[]> {
  const { rows } = await pool.query<{ data: WorkloadStale }>('SELECT data FROM outbox WHERE type = $1 ORDER BY seq', [
    eventTypes.stale,
  ]);
  return rows.map((r) => r.data);
}

/** Each workload the queued events name, oldest first, as an event naming it alone (one outcome each). */
async function staleEvents(pool: Pool): Promise<(WorkloadStale & { workload: string })[]> {
  return (await staleBatches(pool)).flatMap((e) =>
    e.workloads.map((w) => ({ ...e, workloads: [w], workload: w.workload })),
  );
}

/** Auto redeploys of a domain now in flight (resolving or starting). */
async function inFlight(pool: Pool, domain: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM deployments
     WHERE domain = $1 AND trigger = 'auto' AND status IN ('resolving', 'starting')`,
    [domain],
  );
  return rows[0]?.n ?? 0;
}

const autoDeployments = async (pool: Pool, name: string) =>
  (await deploymentRows(pool, name)).filter((d) => d.trigger === 'auto');

test('the workload.stale events markStale writes: one naming only manual workloads has no "auto" in its bytes (skipped unparsed), one naming an auto workload has', async (t) => {
  const h = await setup(t, '2025-03-03T12:00:00Z');
  await h.running('analytics', ['implicit']);
  await h.running('analytics', ['explicit'], { mode: 'manual' });
  await h.running('finance', ['auto-one'], { mode: 'auto' });
  await h.running('finance', ['manual-one']);
  await h.r.workloads.onSecretChanged('secret.updated:analytics/db_password/2', rotated('analytics', 'db_password', 2));
  await h.r.workloads.onSecretChanged('secret.updated:finance/db_password/2', rotated('finance', 'db_password', 2));
  const { rows } = await h.pool.query<{ domain: string; body: string }>(
    `SELECT data ->> 'domain' AS domain, data::text AS body FROM outbox WHERE type = $1 ORDER BY seq`,
    [eventTypes.stale],
  );
  assert.ok(rows.length >= 2, `${rows.length} events`);
  for (const row of rows) {
    const ev = JSON.parse(row.body) as WorkloadStale;
    const auto = ev.workloads.some((w) => w.redeployMode === 'auto');
    assert.equal(mayNameAutoWorkload(Buffer.from(row.body)), auto, row.body);
    assert.equal(row.body, JSON.stringify(JSON.parse(row.body)), 'stored compact, as JSON.stringify writes it');
  }
  assert.deepEqual(
    rows.filter((r) => mayNameAutoWorkload(Buffer.from(r.body))).map((r) => r.domain),
    rows.filter((r) => r.domain === 'finance' && r.body.includes('auto-one')).map((r) => r.domain),
  );
  assert.ok(
    rows.some((r) => r.domain === 'analytics'),
    'an analytics event (manual only)',
  );
});

test('one rotation marks each dependent with a manual policy stale once and restarts none of them', async (t) => {
  const h = await setup(t, '2025-03-03T12:00:00Z');
  await h.running('analytics', ['implicit']);
  await h.running('analytics', ['explicit'], { mode: 'manual' });
  await h.r.workloads.apply('mia', 'analytics', JSON.stringify(computeSpec('other', 'analytics', ['api_token'])));
  const startsBefore = h.r.runtime.started.length;

  const change = rotated('analytics', 'db_password', 2);
  assert.equal(await h.r.workloads.onSecretChanged('secret.updated:analytics/db_password/2', change), 2);
  assert.equal(await h.r.workloads.onSecretChanged('secret.updated:analytics/db_password/2', change), 0, 'redelivery');
  const batches = await staleBatches(h.pool);
  // One event per partition of the live deployments that holds any of them (markStale): one or two here.
  assert.ok(batches.length >= 1 && batches.length <= 2, `${batches.length} workload.stale events`);
  const named = batches.flatMap((b) => b.workloads);
  assert.deepEqual(named.map((w) => w.workload).sort(), ['explicit', 'implicit'], 'each named once');
  for (const w of named) assert.equal(w.redeployMode, 'manual', 'the event says the policy is manual');
  const skips = [];
  for (const b of batches) skips.push(...(await h.r.auto.onStale(b)));
  assert.deepEqual(skips, [{ skip: 'not_auto' }, { skip: 'not_auto' }]);
  for (const name of ['implicit', 'explicit']) {
    const w = await h.r.repo.getWorkload('analytics', name);
    assert.equal(w?.stale, true);
    assert.equal(w?.staleReasons.length, 1, `${name} marked once`);
  }
  assert.equal((await h.r.repo.getWorkload('analytics', 'other'))?.stale, false);

  // The policy subscriber hears the events and a scan runs, long after any cooldown.
  const again = [];
  for (const b of batches) again.push(...(await h.r.auto.onStale(b)));
  assert.deepEqual(again, [{ skip: 'not_auto' }, { skip: 'not_auto' }]);
  h.clock.advance(24 * 60 * MINUTE);
  assert.deepEqual(await h.r.auto.scan(), { considered: 0, redeployed: [] });
  assert.equal(h.r.runtime.started.length, startsBefore, 'nothing was started');
  assert.deepEqual(h.r.runtime.stopped, [], 'nothing was stopped');
  const { rows } = await h.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM deployments');
  assert.equal(rows[0]?.n, 2, 'no deployment besides the two first ones');
});

test('an auto policy redeploys only inside its window (UTC range, across midnight, or cron)', async (t) => {
  const h = await setup(t, '2025-03-03T21:00:00Z');
  await h.running('analytics', ['early'], { mode: 'auto', window: '02:00-04:00' });
  await h.running('analytics', ['night'], { mode: 'auto', window: '23:00-01:00' });
  await h.running('analytics', ['cron'], { mode: 'auto', window: '0-9 3 * * MON-FRI' });
  await h.r.workloads.onSecretChanged('rotation', rotated('analytics', 'db_password', 2));
  for (const e of await staleEvents(h.pool)) {
    assert.deepEqual(await h.r.auto.onStale(e), [{ skip: 'outside_window' }], e.workload);
  }
  let current = 2;
  const redeployedAt = async (iso: string) => {
    h.clock.set(iso);
    const res = await h.r.auto.scan();
    assert.ok(res, 'the scan ran');
    for (const d of res.redeployed) await resolve(h.r, h.keys, d, { db_password: current });
    return res.redeployed.map((d) => d.workload).sort();
  };
  assert.deepEqual(await redeployedAt('2025-03-03T22:59:00Z'), []);
  assert.deepEqual(await redeployedAt('2025-03-03T23:00:00Z'), ['night']);
  assert.deepEqual(await redeployedAt('2025-03-04T01:59:59Z'), []);
  assert.deepEqual(await redeployedAt('2025-03-04T02:00:00Z'), ['early']);
  assert.deepEqual(await redeployedAt('2025-03-04T02:59:00Z'), []);
  assert.deepEqual(await redeployedAt('2025-03-04T03:10:00Z'), [], 'minute 10 is outside 0-9');
  assert.deepEqual(await redeployedAt('2025-03-04T03:09:00Z'), ['cron']);
  for (const name of ['early', 'night', 'cron']) {
    const w = await h.r.repo.getWorkload('analytics', name);
    assert.equal(w?.stale, false, `${name} got the new version`);
    assert.equal((await autoDeployments(h.pool, name)).length, 1, `${name} redeployed once`);
  }
  // Weekends are outside the cron window: after another rotation, on Saturday
  // only the daily window is open; the cron workload waits for Monday.
  current = 3;
  await h.r.workloads.onSecretChanged('rotation-3', rotated('analytics', 'db_password', 3));
  assert.deepEqual(await redeployedAt('2025-03-08T03:05:00Z'), ['early']);
  assert.deepEqual(await redeployedAt('2025-03-09T03:05:00Z'), []);
  assert.deepEqual(await redeployedAt('2025-03-10T03:05:00Z'), ['cron']);
});

test('workloads waiting for their window do not hide, from the scan, those stale after them that may be redeployed now', async (t) => {
  // One candidate read per query: the two waiting workloads come first.
  const h = await setup(t, '2025-03-03T12:00:00Z', MINUTE, 1);
  await h.running('analytics', ['night-1', 'night-2'], { mode: 'auto', window: '02:00-04:00' });
  await h.running('finance', ['anytime'], { mode: 'auto' });
  await h.r.workloads.onSecretChanged('rotation-a', rotated('analytics', 'db_password', 2));
  h.clock.advance(10_000);
  await h.r.workloads.onSecretChanged('rotation-f', rotated('finance', 'db_password', 2));
  h.clock.advance(MINUTE);
  const res = await h.r.auto.scan();
  assert.equal(res?.considered, 3);
  assert.deepEqual(
    res?.redeployed.map((d) => d.workload),
    ['anytime'],
  );
  assert.equal((await autoDeployments(h.pool, 'anytime')).length, 1);
});

test('a workload stopped with latchkey stop, or whose job ended, is not started again by a rotation', async (t) => {
  const h = await setup(t, '2025-03-03T12:00:00Z');
  await h.running('analytics', ['service', 'job'], { mode: 'auto' });
  await h.r.workloads.stop('mia', 'analytics', 'service');
  const [job] = await deploymentRows(h.pool, 'job');
  h.r.runtime.exit(job!.id, 0);
  await waitFor(
    async () => {
      const ended = [...(await deploymentRows(h.pool, 'service')), ...(await deploymentRows(h.pool, 'job'))];
      return ended.every((d) => d.status === 'stopped' || d.status === 'exited');
    },
    { what: 'both deployments to end' },
  );
  await h.r.workloads.onSecretChanged('rotation', rotated('analytics', 'db_password', 2));
  for (const e of await staleEvents(h.pool)) {
    h.clock.advance(MINUTE);
    assert.deepEqual(await h.r.auto.onStale(e), [{ skip: 'not_running' }], e.workload);
  }
  assert.deepEqual(await h.r.auto.scan(), { considered: 0, redeployed: [] });
  assert.equal((await autoDeployments(h.pool, 'service')).length, 0);
  assert.equal((await autoDeployments(h.pool, 'job')).length, 0);
});

test('the redeploy acts as whoever last applied the spec, asked again of ras; none while they may no longer deploy it', async (t) => {
  const h = await setup(t, '2025-03-03T12:00:00Z');
  await h.running('analytics', ['etl'], { mode: 'auto' });
  await h.r.workloads.onSecretChanged('rotation', rotated('analytics', 'db_password', 2));
  h.authorizer.decide = (q) => !(q.principal === 'mia' && q.action === 'workload.deploy');
  h.clock.advance(MINUTE);
  assert.deepEqual(await h.r.auto.scan(), { considered: 1, redeployed: [] });
  const asked = h.authorizer.asked.filter((q) => q.action === 'workload.deploy' && q.resource === 'etl').at(-1);
  assert.deepEqual(
    { principal: asked?.principal, groups: asked?.groups, domain: asked?.domain },
    { principal: 'mia', groups: ['data-eng'], domain: 'analytics' },
  );
  // Refused: not asked again before the next cooldown.
  const questions = h.authorizer.asked.length;
  h.clock.advance(MINUTE / 2);
  assert.deepEqual(await h.r.auto.scan(), { considered: 0, redeployed: [] });
  assert.equal(h.authorizer.asked.length, questions);
  // Allowed again: the redeploy is mia's, with the groups of her apply.
  h.authorizer.decide = () => true;
  h.clock.advance(MINUTE / 2);
  const res = await h.r.auto.scan();
  assert.equal(res?.redeployed.length, 1);
  const rows = await autoDeployments(h.pool, 'etl');
  assert.deepEqual(
    rows.map((d) => [d.principal, d.principal_groups, d.status]),
    [['mia', ['data-eng'], 'resolving']],
  );
});

test('another principal re-applying a stale auto workload ends the authority of the one who deployed it: the redeploy acts as the new author, never as her', async (t) => {
  const h = await setup(t, '2025-03-03T12:00:00Z');
  // mia applies and deploys etl, by hand; a rotation makes it stale.
  await h.running('analytics', ['etl']);
  await h.r.workloads.onSecretChanged('rotation', rotated('analytics', 'db_password', 2));
  // bob re-applies it with an auto policy and a reference of his choosing.
  const VAULT_ID = '0f5c6a2e-3d41-4b7a-9e08-6c2d1b4a7f35';
  const takeover = computeSpec('etl', 'analytics', ['db_password'], {
    redeployPolicy: { mode: 'auto' },
    envVars: { STOLEN: { key: 'payments_key', source: { type: 'VAULT', id: VAULT_ID } } },
  });
  await h.r.workloads.apply('bob', 'analytics', JSON.stringify(takeover), ['interns']);
  const w = await h.r.repo.getWorkload('analytics', 'etl');
  assert.deepEqual(w?.appliedBy, { principal: 'bob', groups: ['interns'] });
  const before = h.authorizer.asked.length;
  h.clock.advance(MINUTE);
  const res = await h.r.auto.scan();
  assert.equal(res?.redeployed.length, 1);
  // ras was asked about bob, with bob's groups, and never about mia.
  const asked = h.authorizer.asked.slice(before).filter((q) => q.action === 'workload.deploy');
  assert.deepEqual(
    asked.map((q) => [q.principal, q.groups]),
    [['bob', ['interns']]],
  );
  // The deployment, and the workload.deploying event the resolver checks the references with, are bob's.
  const autos = await autoDeployments(h.pool, 'etl');
  assert.deepEqual(
    autos.map((d) => [d.principal, d.principal_groups]),
    [['bob', ['interns']]],
  );
  const { rows } = await h.pool.query<{ data: { principal: string; groups: string[]; references: { key: string }[] } }>(
    `SELECT data FROM outbox WHERE type = $1 AND data ->> 'deploymentId' = $2`,
    [eventTypes.deploying, autos[0]?.id],
  );
  assert.equal(rows[0]?.data.principal, 'bob');
  assert.deepEqual(rows[0]?.data.groups, ['interns']);
  assert.ok(rows[0]?.data.references.some((r) => r.key === 'payments_key'));

  // bob may not deploy it: nothing is redeployed, and mia is still not asked.
  await resolve(h.r, h.keys, res!.redeployed[0]!, { db_password: 2 });
  await h.r.workloads.onSecretChanged('rotation-3', rotated('analytics', 'db_password', 3));
  h.authorizer.decide = (q) => !(q.principal === 'bob');
  h.clock.advance(2 * MINUTE);
  const next = h.authorizer.asked.length;
  assert.deepEqual((await h.r.auto.scan())?.redeployed, []);
  assert.ok(
    h.authorizer.asked.slice(next).every((q) => q.principal === 'bob'),
    'only bob is asked about',
  );
  assert.equal((await autoDeployments(h.pool, 'etl')).length, 1);
});

test('a workload applied before authors were recorded is not redeployed by its policy until someone applies it again', async (t) => {
  const h = await setup(t, '2025-03-03T12:00:00Z');
  await h.running('analytics', ['etl'], { mode: 'auto' });
  await h.pool.query("UPDATE workloads SET applied_by = NULL, applied_groups = '[]' WHERE name = 'etl'");
  await h.r.workloads.onSecretChanged('rotation', rotated('analytics', 'db_password', 2));
  h.clock.advance(MINUTE);
  const before = h.authorizer.asked.length;
  assert.deepEqual(await h.r.auto.scan(), { considered: 1, redeployed: [] });
  assert.equal((await autoDeployments(h.pool, 'etl')).length, 0);
  assert.deepEqual(h.authorizer.asked.slice(before), [], 'nobody is asked about: it acts for nobody');
  // Applied again (by mia): her authority, after the cooldown the refusal started.
  await h.r.workloads.apply(
    'mia',
    'analytics',
    JSON.stringify(computeSpec('etl', 'analytics', ['db_password'], { redeployPolicy: { mode: 'auto' } })),
  );
  h.clock.advance(MINUTE);
  const res = await h.r.auto.scan();
  assert.equal(res?.redeployed[0]?.principal, 'mia');
});

test("ras is asked before the domain's claim lock is taken, not while it is held", async (t) => {
  const h = await setup(t, '2025-03-03T12:00:00Z');
  await h.running('analytics', ['etl', 'report'], { mode: 'auto', maxConcurrent: 2 });
  await h.r.workloads.onSecretChanged('rotation', rotated('analytics', 'db_password', 2));
  h.clock.advance(MINUTE);
  // While answering, look from another connection whether the domain's claim lock is free.
  const probe = createPool(await createTestDatabaseUrl(h.pool));
  t.after(() => probe.end());
  const lockFreeWhenAsked: boolean[] = [];
  const inner = h.authorizer;
  const looking: Authorizer = {
    async check(q) {
      if (q.action === 'workload.deploy') {
        const { rows } = await probe.query<{ free: boolean }>(`SELECT pg_try_advisory_lock($1, hashtext($2)) AS free`, [
          CLAIM_LOCK,
          q.domain,
        ]);
        const free = rows[0]?.free === true;
        if (free) await probe.query('SELECT pg_advisory_unlock($1, hashtext($2))', [CLAIM_LOCK, q.domain]);
        lockFreeWhenAsked.push(free);
      }
      return inner.check(q);
    },
    checkBatch: (qs) => inner.checkBatch(qs),
  };
  const other = replica(h.pool, { name: 'deployer-b', keys: h.keys, authorizer: looking, clock: h.clock });
  const res = await other.auto.scan();
  assert.equal(res?.redeployed.length, 2);
  assert.deepEqual(lockFreeWhenAsked, [true, true], 'asked twice, each time with the lock free');
});

test('a burst of three rotations leads to one redeploy, which receives all of them; the cooldown spaces the next', async (t) => {
  const h = await setup(t, '2025-03-03T12:00:00Z');
  await h.running('analytics', ['etl'], { mode: 'auto' });
  const seen: unknown[] = [];
  for (const [i, version] of [2, 3, 4].entries()) {
    h.clock.set(`2025-03-03T12:00:${String(i * 10).padStart(2, '0')}Z`);
    await h.r.workloads.onSecretChanged(`rotation-${version}`, rotated('analytics', 'db_password', version));
    const events = await staleEvents(h.pool);
    seen.push(...(await h.r.auto.onStale(events.at(-1)!)));
  }
  // The cooldown runs from when it became stale (12:00:00).
  assert.deepEqual(seen, [
    { skip: 'cooldown', retryInMs: 60_000 },
    { skip: 'cooldown', retryInMs: 50_000 },
    { skip: 'cooldown', retryInMs: 40_000 },
  ]);
  h.clock.set('2025-03-03T12:00:59Z');
  assert.deepEqual(await h.r.auto.scan(), { considered: 0, redeployed: [] });
  h.clock.set('2025-03-03T12:01:00Z');
  const res = await h.r.auto.scan();
  assert.equal(res?.redeployed.length, 1);
  await resolve(h.r, h.keys, res!.redeployed[0]!, { db_password: 4 });
  const w = await h.r.repo.getWorkload('analytics', 'etl');
  assert.equal(w?.stale, false, 'the one redeploy received version 4');
  h.clock.set('2025-03-03T13:00:00Z');
  assert.deepEqual(await h.r.auto.scan(), { considered: 0, redeployed: [] });
  assert.equal((await autoDeployments(h.pool, 'etl')).length, 1, 'three rotations, one redeploy');

  // A rotation right after the redeploy: the next one waits a cooldown from it.
  h.clock.set('2025-03-03T13:00:30Z');
  await h.r.workloads.onSecretChanged('rotation-5', rotated('analytics', 'db_password', 5));
  assert.deepEqual(await h.r.auto.onStale((await staleEvents(h.pool)).at(-1)!), [
    {
      skip: 'cooldown',
      retryInMs: 60_000,
    },
  ]);
  h.clock.set('2025-03-03T13:01:29Z');
  assert.deepEqual((await h.r.auto.scan())?.redeployed, []);
  h.clock.set('2025-03-03T13:01:30Z');
  assert.equal((await h.r.auto.scan())?.redeployed.length, 1);
  assert.equal((await autoDeployments(h.pool, 'etl')).length, 2);
});

test('never more than maxConcurrent auto redeploys of a domain in flight, with three replicas considering every workload at once', async (t) => {
  const h = await setup(t, '2025-03-03T12:00:00Z');
  const names = ['w1', 'w2', 'w3', 'w4', 'w5', 'w6'];
  await h.running('analytics', names, { mode: 'auto', maxConcurrent: 2 });
  await h.running('finance', ['f1', 'f2'], { mode: 'auto', maxConcurrent: 2 });
  await h.r.workloads.onSecretChanged('rotation-a', rotated('analytics', 'db_password', 2));
  await h.r.workloads.onSecretChanged('rotation-f', rotated('finance', 'db_password', 2));
  h.clock.advance(MINUTE);
  const { replicas, ids } = await threeReplicas(t, h);
  const outcomes = await Promise.all(replicas.flatMap((r) => ids.map((id) => r.auto.consider(id))));
  const started = outcomes.filter((o): o is { redeployed: DeploymentRecord } => 'redeployed' in o);
  assert.equal(started.length, 4, 'two per domain');
  assert.equal(await inFlight(h.pool, 'analytics'), 2);
  assert.equal(await inFlight(h.pool, 'finance'), 2, "a domain's slots are its own");
  const skips = new Set(outcomes.flatMap((o) => ('skip' in o ? [o.skip] : [])));
  // A workload one replica just redeployed is in its cooldown for the others.
  assert.deepEqual([...skips].sort(), ['cooldown', 'max_concurrent']);

  // Finish them one by one; after each, every replica scans at once.
  let maxSeen = 2;
  let pending = started.map((o) => o.redeployed).filter((d) => d.domain === 'analytics');
  for (let round = 0; round < 10 && pending.length > 0; round++) {
    const done = pending.shift()!;
    await resolve(h.r, h.keys, done, { db_password: 2 });
    const scans = await Promise.all(replicas.map((r) => r.auto.scan()));
    pending = [...pending, ...scans.flatMap((s) => s?.redeployed ?? []).filter((d) => d.domain === 'analytics')];
    const now = await inFlight(h.pool, 'analytics');
    maxSeen = Math.max(maxSeen, now);
    assert.ok(now <= 2, `round ${round}: ${now} in flight`);
  }
  assert.equal(maxSeen, 2);
  assert.deepEqual(pending, []);
  for (const name of names) {
    assert.equal((await autoDeployments(h.pool, name)).length, 1, `${name} redeployed exactly once`);
    assert.equal((await h.r.repo.getWorkload('analytics', name))?.stale, false);
  }
});

test('with two replicas consuming workload.stale, each stale auto workload is redeployed once', async (t) => {
  const { nc, jsm } = await testBus(t);
  await ensureConsumer(jsm, {
    stream: STREAM_EVENTS,
    durable: WORKLOAD_STALE_CONSUMER,
    filterSubjects: ['latchkey.workload.stale.>'],
  });
  const h = await setup(t, '2025-03-03T12:00:00Z', 0);
  await h.running('analytics', ['a1', 'a2', 'a3'], { mode: 'auto', maxConcurrent: 3 });
  await h.running('analytics', ['manual']);
  const other = replica(createPool(await createTestDatabaseUrl(h.pool)), {
    name: 'deployer-b',
    keys: h.keys,
    authorizer: h.authorizer,
    clock: h.clock,
    cooldownMs: 0,
  });
  t.after(() => other.pool.end());
  const later: number[] = [];
  const runners = [h.r, other].map(
    (r) =>
      new ConsumerRunner({
        js: nc.jetstream(),
        stream: STREAM_EVENTS,
        durable: WORKLOAD_STALE_CONSUMER,
        handler: workloadStaleConsumer(r.auto, (ms) => later.push(ms)),
        logger: silentLogger,
      }),
  );
  for (const r of runners) await r.start();
  t.after(async () => {
    for (const r of runners) await r.stop();
  });
  const relay = new OutboxRelay({ pool: h.pool, js: nc.jetstream(), logger: silentLogger, source: 'test' });
  relay.start();
  t.after(() => relay.stop());

  await h.r.workloads.onSecretChanged('rotation', rotated('analytics', 'db_password', 2));
  relay.kick();
  // Every event published (not only the first few), then every one handled.
  await waitFor(
    async () => {
      const { rows } = await h.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
      );
      if (rows[0]?.n !== 0) return false;
      const info = await jsm.consumers.info(STREAM_EVENTS, WORKLOAD_STALE_CONSUMER);
      return info.num_ack_pending === 0 && info.num_pending === 0 && info.delivered.stream_seq > 0;
    },
    { what: 'every workload.stale event to be published and handled', timeoutMs: 15_000 },
  );
  for (const name of ['a1', 'a2', 'a3']) {
    assert.equal((await autoDeployments(h.pool, name)).length, 1, `${name} redeployed once`);
  }
  assert.equal((await autoDeployments(h.pool, 'manual')).length, 0);
  assert.deepEqual(later, [], 'no cooldown to wait for');
});

test('redeploy --stale asked of three replicas at once while the auto policy considers the same workloads: each workload is redeployed once', async (t) => {
  const h = await setup(t, '2025-03-03T12:00:00Z');
  const names = Array.from({ length: 12 }, (_, i) => `w${String(i).padStart(2, '0')}`);
  await h.running('analytics', names, { mode: 'auto', maxConcurrent: 100 });
  await h.r.workloads.onSecretChanged('rotation', rotated('analytics', 'db_password', 2));
  h.clock.advance(MINUTE);
  const { replicas, ids } = await threeReplicas(t, h);
  const [manual, auto] = await Promise.all([
    Promise.all(replicas.map((r) => r.workloads.redeploy('mark', 'analytics', { stale: true }))),
    Promise.all(replicas.flatMap((r) => ids.map((id) => r.auto.consider(id)))),
  ]);
  const redeployed = new Map<string, number>();
  for (const results of manual) {
    for (const r of results) {
      if ('deployment' in r) redeployed.set(r.workload, (redeployed.get(r.workload) ?? 0) + 1);
      else assert.ok(['redeploy.in_flight', 'redeploy.not_stale'].includes(r.code), `${r.workload}: ${r.code}`);
    }
  }
  for (const o of auto) {
    if ('redeployed' in o) redeployed.set(o.redeployed.workload, (redeployed.get(o.redeployed.workload) ?? 0) + 1);
  }
  for (const name of names) {
    assert.equal(redeployed.get(name), 1, `${name} is redeployed once`);
    const rows = await deploymentRows(h.pool, name);
    assert.equal(rows.length, 2, `${name}: its first deployment and one redeploy`);
  }
});

/** The connection string of the database behind `pool` (for more replicas of it). */
async function createTestDatabaseUrl(pool: Pool): Promise<string> {
  const { rows } = await pool.query<{ db: string }>('SELECT current_database() AS db');
  return postgres().connectionString(rows[0]!.db);
}
