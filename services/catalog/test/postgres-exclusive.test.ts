/** postgresExclusive holds a pooled connection around work that is not a query: losing it must not end the service. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { createPool } from '@latchkey/db';
import type { Logger } from '@latchkey/logger';
import { acquireTestPostgres, freshDatabase, waitFor, type TestPostgres } from '@latchkey/testing';
import { postgresExclusive } from '../src/adapters/postgres-exclusive.js';

let postgres: TestPostgres;
before(async () => {
  postgres = await acquireTestPostgres();
});
after(() => postgres?.stop());

test('a connection lost while the exclusive work runs (PostgreSQL restarted) is logged, not an uncaught error; the next round works', async (t) => {
  const { url } = await freshDatabase(t, postgres, { prefix: 'exclusive_lost' });
  const warnings: string[] = [];
  const logger = { warn: (msg: string) => void warnings.push(msg) } as unknown as Logger;
  const pool = createPool(url, logger, 2);
  t.after(() => pool.end());
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => void uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  t.after(() => void process.off('uncaughtException', onUncaught));
  const exclusive = postgresExclusive(pool);

  const done = await exclusive('lost-connection', async () => {
    // What a restart does to the held connection: the server ends it while no query runs on it.
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
    } finally {
      await admin.end();
    }
    await waitFor(() => warnings.includes('database connection lost while in use'), {
      what: 'the lost connection to be reported',
      timeoutMs: 10_000,
    });
    return 'finished';
  });
  assert.equal(done, 'finished', 'the work ran to its end');
  assert.deepEqual(uncaught, []);
  // The pool dropped the broken client: the next round gets a working one and the lock.
  assert.equal(await exclusive('lost-connection', () => Promise.resolve('again')), 'again');
});
