import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { JetStreamClient } from 'nats';
import { silentLogger, type LogFields, type Logger } from '@latchkey/logger';
import { waitFor } from '@latchkey/testing';
import { ensureEventTables, MAX_EVENT_BYTES, OutboxRelay } from './outbox.js';

import type { Pool } from '@latchkey/db';
import { eventTypes, STREAM_EVENTS, subjects } from './subjects.js';
import type { OutgoingEvent } from './envelope.js';
import {
  changedEvent,
  enqueueCommitted,
  freshBus,
  freshPool,
  postgresForThisFile,
  startRelay,
  streamCount,
  unpublishedIds,
} from './test/outbox-fixture.js';

const postgres = postgresForThisFile();

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
  const pool = await freshPool(t, postgres());
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
  const pool = await freshPool(t, postgres());
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

test('an event an earlier (jsonb) outbox kept, under the limit compact but over it as PostgreSQL printed jsonb (a space after each : and ,), goes out compact; a new one goes out as it was stored, byte for byte', async (t) => {
  const pool = await freshPool(t, postgres());
  const bus = await freshBus(t);
  const items = Array.from({ length: 68_000 }, (_, i) => ({ k: i % 10, v: 2 }));
  const wide = { ...changedEvent('wide', 1), data: { items } };
  const small = changedEvent('small', 2);
  const compact = Buffer.byteLength(JSON.stringify(wide.data));
  assert.ok(compact < MAX_EVENT_BYTES && compact > 900_000, `${compact} bytes compact`);
  // As a jsonb outbox converted to json holds it: PostgreSQL's jsonb print.
  await pool.query('INSERT INTO outbox (id, subject, type, data) VALUES ($1, $2, $3, $4::jsonb::json)', [
    wide.id,
    wide.subject,
    wide.type,
    JSON.stringify(wide.data),
  ]);
  await enqueueCommitted(pool, [small]);
  const printed = await pool.query<{ id: string; bytes: number }>(
    'SELECT id, octet_length(data::text) AS bytes FROM outbox ORDER BY seq',
  );
  assert.ok((printed.rows[0]?.bytes ?? 0) > MAX_EVENT_BYTES, `${printed.rows[0]?.bytes} bytes as jsonb printed it`);
  assert.equal(printed.rows[1]?.bytes, Buffer.byteLength(JSON.stringify(small.data)), 'a new event is stored compact');

  const relay = new OutboxRelay({ pool, js: bus.js, logger: silentLogger, source: 'latchkey/test' });
  assert.equal(await relay.publishBatch(), 2);
  assert.deepEqual(await unpublishedIds(pool), []);
  const dead = await pool.query('SELECT id FROM outbox WHERE dead_at IS NOT NULL');
  assert.deepEqual(dead.rows, [], 'nothing set aside');
  const stored = new Map<string, string>();
  const info = await bus.jsm.streams.info(STREAM_EVENTS);
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await bus.jsm.streams.getMessage(STREAM_EVENTS, { seq });
    stored.set(m.header.get('ce-id'), new TextDecoder().decode(m.data));
  }
  assert.equal(stored.get(wide.id), JSON.stringify(wide.data), 'the wide one compact');
  assert.equal(stored.get(small.id), JSON.stringify(small.data), 'the new one as JSON.stringify wrote it');
});

test('an outbox an earlier version made (data jsonb, compressed) is converted once to json stored uncompressed, its pending rows kept and published', async (t) => {
  const pool = await freshPool(t, postgres());
  const bus = await freshBus(t);
  await pool.query('ALTER TABLE outbox ALTER COLUMN data TYPE jsonb USING data::jsonb');
  await pool.query('ALTER TABLE outbox ALTER COLUMN data SET STORAGE EXTENDED');
  const pending = changedEvent('pending', 3);
  await pool.query('INSERT INTO outbox (id, subject, type, data) VALUES ($1, $2, $3, $4::jsonb)', [
    pending.id,
    pending.subject,
    pending.type,
    JSON.stringify(pending.data),
  ]);
  const column = async () =>
    (
      await pool.query<{ type: string; storage: string }>(
        `SELECT atttypid::regtype::text AS type, attstorage AS storage FROM pg_attribute
         WHERE attrelid = 'outbox'::regclass AND attname = 'data'`,
      )
    ).rows[0];
  assert.deepEqual(await column(), { type: 'jsonb', storage: 'x' }, 'the old outbox');
  await Promise.all([ensureEventTables(pool), ensureEventTables(pool)]);
  assert.deepEqual(await column(), { type: 'json', storage: 'e' }, 'converted, by two replicas at once');
  await ensureEventTables(pool);
  assert.deepEqual(await unpublishedIds(pool), [pending.id], 'the pending row kept');
  const relay = new OutboxRelay({ pool, js: bus.js, logger: silentLogger, source: 'latchkey/test' });
  assert.equal(await relay.publishBatch(), 1);
  const info = await bus.jsm.streams.info(STREAM_EVENTS);
  const m = await bus.jsm.streams.getMessage(STREAM_EVENTS, { seq: info.state.last_seq });
  assert.deepEqual(JSON.parse(new TextDecoder().decode(m.data)), pending.data);
});

test('a row the NATS server refuses as too large is set aside; a row that fails for another reason stays pending and does not hold back its batch', async (t) => {
  const pool = await freshPool(t, postgres());
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
  const pool = await freshPool(t, postgres());
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
  const pool = await freshPool(t, postgres());
  const bus = await freshBus(t);
  const ev = changedEvent('big', 1);
  const padding = MAX_EVENT_BYTES - JSON.stringify(ev.data).length - 20;
  const big = { ...ev, data: { ...(ev.data as object), note: 'x'.repeat(padding) } };
  await enqueueCommitted(pool, [big]);
  const relay = new OutboxRelay({ pool, js: bus.js, logger: silentLogger, source: 'latchkey/test' });
  assert.equal(await relay.publishBatch(), 1);
  assert.equal(await streamCount(bus.jsm), 1);
});
