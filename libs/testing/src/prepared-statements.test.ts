import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_PREPARED_STATEMENTS, preparedName, withTransaction, type Pool } from '@latchkey/db';
import { usePostgres } from './file-fixtures.js';
import { freshDatabase } from './fresh-database.js';

const postgres = usePostgres();

/** The statements prepared on the connection that runs this query. */
async function preparedOn(client: { query: Pool['query'] }): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name');
  return rows.map((r) => r.name);
}

test("a pool's parameterised statement is prepared once per connection and then only executed; one without parameters, or with a *, runs unnamed", async (t) => {
  const { pool } = await freshDatabase(t, postgres(), { prefix: 'prepared', poolSize: 1 });
  const client = await pool.connect();
  try {
    await preparedAndUnnamed(client);
  } finally {
    client.release();
  }
});

async function preparedAndUnnamed(client: { query: Pool['query'] }): Promise<void> {
  const sum = 'SELECT $1::int + $2::int AS n';
  for (const [a, b] of [
    [1, 2],
    [40, 2],
  ]) {
    assert.equal((await client.query<{ n: number }>(sum, [a, b])).rows[0]?.n, a! + b!);
  }
  const name = preparedName(sum);
  assert.match(name ?? '', /^lk_[0-9a-f]{32}$/);
  assert.deepEqual(await preparedOn(client), [name], 'prepared once, under its name');

  await client.query('CREATE TABLE t (id int PRIMARY KEY, a text); INSERT INTO t VALUES (1, $$one$$)');
  assert.equal(preparedName('SELECT * FROM t WHERE id = $1'), undefined);
  assert.equal((await client.query('SELECT * FROM t WHERE id = $1', [1])).rows.length, 1);
  assert.equal((await client.query('SELECT count(*)::int AS n FROM t')).rows[0]?.n, 1);
  assert.deepEqual(await preparedOn(client), [name], 'nothing with a * and nothing without parameters prepared');
  // count(*) is one column whatever the table holds: named like any statement without a *.
  const counted = 'SELECT count(*)::int AS n, COUNT ( * ) AS m FROM t WHERE id > $1';
  assert.equal((await client.query<{ n: number }>(counted, [0])).rows[0]?.n, 1);
  assert.deepEqual(await preparedOn(client), [name, preparedName(counted)].sort());
  assert.equal(preparedName('SELECT count(*), t.* FROM t WHERE id = $1'), undefined, 'a * beside it still counts');
}

test('a prepared statement keeps working across a migration of its table: a column added, another one retyped', async (t) => {
  const { pool } = await freshDatabase(t, postgres(), { prefix: 'prepared', poolSize: 1 });
  await pool.query('CREATE TABLE w (id int PRIMARY KEY, name text NOT NULL, data jsonb NOT NULL)');
  await pool.query(`INSERT INTO w VALUES (1, 'a', '{"k": 1}')`);
  const read = 'SELECT name, data::text AS data FROM w WHERE id = $1';
  const write = 'INSERT INTO w (id, name, data) VALUES ($1, $2, $3::jsonb)';
  // Five runs and more: PostgreSQL may have switched to a generic plan by now.
  for (let i = 0; i < 7; i++) assert.equal((await pool.query<{ name: string }>(read, [1])).rows[0]?.name, 'a');
  await pool.query(write, [2, 'b', '{"k":2}']);
  await pool.query('ALTER TABLE w ADD COLUMN extra text');
  await pool.query('ALTER TABLE w ALTER COLUMN data TYPE json USING data::json');
  assert.deepEqual((await pool.query(read, [1])).rows, [{ name: 'a', data: '{"k": 1}' }]);
  await pool.query(write, [3, 'c', '{"k":3}']);
  assert.deepEqual(
    (await pool.query(read, [3])).rows,
    [{ name: 'c', data: '{"k": 3}' }],
    'written after (its jsonb cast, then stored as json)',
  );
  assert.deepEqual(
    (await pool.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name')).rows.map(
      (r) => r.name,
    ),
    [preparedName(read), preparedName(write)].sort(),
  );
});

test('no more than MAX_PREPARED_STATEMENTS distinct texts are ever named: SQL built with a varying text runs unnamed beyond them', () => {
  const names = new Set<string>();
  for (let i = 0; i < MAX_PREPARED_STATEMENTS + 50; i++) {
    const name = preparedName(`SELECT $1::int + ${i} AS n`);
    if (name !== undefined) names.add(name);
  }
  assert.ok(names.size <= MAX_PREPARED_STATEMENTS, `${names.size} named`);
  assert.equal(preparedName(`SELECT $1::int + ${MAX_PREPARED_STATEMENTS + 49} AS n`), undefined);
  // One named before the cap keeps its name.
  assert.ok(preparedName('SELECT $1::int + 0 AS n') !== undefined);
});

test('a transaction can plan its prepared statements generically or per run; the setting ends with it', async (t) => {
  const { pool } = await freshDatabase(t, postgres(), { prefix: 'prepared', poolSize: 1 });
  const mode = async (q: { query: Pool['query'] }) =>
    (await q.query<{ plan_cache_mode: string }>('SHOW plan_cache_mode')).rows[0]?.plan_cache_mode;
  assert.equal(await withTransaction(pool, (tx) => mode(tx), { plans: 'generic' }), 'force_generic_plan');
  assert.equal(await withTransaction(pool, (tx) => mode(tx), { plans: 'custom' }), 'force_custom_plan');
  assert.equal(await withTransaction(pool, (tx) => mode(tx)), 'auto');
  assert.equal(await mode(pool), 'auto', 'the pooled connection is back to the default');
  await assert.rejects(
    withTransaction(pool, () => Promise.reject(new Error('rolled back')), { plans: 'generic' }),
    /rolled back/,
  );
  assert.equal(await mode(pool), 'auto');
});
