import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { type JetStreamManager } from 'nats';
import { generateSigningKeyPair, seal, signatureProblem, signPayload } from '@latchkey/crypto';
import {
  deployingPayload,
  eventTypes,
  publishEvent,
  STREAM_EVENTS,
  STREAM_RESOLVED,
  subjects,
  type AuditRecord,
  type ResolvedVersion,
  type WorkloadDeploying,
  type WorkloadResolutionFailed,
  type WorkloadResolved,
} from '@latchkey/events';
import { silentLogger } from '@latchkey/logger';
import { ConsumerRunner, ensureConsumer } from '@latchkey/nats';
import { FakeAuthorizer, waitFor } from '@latchkey/testing';
import type { DeploymentRecord } from '../src/domain/deployment-types.js';
import {
  RESOLUTION_FAILED_CONSUMER,
  RESOLUTION_RETRYING_CONSUMER,
  RESOLVED_CONSUMER,
  resolutionFailedConsumer,
  resolutionRetryingConsumer,
  resolvedConsumer,
} from '../src/transport/events/deployer-consumers.js';
import {
  computeSpec,
  migratedPool,
  newKeys,
  replica,
  TestClock,
  usePostgres,
  testBus,
} from './deployer-test-support.js';

const postgres = usePostgres();

/**
 * One deployer replica consuming workload.resolved and .resolution_failed
 * from a real nats-server, as main.ts wires it; a hostile bus client
 * publishes straight into the streams.
 */
async function world(t: TestContext) {
  const { nc, jsm } = await testBus(t);
  await ensureConsumer(jsm, {
    stream: STREAM_RESOLVED,
    durable: RESOLVED_CONSUMER,
    filterSubjects: ['latchkey.workload.resolved.>'],
  });
  await ensureConsumer(jsm, {
    stream: STREAM_EVENTS,
    durable: RESOLUTION_FAILED_CONSUMER,
    filterSubjects: ['latchkey.workload.resolution_failed.>'],
  });
  await ensureConsumer(jsm, {
    stream: STREAM_EVENTS,
    durable: RESOLUTION_RETRYING_CONSUMER,
    filterSubjects: ['latchkey.workload.resolution_retrying.>'],
  });
  const pool = await migratedPool(t, postgres(), 'deployer_bus');
  const keys = newKeys();
  const r = replica(pool, {
    name: 'deployer-1',
    keys,
    authorizer: new FakeAuthorizer(),
    clock: new TestClock(new Date()),
  });
  const js = nc.jetstream();
  const runners = [
    new ConsumerRunner({
      js,
      stream: STREAM_RESOLVED,
      durable: RESOLVED_CONSUMER,
      handler: resolvedConsumer(r.workloads),
      logger: silentLogger,
    }),
    new ConsumerRunner({
      js,
      stream: STREAM_EVENTS,
      durable: RESOLUTION_FAILED_CONSUMER,
      handler: resolutionFailedConsumer(r.workloads),
      logger: silentLogger,
    }),
    new ConsumerRunner({
      js,
      stream: STREAM_EVENTS,
      durable: RESOLUTION_RETRYING_CONSUMER,
      handler: resolutionRetryingConsumer(r.workloads),
      logger: silentLogger,
    }),
  ];
  for (const c of runners) await c.start();
  t.after(async () => {
    for (const c of runners) await c.stop();
  });
  await r.workloads.apply('mia', 'analytics', JSON.stringify(computeSpec('etl', 'analytics', ['db_password'])));
  await r.workloads.apply('fred', 'finance', JSON.stringify(computeSpec('ledger', 'finance', ['ledger_key'])));
  return { ...r, jsm, js, keys };
}

type World = Awaited<ReturnType<typeof world>>;

const canary = () => `canary-${randomBytes(12).toString('hex')}`;

