import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { generateSealKeyPair } from '@latchkey/crypto';
import {
  STREAM_EVENTS,
  STREAM_RESOLVED,
  subjects,
  type AuditRecord,
  type WorkloadResolutionRetrying,
  type WorkloadResolved,
} from '@latchkey/events';
import { silentLogger } from '@latchkey/logger';
import { FakeAuthorizer, waitFor } from '@latchkey/testing';
import { NatsResolutionPublisher } from '../src/adapters/nats-resolution-publisher.js';
import { ResolutionService } from '../src/domain/resolution-service.js';
import {
  deployerSigning,
  deployingEvent,
  legacy,
  opener,
  publishDeploying,
  runDeployingConsumer,
  startBus,
  streamMessages,
  UniformCatalog,
} from './resolver-fixture.js';

test('through the bus: a deployment whose catalog is down is redelivered with growing delays, says it waits, then resolves', async (t) => {
  const bus = await startBus(t, { deployingConsumer: true });
  const { jsm, js } = bus;
  const canary = `canary-${randomBytes(12).toString('hex')}`;
  // A catalog that cannot be reached for its first two reads.
  const catalog = new UniformCatalog(canary, 2, 2);
  const keys = generateSealKeyPair();
  const audit: AuditRecord[] = [];
  const service = new ResolutionService({
    authorizer: new FakeAuthorizer(),
    values: catalog,
    publisher: new NatsResolutionPublisher(js),
    recipient: keys,
    audit: { write: (r) => Promise.resolve(void audit.push(r)) },
    auditFailClosed: false,
    logger: silentLogger,
  });
  const deployer = deployerSigning();
  await runDeployingConsumer(t, bus, service, deployer.attribution());

  const ev = deployingEvent([legacy('db_password')], { workload: 'etl' });
  await publishDeploying(js, deployer.deploying(`deploying:${ev.deploymentId}`, ev), undefined, 'test');

  const resolvedMsg = await waitFor(
    () => jsm.streams.getMessage(STREAM_RESOLVED, { last_by_subj: subjects.resolved('analytics') }),
    {
      what: 'the resolved event',
      timeoutMs: 20_000,
    },
  );
  const resolved = JSON.parse(new TextDecoder().decode(resolvedMsg.data)) as WorkloadResolved;
  assert.equal(resolved.deploymentId, ev.deploymentId);
  const values = opener(keys)(resolved);
  assert.equal(values['LEGACY:db_password'], canary);
  assert.deepEqual(resolved.warnings, ['resolved on attempt 3 of 6, after waiting for an unavailable backend']);

  // Each delivery was one attempt; the deployment heard about the first two.
  assert.equal(catalog.readsAt.length, 3);
  const retrying = (await streamMessages(jsm, STREAM_EVENTS))
    .filter((m) => m.subject === subjects.resolutionRetrying('analytics'))
    .map((m) => JSON.parse(m.text) as WorkloadResolutionRetrying);
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
