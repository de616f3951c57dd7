import assert from 'node:assert/strict';
import { test } from 'node:test';
import { preparedName } from '@latchkey/db';
import { tableColumns } from '@latchkey/testing';
import {
  DEPLOYMENT_COLUMN_NAMES,
  DEPLOYMENT_COLUMNS,
  DEPLOYMENT_SELECT,
  WORKLOAD_COLUMN_NAMES,
  WORKLOAD_COLUMNS,
} from '../src/adapters/postgres-rows.js';
import { migratedPool, usePostgres } from './deployer-test-support.js';

const postgres = usePostgres();

test('the column lists the deployer reads are the columns of its migrated tables, and the statements that use them are prepared', async (t) => {
  const pool = await migratedPool(t, postgres(), 'deployer_columns');
  // A migration that adds a column adds it to the list too (or this fails): rows read every column.
  assert.deepEqual([...WORKLOAD_COLUMN_NAMES].sort(), await tableColumns(pool, 'workloads'));
  assert.deepEqual([...DEPLOYMENT_COLUMN_NAMES].sort(), await tableColumns(pool, 'deployments'));
  for (const text of [
    `SELECT ${WORKLOAD_COLUMNS} FROM workloads WHERE id = $1`,
    `UPDATE deployments SET pid = $2 WHERE id = $1 RETURNING ${DEPLOYMENT_COLUMNS}`,
    `${DEPLOYMENT_SELECT} WHERE d.id = $1`,
  ]) {
    assert.ok(preparedName(text), `named: ${text.slice(0, 60)}`);
  }
});
