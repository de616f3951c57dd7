import type { JetStreamClient } from 'nats';
import { withTransaction, wrapDbError, type Pool, type Queryable } from '@latchkey/db';
import { injectTraceHeaders, type Logger } from '@latchkey/logger';
import { eventHeaders, newEventId, type OutgoingEvent } from './envelope.js';

/** Tables every service with a database keeps: the outbox and the processed-event inbox. */
export async function ensureEventTables(pool: Pool): Promise<void> {
  await pool
    .query(
      `CREATE TABLE IF NOT EXISTS outbox (
         seq bigserial PRIMARY KEY,
         id text NOT NULL UNIQUE,
         subject text NOT NULL,
         type text NOT NULL,
         data jsonb NOT NULL,
         trace jsonb NOT NULL DEFAULT '{}',
         created_at timestamptz NOT NULL DEFAULT now(),
         published_at timestamptz
       );
       CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
       CREATE TABLE IF NOT EXISTS processed_events (
         consumer text NOT NULL,
         event_id text NOT NULL,
         processed_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (consumer, event_id)
       );`,
    )
    .catch((err: unknown) => {
      // Two replicas creating the same table at once: the loser sees a unique violation.
      if ((err as { code?: string }).code !== '23505') throw wrapDbError(err, 'creating event tables');
    });
}

/** Writes events in the caller's transaction; they are published after it commits. */
export async function enqueueEvents(tx: Queryable, events: OutgoingEvent<unknown>[]): Promise<void> {
  if (events.length === 0) return;
  const trace: Record<string, string> = {};
  injectTraceHeaders(trace);
  const ids: string[] = [];
  const subjects: string[] = [];
  const types: string[] = [];
  const datas: string[] = [];
  for (const ev of events) {
    ids.push(ev.id ?? newEventId());
    subjects.push(ev.subject);
    types.push(ev.type);
    datas.push(JSON.stringify(ev.data));
  }
  await tx.query(
    `INSERT INTO outbox (id, subject, type, data, trace)
     SELECT id, subject, type, data::jsonb, $5::jsonb FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS t(id, subject, type, data)
     ON CONFLICT (id) DO NOTHING`,
    [ids, subjects, types, datas, JSON.stringify(trace)],
  );
}

/** Records that `consumer` handled `eventId`; false when it already had (a redelivery). */
export async function claimEvent(tx: Queryable, consumer: string, eventId: string): Promise<boolean> {
  const r = await tx.query('INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
    consumer,
    eventId,
  ]);
  return r.rowCount === 1;
}

interface OutboxRow {
  seq: string;
  id: string;
  subject: string;
  type: string;
  data: unknown;
  trace: Record<string, string>;
  created_at: Date;
}

/**
 * Publishes committed outbox rows to JetStream, oldest first. Replicas share
 * the work through `FOR UPDATE SKIP LOCKED`; a row is marked published only
 * after JetStream acknowledged it, and a re-publish after a crash is dropped
 * by JetStream's duplicate window (Nats-Msg-Id = event id).
 */
export class OutboxRelay {
  private running = false;
  private wake: (() => void) | undefined;
  /** Set by kick(); a kick that arrives while a batch is being published is not lost. */
  private kicked = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      pool: Pool;
      js: JetStreamClient;
      logger: Logger;
      source: string;
      batchSize?: number;
      idleMs?: number;
    },
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Call after committing events, so they go out without waiting for the next poll. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.kick();
    await this.loop;
  }

  /**
   * Publishes one batch (default 1,000 rows, all in flight at once: a
   * rotation's 100,000 workload.stale events went out in 27 s with 200-row
   * batches, 18 s with 1,000); returns how many rows went out.
   */
  async publishBatch(): Promise<number> {
    const limit = this.deps.batchSize ?? 1000;
    return withTransaction(this.deps.pool, async (tx) => {
      const { rows } = await tx.query<OutboxRow>(
        `SELECT seq, id, subject, type, data, trace, created_at FROM outbox
         WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      if (rows.length === 0) return 0;
      await Promise.all(
        rows.map((row) =>
          this.deps.js.publish(row.subject, JSON.stringify(row.data), {
            msgID: row.id,
            headers: eventHeaders(
              {
                id: row.id,
                source: this.deps.source,
                type: row.type,
                subject: row.subject,
                time: row.created_at.toISOString(),
              },
              row.trace,
            ),
          }),
        ),
      );
      await tx.query('UPDATE outbox SET published_at = now() WHERE seq = ANY($1::bigint[])', [rows.map((r) => r.seq)]);
      return rows.length;
    });
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      let sent = 0;
      this.kicked = false;
      try {
        sent = await this.publishBatch();
        failures = 0;
      } catch (err) {
        failures++;
        this.deps.logger.warn('outbox relay could not publish; will retry', { err, failures });
      }
      // More may be waiting: rows beyond this batch, or a commit kicked while
      // this batch was being read (its rows were not visible to that read).
      if ((sent > 0 || this.kicked) && failures === 0) continue;
      const idle = failures > 0 ? Math.min(5000, 200 * 2 ** failures) : (this.deps.idleMs ?? 250);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, idle);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }
}

/** Publishes one event directly (for stateless services), with a deterministic id for dedup. */
export async function publishEvent<T>(
  js: JetStreamClient,
  source: string,
  ev: OutgoingEvent<T> & { id: string },
): Promise<void> {
  const trace: Record<string, string> = {};
  injectTraceHeaders(trace);
  await js.publish(ev.subject, JSON.stringify(ev.data), {
    msgID: ev.id,
    headers: eventHeaders(
      { id: ev.id, source, type: ev.type, subject: ev.subject, time: new Date().toISOString() },
      trace,
    ),
  });
}
