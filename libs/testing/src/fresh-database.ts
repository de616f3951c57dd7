import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import type { Pool } from 'pg';
import { createPool, migrate } from '@latchkey/db';
import type { TestPostgres } from './test-postgres.js';
import { createTestDatabase } from './test-postgres.js';

export interface FreshDatabaseOptions {
  /**
   * The new database's name starts with this (the process id, a counter and a
   * random part make it unique in a PostgreSQL that test files share).
   */
  prefix: string;
  /** A folder of numbered `.sql` migrations to apply (a service's `migrations/`). */
  migrations?: string;
  /** Runs before the migrations, e.g. libs/events' `ensureEventTables`. */
  prepare?: (pool: Pool) => Promise<unknown>;
  /** The pool's size (default 10). */
  poolSize?: number;
}

export interface FreshDatabase {
  pool: Pool;
  url: string;
}

let count = 0;

/**
 * A new database in a running test PostgreSQL, prepared and migrated, its pool
 * closed when the test `t` ends.
 */
export async function freshDatabase(
  t: Pick<TestContext, 'after'>,
  postgres: TestPostgres,
  opts: FreshDatabaseOptions,
): Promise<FreshDatabase> {
  const name = `${opts.prefix}_${process.pid}_${++count}_${randomBytes(3).toString('hex')}`;
  const url = await createTestDatabase(postgres, name);
  const pool = createPool(url, undefined, opts.poolSize ?? 10);
  t.after(() => pool.end());
  if (opts.prepare) await opts.prepare(pool);
  if (opts.migrations !== undefined) await migrate(pool, opts.migrations);
  return { pool, url };
}

/**
 * The columns of `table` in the database's current schema, sorted by name:
 * what a service's listed columns (libs/db columnList) are held equal to.
 */
export async function tableColumns(pool: Pick<Pool, 'query'>, table: string): Promise<string[]> {
  const { rows } = await pool.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = $1 ORDER BY column_name`,
    [table],
  );
  return rows.map((r) => r.column_name);
}
