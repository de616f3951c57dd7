import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { startTestNats, startTestNatsCluster } from '@latchkey/testing';
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
  assert.equal((await jsm.consumers.info(SPEC.name, 'worker')).config.num_replicas, 3);

  // A fresh one is created on three servers at once.
  await ensureStream(jsm, { ...SPEC, name: 'FRESH', subjects: ['fresh.>'] }, { replicas: 3 });
  await ensureConsumer(jsm, { ...CONSUMER, stream: 'FRESH', filterSubjects: ['fresh.>'] }, { replicas: 3 });
  assert.equal((await jsm.streams.info('FRESH')).config.num_replicas, 3);
  assert.equal((await jsm.consumers.info('FRESH', 'worker')).config.num_replicas, 3);
});

test('more replicas than JetStream servers is refused with what to change', async (t) => {
  const nats = await startTestNats();
  t.after(() => nats.stop());
  const nc = await connect({ servers: nats.url });
  t.after(() => nc.close());
  const jsm = await nc.jetstreamManager();
  await assert.rejects(ensureStream(jsm, SPEC, { replicas: 3 }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'nats.replicas_unavailable');
    assert.match(
      err.message,
      /JetStream cannot keep stream REPLICATED on 3 servers .*LATCHKEY_NATS_REPLICAS=3 needs a NATS cluster of at least 3 JetStream servers; lower LATCHKEY_NATS_REPLICAS or add servers/,
    );
    return true;
  });
});
