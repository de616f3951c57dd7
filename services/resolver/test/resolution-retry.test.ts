import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { connect } from 'nats';
import { generateSealKeyPair, open } from '@latchkey/crypto';
import { unavailable } from '@latchkey/errors';
import {
  eventTypes,
  publishEvent,
  STREAM_EVENTS,
  STREAM_RESOLVED,
  STREAMS,
  subjects,
  type AuditRecord,
  type WorkloadDeploying,
  type WorkloadResolutionRetrying,
  type WorkloadResolved,
} from '@latchkey/events';
import type { Authorizer } from '@latchkey/authz';
import { silentLogger } from '@latchkey/logger';
import { ConsumerRunner, ensureConsumer, ensureStream } from '@latchkey/nats';
import { startTestNats, waitFor } from '@latchkey/testing';
import { NatsResolutionPublisher } from '../src/adapters/nats-resolution-publisher.js';
import type { KeyPresenceResult, ValueRead, ValueReadResult, ValueSource } from '../src/domain/ports.js';
import { ResolutionService } from '../src/domain/resolution-service.js';
import { DEPLOYING_CONSUMER, deployingConsumer } from '../src/transport/events/deploying-consumer.js';
import { deployerSigning } from './deployer-signing.js';

const allowAll: Authorizer = {
  check: () => Promise.resolve({ allowed: true, code: '', reason: '' }),
  checkBatch: (qs) => Promise.resolve(qs.map(() => ({ allowed: true, code: '', reason: '' }))),
};

/** A catalog that cannot be reached for its first `downFor` reads; remembers when each read came. */
class FlakyCatalog implements ValueSource {
  readonly readsAt: number[] = [];
  constructor(
    private readonly value: string,
    private downFor: number,
  ) {}
  read(items: ValueRead[]): Promise<ValueReadResult[]> {
    this.readsAt.push(Date.now());
    if (this.downFor-- > 0) return Promise.reject(unavailable('grpc.unavailable', 'connect ECONNREFUSED'));
    return Promise.resolve(
      items.map((i) => ({
        refId: i.refId,
        found: true,
        scope: i.scope,
        version: 2,
        value: Buffer.from(this.value),
        shadowedGlobal: false,
      })),
    );
  }
  findKeys(): Promise<KeyPresenceResult[]> {
    return Promise.reject(new Error('not used here'));
  }
  integrationBundles(): Promise<Map<string, string>> {
    return Promise.reject(new Error('not used here'));
  }
}

test('through the bus: a deployment whose catalog is down is redelivered with growing delays, says it waits, then resolves', async (t) => {
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
  const catalog = new FlakyCatalog(canary, 2);
  const keys = generateSealKeyPair();
  const audit: AuditRecord[] = [];
  const service = new ResolutionService({
    authorizer: allowAll,
    values: catalog,
    publisher: new NatsResolutionPublisher(js),
    recipient: keys,
    audit: { write: (r) => Promise.resolve(void audit.push(r)) },
    auditFailClosed: false,
    logger: silentLogger,
  });
  const deployer = deployerSigning();
  const runner = new ConsumerRunner({
    js,
    stream: STREAM_EVENTS,
    durable: DEPLOYING_CONSUMER,
    handler: deployingConsumer(service, deployer.attribution()),
    logger: silentLogger,
  });
  await runner.start();
  t.after(() => runner.stop());

  const ev: WorkloadDeploying = {
    deploymentId: randomUUID(),
    workloadId: randomUUID(),
    workload: 'etl',
    domain: 'analytics',
    principal: 'mia',
    references: [
      { refId: 'LEGACY:db_password', key: 'db_password', sourceType: 'MANAGED', sourceId: 'analytics', legacy: true },
    ],
  };
  await publishEvent(js, 'test', {
    id: `deploying:${ev.deploymentId}`,
    type: eventTypes.deploying,
    subject: subjects.deploying('analytics'),
    data: deployer.deploying(`deploying:${ev.deploymentId}`, ev),
  });

  const resolvedMsg = await waitFor(
    () => jsm.streams.getMessage(STREAM_RESOLVED, { last_by_subj: subjects.resolved('analytics') }),
    {
      what: 'the resolved event',
      timeoutMs: 20_000,
    },
  );
  const resolved = JSON.parse(new TextDecoder().decode(resolvedMsg.data)) as WorkloadResolved;
  assert.equal(resolved.deploymentId, ev.deploymentId);
  const values = JSON.parse(open(new Map([[keys.kid, keys]]), resolved.sealed, ev.deploymentId).toString()) as Record<
    string,
    string
  >;
  assert.equal(values['LEGACY:db_password'], canary);
  assert.deepEqual(resolved.warnings, ['resolved on attempt 3 of 6, after waiting for an unavailable backend']);

  // Each delivery was one attempt; the deployment heard about the first two.
  assert.equal(catalog.readsAt.length, 3);
  const retrying: WorkloadResolutionRetrying[] = [];
  const info = await jsm.streams.info(STREAM_EVENTS);
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(STREAM_EVENTS, { seq }).catch(() => undefined);
    if (m?.subject === subjects.resolutionRetrying('analytics'))
      retrying.push(JSON.parse(new TextDecoder().decode(m.data)) as WorkloadResolutionRetrying);
  }
  assert.deepEqual(
    retrying.map((r) => [r.deploymentId, r.attempt, r.maxAttempts, r.failures.map((f) => f.code)]),
    [
      [ev.deploymentId, 1, 6, ['catalog.unavailable']],
      [ev.deploymentId, 2, 6, ['catalog.unavailable']],
    ],
  );
  // Backoff: about 0.5 s then about 1 s (each +-25 %), not an immediate redelivery.
  const [first, second, third] = catalog.readsAt as [number, number, number];
  assert.ok(second - first >= 350, `first delay ${second - first} ms`);
  assert.ok(third - second >= 700, `second delay ${third - second} ms`);
  assert.deepEqual(
    audit.map((r) => r.outcome),
    ['ok'],
    'one record, of the outcome',
  );
  const published = JSON.stringify(retrying) + JSON.stringify(resolved.warnings);
  assert.ok(!published.includes(canary));
});
