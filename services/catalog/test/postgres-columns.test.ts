import assert from 'node:assert/strict';
import { test } from 'node:test';
import { preparedName } from '@latchkey/db';
import { tableColumns } from '@latchkey/testing';
import { META_COLUMNS, SECRET_COLUMN_NAMES } from '../src/adapters/postgres-secret-rows.js';
import { catalogDatabase, usePostgres } from './support.js';

const postgres = usePostgres();

test('the column list the catalog reads secrets by is the columns of its migrated table, and the statements that use it are prepared', async (t) => {
  const { pool } = await catalogDatabase(t, postgres(), { prefix: 'catalog_columns' });
  // A migration that adds a column adds it to the list too (or this fails): a row reads every column.
  assert.deepEqual([...SECRET_COLUMN_NAMES].sort(), await tableColumns(pool, 'secrets'));
  assert.ok(preparedName(`SELECT ${META_COLUMNS} FROM secrets s WHERE s.scope = $1 AND s.key = $2`));
});
