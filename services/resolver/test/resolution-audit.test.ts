import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { connect, type JetStreamManager } from 'nats';
import { generateSealKeyPair } from '@latchkey/crypto';
import {
  STREAM_AUDIT,
  STREAM_EVENTS,
  STREAM_RESOLVED,
  auditEvent,
  auditRecord,
  publishEvent,
  type AuditRecord,
  type WorkloadDeploying,
  type WorkloadResolutionFailed,
  type WorkloadResolved,
} from '@latchkey/events';
import { FakeAuthorizer } from '@latchkey/testing';
import { NatsAuditTrail } from '../src/adapters/nats-audit-trail.js';
import { NatsResolutionPublisher } from '../src/adapters/nats-resolution-publisher.js';
import type { ResolutionPublisher } from '../src/domain/ports.js';
import { ResolutionService } from '../src/domain/resolution-service.js';
import {
  auditRecords,
  deployingEvent,
  legacy,
  managed,
  opener,
  startBus,
  streamMessages as messages,
  UniformCatalog,
  type StoredMessage,
} from './resolver-fixture.js';

interface World {
  jsm: JetStreamManager;
  /** The NATS server's URL, for a hostile client of its own. */
  url: string;
  canary: string;
  authorizer: FakeAuthorizer;
  warnings: { msg: string; fields: Record<string, unknown> | undefined }[];
  /** When `resolved` was published: was the resolution's audit record in LATCHKEY_AUDIT already? */
  auditedBeforeResolved: boolean[];
  service(failClosed: boolean): ResolutionService;
  keys: ReturnType<typeof generateSealKeyPair>;
}

/** A resolution service on a real nats-server, every key holding the canary at version 3; ras refuses the keys in `deny`. */
async function world(t: TestContext, deny: string[] = []): Promise<World> {
  // A short timeout, so that a publish nothing answers fails fast.
  const { url, jsm, js } = await startBus(t, { timeoutMs: 2000 });
  const canary = `canary-${randomBytes(12).toString('hex')}`;
  const keys = generateSealKeyPair();
  const authorizer = FakeAuthorizer.denyingResources(deny, (q) => `${q.principal} may not secret.use`);
  const warnings: World['warnings'] = [];
  const auditedBeforeResolved: boolean[] = [];
  const nats_ = new NatsResolutionPublisher(js);
  const publisher: ResolutionPublisher = {
    async resolved(ev) {
      const audit = await auditRecords(jsm).catch(() => []);
      auditedBeforeResolved.push(audit.some((r) => r.requestId === ev.deploymentId));
      await nats_.resolved(ev);
    },
    failed: (ev) => nats_.failed(ev),
    retrying: (ev) => nats_.retrying(ev),
  };
  return {
    jsm,
    url,
    canary,
    authorizer,
    warnings,
    auditedBeforeResolved,
    keys,
    service: (failClosed) =>
      new ResolutionService({
        authorizer,
        values: new UniformCatalog(canary, 3),
        publisher,
        recipient: keys,
        audit: new NatsAuditTrail(js),
        auditFailClosed: failClosed,
        logger: { warn: (msg, fields) => void warnings.push({ msg, fields }) },
      }),
  };
}

const refs = [managed('db_password'), legacy('api_token')];

const deploying = (): WorkloadDeploying => deployingEvent(refs);

const parsed = <T>(ms: StoredMessage[]): T[] => ms.map((m) => JSON.parse(m.text) as T);

test('a resolution is audited (actor, keys, sources, versions; never the value) and acknowledged before the sealed values go out', async (t) => {
  const w = await world(t);
  const ev = deploying();
  await w.service(true).resolve(ev);

  const audit = await messages(w.jsm, STREAM_AUDIT);
  assert.deepEqual(
    audit.map((m) => m.subject),
    ['latchkey.audit.resolver.analytics'],
  );
  const [record] = parsed<AuditRecord>(audit);
  assert.deepEqual(
    { ...record, id: '', at: '' },
    {
      id: '',
      at: '',
      service: 'resolver',
      actor: 'mia',
      action: 'secret.read',
      domain: 'analytics',
      resource: 'MANAGED:analytics/db_password@v3, MANAGED:analytics/api_token@v3',
      outcome: 'ok',
      reason: `deployment ${ev.deploymentId} of workload nightly-etl`,
      requestId: ev.deploymentId,
    },
  );
  assert.deepEqual(w.auditedBeforeResolved, [true], 'the record was stored before the values were published');
  const [resolved] = parsed<WorkloadResolved>(await messages(w.jsm, STREAM_RESOLVED));
  assert.ok(resolved);
  const values = opener(w.keys)(resolved);
  assert.equal(values['MANAGED:analytics:db_password'], w.canary);
  // ras was asked for the deploying principal, with the deployment as the request.
  assert.deepEqual(
    w.authorizer.asked.map((q) => [q.principal, q.action, q.resource, q.requestId]),
    refs.map((r) => ['mia', 'secret.use', r.key, ev.deploymentId]),
  );
  for (const m of audit) assert.ok(!m.text.includes(w.canary), 'the audit record holds no value');
});

