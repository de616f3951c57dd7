import type { JetStreamClient } from 'nats';
import {
  connectOutsidePool,
  withTransaction,
  wrapDbError,
  type Connection,
  type Pool,
  type Queryable,
} from '@latchkey/db';
import { LatchkeyError } from '@latchkey/errors';
import { injectTraceHeaders, type Logger } from '@latchkey/logger';
import { eventHeaders, newEventId, type OutgoingEvent } from './envelope.js';

/**
 * The largest event body the outbox takes, in bytes of its JSON. NATS's
 * default max_payload is 1 MiB (1,048,576 bytes, headers included); this
 * leaves 48,576 bytes for the CloudEvents and traceparent headers (a few
 * hundred bytes). Every event is checked against it before it is written
 * (enqueueEvents) and again by the relay, which sets aside what it cannot
 * publish instead of retrying it forever.
 */
export const MAX_EVENT_BYTES = 1_000_000;

/** The size of an event's body as it goes on the bus. */
export const eventBytes = (data: unknown): number => Buffer.byteLength(JSON.stringify(data) ?? '', 'utf8');

/**
 * The PostgreSQL channel an insert into the outbox notifies (a statement
 * trigger, so delivered when the inserting transaction commits, whoever
 * wrote the row: this replica, another one, a migration); every relay
 * LISTENs on it and wakes at once instead of polling. The payload is the
 * highest seq the statement inserted: a relay that has already read that
 * row (the usual case: its own service committed it and kicked it) knows
 * the statement's rows were visible to it, and does not read again.
 */
export const OUTBOX_CHANNEL = 'latchkey_outbox';

/**
 * How often a relay looks at the outbox when nothing woke it: only a safety
 * net for a notification missed while its LISTEN connection was being
 * re-made (it also reads at once after each reconnect).
 */
export const OUTBOX_SAFETY_POLL_MS = 5000;

/**
 * How long the relay waits after `failures` failures in a row (to publish,
 * or to LISTEN): 400 ms, 800 ms, 1.6 s … capped at 5 s, each ±25 % at
 * random so that the replicas of every service do not retry in step after
 * NATS or PostgreSQL comes back. The relay retries for as long as it runs
 * (an outbox row is a promise to publish), never faster than this.
 */
export function relayRetryDelayMs(failures: number, random: () => number = Math.random): number {
  const base = Math.min(5000, 200 * 2 ** Math.max(1, failures));
  return Math.round(base * (0.75 + random() * 0.5));
}

/**
 * Tables every service with a database keeps: the outbox and the
 * processed-event inbox. An event's body is stored as `json` (the text as
 * written, checked to be JSON) and uncompressed (`STORAGE EXTERNAL`): the
 * relay sends that text as it is, so nothing converts or decompresses it on
 * the way out; as jsonb, the 100 workload.stale events of a rotation with
 * 100,000 dependents cost PostgreSQL 580 ms to build and store and came out
 * with a space after every ':' and ',' (issue 18: 180 ms as compact json).
 * An outbox of an earlier version (jsonb) is converted once. An outbox row the relay can never publish (too
 * large for the bus) is set aside: `dead_at` and `dead_reason` say when and
 * why; operators list them with
 * `SELECT seq, id, subject, dead_at, dead_reason FROM outbox WHERE dead_at IS NOT NULL`.
 * A statement trigger on the outbox notifies OUTBOX_CHANNEL with the
 * highest seq the statement inserted (nothing when it inserted no row).
 */
