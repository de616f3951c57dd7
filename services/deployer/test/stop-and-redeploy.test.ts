import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { connect } from 'nats';
import { OutboxRelay, eventTypes, subscribeEvents, type WorkloadStopRequested } from '@latchkey/events';
import { silentLogger } from '@latchkey/logger';
import { FakeAuthorizer, waitFor } from '@latchkey/testing';
import type { DeploymentRecord } from '../src/domain/deployment-types.js';
import { stopRequests } from '../src/transport/events/replica-subscriptions.js';
import {
  computeSpec,
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

const CLOCK_START = '2025-03-03T12:00:00Z';

/** Two replicas (A and B) over one fresh database; every question allowed. */
async function twoReplicas(t: TestContext, onEvents?: () => void) {
  const pool = await migratedPool(t, postgres(), 'deployer_stop');
  const keys = newKeys();
  const authorizer = new FakeAuthorizer();
  const clock = new TestClock(new Date(CLOCK_START));
  const opts = { keys, authorizer, clock, ...(onEvents ? { onEvents } : {}) };
  const a = replica(pool, { name: 'deployer-a', ...opts });
  const b = replica(pool, { name: 'deployer-b', ...opts });
  return { pool, keys, authorizer, clock, a, b };
}

/** Applies, on replica a, one workload per name in analytics, each with one reference (db_password). */
async function applyAll(h: Awaited<ReturnType<typeof twoReplicas>>, names: string[]): Promise<void> {
  for (const name of names) {
    await h.a.workloads.apply('mia', 'analytics', JSON.stringify(computeSpec(name, 'analytics', ['db_password'])));
  }
}

/** Applies etl (db_password, api_token) in analytics on replica a, deploys it, and resolves it at `versions`. */
async function deployEtl(h: Awaited<ReturnType<typeof twoReplicas>>, versions: Record<string, number>) {
  await h.a.workloads.apply(
    'mia',
    'analytics',
    JSON.stringify(computeSpec('etl', 'analytics', ['db_password', 'api_token'])),
  );
  const first = await h.a.workloads.deploy('mia', 'analytics', 'etl');
  await resolve(h.a, h.keys, first, versions);
  return first;
}

const status = async (r: Replica, id: string) => (await r.repo.getDeployment(id))?.status;

async function waitForStatus(r: Replica, id: string, wanted: string): Promise<DeploymentRecord> {
  return waitFor(
    async () => {
      const d = await r.repo.getDeployment(id);
      return d?.status === wanted ? d : undefined;
    },
    { what: `deployment ${id} to be ${wanted}`, timeoutMs: 10_000 },
  );
}

test('stop asked of one replica stops the deployment where it runs, through the bus; it ends stopped, and asking again is harmless', async (t) => {
  const { nats, nc } = await testBus(t);
  const relayed: { relay?: OutboxRelay } = {};
  const h = await twoReplicas(t, () => relayed.relay?.kick());
  const relay = new OutboxRelay({
    pool: h.pool,
    js: nc.jetstream(),
    logger: silentLogger,
    source: 'latchkey/deployer',
  });
  relayed.relay = relay;
  relay.start();
  t.after(() => relay.stop());
  // Every replica hears stop requests, each on its own connection.
  const ncA = await connect({ servers: nats.url });
  const ncB = await connect({ servers: nats.url });
  t.after(async () => {
    await ncA.close();
    await ncB.close();
  });
  subscribeEvents(ncA, silentLogger, stopRequests(h.a.workloads));
  subscribeEvents(ncB, silentLogger, stopRequests(h.b.workloads));
  await ncA.flush();
  await ncB.flush();

  await h.a.workloads.apply('mia', 'analytics', JSON.stringify(computeSpec('etl', 'analytics', ['db_password'])));
  const d = await h.b.workloads.deploy('mia', 'analytics', 'etl');
  await resolve(h.a, h.keys, d);
  assert.equal(await status(h.a, d.id), 'deployed');
  assert.deepEqual(h.a.runtime.started, [d.id], 'replica A runs it');

  // The stop lands on B, which does not run it.
  const first = await h.b.workloads.stop('mark', 'analytics', 'etl');
  assert.equal(first.alreadyStopped, false);
  assert.deepEqual(
    first.deployments.map((x) => [x.id, x.status, x.stopRequestedBy]),
    [[d.id, 'deployed', 'mark']],
  );
  assert.ok(first.deployments[0]?.stopRequestedAt, 'the request is recorded');
  const stopped = await waitForStatus(h.a, d.id, 'stopped');
  assert.deepEqual(h.a.runtime.stopped, [{ deploymentId: d.id, reason: 'stopped by mark' }]);
  assert.deepEqual(h.b.runtime.stopped, []);
  assert.deepEqual(stopped.reasons, ['stopped by mark']);
  assert.equal(stopped.runner, 'deployer-a');
  const events = await h.pool.query<{ id: string; data: WorkloadStopRequested }>(
    'SELECT id, data FROM outbox WHERE type = $1',
    [eventTypes.stopRequested],
  );
  assert.deepEqual(
    events.rows.map((r) => [r.id, r.data.deploymentId, r.data.by]),
    [[`stop:${d.id}`, d.id, 'mark']],
  );

  // Idempotent: nothing more is stopped, and the answer says so.
  const again = await h.a.workloads.stop('mark', 'analytics', 'etl');
  assert.equal(again.alreadyStopped, true);
  assert.deepEqual(
    again.deployments.map((x) => [x.id, x.status]),
    [[d.id, 'stopped']],
  );
  assert.equal(h.a.runtime.stopped.length, 1);
  const after = await h.pool.query('SELECT 1 FROM outbox WHERE type = $1', [eventTypes.stopRequested]);
  assert.equal(after.rowCount, 1, 'no second stop event');
  // The permission asked for is the one deploy needs.
  assert.ok(
    h.authorizer.asked.some(
      (q) =>
        q.principal === 'mark' && q.action === 'workload.deploy' && q.domain === 'analytics' && q.resource === 'etl',
    ),
  );
});

test('a replica that missed the stop event stops the deployment when it compares what it runs with the database', async (t) => {
  const h = await twoReplicas(t);
  await h.a.workloads.apply('mia', 'analytics', JSON.stringify(computeSpec('etl', 'analytics', ['db_password'])));
  const d = await h.a.workloads.deploy('mia', 'analytics', 'etl');
  await resolve(h.a, h.keys, d);
  await h.b.workloads.stop('mia', 'analytics', 'etl');
  assert.equal(await status(h.a, d.id), 'deployed', 'no event was delivered');
  assert.equal(await h.b.workloads.reconcileStops(), 0, 'B runs nothing');
  assert.equal(await h.a.workloads.reconcileStops(), 1);
  await waitForStatus(h.a, d.id, 'stopped');
  assert.deepEqual(h.a.runtime.stopped, [{ deploymentId: d.id, reason: 'stopped by mia' }]);
  assert.equal(await h.a.workloads.reconcileStops(), 0, 'nothing left that was asked to stop');
});

test('a deployment stopped before its values arrive is stopped at once, and its resolution starts nothing', async (t) => {
  const h = await twoReplicas(t);
  await h.a.workloads.apply('mia', 'analytics', JSON.stringify(computeSpec('etl', 'analytics', ['db_password'])));
  const d = await h.a.workloads.deploy('mia', 'analytics', 'etl');
  const res = await h.b.workloads.stop('mia', 'analytics', 'etl');
  assert.deepEqual(
    res.deployments.map((x) => [x.id, x.status, x.reasons]),
    [[d.id, 'stopped', ['stopped by mia before it started']]],
  );
  await resolve(h.a, h.keys, d);
  assert.deepEqual(h.a.runtime.started, [], 'the late resolution started nothing');
  assert.equal(await status(h.a, d.id), 'stopped');
});

test('a stop asked while the deployment starts: it never goes live, and its runner stops it', async (t) => {
  const h = await twoReplicas(t);
  await h.a.workloads.apply('mia', 'analytics', JSON.stringify(computeSpec('etl', 'analytics', ['db_password'])));
  const d = await h.a.workloads.deploy('mia', 'analytics', 'etl');
  let open!: () => void;
  h.a.runtime.gate = new Promise<void>((r) => (open = r));
  const resolving = resolve(h.a, h.keys, d);
  await waitForStatus(h.a, d.id, 'starting');
  const res = await h.b.workloads.stop('mia', 'analytics', 'etl');
  assert.deepEqual(
    res.deployments.map((x) => [x.id, x.status]),
    [[d.id, 'starting']],
  );
  open();
  await resolving;
  const ended = await waitForStatus(h.a, d.id, 'stopped');
  assert.deepEqual(ended.reasons, ['stopped: a stop was asked for while it started']);
  assert.deepEqual(h.a.runtime.running(), []);
  const w = await h.a.repo.getWorkload('analytics', 'etl');
  assert.equal(w?.lastDeploymentId, null, 'it never went live');
  const deployed = await h.pool.query('SELECT 1 FROM outbox WHERE type = $1', [eventTypes.deployed]);
  assert.equal(deployed.rowCount, 0, 'no workload.deployed event');
});

test('stopping a workload with nothing running is refused with what happened and what to do', async (t) => {
  const h = await twoReplicas(t);
  await h.a.workloads.apply('mia', 'analytics', JSON.stringify(computeSpec('etl', 'analytics', ['db_password'])));
  await assert.rejects(h.a.workloads.stop('mia', 'analytics', 'etl'), {
    code: 'workload.not_running',
    kind: 'failed_precondition',
    message: 'workload etl has nothing to stop: it was never deployed',
  });
  const d = await h.a.workloads.deploy('mia', 'analytics', 'etl');
  await resolve(h.a, h.keys, d);
  h.a.runtime.exit(d.id, 3);
  await waitForStatus(h.a, d.id, 'exited');
  await assert.rejects(h.a.workloads.stop('mia', 'analytics', 'etl'), {
    code: 'workload.not_running',
    message: `workload etl has nothing to stop: its last deployment ${d.id} exited with code 3; deploy it with latchkey deploy etl --domain analytics`,
  });
  await assert.rejects(h.a.workloads.stop('mia', 'analytics', 'nope'), { code: 'workload.not_found' });
  await assert.rejects(h.a.workloads.stop('mia', 'Bad Domain', 'etl'), { code: 'domain.invalid_name' });
  h.a.runtime.stopped.length = 0;
  h.authorizer.decide = (q) => !(q.principal === 'fred');
  await assert.rejects(h.a.workloads.stop('fred', 'analytics', 'etl'), { code: 'ras.permission_denied' });
});

test('workload get shows what runs with the versions it holds, and the latest attempt when that is another deployment', async (t) => {
  const h = await twoReplicas(t);
  const first = await deployEtl(h, { db_password: 4, api_token: 2 });
  const before = await h.a.workloads.get('mia', 'analytics', 'etl');
  assert.equal(before.live?.id, first.id);
  assert.equal(before.last?.id, first.id);
  assert.equal(before.live?.status, 'deployed');
  assert.equal(before.live?.runner, 'deployer-a');
  assert.equal(before.live?.trigger, 'deploy');
  assert.deepEqual(
    before.live?.versions.map((v) => [v.refId, v.key, v.sourceType, v.scope, v.version]),
    [
      ['MANAGED:analytics:api_token', 'api_token', 'MANAGED', 'analytics', 2],
      ['MANAGED:analytics:db_password', 'db_password', 'MANAGED', 'analytics', 4],
    ],
  );
  // A newer attempt fails: the first still runs, with the versions it holds.
  const second = await h.a.workloads.deploy('mia', 'analytics', 'etl');
  await h.a.workloads.onResolutionFailed(`failed:${second.id}`, {
    deploymentId: second.id,
    domain: 'analytics',
    failures: [{ refId: 'MANAGED:analytics:api_token', key: 'api_token', code: 'secret.not_found', message: 'gone' }],
  });
  const after = await h.a.workloads.get('mia', 'analytics', 'etl');
  assert.equal(after.live?.id, first.id);
  assert.equal(after.live?.status, 'deployed');
  assert.equal(after.last?.id, second.id);
  assert.equal(after.last?.status, 'failed');
  const [view] = await h.a.workloads.list('mia', 'analytics');
  assert.equal(view?.live?.id, first.id);
  assert.equal(view?.last?.id, second.id);
  assert.equal(view?.live?.versions.length, 2);
});

test('redeploy NAME deploys again as the caller; redeploy --stale deploys each stale workload once and says why it skipped any', async (t) => {
  const h = await twoReplicas(t);
  const apply = (name: string, extra: Record<string, unknown> = {}) =>
    h.a.workloads.apply('mia', 'analytics', JSON.stringify(computeSpec(name, 'analytics', ['db_password'], extra)));
  for (const name of ['alpha', 'beta', 'gamma', 'fresh']) await apply(name);
  for (const name of ['alpha', 'beta', 'gamma', 'fresh']) {
    const d = await h.a.workloads.deploy('mia', 'analytics', name);
    await resolve(h.a, h.keys, d, { db_password: name === 'fresh' ? 2 : 1 });
  }
  assert.equal(await h.a.workloads.onSecretChanged('rotation-1', rotated('analytics', 'db_password', 2)), 3);
  // beta already has a deployment on its way; gamma lost its command since.
  const betaOnItsWay = await h.a.workloads.deploy('mia', 'analytics', 'beta');
  await h.a.repo.upsertWorkload('analytics', { name: 'gamma', kind: 'COMPUTE', envVars: {} }, []);

  const results = await h.b.workloads.redeploy('mark', 'analytics', { stale: true }, ['data-eng']);
  assert.deepEqual(
    results.map((r) => ('deployment' in r ? [r.workload, r.deployment.status] : [r.workload, r.code, r.message])),
    [
      ['alpha', 'resolving'],
      ['beta', 'redeploy.in_flight', `deployment ${betaOnItsWay.id} is already resolving: not redeployed again`],
      ['gamma', 'workload.no_command', 'workload gamma has no run.command: the process runtime needs one'],
    ],
  );
  const alpha = results[0] && 'deployment' in results[0] ? results[0].deployment : undefined;
  assert.equal(alpha?.principal, 'mark', 'the caller deploys');
  assert.deepEqual(alpha?.groups, ['data-eng']);
  assert.equal(alpha?.trigger, 'redeploy');
  // Asked again at once: alpha's redeploy is on its way, so nothing is deployed twice.
  const twice = await h.b.workloads.redeploy('mark', 'analytics', { stale: true });
  assert.deepEqual(
    twice.map((r) => [r.workload, 'code' in r ? r.code : 'deployed']),
    [
      ['alpha', 'redeploy.in_flight'],
      ['beta', 'redeploy.in_flight'],
      ['gamma', 'workload.no_command'],
    ],
  );
  // The redeploy receives the new version: alpha is no longer stale.
  if (alpha) await resolve(h.a, h.keys, alpha, { db_password: 2 });
  assert.equal((await h.a.repo.getWorkload('analytics', 'alpha'))?.stale, false);

  const one = await h.b.workloads.redeploy('mark', 'analytics', { name: 'fresh' });
  assert.deepEqual(
    one.map((r) => [r.workload, 'deployment' in r ? r.deployment.trigger : r.code]),
    [['fresh', 'redeploy']],
  );
  await assert.rejects(h.b.workloads.redeploy('mark', 'analytics', { name: 'fresh', stale: true }), {
    code: 'redeploy.invalid_target',
    message: 'give either a workload NAME or --stale, not both',
  });
  await assert.rejects(h.b.workloads.redeploy('mark', 'analytics', {}), {
    code: 'redeploy.invalid_target',
    message: 'give the workload NAME to redeploy, or --stale for every stale one',
  });
  await assert.rejects(h.b.workloads.redeploy('mark', 'analytics', { name: 'nope' }), { code: 'workload.not_found' });
  h.authorizer.decide = (q) => !(q.principal === 'fred');
  await assert.rejects(h.b.workloads.redeploy('fred', 'analytics', { stale: true }), {
    code: 'ras.permission_denied',
  });
});

test('workload list --stale lists only stale workloads; without a domain, only those of domains the caller may read', async (t) => {
  const h = await twoReplicas(t);
  for (const domain of ['analytics', 'finance']) {
    for (const name of ['old', 'current']) {
      await h.a.workloads.apply('admin', domain, JSON.stringify(computeSpec(name, domain, ['db_password'])));
      const d = await h.a.workloads.deploy('admin', domain, name);
      await resolve(h.a, h.keys, d, { db_password: name === 'old' ? 1 : 2 });
    }
    await h.a.workloads.onSecretChanged(`rotation-${domain}`, rotated(domain, 'db_password', 2));
  }
  const names = (views: { workload: { domain: string; name: string } }[]) =>
    views.map((v) => `${v.workload.domain}/${v.workload.name}`);
  assert.deepEqual(names(await h.a.workloads.list('mia', 'analytics', { staleOnly: true })), ['analytics/old']);
  assert.deepEqual(names(await h.a.workloads.list('mia', 'analytics')), ['analytics/current', 'analytics/old']);
  // mia may read analytics only: finance is neither listed nor hinted at.
  h.authorizer.decide = (q) => !(q.principal === 'mia' && q.domain === 'finance');
  assert.deepEqual(names(await h.a.workloads.list('mia', undefined, { staleOnly: true })), ['analytics/old']);
  assert.deepEqual(names(await h.a.workloads.list('admin', undefined, { staleOnly: true })), [
    'analytics/old',
    'finance/old',
  ]);
  await assert.rejects(h.a.workloads.list('mia', 'finance', { staleOnly: true }), { code: 'ras.permission_denied' });
  const [old] = await h.a.workloads.list('mia', 'analytics', { staleOnly: true });
  assert.equal(old?.workload.staleSince?.toISOString(), new Date(CLOCK_START).toISOString());
});

test('a redeploy that received an older version than a rotation during its resolution leaves the workload stale against it', async (t) => {
  const h = await twoReplicas(t);
  await deployEtl(h, { db_password: 1, api_token: 1 });
  await h.a.workloads.onSecretChanged('r2', rotated('analytics', 'db_password', 2));
  await h.a.workloads.onSecretChanged('t2', rotated('analytics', 'api_token', 2));
  await h.a.workloads.onSecretChanged('r3', rotated('analytics', 'db_password', 3));
  // The redeploy resolved while version 3 was being written: it got 2 (and api_token 2).
  const second = await h.a.workloads.deploy('mia', 'analytics', 'etl');
  await resolve(h.a, h.keys, second, { db_password: 2, api_token: 2 });
  const w = await h.a.repo.getWorkload('analytics', 'etl');
  assert.equal(w?.lastDeploymentId, second.id);
  assert.equal(w?.stale, true);
  assert.deepEqual(w?.staleReasons, [
    { scope: 'analytics', key: 'db_password', deployedVersion: 2, currentVersion: 3, change: 'updated' },
  ]);
  const third = await h.a.workloads.deploy('mia', 'analytics', 'etl');
  await resolve(h.a, h.keys, third, { db_password: 3, api_token: 2 });
  const done = await h.a.repo.getWorkload('analytics', 'etl');
  assert.equal(done?.stale, false);
  assert.deepEqual(done?.staleReasons, []);
  assert.equal(done?.staleSince, null);
});

test('a replica that restarted after a crash ends, as lost, what it was recorded as running and stops its leftovers; another replica leaves them alone', async (t) => {
  const h = await twoReplicas(t);
  await applyAll(h, ['etl', 'report']);
  const etl = await h.a.workloads.deploy('mia', 'analytics', 'etl');
  await resolve(h.a, h.keys, etl);
  const report = await h.b.workloads.deploy('mia', 'analytics', 'report');
  await resolve(h.b, h.keys, report);
  assert.equal(await status(h.a, etl.id), 'deployed');

  // Replica B compares: it runs what it holds, and A's deployment is not its business.
  assert.equal(await h.b.workloads.reconcileRunning(), 0);
  assert.deepEqual(h.b.runtime.reclaimed, []);
  // Replica A as it comes back after a crash: the same name, nothing running.
  const restarted = replica(h.pool, { name: 'deployer-a', keys: h.keys, authorizer: h.authorizer, clock: h.clock });
  // While its runtime cannot be reached, nothing is ended: the leftover may still run.
  restarted.runtime.reclaimFails = true;
  assert.equal(await restarted.workloads.reconcileRunning(), 0);
  assert.equal(await status(h.a, etl.id), 'deployed');
  restarted.runtime.reclaimFails = false;
  assert.equal(await restarted.workloads.reconcileRunning(), 1);
  assert.deepEqual(restarted.runtime.reclaimed, [etl.id]);
  const lost = await h.a.repo.getDeployment(etl.id);
  assert.equal(lost?.status, 'exited');
  assert.match(lost?.reasons.at(-1) ?? '', /^lost: its deployer replica deployer-a no longer runs it/);
  assert.equal(await status(h.b, report.id), 'deployed', "B's deployment runs on");
  assert.equal(await restarted.workloads.reconcileRunning(), 0, 'once');
});

test('the running-deployments check leaves alone a deployment being started or whose end is being recorded', async (t) => {
  const h = await twoReplicas(t);
  await applyAll(h, ['slow', 'quick']);
  // quick runs, then ends by itself; the check runs while its end is being recorded.
  const quick = await h.a.workloads.deploy('mia', 'analytics', 'quick');
  await resolve(h.a, h.keys, quick);
  h.a.runtime.exit(quick.id, 0);
  assert.equal(await h.a.workloads.reconcileRunning(), 0);
  const ended = await waitForStatus(h.a, quick.id, 'exited');
  assert.equal(ended.exitCode, 0);
  assert.ok(!ended.reasons.some((r) => r.startsWith('lost')), ended.reasons.join('; '));

  // slow is claimed and starting here (its runtime start has not returned).
  let open!: () => void;
  h.a.runtime.gate = new Promise<void>((r) => (open = r));
  const slow = await h.a.workloads.deploy('mia', 'analytics', 'slow');
  const starting = resolve(h.a, h.keys, slow);
  await waitForStatus(h.a, slow.id, 'starting');
  assert.equal(await h.a.workloads.reconcileRunning(), 0);
  open();
  await starting;
  assert.equal(await status(h.a, slow.id), 'deployed');
  assert.equal(await h.a.workloads.reconcileRunning(), 0);
  assert.deepEqual(h.a.runtime.reclaimed, []);
});
