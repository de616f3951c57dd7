import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { test, type TestContextHookFn } from 'node:test';
import { connect, StringCodec } from 'nats';
import pg from 'pg';
import { startTestNats } from './test-nats.js';
import { freshDatabase } from './fresh-database.js';
import { SHARED_POSTGRES_ENV, sharedTestPostgres, startSharedTestPostgres } from './shared-postgres.js';
import { createTestDatabase, startTestPostgres } from './test-postgres.js';
import { tempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

test('startTestNats gives a working JetStream server whose store is removed on stop', async () => {
  const nats = await startTestNats();
  let stopped = false;
  try {
    const nc = await connect({ servers: nats.url });
    try {
      const sc = StringCodec();
      const sub = nc.subscribe('ping');
      const received: string[] = [];
      void (async () => {
        for await (const m of sub) received.push(sc.decode(m.data));
      })();
      nc.publish('ping', sc.encode('pong'));
      await waitFor(() => received.length > 0, { what: 'the ping message' });
      assert.deepEqual(received, ['pong']);
      const info = await (await nc.jetstreamManager()).getAccountInfo();
      assert.equal(info.streams, 0);
    } finally {
      await nc.close();
    }
    await nats.stop();
    stopped = true;
    await assert.rejects(connect({ servers: nats.url, reconnect: false, timeout: 1000 }));
  } finally {
    if (!stopped) await nats.stop();
  }
});

test('startTestPostgres creates databases, createTestDatabase adds one to the running instance, stop removes the data', async () => {
  const db = await startTestPostgres(['first']);
  const dataDir = db.dataDir;
  try {
    const url = await createTestDatabase(db, 'second');
    assert.equal(url, db.connectionString('second'));
    for (const name of ['first', 'second']) {
      const client = new pg.Client({ connectionString: db.connectionString(name) });
      await client.connect();
      try {
        const res = await client.query<{ current_database: string }>('SELECT current_database()');
        assert.equal(res.rows[0]?.current_database, name);
      } finally {
        await client.end();
      }
    }
  } finally {
    await db.stop();
  }
  await assert.rejects(fs.stat(dataDir), { code: 'ENOENT' });
});

test("a run's shared PostgreSQL: each file's handle makes fresh databases there, and releasing it drops them and leaves the cluster running", async (t) => {
  const saved = process.env[SHARED_POSTGRES_ENV];
  t.after(() => {
    if (saved === undefined) delete process.env[SHARED_POSTGRES_ENV];
    else process.env[SHARED_POSTGRES_ENV] = saved;
  });
  delete process.env[SHARED_POSTGRES_ENV];
  assert.equal(sharedTestPostgres(), undefined, 'a file run on its own has no shared PostgreSQL');
  const run = await startSharedTestPostgres();
  t.after(() => run.stop());
  Object.assign(process.env, run.env);
  const [one, two] = [sharedTestPostgres(), sharedTestPostgres()];
  assert.ok(one && two);
  assert.equal(one.port, two.port, 'both files reach the one cluster');
  const names = async (): Promise<string[]> => {
    const client = new pg.Client({ connectionString: one.connectionString('postgres') });
    await client.connect();
    try {
      const res = await client.query<{ datname: string }>(
        "SELECT datname FROM pg_database WHERE datname LIKE 'shared_%'",
      );
      return res.rows.map((r) => r.datname).sort();
    } finally {
      await client.end();
    }
  };
  // The first file's test ends in the middle of this one: its pool is closed here, before its handle is released.
  const endOfFirst: TestContextHookFn[] = [];
  const firstTest = { after: (fn?: TestContextHookFn) => void (fn && endOfFirst.push(fn)) };
  const a = await freshDatabase(firstTest, one, { prefix: 'shared_one' });
  const b = await freshDatabase(t, two, { prefix: 'shared_two' });
  await a.pool.query('CREATE TABLE mine (id int)');
  const seen = await b.pool.query("SELECT 1 FROM pg_tables WHERE tablename = 'mine'");
  assert.equal(seen.rowCount, 0, "one file's database is not the other's");
  assert.equal((await names()).length, 2);
  for (const end of endOfFirst) await end(t, () => undefined);
  await one.stop();
  const left = await names();
  assert.equal(left.length, 1, `the released handle's database is dropped: ${left.join(', ')}`);
  assert.match(left[0] ?? '', /^shared_two_/, "the other file's database stays");
  assert.equal((await b.pool.query<{ n: number }>('SELECT 1 AS n')).rows[0]?.n, 1, 'the cluster still runs');
});

test('tempDir creates a directory that cleanup removes', async () => {
  const dir = await tempDir('latchkey-tempdir-test-');
  assert.ok((await fs.stat(dir.path)).isDirectory());
  await dir.cleanup();
  await assert.rejects(fs.stat(dir.path), { code: 'ENOENT' });
  await dir.cleanup();
});
