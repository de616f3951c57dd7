import pg from 'pg';
import type { TestPostgres } from './test-postgres.js';
import { startTestPostgres } from './test-postgres.js';

/**
 * The variable through which scripts/run-tests.mjs hands its one test
 * PostgreSQL to every test file it runs (JSON: host, port, user, password,
 * dataDir, pid). Starting a cluster costs about 2.5 s of CPU (initdb, start,
 * stop), so a run starts one instead of one per test file; each test still
 * gets a fresh database of its own (freshDatabase).
 */
export const SHARED_POSTGRES_ENV = 'LATCHKEY_TEST_POSTGRES';

interface SharedPostgresInfo {
  host: '127.0.0.1';
  port: number;
  user: string;
  password: string;
  dataDir: string;
  pid: number;
}

/** Starts the cluster a test run shares; `env` is what to add to the environment of the test files. */
export async function startSharedTestPostgres(): Promise<{ env: Record<string, string>; stop(): Promise<void> }> {
  const postgres = await startTestPostgres([]);
  const info: SharedPostgresInfo = {
    host: postgres.host,
    port: postgres.port,
    user: postgres.user,
    password: postgres.password,
    dataDir: postgres.dataDir,
    pid: postgres.pid,
  };
  return { env: { [SHARED_POSTGRES_ENV]: JSON.stringify(info) }, stop: () => postgres.stop() };
}

function parseInfo(text: string): SharedPostgresInfo {
  let info: Partial<SharedPostgresInfo>;
  try {
    info = JSON.parse(text) as Partial<SharedPostgresInfo>;
  } catch {
    throw new Error(`${SHARED_POSTGRES_ENV} is not JSON: unset it, or let scripts/run-tests.mjs set it`);
  }
  const { host, port, user, password, dataDir, pid } = info;
  if (
    host !== '127.0.0.1' ||
    typeof port !== 'number' ||
    typeof user !== 'string' ||
    typeof password !== 'string' ||
    typeof dataDir !== 'string' ||
    typeof pid !== 'number'
  ) {
    throw new Error(
      `${SHARED_POSTGRES_ENV} lacks host 127.0.0.1, port, user, password, dataDir or pid: unset it, or let scripts/run-tests.mjs set it`,
    );
  }
  return { host, port, user, password, dataDir, pid };
}

const urlOf = (info: SharedPostgresInfo, db: string): string =>
  `postgres://${encodeURIComponent(info.user)}:${encodeURIComponent(info.password)}@${info.host}:${info.port}/${encodeURIComponent(db)}`;

async function onMaintenanceDb<T>(info: SharedPostgresInfo, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: urlOf(info, 'postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * The run's shared PostgreSQL (see SHARED_POSTGRES_ENV), or undefined when the
 * file runs on its own. `stop()` drops the databases made through this
 * handle that nothing uses any more and leaves the cluster running (the run
 * stops it); a database still in use is left for the cluster's end.
 */
export function sharedTestPostgres(): TestPostgres | undefined {
  const text = process.env[SHARED_POSTGRES_ENV];
  if (text === undefined || text === '') return undefined;
  const info = parseInfo(text);
  const created = new Set<string>();
  return {
    ...info,
    connectionString: (db) => urlOf(info, db),
    createDatabase: (name) =>
      onMaintenanceDb(info, async (client) => {
        created.add(name);
        const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        if ((existing.rowCount ?? 0) > 0) return;
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`).catch((err: unknown) => {
          // 42P04 duplicate_database: created concurrently, which is fine.
          if ((err as { code?: string }).code !== '42P04') throw err;
        });
      }),
    stop: async () => {
      const names = [...created];
      created.clear();
      if (names.length === 0) return;
      await onMaintenanceDb(info, async (client) => {
        for (const name of names) {
          await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)}`).catch(() => undefined);
        }
      });
    },
  };
}

/**
 * The run's shared PostgreSQL when there is one, else a throwaway cluster of
 * its own (startTestPostgres). Either way `stop()` releases it (drops the
 * databases made through it, or stops the cluster). For a fixture's
 * before/after pair; usePostgres() is the same for a whole file.
 */
export async function acquireTestPostgres(): Promise<TestPostgres> {
  return sharedTestPostgres() ?? (await startTestPostgres([]));
}