export async function ensureEventTables(pool: Pool): Promise<void> {
  await pool
    .query(
      `CREATE TABLE IF NOT EXISTS outbox (
         seq bigserial PRIMARY KEY,
         id text NOT NULL UNIQUE,
         subject text NOT NULL,
         type text NOT NULL,
         data json NOT NULL,
         trace jsonb NOT NULL DEFAULT '{}',
         created_at timestamptz NOT NULL DEFAULT now(),
         published_at timestamptz
       );
       ALTER TABLE outbox ADD COLUMN IF NOT EXISTS dead_at timestamptz;
       ALTER TABLE outbox ADD COLUMN IF NOT EXISTS dead_reason text;
       DROP INDEX IF EXISTS outbox_unpublished;
       CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (subject, seq) WHERE published_at IS NULL AND dead_at IS NULL;
       CREATE INDEX IF NOT EXISTS outbox_pending_seq ON outbox (seq) WHERE published_at IS NULL AND dead_at IS NULL;
       DO $$ BEGIN
         IF (SELECT atttypid FROM pg_attribute WHERE attrelid = 'outbox'::regclass AND attname = 'data') = 'jsonb'::regtype THEN
           ALTER TABLE outbox ALTER COLUMN data TYPE json USING data::json;
         END IF;
         IF (SELECT attstorage FROM pg_attribute WHERE attrelid = 'outbox'::regclass AND attname = 'data') <> 'e' THEN
           ALTER TABLE outbox ALTER COLUMN data SET STORAGE EXTERNAL;
         END IF;
         IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'latchkey_outbox_notify_seq') THEN
           CREATE FUNCTION latchkey_outbox_notify_seq() RETURNS trigger LANGUAGE plpgsql
             AS $f$ DECLARE last bigint; BEGIN
               SELECT max(seq) INTO last FROM new_rows;
               IF last IS NOT NULL THEN PERFORM pg_notify('${OUTBOX_CHANNEL}', last::text); END IF;
               RETURN NULL;
             END $f$;
         END IF;
         IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'outbox_notify_seq' AND tgrelid = 'outbox'::regclass) THEN
           CREATE TRIGGER outbox_notify_seq AFTER INSERT ON outbox REFERENCING NEW TABLE AS new_rows
             FOR EACH STATEMENT EXECUTE FUNCTION latchkey_outbox_notify_seq();
         END IF;
         -- The trigger of earlier versions notified with no payload (a wake-up the relay cannot tell apart).
         DROP TRIGGER IF EXISTS outbox_notify ON outbox;
         DROP FUNCTION IF EXISTS latchkey_outbox_notify();
       END $$;
       CREATE TABLE IF NOT EXISTS processed_events (
         consumer text NOT NULL,
         event_id text NOT NULL,
         processed_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (consumer, event_id)
       );`,
    )
    .catch((err: unknown) => {
      // Two replicas creating the same table at once: the loser sees a unique
      // violation, or the column, index, function or trigger the other one just added.
      if (!['23505', '42701', '42P07', '42710', '42723'].includes((err as { code?: string }).code ?? ''))
        throw wrapDbError(err, 'creating event tables');
    });
}

/**
 * Writes events in the caller's transaction; they are published after it
 * commits. An event larger than the bus carries (MAX_EVENT_BYTES) is refused
 * with `event.too_large` before anything is written, so the state change it
 * reports fails with it instead of leaving an event that can never go out.
 */
export async function enqueueEvents(tx: Queryable, events: OutgoingEvent<unknown>[]): Promise<void> {
  if (events.length === 0) return;
  for (const ev of events) {
    const bytes = eventBytes(ev.data);
    if (bytes > MAX_EVENT_BYTES) {
      throw new LatchkeyError(
        'event.too_large',
        `the event on ${ev.subject} this change causes would be ${bytes} bytes, over the ${MAX_EVENT_BYTES} bytes an event may carry on the bus: nothing was changed; make the request smaller (fewer references or shorter names)`,
        { kind: 'failed_precondition', details: { bytes, limit: MAX_EVENT_BYTES, type: ev.type } },
      );
    }
  }
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
     SELECT id, subject, type, data::json, $5::jsonb FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS t(id, subject, type, data)
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
  /** The event's body as it was stored (json keeps the text): sent as it is, never parsed here. */
  data: string;
  trace: Record<string, string>;
  created_at: Date;
}