/** What a hostile client (holding the deployers' public key, which is no secret) publishes as workload.resolved. */
async function publishResolved(
  w: World,
  subjectDomain: string,
  ev: Omit<WorkloadResolved, 'sealed' | 'warnings'>,
  values: Record<string, string>,
): Promise<string> {
  const id = `resolved:${randomUUID()}`;
  const data: WorkloadResolved = {
    ...ev,
    sealed: seal(w.keys, Buffer.from(JSON.stringify(values)), ev.deploymentId),
    warnings: [],
  };
  await publishEvent(w.js, 'latchkey/resolver', {
    id,
    type: eventTypes.resolved,
    subject: subjects.resolved(subjectDomain),
    data,
  });
  return id;
}

async function publishFailed(w: World, subjectDomain: string, ev: WorkloadResolutionFailed): Promise<string> {
  const id = `resolution_failed:${randomUUID()}`;
  await publishEvent(w.js, 'latchkey/resolver', {
    id,
    type: eventTypes.resolutionFailed,
    subject: subjects.resolutionFailed(subjectDomain),
    data: ev,
  });
  return id;
}

/** The consumer has handled everything (acknowledged or terminated), and redelivered nothing. */
async function settled(jsm: JetStreamManager, stream: string, durable: string): Promise<void> {
  await waitFor(
    async () => {
      const i = await jsm.consumers.info(stream, durable);
      return i.num_pending === 0 && i.num_ack_pending === 0 && i;
    },
    { what: `${durable} to settle` },
  );
  assert.equal((await jsm.consumers.info(stream, durable)).num_redelivered, 0, 'terminated, not retried');
}

/** The deployer's bus.rejected records in its outbox, oldest first. */
async function rejections(w: World): Promise<AuditRecord[]> {
  const { rows } = await w.pool.query<{ subject: string; data: AuditRecord }>(
    "SELECT subject, data FROM outbox WHERE subject LIKE 'latchkey.audit.deployer.%' ORDER BY seq",
  );
  for (const r of rows) assert.equal(r.subject, `latchkey.audit.deployer.${r.data.domain}`);
  return rows.map((r) => r.data);
}

const version = (refId: string, key: string, scope: string): ResolvedVersion => ({
  refId,
  key,
  sourceType: 'MANAGED',
  scope,
  version: 1,
});

async function status(w: World, d: DeploymentRecord): Promise<string> {
  return (await w.repo.getDeployment(d.id))!.status;
}

test('a forged workload.resolved for another domain’s deployment, with an extra reference, or for a deployment never recorded is refused, audited, and starts nothing', async (t) => {
  const w = await world(t);
  const victim = await w.workloads.deploy('mia', 'analytics', 'etl');
  const ref = 'MANAGED:analytics:db_password';
  const value = canary();

  /** The victim's one reference answered, on `subjectDomain`'s subject, naming `domain` and answered from `scope`. */
  const forged = (subjectDomain: string, domain: string, scope: string) =>
    publishResolved(
      w,
      subjectDomain,
      { deploymentId: victim.id, domain, versions: [version(ref, 'db_password', scope)] },
      { [ref]: value },
    );

  // Right deployment id, other domain (as finance's workload would send it).
  const otherDomain = await forged('finance', 'finance', 'analytics');
  // Right domain, one reference more than the deployment has.
  const extra = await publishResolved(
    w,
    'analytics',
    {
      deploymentId: victim.id,
      domain: 'analytics',
      versions: [
        version(ref, 'db_password', 'analytics'),
        version('MANAGED:analytics:injected', 'injected', 'analytics'),
      ],
    },
    { [ref]: value, 'MANAGED:analytics:injected': value },
  );
  // Right domain and references, on another domain's subject.
  const wrongSubject = await forged('finance', 'analytics', 'analytics');
  // The right reference answered from another domain's scope.
  const wrongScope = await forged('analytics', 'analytics', 'finance');
  // A deployment that was never recorded.
  const ghost = randomUUID();
  const neverRecorded = await publishResolved(
    w,
    'analytics',
    { deploymentId: ghost, domain: 'analytics', versions: [version(ref, 'db_password', 'analytics')] },
    { [ref]: value },
  );
  await settled(w.jsm, STREAM_RESOLVED, RESOLVED_CONSUMER);

  assert.deepEqual(w.runtime.started, [], 'nothing was started');
  assert.equal(await status(w, victim), 'resolving', 'the victim still waits for its real resolution');
  // The consumer handles messages concurrently: the records are matched by event id.
  const records = await rejections(w);
  const byEvent = new Map(records.map((r) => [r.requestId, r]));
  assert.deepEqual(
    [...byEvent.keys()].sort(),
    [otherDomain, extra, wrongSubject, wrongScope, neverRecorded].sort(),
    'one record for each forged event',
  );
  for (const r of records) {
    assert.deepEqual([r.service, r.action, r.outcome, r.domain], ['deployer', 'bus.rejected', 'deny', 'analytics']);
    assert.equal(r.actor, 'bus:latchkey/resolver');
  }
  const reason = (id: string) => byEvent.get(id)?.reason ?? '';
  assert.match(reason(otherDomain), /names domain "finance", but deployment .* is in domain analytics/);
  assert.match(reason(extra), /not among its references: MANAGED:analytics:injected/);
  assert.match(
    reason(wrongSubject),
    /came on subject latchkey\.workload\.resolved\.finance, not on latchkey\.workload\.resolved\.analytics/,
  );
  assert.match(reason(wrongScope), /not as recorded: MANAGED:analytics:db_password \(scope finance\)/);
  assert.match(reason(neverRecorded), new RegExp(`no deployment ${ghost} was recorded`));
  assert.equal(byEvent.get(otherDomain)?.resource, `workload.resolved:deployment ${victim.id}`);
  assert.ok(!JSON.stringify(records).includes(value), 'no value in an audit record');

  // The real resolution still starts the victim, with exactly its own reference.
  await publishResolved(
    w,
    'analytics',
    { deploymentId: victim.id, domain: 'analytics', versions: [version(ref, 'db_password', 'analytics')] },
    { [ref]: value },
  );
  await waitFor(async () => (await status(w, victim)) === 'deployed', { what: 'the real resolution to start it' });
  assert.deepEqual(w.runtime.started, [victim.id]);
  assert.equal((await rejections(w)).length, 5, 'the real one is not refused');
});

