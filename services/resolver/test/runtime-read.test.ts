import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { generateSealKeyPair, generateSigningKeyPair, open, signPayload } from '@latchkey/crypto';
import {
  runtimeReadBinding,
  runtimeReadPayload,
  runtimeReadSubject,
  STREAM_EVENTS,
  STREAM_RESOLVED,
  type RuntimeReadReply,
  type RuntimeReadRequest,
} from '@latchkey/events';
import { silentLogger } from '@latchkey/logger';
import { FakeAuthorizer } from '@latchkey/testing';
import { NatsAuditTrail } from '../src/adapters/nats-audit-trail.js';
import { NatsResolutionPublisher } from '../src/adapters/nats-resolution-publisher.js';
import { ResolutionService } from '../src/domain/resolution-service.js';
import { startRuntimeReadResponder } from '../src/transport/nats/runtime-read-responder.js';
import { auditRecords, deployerSigning, legacy, managed, startBus, UniformCatalog } from './resolver-fixture.js';

/** A resolver's runtime-read responder on a real nats-server, trusting one deployer key. */
async function world(t: TestContext, authorizer = new FakeAuthorizer()) {
  const bus = await startBus(t);
  const canary = `canary-${randomBytes(12).toString('hex')}`;
  const catalog = new UniformCatalog(canary, 3);
  const audit = new NatsAuditTrail(bus.js);
  const keys = generateSealKeyPair();
  const service = new ResolutionService({
    authorizer,
    values: catalog,
    publisher: new NatsResolutionPublisher(bus.js),
    recipient: keys,
    audit,
    auditFailClosed: true,
    logger: silentLogger,
  });
  const deployer = deployerSigning();
  const sub = startRuntimeReadResponder(bus.nc, service, deployer.attribution(audit, silentLogger), silentLogger);
  t.after(() => sub.unsubscribe());
  const ask = async (req: unknown): Promise<{ reply: RuntimeReadReply; text: string }> => {
    const m = await bus.nc.request(runtimeReadSubject('analytics'), JSON.stringify(req), { timeout: 5000 });
    const text = new TextDecoder().decode(m.data);
    return { reply: JSON.parse(text) as RuntimeReadReply, text };
  };
  /** A runtime read by deployment `deploymentId` of nightly-etl (deployed by mia of data-eng), as the deployer signs it. */
  const signed = (overrides: Partial<RuntimeReadRequest> = {}): RuntimeReadRequest => {
    const req: RuntimeReadRequest = {
      domain: 'analytics',
      workload: 'nightly-etl',
      deploymentId: randomUUID(),
      principal: 'mia',
      groups: ['data-eng'],
      reference: managed('db_password'),
      requestId: randomUUID(),
      issuedAt: new Date().toISOString(),
      ...overrides,
    };
    return { ...req, signature: signPayload(deployer.pair, runtimeReadPayload(req)) };
  };
  return { ...bus, canary, catalog, authorizer, keys, ask, signed };
}

test('a signed runtime read is checked with ras as the deploying principal, read at the current version, audited before the reply, and sealed for that request only', async (t) => {
  const w = await world(t);
  const req = w.signed({ reference: legacy('db_password') });
  const { reply, text } = await w.ask(req);
  assert.ok(reply.ok, JSON.stringify(reply));
  assert.equal(reply.version, 3);
  assert.equal(reply.scope, 'analytics');
  assert.ok(!text.includes(w.canary), 'the value crossed the bus unsealed');
  const sealKeys = new Map([[w.keys.kid, w.keys]]);
  assert.equal(open(sealKeys, reply.sealed, runtimeReadBinding(req.requestId ?? '')).toString(), w.canary);
  // Not openable as a deployment's values, nor as another request's.
  assert.throws(() => open(sealKeys, reply.sealed, req.deploymentId));
  assert.throws(() => open(sealKeys, reply.sealed, runtimeReadBinding(randomUUID())));

  assert.deepEqual(
    w.authorizer.asked.map((q) => [q.principal, q.action, q.domain, q.resource, q.groups]),
    [['mia', 'secret.use', 'analytics', 'db_password', ['data-eng']]],
  );
  const records = (await auditRecords(w.jsm)).filter((r) => r.action === 'secret.runtime_read');
  assert.equal(records.length, 1);
  const [r] = records;
  assert.equal(r?.service, 'resolver');
  assert.equal(r?.actor, 'mia');
  assert.deepEqual(r?.groups, ['data-eng']);
  assert.equal(r?.outcome, 'ok');
  assert.equal(r?.resource, 'MANAGED:analytics/db_password@v3');
  assert.equal(r?.requestId, req.deploymentId);
  assert.match(r?.reason ?? '', new RegExp(`runtime_read by deployment ${req.deploymentId}`));
  // Nothing is published: no event, no sealed values on the streams.
  assert.equal((await w.jsm.streams.info(STREAM_RESOLVED)).state.messages, 0);
  assert.equal((await w.jsm.streams.info(STREAM_EVENTS)).state.messages, 0);
  assert.ok(!(await auditRecords(w.jsm)).some((x) => JSON.stringify(x).includes(w.canary)));
});

test('a runtime read ras refuses the deploying principal is answered with its code, audited as denied, and reads nothing', async (t) => {
  const w = await world(t, FakeAuthorizer.denyingResources(['db_password']));
  const req = w.signed();
  const { reply } = await w.ask(req);
  assert.equal(reply.ok, false);
  assert.equal(!reply.ok && reply.code, 'ras.permission_denied');
  assert.deepEqual(w.catalog.reads, []);
  const [r] = (await auditRecords(w.jsm)).filter((x) => x.action === 'secret.runtime_read');
  assert.equal(r?.outcome, 'deny');
  assert.equal(r?.actor, 'mia');
  assert.equal(r?.requestId, req.deploymentId);
});

test('an unsigned, foreign-signed, altered or replayed runtime read is refused unread and audited', async (t) => {
  const w = await world(t);
  const stranger = generateSigningKeyPair();
  const { signature: _drop, ...unsigned } = w.signed();
  const other = w.signed();
  const foreign = { ...other, signature: signPayload(stranger, runtimeReadPayload(other)) };
  // Signed for one key of mia's deployment, then pointed at another key and at a platform admin.
  const alteredKey = { ...w.signed(), reference: managed('other_secret') };
  const alteredPrincipal = { ...w.signed(), principal: 'admin' };
  const replayed = w.signed({ issuedAt: new Date(Date.now() - 10 * 60_000).toISOString() });
  for (const req of [unsigned, foreign, alteredKey, alteredPrincipal, replayed]) {
    const { reply } = await w.ask(req);
    assert.equal(!reply.ok && reply.code, 'resolver.unattributed_request', JSON.stringify(reply));
  }
  const { reply: junk } = await w.ask('not json at all');
  assert.equal(!junk.ok && junk.code, 'resolver.invalid_request');
  assert.deepEqual(w.catalog.reads, [], 'nothing was read');
  assert.deepEqual(w.authorizer.asked, [], 'nothing was asked of ras');
  const rejected = (await auditRecords(w.jsm)).filter((r) => r.action === 'bus.rejected');
  assert.equal(rejected.length, 5);
  assert.ok(rejected.every((r) => r.resource.startsWith('runtime_read:deployment ') && r.outcome === 'deny'));
});
