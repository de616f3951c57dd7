import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import { startTestBus, startTestNatsCluster, waitFor } from '@latchkey/testing';
import { ensureConsumer, ensureStream } from './streams.js';
import { parseNatsUrls } from './nats-urls.js';

const SPEC = { name: 'REPLICATED', subjects: ['replicated.>'], maxAgeMs: 3600_000 };
const CONSUMER = { stream: SPEC.name, durable: 'worker', filterSubjects: ['replicated.>'] };

test('on a three-node cluster a stream and its durable consumer take LATCHKEY_NATS_REPLICAS, and an existing R1 stream and consumer are moved to R3', async (t) => {
  const cluster = await startTestNatsCluster();
  t.after(() => cluster.stop());
  const nc: NatsConnection = await connect({ servers: parseNatsUrls(cluster.urls) });
  t.after(() => nc.close());
  // The services' own API timeout (connectBus): placing R3 assets on a loaded machine can take over the default 5 s.
  const jsm = await nc.jetstreamManager({ timeout: 10_000 });

  // What an earlier single-replica start left.
  await ensureStream(jsm, SPEC);
  await ensureConsumer(jsm, CONSUMER);
  assert.equal((await jsm.streams.info(SPEC.name)).config.num_replicas, 1);

  await ensureStream(jsm, SPEC, { replicas: 3 });
  await ensureConsumer(jsm, CONSUMER, { replicas: 3 });
  const stream = await jsm.streams.info(SPEC.name);
  assert.equal(stream.config.num_replicas, 3);
  // The update is acknowledged by the meta leader; the consumer's own leader may answer info with the old
  // assignment for a moment: the new count arrives there, within a deadline.
  await waitFor(async () => (await jsm.consumers.info(SPEC.name, 'worker')).config.num_replicas === 3, {
    what: 'the consumer to report three replicas',
    timeoutMs: 15_000,
  });

  // A fresh one is created on three servers at once.
  await ensureStream(jsm, { ...SPEC, name: 'FRESH', subjects: ['fresh.>'] }, { replicas: 3 });
  await ensureConsumer(jsm, { ...CONSUMER, stream: 'FRESH', filterSubjects: ['fresh.>'] }, { replicas: 3 });
  assert.equal((await jsm.streams.info('FRESH')).config.num_replicas, 3);
  assert.equal((await jsm.consumers.info('FRESH', 'worker')).config.num_replicas, 3);
});

test('more replicas than JetStream servers is refused with what to change', async (t) => {
  const { jsm } = await startTestBus(t);
  await assert.rejects(ensureStream(jsm, SPEC, { replicas: 3 }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'nats.replicas_unavailable');
    assert.match(
      err.message,
      /JetStream cannot keep stream REPLICATED on 3 servers .*LATCHKEY_NATS_REPLICAS=3 needs a NATS cluster of at least 3 JetStream servers; lower LATCHKEY_NATS_REPLICAS or add servers/,
    );
    return true;
  });
});

test('a JetStream API request left unanswered (a stream moving to more servers) is asked again, a bounded number of times', async () => {
  const timeout = () => Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' });
  let infos = 0;
  const updates: unknown[] = [];
  const flaky = {
    consumers: {
      info: () => (++infos <= 2 ? Promise.reject(timeout()) : Promise.resolve({})),
      add: () => Promise.reject(new Error('not expected: the consumer exists')),
      update: (_s: string, _d: string, cfg: unknown) => Promise.resolve(void updates.push(cfg)),
    },
  } as unknown as JetStreamManager;
  await ensureConsumer(flaky, CONSUMER, { replicas: 3, retryPauseMs: 1 });
  assert.equal(infos, 3, 'two timeouts, then the answer');
  assert.equal((updates[0] as { num_replicas: number }).num_replicas, 3);

  let asked = 0;
  const dead = {
    streams: { info: () => (asked++, Promise.reject(timeout())) },
  } as unknown as JetStreamManager;
  await assert.rejects(ensureStream(dead, SPEC, { replicas: 3, retryPauseMs: 1 }), /TIMEOUT/);
  assert.equal(asked, 5, 'given up after five attempts');

  const refused = {
    streams: { info: () => (asked++, Promise.reject(new Error('permissions violation'))) },
  } as unknown as JetStreamManager;
  asked = 0;
  await assert.rejects(ensureStream(refused, SPEC, { retryPauseMs: 1 }), /permissions violation/);
  assert.equal(asked, 1, 'any other error is not asked again');
});