test('a workload.resolved missing one of the deployment’s references, or whose sealed values answer other references, starts nothing', async (t) => {
  const w = await world(t);
  await w.workloads.apply(
    'mia',
    'analytics',
    JSON.stringify(computeSpec('etl', 'analytics', ['db_password', 'api_token'])),
  );
  const victim = await w.workloads.deploy('mia', 'analytics', 'etl');
  const value = canary();
  const db = version('MANAGED:analytics:db_password', 'db_password', 'analytics');
  const api = version('MANAGED:analytics:api_token', 'api_token', 'analytics');
  await publishResolved(
    w,
    'analytics',
    { deploymentId: victim.id, domain: 'analytics', versions: [db] },
    {
      [db.refId]: value,
    },
  );
  await settled(w.jsm, STREAM_RESOLVED, RESOLVED_CONSUMER);
  assert.equal(await status(w, victim), 'resolving');
  assert.match((await rejections(w))[0]?.reason ?? '', /missing: MANAGED:analytics:api_token/);

  // Versions as recorded, but the sealed values are for something else.
  await publishResolved(
    w,
    'analytics',
    { deploymentId: victim.id, domain: 'analytics', versions: [db, api] },
    {
      [db.refId]: value,
      'MANAGED:analytics:other': value,
    },
  );
  await settled(w.jsm, STREAM_RESOLVED, RESOLVED_CONSUMER);
  assert.deepEqual(w.runtime.started, [], 'nothing was started');
  const records = await rejections(w);
  assert.equal(records.length, 2);
  assert.match(records[1]?.reason ?? '', /the sealed values do not answer exactly the references/);
  assert.ok(!JSON.stringify(records).includes(value), 'no value in an audit record');
});

