/**
 * Database work per unit: transactions and rows from `pg_stat_database` of the
 * catalog's and the deployer's databases, before and after a measurement.
 */
import pg from 'pg';

export interface PgActivity {
  xacts: number;
  fetched: number;
  written: number;
}

const COUNTERS = `SELECT xact_commit + xact_rollback AS xacts, tup_fetched AS fetched,
  tup_inserted + tup_updated + tup_deleted AS written
  FROM pg_stat_database WHERE datname = current_database()`;

export async function pgActivity(urls: Record<string, string>): Promise<Record<string, PgActivity>> {
  const out: Record<string, PgActivity> = {};
  for (const [name, url] of Object.entries(urls)) {
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const row = (await db.query<Record<keyof PgActivity, string>>(COUNTERS)).rows[0];
      // This query's own transaction is counted too: one per snapshot, negligible beside a run's thousands.
      out[name] = {
        xacts: Number(row?.xacts ?? 0),
        fetched: Number(row?.fetched ?? 0),
        written: Number(row?.written ?? 0),
      };
    } finally {
      await db.end();
    }
  }
  return out;
}

/**
 * PostgreSQL (15 and later) folds a backend's counters into pg_stat_database
 * at most once a second while busy and within 10 s once idle
 * (PGSTAT_IDLE_INTERVAL): a snapshot is taken that long after the work.
 */
export const PG_STATS_SETTLE_MS = 11_000;

/** `catalog 3.0 xacts, 12.0 rows read, 2.0 written; deployer ...` per unit. */
export function pgPerUnit(
  before: Record<string, PgActivity>,
  after: Record<string, PgActivity>,
  units: number,
): string {
  return Object.keys(after)
    .map((k) => {
      const a = after[k]!;
      const b = before[k] ?? { xacts: 0, fetched: 0, written: 0 };
      const per = (x: number) => (x / units).toFixed(1);
      return `${k} ${per(a.xacts - b.xacts)} transactions, ${per(a.fetched - b.fetched)} rows read, ${per(a.written - b.written)} written`;
    })
    .join('; ');
}
