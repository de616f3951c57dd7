import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { NatsConnection, StreamUpdateConfig } from 'nats';
import {
  BUS_SERVICES,
  busPermissions,
  DURABLES,
  inboxPrefix,
  ownsStream,
  PUBLIC_SUBJECTS,
  STREAM_AUDIT,
  STREAM_EVENTS,
  STREAM_RESOLVED,
  STREAMS,
  subscriberPermissions,
  type BusService,
} from '@latchkey/events';
import { ensureConsumer, ensureStream, mintSubscriberCreds, subscriberSignerOf } from '@latchkey/nats';
import { waitFor } from '@latchkey/testing';
import {
  connectRaw,
  publishRefused,
  startSecureTestBus,
  subscribeRefused,
  violations,
  type SecureTestBus,
} from './bus-harness.js';

// The bus is a trust boundary (issue 12 §2): nats-server with the product's
// real authorization (decentralized JWT auth, the one permission table) and TLS.

let bus: SecureTestBus;
let observer: NatsConnection;
before(async () => {
  bus = await startSecureTestBus();
  observer = await bus.connectObserver();
});
after(async () => {
  await bus?.stop();
});

/** A concrete subject matching a pattern of the table (`*` and `>` stand for a domain). */
const concrete = (pattern: string): string => pattern.replace(/\*|>$/g, 'analytics');

function matches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

const ownsPublish = (service: BusService, subject: string): boolean =>
  busPermissions(service).publish.some((p) => matches(p, subject));

test('an anonymous client is refused', async () => {
  await assert.rejects(connectRaw(bus.url, { ca: bus.ca }), /Authorization Violation/i);
});

test('a client without credentials (a workload) cannot connect, so cannot subscribe at all', async () => {
  await assert.rejects(
    (async () => {
      const nc = await connectRaw(bus.url, { ca: bus.ca });
      nc.subscribe('latchkey.>');
      await nc.flush();
    })(),
    /Authorization Violation/i,
  );
});

test('a plaintext client is refused, even with valid credentials', async () => {
  await assert.rejects(connectRaw(bus.url, { creds: await bus.creds('deployer'), plaintext: true }), /TLS/i);
});

test('a client that trusts another CA does not connect (it cannot verify the server)', async () => {
  await assert.rejects(connectRaw(bus.url, { creds: await bus.creds('deployer'), ca: bus.otherCa }));
  // The same credentials with the right CA do connect: the CA made the difference.
  const nc = await connectRaw(bus.url, { creds: await bus.creds('deployer'), ca: bus.ca });
  await nc.close();
});

for (const service of BUS_SERVICES) {
  test(`the ${service} may publish what it owns and is refused every subject another service owns`, async () => {
    const nc = await bus.connectAs(service);
    const seen = violations(nc);
    const own = busPermissions(service).publish.filter((p) => p.startsWith('latchkey.'));
    for (const pattern of own) {
      assert.equal(
        await publishRefused(nc, seen, observer, concrete(pattern)),
        false,
        `${service} publishes ${pattern}`,
      );
    }
    const foreign = BUS_SERVICES.filter((s) => s !== service)
      .flatMap((s) => busPermissions(s).publish)
      .filter((p) => p.startsWith('latchkey.'))
      .map(concrete)
      .filter((subject) => !ownsPublish(service, subject));
    assert.ok(foreign.length >= 3, 'there are other services’ subjects to try');
    for (const subject of new Set(foreign)) {
      assert.equal(await publishRefused(nc, seen, observer, subject), true, `${service} must not publish ${subject}`);
    }
    // Nor anything outside the table.
    for (const subject of ['latchkey.anything', 'latchkey.audit.other.analytics', '_INBOX_deployer.x', 'foo']) {
      assert.equal(await publishRefused(nc, seen, observer, subject), true, `${service} must not publish ${subject}`);
    }
  });

  test(`the ${service} cannot subscribe to another service's inbox, to latchkey.> or to sealed values`, async () => {
    const nc = await bus.connectAs(service);
    assert.equal(await subscribeRefused(nc, `${inboxPrefix(service)}.mine`), false, 'its own inbox');
    for (const other of BUS_SERVICES.filter((s) => s !== service)) {
      assert.equal(await subscribeRefused(nc, `${inboxPrefix(other)}.>`), true, `${service} reads ${other}'s inbox`);
    }
    for (const subject of ['latchkey.>', '>', '_INBOX.>', 'latchkey.workload.resolved.analytics', '$JS.ACK.>']) {
      assert.equal(await subscribeRefused(nc, subject), true, `${service} must not subscribe to ${subject}`);
    }
  });
}

test('named examples: the catalog cannot publish workload.resolved, ras cannot publish workload.deploying', async () => {
  const catalog = await bus.connectAs('catalog');
  assert.equal(
    await publishRefused(catalog, violations(catalog), observer, 'latchkey.workload.resolved.analytics'),
    true,
  );
  const ras = await bus.connectAs('ras');
  assert.equal(await publishRefused(ras, violations(ras), observer, 'latchkey.workload.deploying.analytics'), true);
  const resolver = await bus.connectAs('resolver');
  assert.equal(await subscribeRefused(resolver, `${inboxPrefix('deployer')}.>`), true);
});