/**
 * The next rows to publish, fairly: the pending rows are grouped in lanes
 * by subject (`latchkey.workload.stale.analytics` is one lane,
 * `latchkey.workload.deploying.finance` another), and each lane gives at most
 * its share of the batch, oldest first; so a backlog of one domain (100,000
 * stale events of a rotation) never holds up another domain's deployments
 * for more than one batch. The lanes are found with a loose index scan of
 * outbox_pending (one probe per lane, whatever the backlog).
 */
const FAIR_BATCH = `
  WITH RECURSIVE lanes (subject) AS (
    (SELECT subject FROM outbox WHERE published_at IS NULL AND dead_at IS NULL ORDER BY subject LIMIT 1)
    UNION ALL
    SELECT (SELECT o.subject FROM outbox o
            WHERE o.published_at IS NULL AND o.dead_at IS NULL AND o.subject > l.subject
            ORDER BY o.subject LIMIT 1)
    FROM lanes l WHERE l.subject IS NOT NULL
  ), live AS (SELECT subject FROM lanes WHERE subject IS NOT NULL),
  share AS (SELECT greatest(1, ceil($1::numeric / greatest(1, count(*))))::int AS n FROM live)
  SELECT r.seq, r.id, r.subject, r.type, r.data, r.trace, r.created_at, (SELECT n FROM share) AS share
  FROM live l CROSS JOIN LATERAL (
    SELECT o.seq, o.id, o.subject, o.type, o.data::text AS data, o.trace, o.created_at FROM outbox o
    WHERE o.subject = l.subject AND o.published_at IS NULL AND o.dead_at IS NULL
    ORDER BY o.seq LIMIT (SELECT n FROM share)
    FOR UPDATE SKIP LOCKED
  ) r
  ORDER BY r.seq LIMIT $1`;

/**
 * Whether some lane gave its whole share (and may hold more): only then can
 * FILL_BATCH find anything (a lane that gave less has no other row free).
 */
function someLaneFull(rows: readonly { subject: string; share: number }[]): boolean {
  const share = rows[0]?.share ?? 0;
  const perLane = new Map<string, number>();
  for (const r of rows) {
    const n = (perLane.get(r.subject) ?? 0) + 1;
    if (n >= share) return true;
    perLane.set(r.subject, n);
  }
  return false;
}

/** The rest of a batch whose lanes left room, oldest first. */
const FILL_BATCH = `
  SELECT seq, id, subject, type, data::text AS data, trace, created_at FROM outbox
  WHERE published_at IS NULL AND dead_at IS NULL AND seq <> ALL ($1::bigint[])
  ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED`;

/** How many of the rows it read lately a relay remembers (to tell its own notifications from news). */
const SEEN_ROWS = 10_000;

/** Why a row can never be published (it is then set aside), or undefined when a later try may succeed. */
function permanentFailure(err: unknown): string | undefined {
  const code = (err as { code?: unknown }).code;
  if (code === 'MAX_PAYLOAD_EXCEEDED') return "larger than the NATS server's max_payload";
  if (code === 'BAD_PAYLOAD') return 'not a payload NATS accepts';
  return undefined;
}

/** What one batch did. */
export interface BatchOutcome {
  published: number;
  /** Rows set aside (dead-lettered): they can never be published. */
  setAside: number;
  /** Rows that failed and stay pending, to be tried again. */
  failed: number;
  /** The first of those failures. */
  error?: unknown;
}

/**
 * Publishes committed outbox rows to JetStream, fairly across subjects and
 * oldest first within one. Replicas share the work through
 * `FOR UPDATE SKIP LOCKED`; a row is marked published only after JetStream
 * acknowledged it, and a re-publish after a crash is dropped by JetStream's
 * duplicate window (Nats-Msg-Id = event id). Each row has its own outcome: a
 * row that fails does not hold back the others of its batch, and a row that
 * can never be published (over MAX_EVENT_BYTES, or refused by the server as
 * too large) is set aside with its reason, logged and counted, instead of
 * being retried forever.
 *
 * It wakes when a row is committed, by anyone: it LISTENs on OUTBOX_CHANNEL
 * on a connection of its own (outside the pool, so that closing the pool never waits for it) and reads at once on each
 * notification, on kick() and after each (re)connect of that connection;
 * otherwise it reads every `idleMs` (OUTBOX_SAFETY_POLL_MS), so an idle
 * service costs next to nothing.
 */
