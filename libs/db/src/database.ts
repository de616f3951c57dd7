import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { LatchkeyError, unavailable } from '@latchkey/errors';
import type { Logger } from '@latchkey/logger';

export type Queryable = Pick<pg.PoolClient, 'query'>;
export type Pool = pg.Pool;
export type Connection = pg.Client;

/** Connection failures and the like: worth retrying, not the caller's fault. */
const RETRYABLE_PG = new Set([
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
  '40001',
  '40P01',
]);

export function isRetryableDbError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (
    typeof e.code === 'string' &&
    (RETRYABLE_PG.has(e.code) || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'].includes(e.code))
  ) {
    return true;
  }
  return /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect/i.test(e.message ?? '');
}

/** Wraps a driver error so that nothing of the query's parameters leaks into the message. */
export function wrapDbError(err: unknown, what: string): LatchkeyError {
  if (err instanceof LatchkeyError) return err;
  if (isRetryableDbError(err))
    return unavailable('db.unavailable', `database unavailable while ${what}; try again`, err);
  const code = (err as { code?: string }).code ?? 'unknown';
  return new LatchkeyError('db.error', `database error ${code} while ${what}`, { cause: err });
}

/**
 * At most this many distinct statement texts are prepared (named); any
 * beyond them run unnamed, as before, so that SQL built with a varying text
 * cannot grow every connection's set of prepared statements without end.
 */
export const MAX_PREPARED_STATEMENTS = 1000;

const statementNames = new Map<string, string>();

/**
 * The name a statement is prepared under on each connection, or undefined
 * when it is run unnamed: a statement is named when it has parameters (so
 * it is one statement of a fixed text; a script of several cannot be) and
 * no `*` (a `SELECT *`, `RETURNING *` or `t.*` changes its result columns
 * when a migration adds one, and PostgreSQL refuses to run a prepared
 * statement whose result type changed; a named statement with its columns
 * listed is replanned by PostgreSQL after any migration). `count(*)` is no
 * such `*`: it is one column whatever the table holds.
 */
const COUNT_STAR = /\bcount\s*\(\s*\*\s*\)/gi;

export function preparedName(text: string): string | undefined {
  let name = statementNames.get(text);
  if (name !== undefined) return name;
  if (text.replace(COUNT_STAR, '').includes('*') || statementNames.size >= MAX_PREPARED_STATEMENTS) return undefined;
  name = `lk_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
  statementNames.set(text, name);
  return name;
}

/**
 * `x, y, …`, or `a.x, a.y, …` with a table alias: the columns a row type
 * reads, for a SELECT or RETURNING that lists them rather than `*` (so that
 * it is prepared: see preparedName).
 */
export function columnList(names: readonly string[], alias?: string): string {
  return names.map((n) => (alias ? `${alias}.${n}` : n)).join(', ');
}

/**
 * A connection that prepares each parameterised statement once and then
 * only binds and executes it: PostgreSQL parses, analyses and (after five
 * runs, when its generic plan is as good) plans it once per connection
 * instead of on every call, and the text is not sent again. Measured in the
 * throughput scenario (issue 18): PostgreSQL's CPU per deployment 12.4 ->
 * 10.4 ms, 49 -> 53 deployments/s. The services list the columns they read
 * (each list held equal to its migrated table by a test in the service), so
 * none of their statements has a `*` and all are named. A connection pooler in front of PostgreSQL must keep
 * prepared statements per client (PgBouncer: session pooling, or
 * max_prepared_statements in transaction pooling).
 */
class PreparingClient extends pg.Client {
  override query(...args: unknown[]): never {
    // (text, values) from a transaction's client, (text, values, callback) from pool.query.
    const [config, values, callback] = args;
    const plain = args.length === 2 || (args.length === 3 && typeof callback === 'function');
    if (plain && typeof config === 'string' && Array.isArray(values) && values.length > 0) {
      const name = preparedName(config);
      if (name !== undefined) {
        return (super.query as (...a: unknown[]) => never)({ text: config, values, name }, ...args.slice(2));
      }
    }
    return (super.query as (...a: unknown[]) => never)(...args);
  }
}

export function createPool(connectionString: string, logger?: Logger, max = 10): Pool {
  const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: 5000, Client: PreparingClient });
  // An idle client's error (server restart) must not crash the process.
  pool.on('error', (err) => logger?.warn('idle database connection failed', { err }));
  // Nor a checked-out one's: pg-pool listens only while a client is idle, so a
  // connection lost while its holder waits between queries (an advisory lock
  // held around a Vault call, a transaction awaiting other I/O) emitted an
  // unhandled 'error' and ended the service. The holder's next query fails
  // (db.unavailable), and the pool drops the client when it is released.
  pool.on('connect', (client) =>
    client.on('error', (err) => logger?.warn('database connection lost while in use', { err })),
  );
  return pool;
}

/**
 * A connection of its own to `pool`'s database, outside the pool (so that
 * pool.end() never waits for it), for a long LISTEN; the caller ends it.
 */
export async function connectOutsidePool(pool: Pool): Promise<pg.Client> {
  const client = new pg.Client(pool.options);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}

/**
 * Settings a transaction can start with, sent with its BEGIN (one round trip).
 * `plans` (plan_cache_mode for the transaction's prepared statements):
 * `generic`, planned once per connection, for statements whose best plan
 * does not depend on the values bound (PostgreSQL otherwise keeps planning
 * some of them again on every run); `custom`, planned for the values of
 * each run, for those whose best plan does (a generic plan PostgreSQL
 * switched to after five runs can be much slower there).
 */
export interface TransactionOptions {
  plans?: 'generic' | 'custom';
}

const BEGIN = {
  default: 'BEGIN',
  generic: 'BEGIN; SET LOCAL plan_cache_mode = force_generic_plan',
  custom: 'BEGIN; SET LOCAL plan_cache_mode = force_custom_plan',
} as const;

/** Runs `fn` in one transaction: committed if it returns, rolled back if it throws. */
export async function withTransaction<T>(
  pool: Pool,
  fn: (tx: pg.PoolClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw wrapDbError(err, 'connecting');
  }
  try {
    await client.query(BEGIN[options.plans ?? 'default']);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Applies the numbered `*.sql` files of `dir` that have not been applied yet,
 * each in its own transaction, under an advisory lock so that replicas
 * starting together migrate once.
 */
export async function migrate(pool: Pool, dir: string, logger?: Logger): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => /^\d+.*\.sql$/.test(f)).sort();
  const applied: string[] = [];
  const client = await pool.connect().catch((err: unknown) => {
    throw wrapDbError(err, 'connecting to migrate');
  });
  try {
    await client.query('SELECT pg_advisory_lock(724242)');
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set(
      (await client.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name),
    );
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = await readFile(join(dir, file), 'utf8');
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new LatchkeyError('db.migration_failed', `migration ${file} failed`, { cause: err });
      }
      applied.push(file);
      logger?.info('migration applied', { migration: file });
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(724242)').catch(() => undefined);
    client.release();
  }
  return applied;
}