test('a failed resolution is audited too: deny when ras refused a reference', async (t) => {
  const w = await world(t, ['api_token']);
  const ev = deploying();
  await w.service(true).resolve(ev);
  const [record] = parsed<AuditRecord>(await messages(w.jsm, STREAM_AUDIT));
  assert.equal(record?.outcome, 'deny');
  assert.equal(record?.resource, 'MANAGED:analytics/db_password, MANAGED:analytics/api_token');
  assert.equal(record?.reason, 'api_token: ras.permission_denied');
  assert.equal((await w.jsm.streams.info(STREAM_RESOLVED)).state.messages, 0);
});

test('audit fail-closed: with the audit stream gone the resolution is refused with audit.unavailable and nothing is sealed', async (t) => {
  const w = await world(t);
  await w.jsm.streams.delete(STREAM_AUDIT);
  const ev = deploying();
  await w.service(true).resolve(ev);

  assert.equal((await w.jsm.streams.info(STREAM_RESOLVED)).state.messages, 0, 'no sealed values were published');
  const failed = parsed<WorkloadResolutionFailed>(await messages(w.jsm, STREAM_EVENTS));
  assert.equal(failed.length, 1);
  assert.equal(failed[0]?.deploymentId, ev.deploymentId);
  assert.deepEqual(
    failed[0]?.failures.map((f) => [f.key, f.code]),
    [
      ['db_password', 'audit.unavailable'],
      ['api_token', 'audit.unavailable'],
    ],
  );
  assert.match(
    failed[0]?.failures[0]?.message ?? '',
    /audit record of this read could not be written and audit\.failClosed is on/,
  );
  assert.deepEqual(
    w.warnings.map((x) => x.msg),
    ['audit record not written: resolution refused (audit.failClosed)'],
  );
  assert.ok(!JSON.stringify(w.warnings).includes(w.canary));
  assert.ok(!JSON.stringify(failed).includes(w.canary));
});

test('audit fail-open (the default): with the audit stream gone the resolution is served and the failure logged', async (t) => {
  const w = await world(t);
  await w.jsm.streams.delete(STREAM_AUDIT);
  const ev = deploying();
  await w.service(false).resolve(ev);

  const resolved = parsed<WorkloadResolved>(await messages(w.jsm, STREAM_RESOLVED));
  assert.deepEqual(
    resolved.map((r) => r.deploymentId),
    [ev.deploymentId],
  );
  assert.equal((await w.jsm.streams.info(STREAM_EVENTS)).state.messages, 0, 'no resolution_failed');
  assert.deepEqual(
    w.warnings.map((x) => [x.msg, x.fields?.['deploymentId']]),
    [['audit record not written: resolution served unaudited (audit.failClosed is off)', ev.deploymentId]],
  );
  assert.ok(!JSON.stringify(w.warnings).includes(w.canary));
});

test('a record pre-published under the id the old scheme used (secret.read:<deployment id>) does not suppress the real record of the read', async (t) => {
  const w = await world(t);
  const ev = deploying();
  // Anyone who saw the deploying event could publish this first; JetStream keeps the first of an id.
  const nc = await connect({ servers: w.url });
  t.after(() => nc.close());
  const fake = auditRecord({
    id: `secret.read:${ev.deploymentId}`,
    service: 'resolver',
    actor: 'nobody',
    action: 'secret.read',
    domain: 'analytics',
    outcome: 'deny',
    requestId: ev.deploymentId,
  });
  await publishEvent(nc.jetstream(), 'latchkey/resolver', auditEvent(fake));
  await w.service(true).resolve(ev);

  const records = parsed<AuditRecord>(await messages(w.jsm, STREAM_AUDIT));
  const real = records.filter((r) => r.actor === 'mia' && r.requestId === ev.deploymentId);
  assert.equal(real.length, 1, 'the real record of the read is in the audit stream');
  assert.equal(real[0]?.outcome, 'ok');
  assert.notEqual(real[0]?.id, fake.id);
  assert.equal((await w.jsm.streams.info(STREAM_RESOLVED)).state.messages, 1);
});
