import assert from 'node:assert/strict';
import { test } from 'node:test';
import { preparedName } from '@latchkey/db';
import { tableColumns } from '@latchkey/testing';
import { columnsOf, TABLE_COLUMNS } from '../src/adapters/postgres-columns.js';
import { startRas, usePostgres } from './ras-fixture.js';

const postgres = usePostgres();

test('the column lists ras reads its tables by are the columns of the migrated tables, and the statements that use them are prepared', async (t) => {
  const { pool } = await startRas(t, postgres());
  for (const [table, listed] of Object.entries(TABLE_COLUMNS)) {
    // A migration that adds a column adds it to the list too (or this fails): a row reads every column.
    assert.deepEqual([...listed].sort(), await tableColumns(pool, table), table);
    const text = `SELECT ${columnsOf(table as keyof typeof TABLE_COLUMNS)} FROM ${table} LIMIT $1`;
    assert.ok(preparedName(text), `named: ${text}`);
  }
});