export class OutboxRelay {
  private running = false;
  private wake: (() => void) | undefined;
  /** The LISTEN loop, and how to end its current wait. */
  private listening: Promise<void> | undefined;
  private unlisten: (() => void) | undefined;
  /** Set by kick(); a kick that arrives while a batch is being published is not lost. */
  private kicked = false;
  /** The seqs of the rows the latest batches read (the last SEEN_ROWS of them), oldest first. */
  private readonly seen = new Set<string>();
  /** Seqs notified since the last batch began that it had not read then. */
  private readonly notified = new Set<string>();
  /** How many rows the latest batch read. */
  private lastRead = 0;
  /**
   * Where the relay's loop is: between batches, in a batch that has not sent
   * its read yet (a commit kicked now is seen by that read), or past it.
   */
  private phase: 'idle' | 'before-read' | 'read-sent' = 'idle';
  private loop: Promise<void> | undefined;
  /** Rows this relay set aside since it started. */
  private setAsideTotal = 0;

  constructor(
    private readonly deps: {
      pool: Pool;
      js: JetStreamClient;
      logger: Logger;
      source: string;
      batchSize?: number;
      /** The safety poll's period when nothing wakes the relay (default OUTBOX_SAFETY_POLL_MS). */
      idleMs?: number;
    },
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    let listened!: () => void;
    const ready = new Promise<void>((resolve) => (listened = resolve));
    this.listening = this.listen(listened);
    // The first read once LISTEN is in place (or failed): a row committed in between wakes it.
    this.loop = ready.then(() => this.run());
  }

  /**
   * Call after committing events, so they go out without waiting for the
   * next poll. A kick while a batch is under way but has not sent its read
   * yet is already answered: that read sees what was committed before it
   * (its notification often wakes the relay before the committer kicks).
   */
  kick(): void {
    if (this.phase !== 'before-read') this.kicked = true;
    this.wake?.();
  }

  /**
   * A notification on OUTBOX_CHANNEL: `payload` is the highest seq of the
   * statement that inserted (an empty one, from an earlier version's
   * trigger, is a plain kick). A seq this relay has already read needs no
   * further read: that statement's rows were all visible to the batch that
   * read it (its transaction had committed), and a batch that could not take
   * them all was full and is followed by another anyway. This spares the
   * empty read that followed every batch (issue 18: three transactions per
   * deployment over the deployer's and the catalog's relays).
   */
  notify(payload: string): void {
    if (!/^\d+$/.test(payload)) {
      this.kick();
      return;
    }
    if (this.seen.has(payload)) return;
    this.notified.add(payload);
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unlisten?.();
    this.kick();
    await this.loop;
    await this.listening;
  }

