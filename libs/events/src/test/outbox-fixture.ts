import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import {
  connect,
  type JetStreamClient,
  type JetStreamManager,
  type MsgHdrs,
  type NatsConnection,
  type PubAck,
} from 'nats';
import { withTransaction, type Pool } from '@latchkey/db';
import { ensureStream } from '@latchkey/nats';
import { freshDatabase, startTestNats, type TestNats, type TestPostgres } from '@latchkey/testing';
import { enqueueEvents, ensureEventTables, OutboxRelay } from '../outbox.js';
import { eventTypes, STREAM_EVENTS, STREAMS, subjects } from '../subjects.js';
import type { OutgoingEvent } from '../envelope.js';

// The outbox tests' fixture (outbox.test.ts, outbox-oversize.test.ts): test databases, buses and relays.

export { usePostgres as postgresForThisFile } from '@latchkey/testing';

const cleanups = new WeakMap<TestContext, (() => unknown)[]>();

/** Registers `fn` to run when the test ends; last registered runs first (relays stop before their pool closes). */
export function defer(t: TestContext, fn: () => unknown): void {
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
export async function freshPool(t: TestContext, postgres: TestPostgres): Promise<Pool> {
  const deferring = { after: (fn: () => unknown) => defer(t, fn) };
  return (await freshDatabase(deferring, postgres, { prefix: 'outbox', prepare: ensureEventTables })).pool;
}

export interface Bus {
  nats: TestNats;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

/** A private nats-server with Latchkey's streams, and a connection to it; both closed when the test ends. */
export async function freshBus(t: TestContext): Promise<Bus> {
  const nats = await startTestNats();
  defer(t, () => nats.stop());
  const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  defer(t, () => nc.close());
  const jsm = await nc.jetstreamManager();
  for (const s of STREAMS) await ensureStream(jsm, s);
  // A short publish timeout so that a relay facing a dead server fails (and retries) quickly.
  return { nats, nc, js: nc.jetstream({ timeout: 1000 }), jsm };
}

export interface Published {
  msgID: string;
  ack?: PubAck;
}

/** Wraps a JetStream client to record every publish a relay makes and what JetStream answered. */
export function recordingJs(
  js: JetStreamClient,
  log: Published[],
  /** Awaited before each publish (a test holds a relay in the middle of its batch). */
  beforePublish?: () => Promise<void>,
): JetStreamClient {
  return new Proxy(js, {
    get(target, prop) {
      if (prop === 'publish') {
        const publish: JetStreamClient['publish'] = async (subject, payload, opts) => {
          await beforePublish?.();
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

export interface StoredEvent {
  seq: number;
  subject: string;
  headers: MsgHdrs | undefined;
  data: unknown;
}

export async function streamMessages(jsm: JetStreamManager): Promise<StoredEvent[]> {
  const info = await jsm.streams.info(STREAM_EVENTS);
  const out: StoredEvent[] = [];
  if (info.state.messages === 0) return out;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(STREAM_EVENTS, { seq });
    out.push({ seq: m.seq, subject: m.subject, headers: m.header, data: m.json() });
  }
  return out;
}

export const streamCount = async (jsm: JetStreamManager) => (await jsm.streams.info(STREAM_EVENTS)).state.messages;

export function changedEvent(
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

export async function enqueueCommitted(pool: Pool, events: OutgoingEvent<unknown>[]): Promise<void> {
  await withTransaction(pool, (tx) => enqueueEvents(tx, events));
}

export async function unpublishedIds(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>('SELECT id FROM outbox WHERE published_at IS NULL ORDER BY seq');
  return rows.map((r) => r.id);
}

export function startRelay(t: TestContext, deps: ConstructorParameters<typeof OutboxRelay>[0]): OutboxRelay {
  const relay = new OutboxRelay(deps);
  relay.start();
  defer(t, () => relay.stop());
  return relay;
}

/** Counts each value of `ids` in a list; a helper for "exactly once". */
export function tally(ids: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}
