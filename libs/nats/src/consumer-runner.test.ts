import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import {
  connect,
  type ConsumerInfo,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
} from 'nats';
import { invalidArgument, unavailable } from '@latchkey/errors';
import { silentLogger } from '@latchkey/logger';
import { startTestNats, waitFor } from '@latchkey/testing';
import { ConsumerRunner, type MessageHandler } from './consumer-runner.js';
import { ensureConsumer, ensureStream } from './streams.js';

const STREAM = 'RUNNER_TEST';
const DURABLE = 'runner-test';

interface Harness {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Publishes `n` messages `m-0` .. `m-<n-1>` and waits for JetStream to store them. */
  publish(n: number): Promise<string[]>;
  consumerInfo(): Promise<ConsumerInfo>;
  /** Starts a runner on the shared durable consumer; stopped when the test ends. */
  runner(handler: MessageHandler, concurrency?: number, onRedelivery?: () => void): Promise<ConsumerRunner>;
}

/** A private nats-server with one stream and one durable consumer (short ack wait, so a lost ack would show). */
async function harness(t: TestContext): Promise<Harness> {
  const nats = await startTestNats();
  const runners: ConsumerRunner[] = [];
  const nc = await connect({ servers: nats.url });
  t.after(async () => {
    for (const r of runners) await r.stop();
    await nc.close();
    await nats.stop();
  });
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  await ensureStream(jsm, { name: STREAM, subjects: ['runner.>'], maxAgeMs: 3600_000 });
  await ensureConsumer(jsm, { stream: STREAM, durable: DURABLE, filterSubjects: ['runner.>'], ackWaitMs: 1000 });
  return {
    nc,
    js,
    jsm,
    async publish(n) {
      const ids = Array.from({ length: n }, (_, i) => `m-${i}`);
      for (const id of ids) await js.publish(`runner.test`, id, { msgID: id });
      return ids;
    },
    consumerInfo: () => jsm.consumers.info(STREAM, DURABLE),
    async runner(handler, concurrency, onRedelivery) {
      const r = new ConsumerRunner({
        js,
        stream: STREAM,
        durable: DURABLE,
        handler,
        logger: silentLogger,
        ...(concurrency === undefined ? {} : { concurrency }),
        ...(onRedelivery === undefined ? {} : { onRedelivery }),
      });
      runners.push(r);
      await r.start();
      return r;
    },
  };
}

const body = (msg: JsMsg) => msg.string();

/** The consumer has nothing pending, nothing waiting for an ack, and acknowledged everything up to `seq`. */
function settledThrough(info: ConsumerInfo, seq: number): boolean {
  return info.num_pending === 0 && info.num_ack_pending === 0 && info.ack_floor.stream_seq >= seq;
}

test('a handler that returns has its message acknowledged, and it is not delivered again', async (t) => {
  const h = await harness(t);
  const handled: string[] = [];
  await h.runner(async (msg) => {
    handled.push(body(msg));
  });
  await h.publish(1);
  const info = await waitFor(
    async () => {
      const i = await h.consumerInfo();
      return settledThrough(i, 1) && i;
    },
    { what: 'the message to be acknowledged' },
  );
  assert.deepEqual(handled, ['m-0']);
  assert.equal(info.num_redelivered, 0);
  assert.equal(info.delivered.stream_seq, 1);
});

test('a retryable LatchkeyError has the message delivered again, and a later attempt succeeds', async (t) => {
  const h = await harness(t);
  const attempts: { deliveryCount: number; redelivered: boolean }[] = [];
  let redeliveries = 0;
  await h.runner(
    async (msg) => {
      attempts.push({ deliveryCount: msg.info.redeliveryCount, redelivered: msg.redelivered });
      if (attempts.length === 1) throw unavailable('db.unavailable', 'database unavailable; try again');
    },
    undefined,
    () => redeliveries++,
  );
  await h.publish(1);
  await waitFor(
    async () => {
      const i = await h.consumerInfo();
      return settledThrough(i, 1) && attempts.length >= 2;
    },
    { what: 'the second attempt to succeed and be acknowledged' },
  );
  assert.deepEqual(attempts, [
    { deliveryCount: 1, redelivered: false },
    { deliveryCount: 2, redelivered: true },
  ]);
  assert.equal(redeliveries, 1, 'the second delivery is counted as a redelivery, the first is not');
});