test('a forged workload.resolution_failed for another domain’s deployment or naming a reference it does not have is refused and audited; the deployment is not failed', async (t) => {
  const w = await world(t);
  const victim = await w.workloads.deploy('mia', 'analytics', 'etl');
  const ref = 'MANAGED:analytics:db_password';
  const failure = { refId: ref, key: 'db_password', code: 'secret.not_found', message: 'gone' };
  const otherDomain = await publishFailed(w, 'finance', {
    deploymentId: victim.id,
    domain: 'finance',
    failures: [failure],
  });
  const extra = await publishFailed(w, 'analytics', {
    deploymentId: victim.id,
    domain: 'analytics',
    failures: [failure, { ...failure, refId: 'MANAGED:analytics:injected', key: 'injected' }],
  });
  const none = await publishFailed(w, 'analytics', { deploymentId: victim.id, domain: 'analytics', failures: [] });
  await settled(w.jsm, STREAM_EVENTS, RESOLUTION_FAILED_CONSUMER);
  assert.equal(await status(w, victim), 'resolving', 'not failed by a forged event');
  const records = await rejections(w);
  assert.deepEqual(
    records.map((r) => [r.requestId, r.action, r.outcome, r.domain, r.resource]).sort(),
    [otherDomain, extra, none]
      .sort()
      .map((id) => [id, 'bus.rejected', 'deny', 'analytics', `workload.resolution_failed:deployment ${victim.id}`]),
  );

  // Nor does a forged retry note from another domain put its words on the deployment.
  const note = `retrying:${randomUUID()}`;
  await publishEvent(w.js, 'latchkey/resolver', {
    id: note,
    type: eventTypes.resolutionRetrying,
    subject: subjects.resolutionRetrying('finance'),
    data: { deploymentId: victim.id, domain: 'finance', attempt: 2, maxAttempts: 6, failures: [failure] },
  });
  await settled(w.jsm, STREAM_EVENTS, RESOLUTION_RETRYING_CONSUMER);
  const waiting = await w.repo.getDeployment(victim.id);
  assert.deepEqual([waiting?.attempts, waiting?.reasons], [0, []]);
  assert.ok(
    (await rejections(w)).some((r) => r.requestId === note),
    'the forged note is audited',
  );

  // The resolver's real answer is taken.
  await publishFailed(w, 'analytics', { deploymentId: victim.id, domain: 'analytics', failures: [failure] });
  await waitFor(async () => (await status(w, victim)) === 'failed', { what: 'the real failure to be recorded' });
});

test('each deploying event is signed with the deployers’ key as its outbox row is written, over everything the resolver acts on', async (t) => {
  const pool = await migratedPool(t, postgres(), 'deployer_sign');
  const signing = generateSigningKeyPair();
  const r = replica(pool, {
    name: 'deployer-1',
    keys: newKeys(),
    authorizer: new FakeAuthorizer(),
    clock: new TestClock(new Date()),
    sign: (payload) => signPayload(signing, payload),
  });
  await r.workloads.apply('mia', 'analytics', JSON.stringify(computeSpec('etl', 'analytics', ['db_password'])));
  const d = await r.workloads.deploy('mia', 'analytics', 'etl', ['data-eng']);
  const { rows } = await pool.query<{ id: string; data: WorkloadDeploying }>(
    'SELECT id, data FROM outbox WHERE id = $1',
    [`deploying:${d.id}`],
  );
  const [row] = rows;
  assert.ok(row, 'the deploying event is in the outbox');
  const keys = new Map([[signing.kid, signing]]);
  assert.equal(row.data.signature?.kid, signing.kid);
  assert.equal(signatureProblem(keys, deployingPayload(row.id, row.data), row.data.signature), undefined);
  // Every field the resolver acts on is covered: changing any one breaks the signature.
  const altered: Partial<WorkloadDeploying>[] = [
    { principal: 'admin' },
    { domain: 'finance' },
    { deploymentId: randomUUID() },
    { workload: 'other' },
    { groups: ['platform'] },
    { references: [{ ...row.data.references[0]!, sourceId: 'finance' }] },
  ];
  for (const change of altered) {
    const ev = { ...row.data, ...change };
    assert.match(signatureProblem(keys, deployingPayload(row.id, ev), ev.signature) ?? '', /does not verify/);
  }
  assert.match(
    signatureProblem(keys, deployingPayload(`deploying:${randomUUID()}`, row.data), row.data.signature) ?? '',
    /does not verify/,
    'nor can it be replayed under another event id',
  );
});