test('JetStream: a service reaches only its own durable consumers and never deletes a stream', async () => {
  // The deployer creates its consumer of sealed values; the catalog can neither read nor pull it.
  const deployer = await bus.connectAs('deployer');
  const djsm = await deployer.jetstreamManager();
  for (const s of STREAMS) await ensureStream(djsm, s, { update: ownsStream('deployer', s.name) });
  await ensureConsumer(djsm, {
    stream: STREAM_RESOLVED,
    durable: DURABLES.deployerResolved,
    filterSubjects: ['latchkey.workload.resolved.>'],
  });
  const catalog = await bus.connectAs('catalog');
  const cjsm = await catalog.jetstreamManager();
  await assert.rejects(
    cjsm.consumers.info(STREAM_RESOLVED, DURABLES.deployerResolved),
    /permission|timeout|no responders/i,
  );
  const cjs = catalog.jetstream();
  await assert.rejects(
    (async () => {
      const c = await cjs.consumers.get(STREAM_RESOLVED, DURABLES.deployerResolved);
      await c.next({ expires: 1000 });
    })(),
  );
  await assert.rejects(
    ensureConsumer(cjsm, {
      stream: STREAM_RESOLVED,
      durable: 'catalog-spy',
      filterSubjects: ['latchkey.workload.resolved.>'],
    }),
  );
  await assert.rejects(djsm.streams.delete(STREAM_RESOLVED));
  await assert.rejects(djsm.streams.purge(STREAM_EVENTS));
  // Only a stream's owner changes its configuration: the catalog cannot seal the audit stream or widen another.
  const audit = await cjsm.streams.info(STREAM_AUDIT);
  const sealed = { ...audit.config, sealed: true } as Partial<StreamUpdateConfig>;
  await assert.rejects(cjsm.streams.update(STREAM_AUDIT, sealed));
  await assert.rejects(djsm.streams.update(STREAM_AUDIT, sealed));
  const events = await cjsm.streams.info(STREAM_EVENTS);
  await assert.rejects(cjsm.streams.update(STREAM_EVENTS, { ...events.config, max_age: 0 }));
  // ... and its owner can (ras the audit stream), with the unchanged config here.
  const ras = await bus.connectAs('ras');
  const rjsm = await ras.jetstreamManager();
  await ensureStream(
    rjsm,
    STREAMS.find((s) => s.name === STREAM_AUDIT)!,
    { update: ownsStream('ras', STREAM_AUDIT) },
  );
  assert.equal((await rjsm.streams.info(STREAM_AUDIT)).config.sealed, false);
  // The deployer's own consumer is there for the deployer.
  assert.equal((await djsm.consumers.info(STREAM_RESOLVED, DURABLES.deployerResolved)).name, DURABLES.deployerResolved);
});

test("a subscriber credential for domain a receives a's public events, and cannot subscribe to b's or to latchkey.>, nor publish anything", async () => {
  const { creds } = await mintSubscriberCreds(
    subscriberSignerOf(bus.trust),
    'subscriber-hook',
    subscriberPermissions(['a']),
  );
  const subscriber = await bus.connectWith(creds);
  const got: string[] = [];
  for (const make of PUBLIC_SUBJECTS) {
    subscriber.subscribe(make('a'), { callback: (_e, m) => got.push(m.subject) });
  }
  await subscriber.flush();
  const deployer = await bus.connectAs('deployer');
  const catalog = await bus.connectAs('catalog');
  for (const subject of ['latchkey.workload.stale.a', 'latchkey.workload.deployed.a', 'latchkey.workload.failed.a']) {
    deployer.publish(subject, '{}');
  }
  catalog.publish('latchkey.secret.changed.a', '{}');
  catalog.publish('latchkey.secret.rotation_due.a', '{}');
  await waitFor(() => got.length === 5, { what: "a's five public events to reach the subscriber" });
  assert.deepEqual(got.sort(), PUBLIC_SUBJECTS.map((s) => s('a')).sort());

  for (const subject of [
    'latchkey.workload.stale.b',
    'latchkey.secret.changed.b',
    'latchkey.secret.changed.global',
    'latchkey.>',
    'latchkey.workload.*.a',
    'latchkey.workload.deploying.a',
    'latchkey.workload.resolved.a',
    `${inboxPrefix('deployer')}.>`,
    '>',
  ]) {
    assert.equal(await subscribeRefused(subscriber, subject), true, `the subscriber must not subscribe to ${subject}`);
  }
  const seen = violations(subscriber);
  for (const subject of [
    'latchkey.workload.stale.a',
    'latchkey.workload.resolved.a',
    'latchkey.policy.changed',
    '$JS.API.INFO',
    `$JS.API.CONSUMER.CREATE.${STREAM_EVENTS}.spy`,
  ]) {
    assert.equal(
      await publishRefused(subscriber, seen, observer, subject),
      true,
      `the subscriber must not publish ${subject}`,
    );
  }
});
