import { withTransaction, wrapDbError, type Pool } from '@latchkey/db';
import { enqueueEvents, eventTypes, subjects, type OutgoingEvent } from '@latchkey/events';
import type { PolicyChanged } from '../domain/grant-types.js';

/** The policy.changed event the resolvers and the authorizers' caches listen to. */
export const policyChanged = (data: PolicyChanged) => ({
  type: eventTypes.policyChanged,
  subject: subjects.policyChanged(),
  data,
});

/**
 * Runs a statement that changes at most one row (RETURNING its columns) and, when it
 * changed one, enqueues that change's events in the same transaction.
 * Undefined when no row changed (nothing enqueued).
 */
export async function changeOneRow<R extends object>(
  pool: Pool,
  sql: string,
  params: unknown[],
  events: (row: R) => OutgoingEvent<unknown>[],
): Promise<R | undefined> {
  return withTransaction(pool, async (tx) => {
    const { rows } = await tx.query<R & Record<string, unknown>>(sql, params);
    const row = rows[0];
    if (!row) return undefined;
    await enqueueEvents(tx, events(row));
    return row;
  });
}

/**
 * Creates one row (INSERT ... ON CONFLICT DO NOTHING RETURNING its columns) with its
 * events, as changeOneRow; once committed, calls `committed` and gives the
 * row as a record. Undefined when the row existed already; `creating` names
 * the write in the error when the database fails.
 */
export async function createOneRow<R extends object, T>(
  pool: Pool,
  sql: string,
  params: unknown[],
  events: (row: R) => OutgoingEvent<unknown>[],
  toRecord: (row: R) => T,
  committed: () => void,
  creating: string,
): Promise<T | undefined> {
  try {
    const row = await changeOneRow(pool, sql, params, events);
    if (!row) return undefined;
    committed();
    return toRecord(row);
  } catch (err) {
    throw wrapDbError(err, creating);
  }
}

/** The one row a query finds, as a record; `reading` names the read in the error when the database fails. */
export async function readOneRow<R extends object, T>(
  pool: Pool,
  sql: string,
  params: unknown[],
  toRecord: (row: R) => T,
  reading: string,
): Promise<T | undefined> {
  try {
    const { rows } = await pool.query<R & Record<string, unknown>>(sql, params);
    return rows[0] ? toRecord(rows[0]) : undefined;
  } catch (err) {
    throw wrapDbError(err, reading);
  }
}
