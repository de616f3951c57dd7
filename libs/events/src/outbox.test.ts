import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test, type TestContext } from 'node:test';
import { trace } from '@opentelemetry/api';
import {
  connect,
  type JetStreamClient,
  type JetStreamManager,
  type MsgHdrs,
  type NatsConnection,
  type PubAck,
} from 'nats';
import { withTransaction, type Pool } from '@latchkey/db';
import { initTracing, inSpan, silentLogger, type LogFields, type Logger } from '@latchkey/logger';
import { ensureStream } from '@latchkey/nats';
import {
  freshDatabase,
  startTestNats,
  startTestPostgres,
  waitFor,
  type TestNats,
  type TestPostgres,
} from '@latchkey/testing';
import { claimEvent, enqueueEvents, ensureEventTables, MAX_EVENT_BYTES, OutboxRelay } from './outbox.js';
import { eventTypes, STREAM_EVENTS, STREAMS, subjects } from './subjects.js';
import type { OutgoingEvent } from './envelope.js';

let postgres: TestPostgres;

before(async () => {
  postgres = await startTestPostgres([]);
});
after(async () => {
  await postgres?.stop();
});

const cleanups = new WeakMap<TestContext, (() => unknown)[]>();

/** Registers `fn` to run when the test ends; last registered runs first (relays stop before their pool closes). */
function defer(t: TestContext, fn: () => unknown): void {
  let list = cleanups.get(t);
  if (!list) {
    const fresh: (() => unknown)[] = [];
    list = fresh;
    cleanups.set(t, fresh);
    t.after(async () => {
      const errors: unknown[] = [];
      for (const f of fresh.reverse()) {
        try {
          await f();
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length > 0) throw errors[0];
    });
  }
  list.push(fn);
}

/** A fresh database with the event tables, closed when the test ends (after what was deferred later). */
async function freshPool(t: TestContext): Promise<Pool> {
  const deferring = { after: (fn: () => unknown) => defer(t, fn) };
  return (await freshDatabase(deferring, postgres, { prefix: 'outbox', prepare: ensureEventTables })).pool;
}

interface Bus {
  nats: TestNats;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

/** A private nats-server with Latchkey's streams, and a connection to it; both closed when the test ends. */
async function freshBus(t: TestContext): Promise<Bus> {
  const nats = await startTestNats();
  defer(t, () => nats.stop());
  const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  defer(t, () => nc.close());
  const jsm = await nc.jetstreamManager();
  for (const s of STREAMS) await ensureStream(jsm, s);
  // A short publish timeout so that a relay facing a dead server fails (and retries) quickly.
  return { nats, nc, js: nc.jetstream({ timeout: 1000 }), jsm };
}

interface Published {
  msgID: string;
  ack?: PubAck;
}

/** Wraps a JetStream client to record every publish a relay makes and what JetStream answered. */
function recordingJs(js: JetStreamClient, log: Published[]): JetStreamClient {
  return new Proxy(js, {
    get(target, prop) {
      if (prop === 'publish') {
        const publish: JetStreamClient['publish'] = async (subject, payload, opts) => {
          const entry: Published = { msgID: opts?.msgID ?? '' };
          log.push(entry);
          entry.ack = await target.publish(subject, payload, opts);
          return entry.ack;
        };
        return publish;
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

interface StoredEvent {
  seq: number;
  subject: string;
  headers: MsgHdrs | undefined;
  data: unknown;
}

async function streamMessages(jsm: JetStreamManager): Promise<StoredEvent[]> {
  const info = await jsm.streams.info(STREAM_EVENTS);
  const out: StoredEvent[] = [];
  if (info.state.messages === 0) return out;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(STREAM_EVENTS, { seq });
    out.push({ seq: m.seq, subject: m.subject, headers: m.header, data: m.json() });
  }
  return out;
}

const streamCount = async (jsm: JetStreamManager) => (await jsm.streams.info(STREAM_EVENTS)).state.messages;

function changedEvent(
  key: string,
  version: number,
  id: string = randomUUID(),
): OutgoingEvent<unknown> & { id: string } {
  return {
    id,
    type: eventTypes.secretChanged,
    subject: subjects.secretChanged('analytics'),
    data: { scope: 'analytics', key, source: 'MANAGED', version, change: 'updated', by: 'admin' },
  };
}

async function enqueueCommitted(pool: Pool, events: OutgoingEvent<unknown>[]): Promise<void> {
  await withTransaction(pool, (tx) => enqueueEvents(tx, events));
}

async function unpublishedIds(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>('SELECT id FROM outbox WHERE published_at IS NULL ORDER BY seq');
  return rows.map((r) => r.id);
}

function startRelay(t: TestContext, deps: ConstructorParameters<typeof OutboxRelay>[0]): OutboxRelay {
  const relay = new OutboxRelay(deps);
  relay.start();
  defer(t, () => relay.stop());
  return relay;
}

/** Counts each value of `ids` in a list; a helper for "exactly once". */
function tally(ids: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

test('committed events are published with Nats-Msg-Id, CloudEvents headers and the traceparent of the enqueuing span', async (t) => {
  initTracing();
  const pool = await freshPool(t);
  const bus = await freshBus(t);
  const events = [changedEvent('db_password', 2), changedEvent('api_token', 7)];
  let traceId = '';
  await inSpan('put secret', async () => {
    traceId = trace.getActiveSpan()?.spanContext().traceId ?? '';
    await enqueueCommitted(pool, events);
  });
  assert.match(traceId, /^[0-9a-f]{32}$/);
  assert.notEqual(traceId, '0'.repeat(32));

  startRelay(t, { pool, js: bus.js, logger: silentLogger, source: 'latchkey/test', idleMs: 20 });
  const stored = await waitFor(
    async () => {
      const msgs = await streamMessages(bus.jsm);
      return msgs.length === events.length && msgs;
    },
    { what: 'both events in the stream' },
  );
  for (const [i, ev] of events.entries()) {
    const m = stored[i];
    assert.ok(m, `event ${i} stored`);
    assert.equal(m.subject, ev.subject);
    assert.deepEqual(m.data, ev.data);
    const h = m.headers;
    assert.ok(h, 'stored message has headers');
    assert.equal(h.get('Nats-Msg-Id'), ev.id);
    assert.equal(h.get('ce-id'), ev.id);
    assert.equal(h.get('ce-type'), eventTypes.secretChanged);
    assert.equal(h.get('ce-source'), 'latchkey/test');
    assert.equal(h.get('ce-specversion'), '1.0');
    assert.match(h.get('traceparent'), new RegExp(`^00-${traceId}-[0-9a-f]{16}-0[01]$`));
  }
  await waitFor(async () => (await unpublishedIds(pool)).length === 0, { what: 'rows marked published' });
});

test('events of a rolled-back transaction are never written nor published', async (t) => {
  const pool = await freshPool(t);
  const bus = await freshBus(t);
  const doomed = changedEvent('db_password', 3);
  await assert.rejects(
    withTransaction(pool, async (tx) => {
      await enqueueEvents(tx, [doomed]);
      throw new Error('the state change failed');
    }),
    /the state change failed/,
  );
  const marker = changedEvent('db_password', 4);
  await enqueueCommitted(pool, [marker]);

  startRelay(t, { pool, js: bus.js, logger: silentLogger, source: 'latchkey/test', idleMs: 20 });
  // The relay publishes oldest first: once the later marker is in, anything before it would be too.
  const stored = await waitFor(
    async () => {
      const msgs = await streamMessages(bus.jsm);
      return msgs.some((m) => m.headers?.get('ce-id') === marker.id) && msgs;
    },
    { what: 'the committed marker event' },
  );
  assert.deepEqual(
    stored.map((m) => m.headers?.get('ce-id')),
    [marker.id],
  );
  const { rows } = await pool.query<{ id: string }>('SELECT id FROM outbox');
  assert.deepEqual(
    rows.map((r) => r.id),
    [marker.id],
  );
});

test('while NATS is down events stay unpublished and the relay keeps retrying; a relay on a working NATS then delivers each exactly once', async (t) => {
  const pool = await freshPool(t);
  const first = await freshBus(t);
  const warnings: string[] = [];
  const countingLogger: Logger = {
    ...silentLogger,
    warn: (msg: string, _fields?: LogFields) => {
      warnings.push(msg);
    },
    child: () => countingLogger,
  };
  startRelay(t, { pool, js: first.js, logger: countingLogger, source: 'latchkey/test', idleMs: 20 });

  // Delivery works before the outage.
  const before = changedEvent('db_password', 1);
  await enqueueCommitted(pool, [before]);
  await waitFor(async () => (await streamCount(first.jsm)) === 1, { what: 'the first event in the first server' });

  await first.nats.stop();
  const during = Array.from({ length: 12 }, (_, i) => changedEvent(`key_${i}`, i + 1));
  for (const ev of during) await enqueueCommitted(pool, [ev]);

  // The relay fails, says so, and tries again; it does not crash and does not mark anything published.
  await waitFor(() => warnings.filter((w) => /could not publish/.test(w)).length >= 2, {
    what: 'two failed publish attempts',
    timeoutMs: 20_000,
  });
  assert.deepEqual(
    await unpublishedIds(pool),
    during.map((e) => e.id),
  );

  // A relay connected to a working NATS (a replica, or this one after reconnecting) finds every row.
  const second = await freshBus(t);
  const published: Published[] = [];
  startRelay(t, {
    pool,
    js: recordingJs(second.js, published),
    logger: silentLogger,
    source: 'latchkey/test',
    idleMs: 20,
    batchSize: 5,
  });
  await waitFor(async () => (await unpublishedIds(pool)).length === 0, {
    what: 'every row published',
    timeoutMs: 20_000,
  });
  const stored = await streamMessages(second.jsm);
  const counts = tally(stored.map((m) => m.headers?.get('ce-id') ?? ''));
  assert.equal(stored.length, during.length);
  for (const ev of during) assert.equal(counts.get(ev.id), 1, `event ${ev.id} arrived exactly once`);
  assert.ok(
    published.every((p) => p.ack?.duplicate === false),
    'nothing was published twice',
  );
});

test('two relays on one outbox publish each event once', async (t) => {
  const pool = await freshPool(t);
  const bus = await freshBus(t);
  const events = Array.from({ length: 120 }, (_, i) => changedEvent(`key_${i % 7}`, i + 1));
  for (let i = 0; i < events.length; i += 10) await enqueueCommitted(pool, events.slice(i, i + 10));

  const published: Published[] = [];
  for (const replica of ['a', 'b']) {
    startRelay(t, {
      pool,
      js: recordingJs(bus.js, published),
      logger: silentLogger,
      source: `latchkey/test-${replica}`,
      idleMs: 10,
      batchSize: 7,
    });
  }
  await waitFor(async () => (await unpublishedIds(pool)).length === 0, { what: 'every row published' });
  const counts = tally(published.map((p) => p.msgID));
  for (const ev of events) assert.equal(counts.get(ev.id), 1, `event ${ev.id} published by exactly one relay`);
  assert.equal(published.length, events.length);
  assert.equal(await streamCount(bus.jsm), events.length);
  const sources = new Set((await streamMessages(bus.jsm)).map((m) => m.headers?.get('ce-source')));
  assert.deepEqual([...sources].sort(), ['latchkey/test-a', 'latchkey/test-b'], 'both relays did part of the work');
});

test('a row published again after a crash is dropped by the JetStream duplicate window', async (t) => {
  const pool = await freshPool(t);
  const bus = await freshBus(t);
  const published: Published[] = [];
  const relay = new OutboxRelay({
    pool,
    js: recordingJs(bus.js, published),
    logger: silentLogger,
    source: 'latchkey/test',
  });
  const events = [changedEvent('db_password', 1), changedEvent('db_password', 2)];
  await enqueueCommitted(pool, events);
  assert.equal(await relay.publishBatch(), 2);
  assert.equal(await streamCount(bus.jsm), 2);

  // A relay that published but crashed before marking the row leaves it unpublished.
  const again = events[1]!;
  await pool.query('UPDATE outbox SET published_at = NULL WHERE id = $1', [again.id]);
  assert.equal(await relay.publishBatch(), 1);
  assert.equal(await streamCount(bus.jsm), 2);
  const last = published.at(-1);
  assert.equal(last?.msgID, again.id);
  assert.equal(last.ack?.duplicate, true);
  assert.deepEqual(await unpublishedIds(pool), []);
  assert.equal(await relay.publishBatch(), 0);
});

test('claimEvent is true the first time a consumer claims an event and false after', async (t) => {
  const pool = await freshPool(t);
  const id = randomUUID();
  assert.equal(await withTransaction(pool, (tx) => claimEvent(tx, 'deployer-secret-changed', id)), true);
  assert.equal(await withTransaction(pool, (tx) => claimEvent(tx, 'deployer-secret-changed', id)), false);
  // Another consumer handles the same event independently.
  assert.equal(await claimEvent(pool, 'resolver-deploying', id), true);
  assert.equal(await claimEvent(pool, 'resolver-deploying', id), false);
  // A claim in a rolled-back transaction does not count.
  const other = randomUUID();
  await assert.rejects(
    withTransaction(pool, async (tx) => {
      assert.equal(await claimEvent(tx, 'deployer-secret-changed', other), true);
      throw new Error('the effect failed');
    }),
  );
  assert.equal(await claimEvent(pool, 'deployer-secret-changed', other), true);
});

test('a kick that arrives while a batch is being read is not lost: the relay reads again at once instead of idling', async (t) => {
  // The race, made deterministic: the first read finds nothing (it ran before
  // the commit) and the committing side kicks while that read is under way.
  class RacingRelay extends OutboxRelay {
    reads: number[] = [];
    override publishBatch(): Promise<number> {
      this.reads.push(Date.now());
      if (this.reads.length === 1) this.kick();
      return Promise.resolve(0);
    }
  }
  const relay = new RacingRelay({
    pool: await freshPool(t),
    js: (await freshBus(t)).js,
    logger: silentLogger,
    source: 'latchkey/test',
    idleMs: 60_000,
  });
  relay.start();
  defer(t, () => relay.stop());
  await waitFor(() => relay.reads.length >= 2, { what: 'a second read right after the kick', timeoutMs: 5000 });
  assert.ok(relay.reads[1]! - relay.reads[0]! < 1000, 'the second read did not wait for the idle period');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(relay.reads.length, 2, 'with nothing kicked since, the relay idles');
});

/** Writes a row straight into the outbox, as a writer without the size check would (or an older version did). */
async function forceRow(pool: Pool, ev: OutgoingEvent<unknown> & { id: string }): Promise<void> {
  await pool.query('INSERT INTO outbox (id, subject, type, data) VALUES ($1, $2, $3, $4::jsonb)', [
    ev.id,
    ev.subject,
    ev.type,
    JSON.stringify(ev.data),
  ]);
}

/** A workload.deploying event of `bytes` bytes or more, as the 2,500-placeholder poison spec caused. */
function poisonEvent(bytes: number): OutgoingEvent<unknown> & { id: string } {
  const key = 'k'.repeat(250);
  const references = Array.from({ length: Math.ceil(bytes / 560) }, (_, i) => ({
    refId: `LEGACY:${i}${key}`,
    key: `${i}${key}`,
    sourceType: 'MANAGED',
    sourceId: 'analytics',
    legacy: true,
  }));
  return {
    id: randomUUID(),
    type: eventTypes.deploying,
    subject: subjects.deploying('analytics'),
    data: { deploymentId: randomUUID(), workload: 'poison', domain: 'analytics', principal: 'mallory', references },
  };
}

function recordingLogger(lines: { level: string; msg: string; fields?: LogFields }[]): Logger {
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (msg, fields) => void lines.push({ level: 'warn', msg, ...(fields ? { fields } : {}) }),
    error: (msg, fields) => void lines.push({ level: 'error', msg, ...(fields ? { fields } : {}) }),
    child: () => logger,
  };
  return logger;
}

test('an event larger than the bus carries is refused before it is written, and the transaction writes nothing', async (t) => {
  const pool = await freshPool(t);
  const poison = poisonEvent(1_500_000);
  const small = changedEvent('db_password', 1);
  await assert.rejects(enqueueCommitted(pool, [small, poison]), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'event.too_large');
    assert.match(
      err.message,
      /event on latchkey\.workload\.deploying\.analytics this change causes would be \d+ bytes, over the 1000000 bytes/,
    );
    return true;
  });
  const { rows } = await pool.query('SELECT id FROM outbox');
  assert.deepEqual(rows, []);
});

test('a row too large for the bus, written past the check, is set aside with its reason, logged and counted, and the 1,200 rows behind it go out', async (t) => {
  const pool = await freshPool(t);
  const bus = await freshBus(t);
  const poison = poisonEvent(1_500_000);
  await forceRow(pool, poison);
  const behind = Array.from({ length: 1200 }, (_, i) => changedEvent(`key_${i}`, i + 1));
  for (let i = 0; i < behind.length; i += 200) await enqueueCommitted(pool, behind.slice(i, i + 200));

  const lines: { level: string; msg: string; fields?: LogFields }[] = [];
  startRelay(t, { pool, js: bus.js, logger: recordingLogger(lines), source: 'latchkey/test', idleMs: 20 });
  await waitFor(async () => (await streamCount(bus.jsm)) === behind.length, {
    what: 'every row behind the poison one in the stream',
    timeoutMs: 30_000,
  });
  await waitFor(async () => (await unpublishedIds(pool)).length === 1, { what: 'every other row marked published' });
  const { rows } = await pool.query<{
    id: string;
    published_at: Date | null;
    dead_at: Date | null;
    dead_reason: string;
  }>('SELECT id, published_at, dead_at, dead_reason FROM outbox WHERE dead_at IS NOT NULL');
  assert.equal(rows.length, 1);
  assert.equal(rows[0]?.id, poison.id);
  assert.equal(rows[0]?.published_at, null);
  assert.match(rows[0]?.dead_reason ?? '', /^\d+ bytes, over the 1000000 bytes an event may carry$/);
  const setAside = lines.filter((l) => l.level === 'error' && /set aside/.test(l.msg));
  assert.equal(setAside.length, 1, 'logged once');
  assert.equal(setAside[0]?.fields?.eventId, poison.id);
  assert.equal(setAside[0]?.fields?.setAside, 1);
  assert.equal(setAside[0]?.fields?.subject, poison.subject);

  // A relay started later says at once that the outbox holds a row set aside.
  const later: { level: string; msg: string; fields?: LogFields }[] = [];
  startRelay(t, { pool, js: bus.js, logger: recordingLogger(later), source: 'latchkey/test', idleMs: 20 });
  await waitFor(() => later.some((l) => /set aside/.test(l.msg) && l.fields?.setAside === 1), {
    what: 'the new relay to report the row set aside',
  });
});

test('a row the NATS server refuses as too large is set aside; a row that fails for another reason stays pending and does not hold back its batch', async (t) => {
  const pool = await freshPool(t);
  const bus = await freshBus(t);
  const refused = changedEvent('refused', 1);
  const flaky = changedEvent('flaky', 1);
  const fine = Array.from({ length: 5 }, (_, i) => changedEvent(`fine_${i}`, i + 1));
  await enqueueCommitted(pool, [refused, flaky, ...fine]);
  let flakyFails = true;
  const js = new Proxy(bus.js, {
    get(target, prop) {
      if (prop === 'publish') {
        const publish: JetStreamClient['publish'] = (subject, payload, opts) => {
          if (opts?.msgID === refused.id)
            return Promise.reject(Object.assign(new Error('MAX_PAYLOAD_EXCEEDED'), { code: 'MAX_PAYLOAD_EXCEEDED' }));
          if (opts?.msgID === flaky.id && flakyFails)
            return Promise.reject(Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' }));
          return target.publish(subject, payload, opts);
        };
        return publish;
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const relay = new OutboxRelay({ pool, js, logger: silentLogger, source: 'latchkey/test' });
  await assert.rejects(
    relay.publishBatch(),
    /1 event\(s\) could not be published and stay in the outbox; 5 were published/,
  );
  assert.deepEqual(await unpublishedIds(pool), [refused.id, flaky.id]);
  const dead = await pool.query<{ id: string; dead_reason: string }>(
    'SELECT id, dead_reason FROM outbox WHERE dead_at IS NOT NULL',
  );
  assert.deepEqual(
    dead.rows.map((r) => r.id),
    [refused.id],
  );
  assert.match(dead.rows[0]?.dead_reason ?? '', /larger than the NATS server's max_payload/);
  assert.equal(await streamCount(bus.jsm), 5);
  // The flaky one goes out when it can; the one set aside is not tried again.
  flakyFails = false;
  assert.equal(await relay.publishBatch(), 1);
  assert.equal(await streamCount(bus.jsm), 6);
  assert.equal(await relay.publishBatch(), 0);
});

test("one domain's backlog does not starve another's: a later event of another subject goes out in the first batch", async (t) => {
  const pool = await freshPool(t);
  const bus = await freshBus(t);
  const backlog = Array.from({ length: 600 }, (_, i) => ({
    id: randomUUID(),
    type: eventTypes.stale,
    subject: subjects.stale('analytics'),
    data: { workloadId: randomUUID(), workload: `w${i}`, domain: 'analytics', changed: [] },
  }));
  for (let i = 0; i < backlog.length; i += 200) await enqueueCommitted(pool, backlog.slice(i, i + 200));
  const theirs = {
    id: randomUUID(),
    type: eventTypes.deploying,
    subject: subjects.deploying('finance'),
    data: { deploymentId: randomUUID(), workload: 'etl', domain: 'finance', principal: 'bob', references: [] },
  };
  await enqueueCommitted(pool, [theirs]);
  const relay = new OutboxRelay({ pool, js: bus.js, logger: silentLogger, source: 'latchkey/test', batchSize: 50 });
  assert.equal(await relay.publishBatch(), 50);
  const pending = new Set(await unpublishedIds(pool));
  assert.ok(!pending.has(theirs.id), "finance's event went out in the first batch");
  assert.equal(pending.size, backlog.length + 1 - 50);
  // Within one subject, oldest first.
  const out = backlog.filter((e) => !pending.has(e.id)).map((e) => e.id);
  assert.deepEqual(
    out,
    backlog.slice(0, 49).map((e) => e.id),
  );
});

test('an event just under the limit is written and published', async (t) => {
  const pool = await freshPool(t);
  const bus = await freshBus(t);
  const ev = changedEvent('big', 1);
  const padding = MAX_EVENT_BYTES - JSON.stringify(ev.data).length - 20;
  const big = { ...ev, data: { ...(ev.data as object), note: 'x'.repeat(padding) } };
  await enqueueCommitted(pool, [big]);
  const relay = new OutboxRelay({ pool, js: bus.js, logger: silentLogger, source: 'latchkey/test' });
  assert.equal(await relay.publishBatch(), 1);
  assert.equal(await streamCount(bus.jsm), 1);
});
