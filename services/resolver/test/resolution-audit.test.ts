import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { connect, type JetStreamManager } from 'nats';
import { generateSealKeyPair, open } from '@latchkey/crypto';
import {
  STREAM_AUDIT,
  STREAM_EVENTS,
  STREAM_RESOLVED,
  STREAMS,
  auditEvent,
  auditRecord,
  publishEvent,
  type AuditRecord,
  type ReferenceSpec,
  type WorkloadDeploying,
  type WorkloadResolutionFailed,
  type WorkloadResolved,
} from '@latchkey/events';
import type { AuthorizationQuestion, Authorizer, Decision } from '@latchkey/authz';
import { ensureStream } from '@latchkey/nats';
import { startTestNats } from '@latchkey/testing';
import { NatsAuditTrail } from '../src/adapters/nats-audit-trail.js';
import { NatsResolutionPublisher } from '../src/adapters/nats-resolution-publisher.js';
import type {
  KeyPresenceResult,
  ResolutionPublisher,
  ValueRead,
  ValueReadResult,
  ValueSource,
} from '../src/domain/ports.js';
import { ResolutionService } from '../src/domain/resolution-service.js';

interface StoredMessage {
  subject: string;
  text: string;
}

async function messages(jsm: JetStreamManager, stream: string): Promise<StoredMessage[]> {
  const info = await jsm.streams.info(stream);
  const out: StoredMessage[] = [];
  if (info.state.messages === 0) return out;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => undefined);
    if (m) out.push({ subject: m.subject, text: new TextDecoder().decode(m.data) });
  }
  return out;
}

/** Allows everything except what `deny` names (by key); remembers every question. */
class FakeAuthorizer implements Authorizer {
  readonly asked: AuthorizationQuestion[] = [];
  constructor(private readonly deny: ReadonlySet<string> = new Set()) {}
  check(q: AuthorizationQuestion): Promise<Decision> {
    return this.checkBatch([q]).then((ds) => ds[0]!);
  }
  checkBatch(qs: AuthorizationQuestion[]): Promise<Decision[]> {
    this.asked.push(...qs);
    return Promise.resolve(
      qs.map((q) =>
        this.deny.has(q.resource ?? '')
          ? { allowed: false, code: 'ras.permission_denied', reason: `${q.principal} may not secret.use` }
          : { allowed: true, code: '', reason: '' },
      ),
    );
  }
}

/** Every key holds `value`, at version 3. */
class FakeValues implements ValueSource {
  constructor(private readonly value: string) {}
  read(items: ValueRead[]): Promise<ValueReadResult[]> {
    return Promise.resolve(
      items.map((i) => ({
        refId: i.refId,
        found: true,
        scope: i.scope,
        version: 3,
        value: Buffer.from(this.value),
        shadowedGlobal: false,
      })),
    );
  }
  findKeys(items: ValueRead[]): Promise<KeyPresenceResult[]> {
    return Promise.resolve(
      items.map((i) => ({ refId: i.refId, found: true, scope: i.scope, version: 3, shadowedGlobal: false })),
    );
  }
  integrationBundles(): Promise<Map<string, string>> {
    return Promise.resolve(new Map());
  }
}

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

async function world(t: TestContext, deny: string[] = []): Promise<World> {
  const nats = await startTestNats();
  const nc = await connect({ servers: nats.url });
  t.after(async () => {
    await nc.close();
    await nats.stop();
  });
  const jsm = await nc.jetstreamManager();
  for (const s of STREAMS) await ensureStream(jsm, s);
  // A short timeout, so that a publish nothing answers fails fast.
  const js = nc.jetstream({ timeout: 2000 });
  const canary = `canary-${randomBytes(12).toString('hex')}`;
  const keys = generateSealKeyPair();
  const authorizer = new FakeAuthorizer(new Set(deny));
  const warnings: World['warnings'] = [];
  const auditedBeforeResolved: boolean[] = [];
  const nats_ = new NatsResolutionPublisher(js);
  const publisher: ResolutionPublisher = {
    async resolved(ev) {
      const audit = await messages(jsm, STREAM_AUDIT).catch(() => []);
      auditedBeforeResolved.push(audit.some((m) => (JSON.parse(m.text) as AuditRecord).requestId === ev.deploymentId));
      await nats_.resolved(ev);
    },
    failed: (ev) => nats_.failed(ev),
    retrying: (ev) => nats_.retrying(ev),
  };
  return {
    jsm,
    url: nats.url,
    canary,
    authorizer,
    warnings,
    auditedBeforeResolved,
    keys,
    service: (failClosed) =>
      new ResolutionService({
        authorizer,
        values: new FakeValues(canary),
        publisher,
        recipient: keys,
        audit: new NatsAuditTrail(js),
        auditFailClosed: failClosed,
        logger: { warn: (msg, fields) => void warnings.push({ msg, fields }) },
      }),
  };
}

const refs: ReferenceSpec[] = [
  {
    refId: 'MANAGED:analytics:db_password',
    key: 'db_password',
    sourceType: 'MANAGED',
    sourceId: 'analytics',
    legacy: false,
  },
  { refId: 'LEGACY:api_token', key: 'api_token', sourceType: 'MANAGED', sourceId: 'analytics', legacy: true },
];

const deploying = (): WorkloadDeploying => ({
  deploymentId: randomUUID(),
  workloadId: randomUUID(),
  workload: 'nightly-etl',
  domain: 'analytics',
  principal: 'mia',
  references: refs,
});

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
  const values = JSON.parse(
    open(new Map([[w.keys.kid, w.keys]]), resolved.sealed, ev.deploymentId).toString(),
  ) as Record<string, string>;
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