  /**
   * Holds a connection (outside the pool) that LISTENs on OUTBOX_CHANNEL while the relay
   * runs, and kicks the relay on each notification. A lost connection is
   * made again (with a growing delay, at most 5 s), and the relay reads once
   * it is back, for what was committed meanwhile. `listened` is called after
   * the first attempt, whether it worked or not.
   */
  private async listen(listened: () => void): Promise<void> {
    let failures = 0;
    while (this.running) {
      let client: Connection | undefined;
      let lost: unknown;
      try {
        client = await connectOutsidePool(this.deps.pool);
        const c = client;
        const ended = new Promise<void>((resolve) => {
          c.on('error', (err) => {
            lost = err;
            resolve();
          });
          c.once('end', () => resolve());
          this.unlisten = resolve;
        });
        c.on('notification', (n) => {
          if (n.channel === OUTBOX_CHANNEL) this.notify(n.payload ?? '');
        });
        await c.query(`LISTEN ${OUTBOX_CHANNEL}`);
        if (failures > 0) this.deps.logger.info('outbox relay listens again', { failures });
        failures = 0;
        // Committed while there was no listener: read now (the first time, run() reads first anyway).
        this.kick();
        listened();
        if (this.running) await ended;
        lost ??= this.running ? new Error('the LISTEN connection ended') : undefined;
      } catch (err) {
        lost = err;
      } finally {
        this.unlisten = undefined;
        await client?.end().catch(() => undefined);
      }
      listened();
      if (!this.running) break;
      failures++;
      this.deps.logger.warn('outbox relay lost its LISTEN connection; it polls until it is back', {
        err: lost,
        failures,
      });
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, relayRetryDelayMs(failures));
        this.unlisten = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.unlisten = undefined;
    }
  }

  /**
   * Publishes one batch (default 1,000 rows, all in flight at once: a
   * rotation's 100,000 workload.stale events went out in 27 s with 200-row
   * batches, 18 s with 1,000); returns how many rows were done with
   * (published or set aside). Throws, after recording those, when some rows
   * failed and stay pending.
   */
  async publishBatch(): Promise<number> {
    const outcome = await this.relayBatch();
    if (outcome.failed > 0) {
      throw new LatchkeyError(
        'outbox.publish_failed',
        `${outcome.failed} event(s) could not be published and stay in the outbox; ${outcome.published} were published`,
        { kind: 'unavailable', cause: outcome.error },
      );
    }
    return outcome.published + outcome.setAside;
  }

  /**
   * One batch, each row with its own outcome. Its statements use their
   * generic plans: PostgreSQL planned the lanes query again on every run
   * (a custom plan for the batch size bound), 0.6 ms of its 1.5 ms (issue 18).
   */
  async relayBatch(): Promise<BatchOutcome> {
    return withTransaction(this.deps.pool, (tx) => this.relayIn(tx), { plans: 'generic' });
  }

  private get limit(): number {
    return this.deps.batchSize ?? 1000;
  }

  private async relayIn(tx: Queryable): Promise<BatchOutcome> {
    const limit = this.limit;
    this.phase = 'read-sent';
    const fair = await tx.query<OutboxRow & { share: number }>(FAIR_BATCH, [limit]);
    const rows: OutboxRow[] = fair.rows;
    if (rows.length > 0 && rows.length < limit && someLaneFull(fair.rows)) {
      // Lanes with less than their share leave room: the oldest other rows of the lanes cut at theirs fill it.
      const more = await tx.query<OutboxRow>(FILL_BATCH, [rows.map((r) => r.seq), limit - rows.length]);
      rows.push(...more.rows);
    }
    this.remember(rows);
    const outcome: BatchOutcome = { published: 0, setAside: 0, failed: 0 };
    if (rows.length === 0) return outcome;
    const results = await Promise.allSettled(rows.map((row) => this.publishRow(row)));
    const published: string[] = [];
    const dead: { row: OutboxRow; reason: string }[] = [];
    results.forEach((r, i) => {
      const row = rows[i]!;
      if (r.status === 'fulfilled') {
        if (r.value === undefined) published.push(row.seq);
        else dead.push({ row, reason: r.value });
        return;
      }
      const reason = permanentFailure(r.reason);
      if (reason) dead.push({ row, reason: `${reason} (${Buffer.byteLength(row.data, 'utf8')} bytes)` });
      else {
        outcome.failed++;
        outcome.error ??= r.reason;
      }
    });
    if (published.length > 0) {
      await tx.query('UPDATE outbox SET published_at = now() WHERE seq = ANY($1::bigint[])', [published]);
    }
    if (dead.length > 0) {
      await tx.query(
        `UPDATE outbox SET dead_at = now(), dead_reason = t.reason
         FROM unnest($1::bigint[], $2::text[]) AS t(seq, reason) WHERE outbox.seq = t.seq`,
        [dead.map((d) => d.row.seq), dead.map((d) => d.reason)],
      );
    }
    for (const { row, reason } of dead) {
      this.setAsideTotal++;
      this.deps.logger.error('outbox event set aside: it can never be published', {
        eventId: row.id,
        subject: row.subject,
        type: row.type,
        reason,
        setAside: this.setAsideTotal,
      });
    }
    outcome.published = published.length;
    outcome.setAside = dead.length;
    return outcome;
  }

  /** What a batch read: how many rows (a full batch is followed by another), and their seqs (the last SEEN_ROWS). */
  private remember(rows: readonly OutboxRow[]): void {
    this.lastRead = rows.length;
    for (const row of rows) this.seen.add(row.seq);
    for (const seq of this.seen) {
      if (this.seen.size <= SEEN_ROWS) break;
      this.seen.delete(seq);
    }
  }

  /** Publishes one row; resolves to why it can never be published when it is too large to try. */
  private async publishRow(row: OutboxRow): Promise<string | undefined> {
    // The body is the text as it was stored: compact from enqueueEvents and
    // markStale, but a row converted from an earlier (jsonb) outbox has a space
    // after each ':' and ','; only an event that is over the limit that way is
    // made compact (as enqueueEvents measured it) before it is judged.
    let body = row.data;
    let bytes = Buffer.byteLength(body, 'utf8');
    if (bytes > MAX_EVENT_BYTES) {
      body = JSON.stringify(JSON.parse(body));
      bytes = Buffer.byteLength(body, 'utf8');
    }
    if (bytes > MAX_EVENT_BYTES) return `${bytes} bytes, over the ${MAX_EVENT_BYTES} bytes an event may carry`;
    await this.deps.js.publish(row.subject, body, {
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
    });
    return undefined;
  }

  /**
   * The outbox's lag, for the metrics: rows committed and not yet published
   * (set-aside rows are not waiting), and seconds since the oldest of them
   * was written (0 when none is pending).
   */
  async lag(): Promise<{ pending: number; oldestSeconds: number }> {
    const { rows } = await this.deps.pool.query<{ pending: number; oldest: number }>(
      `SELECT count(*)::int AS pending,
              coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest
       FROM outbox WHERE published_at IS NULL AND dead_at IS NULL`,
    );
    return { pending: rows[0]?.pending ?? 0, oldestSeconds: Math.max(0, rows[0]?.oldest ?? 0) };
  }

  /** How many rows are set aside in the outbox; logged at start so that operators see them. */
  async countSetAside(): Promise<number> {
    const { rows } = await this.deps.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM outbox WHERE dead_at IS NOT NULL',
    );
    return rows[0]?.n ?? 0;
  }

  /** Says, once at start, how many rows earlier runs set aside (beside the first batches, not before them). */
  private async reportSetAside(): Promise<void> {
    try {
      const setAside = await this.countSetAside();
      if (setAside > 0) {
        this.deps.logger.warn('the outbox holds events set aside because they can never be published', {
          setAside,
          see: 'SELECT seq, id, subject, dead_at, dead_reason FROM outbox WHERE dead_at IS NOT NULL',
        });
      }
    } catch (err) {
      this.deps.logger.warn('could not count the outbox events set aside', { err });
    }
  }

  private async run(): Promise<void> {
    const reported = this.reportSetAside();
    let failures = 0;
    while (this.running) {
      this.kicked = false;
      this.lastRead = 0;
      this.phase = 'before-read';
      try {
        await this.publishBatch();
        failures = 0;
      } catch (err) {
        // The rows that went out (or were set aside) are recorded; the others are tried again.
        failures++;
        this.deps.logger.warn('outbox relay could not publish; will retry', { err, failures });
      }
      // More may be waiting: rows beyond a full batch, or rows committed while
      // this batch was being read (a kick, or a notification of a row it did
      // not read). Each notification is worth one read: a row it names that
      // another replica holds (FOR UPDATE SKIP LOCKED) is that replica's to publish.
      this.phase = 'idle';
      const unread = [...this.notified].some((seq) => !this.seen.has(seq));
      this.notified.clear();
      if ((this.lastRead >= this.limit || this.kicked || unread) && failures === 0) continue;
      const idle = failures > 0 ? relayRetryDelayMs(failures) : (this.deps.idleMs ?? OUTBOX_SAFETY_POLL_MS);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, idle);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
    await reported;
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
