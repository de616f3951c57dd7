import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { trace } from '@opentelemetry/api';
import { withTransaction, type Pool } from '@latchkey/db';
import { initTracing, inSpan, silentLogger, type LogFields, type Logger } from '@latchkey/logger';
import { waitFor } from '@latchkey/testing';
import { claimEvent, enqueueEvents, ensureEventTables, OutboxRelay } from './outbox.js';
import { eventTypes } from './subjects.js';
import {
  changedEvent,
  defer,
  enqueueCommitted,
  freshBus,
  freshPool,
  postgresForThisFile,
  recordingJs,
  startRelay,
  streamCount,
  streamMessages,
  tally,
  unpublishedIds,
  type Published,
} from './test/outbox-fixture.js';

const postgres = postgresForThisFile();

test('committed events are published with Nats-Msg-Id, CloudEvents headers and the traceparent of the enqueuing span', async (t) => {
  initTracing();
  const pool = await freshPool(t, postgres());
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
  const pool = await freshPool(t, postgres());
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
  const pool = await freshPool(t, postgres());
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
  const pool = await freshPool(t, postgres());
  const bus = await freshBus(t);
  const events = Array.from({ length: 120 }, (_, i) => changedEvent(`key_${i % 7}`, i + 1));
  for (let i = 0; i < events.length; i += 10) await enqueueCommitted(pool, events.slice(i, i + 10));

  const published: Published[] = [];
  // Each relay's first publish waits until the other relay is publishing too, so
  // both hold a claimed batch at once: their claims must not block each other.
  // (Without it a relay can take all 120 rows before the other has started.)
  let arrived = 0;
  let apart: Error | undefined;
  let bothArrived = (): void => undefined;
  const together = new Promise<void>((resolve) => (bothArrived = resolve));
  const barrier = () => {
    let first = true;
    return async () => {
      if (!first) return;
      first = false;
      if (++arrived === 2) bothArrived();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        together,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject((apart = new Error('the other relay never published while this one held a batch'))),
            10_000,
          );
        }),
      ]).finally(() => clearTimeout(timer));
    };
  };
  for (const replica of ['a', 'b']) {
    startRelay(t, {
      pool,
      js: recordingJs(bus.js, published, barrier()),
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
  assert.equal(apart, undefined, 'both relays held a batch at the same time');
});

test('a row published again after a crash is dropped by the JetStream duplicate window', async (t) => {
  const pool = await freshPool(t, postgres());
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
  const pool = await freshPool(t, postgres());
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
  // The race, made deterministic: the committing side kicks after the first
  // read was sent (here: once it returned), so that read may have missed the commit.
  class RacingRelay extends OutboxRelay {
    reads: number[] = [];
    override async relayBatch() {
      this.reads.push(Date.now());
      const outcome = await super.relayBatch();
      if (this.reads.length === 1) this.kick();
      return outcome;
    }
  }
  const relay = new RacingRelay({
    pool: await freshPool(t, postgres()),
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

test('a kick while a batch has not yet sent its read is answered by that read: no second read', async (t) => {
  const pool = await freshPool(t, postgres());
  const bus = await freshBus(t);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  class GatedRelay extends CountingRelay {
    override async relayBatch() {
      // The first batch waits here, before its read: what is committed and kicked meanwhile, that read sees.
      if (this.batches === 0) await gate;
      return super.relayBatch();
    }
  }
  const relay = new GatedRelay({ pool, js: bus.js, logger: silentLogger, source: 'latchkey/test', idleMs: 600_000 });
  relay.start();
  defer(t, () => relay.stop());
  await waitFor(async () => (await listeners(pool)).length === 1, { what: 'the relay to LISTEN' });
  await enqueueCommitted(pool, [changedEvent('a', 1)]);
  relay.kick();
  release();
  await waitFor(async () => (await unpublishedIds(pool)).length === 0 && (await streamCount(bus.jsm)) === 1, {
    what: 'the first event published by the first read',
  });
  await enqueueCommitted(pool, [changedEvent('b', 1)]);
  relay.kick();
  await waitFor(async () => (await streamCount(bus.jsm)) === 2, { what: 'the second event published' });
  assert.equal(relay.batches, 2, 'one read for each commit');
  assert.equal(relay.empty, 0, 'no read found nothing');
});

test("the outbox's lag counts the rows still to publish and the age of the oldest; published and set-aside rows are not waiting", async (t) => {
  const pool = await freshPool(t, postgres());
  const bus = await freshBus(t);
  const relay = new OutboxRelay({ pool, js: bus.js, logger: silentLogger, source: 'latchkey/test' });
  assert.deepEqual(await relay.lag(), { pending: 0, oldestSeconds: 0 });
  const events = [changedEvent('a', 1), changedEvent('b', 1), changedEvent('c', 1)];
  await enqueueCommitted(pool, events);
  await pool.query("UPDATE outbox SET created_at = now() - interval '90 seconds' WHERE id = $1", [events[0]?.id]);
  await pool.query("UPDATE outbox SET dead_at = now(), dead_reason = 'test' WHERE id = $1", [events[2]?.id]);
  const lag = await relay.lag();
  assert.equal(lag.pending, 2);
  assert.ok(lag.oldestSeconds >= 90 && lag.oldestSeconds < 120, `oldest ${lag.oldestSeconds}s`);
  await relay.publishBatch();
  assert.deepEqual(await relay.lag(), { pending: 0, oldestSeconds: 0 });
});

/** A relay that counts the batches it finished reading (whatever they found). */
/** Counts its batches, and those that found nothing to do. */
class CountingRelay extends OutboxRelay {
  batches = 0;
  empty = 0;
  override async relayBatch() {
    const outcome = await super.relayBatch();
    this.batches++;
    if (outcome.published + outcome.setAside + outcome.failed === 0) this.empty++;
    return outcome;
  }
}

/** The pids of the backends LISTENing on the outbox channel in `pool`'s database. */
async function listeners(pool: Pool): Promise<number[]> {
  const { rows } = await pool.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN latchkey_outbox'`,
  );
  return rows.map((r) => r.pid);
}

test('a row committed without a kick (by another replica) wakes the idle relay at once through LISTEN/NOTIFY, not at its next poll', async (t) => {
  const pool = await freshPool(t, postgres());
  const bus = await freshBus(t);
  // A poll so slow that only the notification can deliver within the test's deadline.
  const relay = new CountingRelay({ pool, js: bus.js, logger: silentLogger, source: 'latchkey/test', idleMs: 600_000 });
  relay.start();
  defer(t, () => relay.stop());
  await waitFor(() => relay.batches >= 1, { what: 'the relay to read once and go idle' });
  const ev = changedEvent('db_password', 1);
  const committed = Date.now();
  await enqueueCommitted(pool, [ev]);
  await waitFor(async () => (await unpublishedIds(pool)).length === 0 && (await streamCount(bus.jsm)) === 1, {
    what: 'the event published without a kick',
    timeoutMs: 10_000,
  });
  assert.ok(Date.now() - committed < 10_000);
  assert.equal((await streamMessages(bus.jsm))[0]?.headers?.get('ce-id'), ev.id);
});

test('each commit is read once: the notification of rows the relay already read starts no empty read, an insert that adds no row notifies nothing, and an earlier version’s trigger is replaced', async (t) => {
  const pool = await freshPool(t, postgres());
  const bus = await freshBus(t);
  const relay = new CountingRelay({ pool, js: bus.js, logger: silentLogger, source: 'latchkey/test', idleMs: 600_000 });
  relay.start();
  defer(t, () => relay.stop());
  await waitFor(async () => (await listeners(pool)).length === 1 && relay.batches >= 1, {
    what: 'the relay to LISTEN, read once and go idle',
  });
  const emptyAtStart = relay.empty;

  // Committed and kicked, as a service does: read once; the commit's own notification (of a row read) is not news.
  await enqueueCommitted(pool, [changedEvent('a', 1)]);
  relay.kick();
  await waitFor(async () => (await streamCount(bus.jsm)) === 1, { what: 'the kicked event published' });
  // Committed without a kick (another replica): the notification names a row not read yet, and wakes the relay.
  // Notifications arrive in commit order, so the first commit's was handled before this one's.
  await enqueueCommitted(pool, [changedEvent('b', 1), changedEvent('c', 1)]);
  await waitFor(async () => (await streamCount(bus.jsm)) === 3, { what: 'the notified events published' });
  // A repeat of an event id inserts nothing (ON CONFLICT DO NOTHING), so it notifies nothing; the next commit does.
  const repeat = changedEvent('d', 1);
  await enqueueCommitted(pool, [repeat]);
  await waitFor(async () => (await streamCount(bus.jsm)) === 4, { what: 'the fourth event published' });
  const batches = relay.batches;
  await enqueueCommitted(pool, [repeat]);
  await enqueueCommitted(pool, [changedEvent('e', 1)]);
  await waitFor(async () => (await streamCount(bus.jsm)) === 5, { what: 'the fifth event published' });
  assert.equal(relay.batches, batches + 1, 'one read for the commit that added a row, none for the repeat');
  assert.equal(relay.empty, emptyAtStart, 'no read found nothing');

  // An outbox with the trigger of an earlier version (a notification without payload): replaced by this one.
  await pool.query(`DROP TRIGGER outbox_notify_seq ON outbox;
    CREATE FUNCTION latchkey_outbox_notify() RETURNS trigger LANGUAGE plpgsql
      AS $f$ BEGIN PERFORM pg_notify('latchkey_outbox', ''); RETURN NULL; END $f$;
    CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION latchkey_outbox_notify();`);
  await ensureEventTables(pool);
  const { rows } = await pool.query<{ tgname: string }>(
    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'outbox'::regclass AND NOT tgisinternal",
  );
  assert.deepEqual(
    rows.map((r) => r.tgname),
    ['outbox_notify_seq'],
  );
  const old = await pool.query("SELECT 1 FROM pg_proc WHERE proname = 'latchkey_outbox_notify'");
  assert.equal(old.rowCount, 0);
  await enqueueCommitted(pool, [changedEvent('f', 1)]);
  await waitFor(async () => (await streamCount(bus.jsm)) === 6, { what: 'an event after the upgrade, notified' });
});

test('a relay whose LISTEN connection is cut listens again, reads what was committed meanwhile, and wakes on the next commit', async (t) => {
  const pool = await freshPool(t, postgres());
  const bus = await freshBus(t);
  const warnings: string[] = [];
  const logger: Logger = { ...silentLogger, warn: (msg: string) => void warnings.push(msg), child: () => logger };
  const relay = new CountingRelay({ pool, js: bus.js, logger, source: 'latchkey/test', idleMs: 600_000 });
  relay.start();
  defer(t, () => relay.stop());
  const [first] = await waitFor(async () => (await listeners(pool)).length === 1 && listeners(pool), {
    what: 'the relay to LISTEN',
  });
  await waitFor(() => relay.batches >= 1, { what: 'the relay to read once and go idle' });

  // The connection is cut (a PostgreSQL restart, a proxy), and a row is committed while it is down.
  await pool.query('SELECT pg_terminate_backend($1)', [first]);
  const meanwhile = changedEvent('db_password', 1);
  await enqueueCommitted(pool, [meanwhile]);
  const [second] = await waitFor(
    async () => {
      const pids = await listeners(pool);
      return pids.length === 1 && pids[0] !== first && pids;
    },
    { what: 'the relay to LISTEN on a new connection', timeoutMs: 10_000 },
  );
  assert.ok(second);
  assert.ok(
    warnings.some((w) => /lost its LISTEN connection/.test(w)),
    warnings.join('; '),
  );
  await waitFor(async () => (await streamCount(bus.jsm)) === 1, {
    what: 'the row committed while it was not listening',
    timeoutMs: 10_000,
  });

  // Idle again: the next commit wakes it through the new connection.
  await waitFor(async () => (await unpublishedIds(pool)).length === 0, { what: 'that row marked published' });
  const next = changedEvent('db_password', 2);
  await enqueueCommitted(pool, [next]);
  await waitFor(async () => (await streamCount(bus.jsm)) === 2, {
    what: 'the next event published without a kick',
    timeoutMs: 10_000,
  });
  assert.deepEqual(await unpublishedIds(pool), []);
});
