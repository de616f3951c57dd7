import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { generateSealKeyPair, generateSigningKeyPair, signPayload } from '@latchkey/crypto';
import {
  deployingPayload,
  planPayload,
  STREAM_EVENTS,
  STREAM_RESOLVED,
  type PlanRequest,
  type WorkloadDeploying,
} from '@latchkey/events';
import { silentLogger } from '@latchkey/logger';
import { FakeAuthorizer, waitFor } from '@latchkey/testing';
import { NatsAuditTrail } from '../src/adapters/nats-audit-trail.js';
import { NatsResolutionPublisher } from '../src/adapters/nats-resolution-publisher.js';
import { ResolutionService } from '../src/domain/resolution-service.js';
import { DEPLOYING_CONSUMER } from '../src/transport/events/deploying-consumer.js';
import { startPlanResponder } from '../src/transport/nats/plan-responder.js';
import {
  askPlan,
  auditRecords,
  deployerSigning,
  deployingEvent,
  managed,
  publishDeploying,
  runDeployingConsumer,
  startBus,
  UniformCatalog,
} from './resolver-fixture.js';

/** A resolver (consumer and plan responder) on a real nats-server, trusting one deployer key. */
async function world(t: TestContext) {
  const bus = await startBus(t, { deployingConsumer: true });
  const { nc, jsm, js } = bus;
  const canary = `canary-${randomBytes(12).toString('hex')}`;
  const catalog = new UniformCatalog(canary, 1);
  const authorizer = new FakeAuthorizer();
  const audit = new NatsAuditTrail(js);
  const warnings: string[] = [];
  const logger = {
    warn: (msg: string, fields?: Record<string, unknown>) => void warnings.push(`${msg} ${JSON.stringify(fields)}`),
  };
  const service = new ResolutionService({
    authorizer,
    values: catalog,
    publisher: new NatsResolutionPublisher(js),
    recipient: generateSealKeyPair(),
    audit,
    auditFailClosed: true,
    logger,
  });
  const deployer = deployerSigning();
  const attribution = deployer.attribution(audit, logger);
  await runDeployingConsumer(t, bus, service, attribution);
  const plans = startPlanResponder(nc, service, attribution, silentLogger);
  t.after(() => plans.unsubscribe());
  const ask = (req: unknown) => askPlan(nc, JSON.stringify(req));
  return { jsm, js, canary, catalog, authorizer, deployer, warnings, ask };
}

const deploying = (principal = 'mia'): WorkloadDeploying =>
  deployingEvent([managed('db_password')], { workload: 'etl', principal, groups: [] });

