import type pg from 'pg';
import type { NatsConnection } from 'nats';
import { waitFor } from '@latchkey/testing';
import { connectEmbeddedBus } from './bus-harness.js';
import { openDatabase } from './canary-scan.js';

export const SERVICE_DATABASES = ['latchkey_catalog', 'latchkey_ras', 'latchkey_deployer'] as const;

/**
 * Tables left out of "nothing changed", and why:
 * - `audit_records` (ras): a refused call is audited by design, so refusals add rows
 *   (held apart: rows are only ever added, see auditIds);
 * - `outbox`, `processed_events` (every service): the delivery of those audit events
 *   (the outbox row the relay publishes, the inbox row of the consumer that took it).
 * Every other table of every service database is compared.
 */
export const CHANGING_ON_REFUSALS = new Set(['audit_records', 'outbox', 'processed_events']);

/** `database.table` → row count and md5 of every row's text, in a stable order. */
export type Snapshot = Map<string, string>;

/** The state of the three service databases of a running system, compared around every fuzz case. */
export interface StateProbe {
  snapshot(): Promise<Snapshot>;
  /** The tables whose rows differ. */
  changed(before: Snapshot, after: Snapshot): string[];
  /** Waits until what an accepted write set off is done (every outbox row out, every durable consumer caught up). */
  settle(): Promise<void>;
  /** Every audit record id (refusals add some; none may go). */
  auditIds(): Promise<Set<string>>;
  close(): Promise<void>;
}

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export async function openStateProbe(home: string): Promise<StateProbe> {
  const clients = new Map<string, pg.Client>();
  const queries = new Map<string, string>();
  for (const db of SERVICE_DATABASES) {
    const client = await openDatabase(home, db);
    // The system's PostgreSQL may stop first when the test ends (its after hooks): that ends the connection, harmlessly.
    client.on('error', () => undefined);
    clients.set(db, client);
    const tables = (
      await client.query<{ tablename: string }>(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
      )
    ).rows
      .map((r) => r.tablename)
      .filter((t) => !CHANGING_ON_REFUSALS.has(t));
    queries.set(
      db,
      tables
        .map(
          (t) =>
            `SELECT '${t}' AS t, count(*)::text || ':' || md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) AS h FROM ${quote(t)} x`,
        )
        .join(' UNION ALL '),
    );
  }
  const nc: NatsConnection = await connectEmbeddedBus(home);
  const jsm = await nc.jetstreamManager();

  const snapshot = async (): Promise<Snapshot> => {
    const out: Snapshot = new Map();
    for (const [db, client] of clients) {
      const r = await client.query<{ t: string; h: string }>(queries.get(db)!);
      for (const row of r.rows) out.set(`${db}.${row.t}`, row.h);
    }
    return out;
  };

  const busy = async (): Promise<string | undefined> => {
    for (const [db, client] of clients) {
      const r = await client.query<{ n: string }>(
        'SELECT count(*)::text AS n FROM outbox WHERE published_at IS NULL AND dead_at IS NULL',
      );
      if (r.rows[0]?.n !== '0') return `${db} outbox holds ${r.rows[0]?.n} unpublished events`;
    }
    for await (const si of jsm.streams.list()) {
      for await (const ci of jsm.consumers.list(si.config.name)) {
        if (ci.num_pending > 0 || ci.num_ack_pending > 0)
          return `consumer ${ci.name} of ${si.config.name}: ${ci.num_pending} pending, ${ci.num_ack_pending} unacknowledged`;
      }
    }
    return undefined;
  };

  return {
    snapshot,
    changed: (before, after) =>
      [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k)),
    async settle() {
      await waitFor(
        async () => {
          const why = await busy();
          if (why !== undefined) throw new Error(why);
          return true;
        },
        { what: 'the system to settle after an accepted write', timeoutMs: 30_000, intervalMs: 20 },
      );
    },
    async auditIds() {
      const r = await clients.get('latchkey_ras')!.query<{ id: string }>('SELECT id::text AS id FROM audit_records');
      return new Set(r.rows.map((x) => x.id));
    },
    async close() {
      if (nc.isClosed()) return;
      await nc.close();
      for (const c of clients.values()) await c.end().catch(() => undefined);
    },
  };
}
