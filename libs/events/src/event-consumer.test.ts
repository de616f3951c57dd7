import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect, type JsMsg, type NatsConnection } from 'nats';
import { LatchkeyError } from '@latchkey/errors';
import type { LogFields, Logger } from '@latchkey/logger';
import { startTestNats, waitFor, type TestNats } from '@latchkey/testing';
import { eventHeaders } from './envelope.js';
import { eventHandler, subscribeEvents } from './event-consumer.js';
import { eventTypes, subjects } from './subjects.js';

let nats: TestNats;
let nc: NatsConnection;
before(async () => {
  nats = await startTestNats();
  nc = await connect({ servers: nats.url });
});
after(async () => {
  await nc.close();
  await nats.stop();
});

const headersOf = (id: string, type: string, subject: string) =>
  eventHeaders({ id, source: 'latchkey/deployer', type, time: new Date().toISOString(), subject });

function warnings(): { logger: Logger; seen: LogFields[] } {
  const seen: LogFields[] = [];
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (message, fields) => void seen.push({ message, ...fields }),
    error: () => undefined,
    child: () => logger,
  };
  return { logger, seen };
}

test('a plain subscription hands typed events to its handler, and logs and drops a malformed one or one of another type', async () => {
  const { logger, seen } = warnings();
  const handled: { id: string; data: unknown }[] = [];
  const sub = subscribeEvents<{ deploymentId: string }>(nc, logger, {
    name: 'test/workload.deployed',
    subject: subjects.deployed('>'),
    type: eventTypes.deployed,
    handle: (event) => void handled.push({ id: event.id, data: event.data }),
  });
  const subject = subjects.deployed('analytics');
  const body = JSON.stringify({ deploymentId: 'd-1' });
  nc.publish(subject, body, { headers: headersOf('e-1', eventTypes.deployed, subject) });
  nc.publish(subject, body, { headers: headersOf('e-2', eventTypes.failed, subject) });
  nc.publish(subject, body);
  nc.publish(subject, 'not json', { headers: headersOf('e-3', eventTypes.deployed, subject) });
  nc.publish(subject, JSON.stringify({ deploymentId: 'd-4' }), {
    headers: headersOf('e-4', eventTypes.deployed, subject),
  });
  await waitFor(() => handled.length === 2 && seen.length === 3, {
    what: 'two events handled and three refused',
    timeoutMs: 5000,
  });
  sub.unsubscribe();
  assert.deepEqual(handled, [
    { id: 'e-1', data: { deploymentId: 'd-1' } },
    { id: 'e-4', data: { deploymentId: 'd-4' } },
  ]);
  assert.deepEqual(
    seen.map((w) => [w.message, w.code]),
    [
      ['event not handled', 'event.unexpected_type'],
      ['event not handled', 'event.malformed'],
      ['event not handled', 'event.malformed'],
    ],
  );
});

test('a failing handler of a plain subscription is logged with its code, and the next event is still handled', async () => {
  const { logger, seen } = warnings();
  let calls = 0;
  const sub = subscribeEvents(nc, logger, {
    name: 'test/workload.stop_requested',
    subject: subjects.stopRequested('>'),
    type: eventTypes.stopRequested,
    handle: () => {
      calls += 1;
      if (calls === 1) throw new LatchkeyError('deployment.not_found', 'no such deployment');
    },
  });
  const subject = subjects.stopRequested('analytics');
  for (const id of ['s-1', 's-2'])
    nc.publish(subject, '{}', { headers: headersOf(id, eventTypes.stopRequested, subject) });
  await waitFor(() => calls === 2 && seen.length === 1, { what: 'both events handed over', timeoutMs: 5000 });
  sub.unsubscribe();
  assert.equal(seen[0]?.code, 'deployment.not_found');
});

test('a durable consumer handler refuses an event of another type permanently (the runner terms it) and never calls the handler', async () => {
  let called = false;
  const handler = eventHandler<unknown>(
    'test/workload.resolved',
    async () => {
      called = true;
    },
    { type: eventTypes.resolved },
  );
  const subject = subjects.resolved('analytics');
  const msg = {
    subject,
    seq: 7,
    headers: headersOf('r-1', eventTypes.resolutionFailed, subject),
    data: new TextEncoder().encode('{}'),
  } as unknown as JsMsg;
  await assert.rejects(handler(msg), (err: unknown) => {
    assert.ok(err instanceof LatchkeyError);
    assert.equal(err.code, 'event.unexpected_type');
    assert.equal(err.retryable, false);
    assert.match(
      err.message,
      /is of type dev\.latchkey\.workload\.resolution_failed\.v1, not dev\.latchkey\.workload\.resolved\.v1/,
    );
    return true;
  });
  assert.equal(called, false);
});

test('a durable consumer handler with worthDecoding: a body it says no to is done with unparsed and unhandled; one it says yes to is parsed and handled; a refused body of another type, or without an envelope, still fails as before', async () => {
  const handled: unknown[] = [];
  const looked: string[] = [];
  const handler = eventHandler<unknown>(
    'test/workload.stale',
    async (event) => {
      handled.push(event.data);
    },
    {
      type: eventTypes.stale,
      worthDecoding: (body) => {
        const text = new TextDecoder().decode(body);
        looked.push(text);
        return text.includes('"auto"');
      },
    },
  );
  const subject = subjects.stale('analytics');
  const msg = (id: string, type: string | undefined, body: string) =>
    ({
      subject,
      seq: 1,
      headers: type === undefined ? undefined : headersOf(id, type, subject),
      data: new TextEncoder().encode(body),
    }) as unknown as JsMsg;
  // Not JSON at all: never parsed, so it cannot fail to parse.
  await handler(msg('s-1', eventTypes.stale, 'not json, "manual" only'));
  await handler(msg('s-2', eventTypes.stale, '{"workloads":[{"redeployMode":"auto"}]}'));
  assert.deepEqual(handled, [{ workloads: [{ redeployMode: 'auto' }] }]);
  assert.equal(looked.length, 2);
  await assert.rejects(handler(msg('s-3', eventTypes.deployed, '{"redeployMode":"manual"}')), (err: unknown) => {
    assert.ok(err instanceof LatchkeyError);
    assert.equal(err.code, 'event.unexpected_type');
    return true;
  });
  await assert.rejects(handler(msg('s-4', undefined, 'not json')), (err: unknown) => {
    assert.ok(err instanceof LatchkeyError);
    assert.equal(err.code, 'event.malformed');
    return true;
  });
  assert.equal(handled.length, 1);
});