test('a deploying event that is unsigned, signed with another key, or altered after signing is refused unread: no permission check, no catalog read, no secret.read record; the refusal is audited', async (t) => {
  const w = await world(t);
  const stranger = generateSigningKeyPair();
  const publish = (data: WorkloadDeploying) => publishDeploying(w.js, data);
  const unsigned = deploying('admin');
  const otherKey = deploying('admin');
  const altered = deploying('mia');
  const ids = [
    await publish(unsigned),
    await publish({
      ...otherKey,
      signature: signPayload(stranger, deployingPayload(`deploying:${otherKey.deploymentId}`, otherKey)),
    }),
    // Signed for mia, then the principal swapped for a platform admin.
    await publish({ ...w.deployer.deploying(`deploying:${altered.deploymentId}`, altered), principal: 'admin' }),
  ];
  const records = await waitFor(
    async () => {
      const all = (await auditRecords(w.jsm)).filter((r) => r.action === 'bus.rejected');
      return all.length >= 3 ? all : undefined;
    },
    { what: 'three refusals in the audit stream' },
  );
  await waitFor(
    async () => {
      const i = await w.jsm.consumers.info(STREAM_EVENTS, DEPLOYING_CONSUMER);
      return i.num_pending === 0 && i.num_ack_pending === 0;
    },
    { what: 'the deploying consumer to settle' },
  );
  const info = await w.jsm.consumers.info(STREAM_EVENTS, DEPLOYING_CONSUMER);
  assert.equal(info.num_redelivered, 0, 'terminated, not retried');
  assert.deepEqual(w.catalog.reads, [], 'nothing was read from the catalog');
  assert.deepEqual(w.authorizer.asked, [], 'nothing was asked of ras');
  assert.equal((await w.jsm.streams.info(STREAM_RESOLVED)).state.messages, 0, 'nothing was resolved');
  const all = await auditRecords(w.jsm);
  assert.equal(all.filter((r) => r.action === 'secret.read').length, 0, 'no record of a read: there was none');
  assert.deepEqual(
    records.map((r) => [r.service, r.actor, r.outcome, r.domain]),
    ids.map(() => ['resolver', 'bus:unattributed', 'deny', 'analytics']),
  );
  const reasonOf = (d: WorkloadDeploying) =>
    records.find((r) => r.resource === `workload.deploying:deployment ${d.deploymentId}`)?.reason ?? '';
  assert.match(reasonOf(unsigned), /it carries no signature/);
  assert.match(
    reasonOf(otherKey),
    new RegExp(`signed by key "${stranger.kid}", which is not a key this service trusts`),
  );
  assert.match(reasonOf(altered), /does not verify: the message was altered or not signed by that key/);
  assert.ok(w.warnings.some((m) => m.startsWith('bus message refused: not attributable to the deployer')));

  // The deployer's own event is resolved.
  const genuine = deploying();
  await publish(w.deployer.deploying(`deploying:${genuine.deploymentId}`, genuine));
  await waitFor(async () => (await w.jsm.streams.info(STREAM_RESOLVED)).state.messages === 1, {
    what: 'the signed deployment resolved',
  });
  assert.equal(w.catalog.reads.length, 1);
  assert.ok(!JSON.stringify(await auditRecords(w.jsm)).includes(w.canary), 'no value in any record');
});

test('a plan request that is unsigned, signed with another key, altered, or signed long ago is refused unread, and audited', async (t) => {
  const w = await world(t);
  const request: PlanRequest = {
    mode: 'dry_run',
    domain: 'analytics',
    workload: 'etl',
    principal: 'admin',
    references: deploying().references,
  };
  const stranger = deployerSigning(generateSigningKeyPair());
  const signed = w.deployer.plan(request);
  const stale = { ...request, requestId: randomUUID(), issuedAt: new Date(Date.now() - 3600_000).toISOString() };
  const replies = [
    await w.ask(request),
    await w.ask(stranger.plan(request)),
    await w.ask({ ...signed, mode: 'dry_run', principal: 'root' }),
    // Signed by the deployer's key, an hour ago (a replay).
    await w.ask({ ...stale, signature: signPayload(w.deployer.pair, planPayload(stale)) }),
  ];
  for (const r of replies) {
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.code, 'resolver.unattributed_request');
    assert.match(
      !r.ok ? r.message : '',
      /^plan request refused: .*; the resolver answers only plan requests signed by the deployer$/,
    );
  }
  assert.deepEqual(w.catalog.reads, [], 'nothing was read from the catalog');
  assert.deepEqual(w.authorizer.asked, [], 'nothing was asked of ras');
  const records = await waitFor(
    async () => {
      const all = (await auditRecords(w.jsm)).filter((r) => r.action === 'bus.rejected');
      return all.length >= 4 ? all : undefined;
    },
    { what: 'four refusals in the audit stream' },
  );
  assert.deepEqual(
    records.map((r) => [r.service, r.outcome, r.domain, r.resource]),
    replies.map(() => ['resolver', 'deny', 'analytics', 'plan.dry_run:workload etl']),
  );
  const reasons = records.map((r) => r.reason);
  assert.ok(
    reasons.some((r) => /more than 300 s from now/.test(r)),
    'the stale one says why',
  );
  assert.equal((await auditRecords(w.jsm)).filter((r) => r.action === 'secret.read').length, 0);

  // The deployer's own request is answered (and its read recorded).
  const reply = await w.ask(w.deployer.plan(request));
  assert.ok(reply.ok, JSON.stringify(reply));
  assert.equal(w.catalog.reads.length, 1);
});