test('a non-retryable LatchkeyError terminates the message: it is not delivered again', async (t) => {
  const h = await harness(t);
  // JetStream announces every terminated message on this advisory subject.
  const terminated: string[] = [];
  const advisories = h.nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${STREAM}.${DURABLE}`, {
    callback: (_err, m) => terminated.push(m.string()),
  });
  t.after(() => advisories.unsubscribe());
  await h.nc.flush();

  const handled: string[] = [];
  await h.runner(async (msg) => {
    handled.push(body(msg));
    if (body(msg) === 'm-0') throw invalidArgument('event.malformed', 'the event has no CloudEvents headers');
  });
  await h.publish(1);
  await waitFor(() => terminated.length === 1, { what: 'the termination advisory' });
  const advisory = JSON.parse(terminated[0]!) as { stream_seq: number; deliveries: number };
  assert.equal(advisory.stream_seq, 1);
  assert.equal(advisory.deliveries, 1);

  // A later message is handled normally; the terminated one never came back.
  await h.publish(2);
  const info = await waitFor(
    async () => {
      const i = await h.consumerInfo();
      return settledThrough(i, 2) && handled.includes('m-1') && i;
    },
    { what: 'the next message to be acknowledged' },
  );
  assert.deepEqual(handled, ['m-0', 'm-1']);
  assert.equal(info.num_redelivered, 0);
});

test('two runners on one durable consumer share the messages and handle each exactly once', async (t) => {
  const h = await harness(t);
  const handledBy = new Map<string, string[]>();
  const handler =
    (runner: string): MessageHandler =>
    async (msg) => {
      const seen = handledBy.get(body(msg)) ?? [];
      seen.push(runner);
      handledBy.set(body(msg), seen);
      // Simulated work, so that neither runner drains the stream alone.
      await new Promise((resolve) => setTimeout(resolve, 5));
    };
  await h.runner(handler('a'), 4);
  await h.runner(handler('b'), 4);
  const ids = await h.publish(50);
  await waitFor(
    async () => {
      const i = await h.consumerInfo();
      return settledThrough(i, ids.length) && handledBy.size === ids.length;
    },
    { what: 'all 50 messages acknowledged' },
  );
  for (const id of ids) assert.equal(handledBy.get(id)?.length, 1, `${id} handled once`);
  const byRunner = [...handledBy.values()].flat();
  assert.ok(byRunner.includes('a') && byRunner.includes('b'), 'both runners took part');
  assert.equal((await h.consumerInfo()).num_redelivered, 0);
});

test('a handler that never returns gives its slot back at its limit: the error names the message, the event comes again, and the late handler acks nothing', async (t) => {
  const h = await harness(t);
  const lines: { msg: string; fields: Record<string, unknown> }[] = [];
  const recording = (bindings: Record<string, unknown>): typeof silentLogger => ({
    ...silentLogger,
    error: (msg, fields) => lines.push({ msg, fields: { ...bindings, ...fields } }),
    child: (more) => recording({ ...bindings, ...more }),
  });
  const attempts: number[] = [];
  const handled: string[] = [];
  let releaseHung: () => void = () => undefined;
  const runner = new ConsumerRunner({
    js: h.js,
    stream: STREAM,
    durable: DURABLE,
    logger: recording({}),
    // One slot: while the first delivery hangs, nothing else could be taken without the limit.
    concurrency: 1,
    handlerLimitMs: 300,
    handler: async (msg) => {
      attempts.push(msg.info.deliveryCount);
      // The first delivery of m-0 hangs until the test lets it go (after its slot was given back).
      if (body(msg) === 'm-0' && msg.info.deliveryCount === 1) await new Promise<void>((r) => (releaseHung = r));
      handled.push(`${body(msg)}#${msg.info.deliveryCount}`);
    },
  });
  t.after(() => runner.stop());
  await runner.start();
  await h.publish(2);
  const info = await waitFor(
    async () => {
      const i = await h.consumerInfo();
      return settledThrough(i, 2) && handled.includes('m-1#1') && i;
    },
    { what: 'both messages acknowledged, the hung one on a later delivery', timeoutMs: 20_000 },
  );
  assert.ok(
    handled.some((x) => x.startsWith('m-0#') && x !== 'm-0#1'),
    `m-0 handled on a later delivery: ${handled}`,
  );
  assert.equal(info.num_ack_pending, 0);
  const overdue = lines.find((l) => /past its limit/.test(l.msg));
  assert.ok(overdue, `an error line for the hung handler: ${JSON.stringify(lines)}`);
  assert.deepEqual([overdue.fields['consumer'], overdue.fields['seq'], overdue.fields['limitMs']], [DURABLE, 1, 300]);
  // The hung handler ends late: what it does is ignored (no second ack, nothing pending).
  releaseHung();
  await waitFor(() => handled.includes('m-0#1'), { what: 'the late handler to end' });
  const after = await h.consumerInfo();
  assert.ok(settledThrough(after, 2), 'still settled after the late handler ended');
});
