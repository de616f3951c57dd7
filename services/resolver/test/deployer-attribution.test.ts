import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { connect, type JetStreamManager } from 'nats';
import { generateSealKeyPair, generateSigningKeyPair, signPayload } from '@latchkey/crypto';
import {
  deployingPayload,
  eventTypes,
  planPayload,
  planSubject,
  publishEvent,
  STREAM_AUDIT,
  STREAM_EVENTS,
  STREAM_RESOLVED,
  STREAMS,
  subjects,
  type AuditRecord,
  type PlanReply,
  type PlanRequest,
  type WorkloadDeploying,
} from '@latchkey/events';
import type { AuthorizationQuestion, Authorizer, Decision } from '@latchkey/authz';
import { silentLogger } from '@latchkey/logger';
import { ConsumerRunner, ensureConsumer, ensureStream } from '@latchkey/nats';
import { startTestNats, waitFor } from '@latchkey/testing';
import { NatsAuditTrail } from '../src/adapters/nats-audit-trail.js';
import { NatsResolutionPublisher } from '../src/adapters/nats-resolution-publisher.js';
import type { KeyPresenceResult, ValueRead, ValueReadResult, ValueSource } from '../src/domain/ports.js';
import { ResolutionService } from '../src/domain/resolution-service.js';
import { DEPLOYING_CONSUMER, deployingConsumer } from '../src/transport/events/deploying-consumer.js';
import { startPlanResponder } from '../src/transport/nats/plan-responder.js';
import { deployerSigning } from './deployer-signing.js';

/** Every key holds the canary; remembers every read and key lookup. */
class CountingCatalog implements ValueSource {
  readonly reads: ValueRead[][] = [];
  constructor(private readonly value: string) {}
  read(items: ValueRead[]): Promise<ValueReadResult[]> {
    this.reads.push(items);
    return Promise.resolve(
      items.map((i) => ({
        refId: i.refId,
        found: true,
        scope: i.scope,
        version: 1,
        value: Buffer.from(this.value),
        shadowedGlobal: false,
      })),
    );
  }
  findKeys(items: ValueRead[]): Promise<KeyPresenceResult[]> {
    this.reads.push(items);
    return Promise.resolve(
      items.map((i) => ({ refId: i.refId, found: true, scope: i.scope, version: 1, shadowedGlobal: false })),
    );
  }
  integrationBundles(): Promise<Map<string, string>> {
    return Promise.resolve(new Map());
  }
}

class CountingAuthorizer implements Authorizer {
  readonly asked: AuthorizationQuestion[] = [];
  check(q: AuthorizationQuestion): Promise<Decision> {
    return this.checkBatch([q]).then((d) => d[0]!);
  }
  checkBatch(qs: AuthorizationQuestion[]): Promise<Decision[]> {
    this.asked.push(...qs);
    return Promise.resolve(qs.map(() => ({ allowed: true, code: '', reason: '' })));
  }
}

async function auditRecords(jsm: JetStreamManager): Promise<AuditRecord[]> {
  const info = await jsm.streams.info(STREAM_AUDIT);
  const out: AuditRecord[] = [];
  if (info.state.messages === 0) return out;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(STREAM_AUDIT, { seq }).catch(() => undefined);
    if (m) out.push(JSON.parse(m.string()) as AuditRecord);
  }
  return out;
}

/** A resolver (consumer and plan responder) on a real nats-server, trusting one deployer key. */
async function world(t: TestContext) {
  const nats = await startTestNats();
  const nc = await connect({ servers: nats.url });
  t.after(async () => {
    await nc.close();
    await nats.stop();
  });
  const jsm = await nc.jetstreamManager();
  for (const s of STREAMS) await ensureStream(jsm, s);
  await ensureConsumer(jsm, {
    stream: STREAM_EVENTS,
    durable: DEPLOYING_CONSUMER,
    filterSubjects: ['latchkey.workload.deploying.>'],
  });
  const js = nc.jetstream();
  const canary = `canary-${randomBytes(12).toString('hex')}`;
  const catalog = new CountingCatalog(canary);
  const authorizer = new CountingAuthorizer();
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
  const runner = new ConsumerRunner({
    js,
    stream: STREAM_EVENTS,
    durable: DEPLOYING_CONSUMER,
    handler: deployingConsumer(service, attribution),
    logger: silentLogger,
  });
  await runner.start();
  t.after(() => runner.stop());
  const plans = startPlanResponder(nc, service, attribution, silentLogger);
  t.after(() => plans.unsubscribe());
  const ask = async (req: unknown): Promise<PlanReply> =>
    JSON.parse(
      new TextDecoder().decode(
        (await nc.request(planSubject('analytics'), JSON.stringify(req), { timeout: 5000 })).data,
      ),
    ) as PlanReply;
  return { jsm, js, canary, catalog, authorizer, deployer, warnings, ask };
}

const deploying = (principal = 'mia'): WorkloadDeploying => ({
  deploymentId: randomUUID(),
  workloadId: randomUUID(),
  workload: 'etl',
  domain: 'analytics',
  principal,
  groups: [],
  references: [
    {
      refId: 'MANAGED:analytics:db_password',
      key: 'db_password',
      sourceType: 'MANAGED',
      sourceId: 'analytics',
      legacy: false,
    },
  ],
});

test('a deploying event that is unsigned, signed with another key, or altered after signing is refused unread: no permission check, no catalog read, no secret.read record; the refusal is audited', async (t) => {
  const w = await world(t);
  const stranger = generateSigningKeyPair();
  const publish = async (data: WorkloadDeploying, id = `deploying:${data.deploymentId}`) => {
    await publishEvent(w.js, 'latchkey/deployer', {
      id,
      type: eventTypes.deploying,
      subject: subjects.deploying('analytics'),
      data,
    });
    return id;
  };
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
