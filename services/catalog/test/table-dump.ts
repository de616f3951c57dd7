import assert from 'node:assert/strict';
import type { Pool } from '@latchkey/db';

/** Every row of every table in the database, as text: a planted value must be in none (only ciphertext). */
export async function dumpAllTables(pool: Pool): Promise<string> {
  const { rows: tables } = await pool.query<{ name: string }>(
    `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS name FROM information_schema.tables
     WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
  );
  assert.ok(tables.length >= 4, 'the dump covers the catalog tables and the outbox');
  const parts: string[] = [];
  for (const { name } of tables) {
    const { rows } = await pool.query<{ row: string }>(`SELECT t::text AS row FROM ${name} t`);
    parts.push(`${name}:`, ...rows.map((r) => r.row));
  }
  return parts.join('\n');
}
