import { withTransaction, wrapDbError, type Pool } from '@latchkey/db';
import type { KekRing } from './kek-ring.js';

/** A table of data keys wrapped by the KEK (database-backend values, Vault integration credentials). */
export interface KekWrappedStore {
  /** Re-wraps every data key with the ring's current KEK; returns how many. */
  rewrapAll(): Promise<number>;
  /** KEK ids still wrapping some data key. */
  kekIdsInUse(): Promise<string[]>;
}

/**
 * Re-wraps, in batches of 500 and online, every data key in `table` that the
 * ring's current KEK does not wrap yet; the ciphertexts are not touched.
 * `table` and `key` are this module's callers' constants, never input.
 */
export async function rewrapTable(
  pool: Pool,
  keks: KekRing,
  spec: { table: string; key: string[]; what: string },
): Promise<number> {
  const kek = keks.current();
  const cols = spec.key.join(', ');
  const match = spec.key.map((c, i) => `${c} = $${i + 3}`).join(' AND ');
  let total = 0;
  for (;;) {
    const n = await withTransaction(pool, async (tx) => {
      const { rows } = await tx.query<Record<string, unknown> & { kek_id: string; wrapped_dek: Buffer }>(
        `SELECT ${cols}, kek_id, wrapped_dek FROM ${spec.table} WHERE kek_id <> $1 LIMIT 500 FOR UPDATE SKIP LOCKED`,
        [kek.id],
      );
      for (const r of rows) {
        await tx.query(`UPDATE ${spec.table} SET kek_id = $1, wrapped_dek = $2 WHERE ${match}`, [
          kek.id,
          keks.rewrap(r.kek_id, r.wrapped_dek, kek),
          ...spec.key.map((c) => r[c]),
        ]);
      }
      return rows.length;
    }).catch((err: unknown) => {
      throw wrapDbError(err, `re-wrapping ${spec.what}`);
    });
    total += n;
    if (n === 0) return total;
  }
}

/** KEK ids still wrapping some data key in `table` (a caller's constant). */
export async function kekIdsIn(pool: Pool, table: string): Promise<string[]> {
  const { rows } = await pool.query<{ kek_id: string }>(`SELECT DISTINCT kek_id FROM ${table}`);
  return rows.map((r) => r.kek_id);
}

/**
 * Online KEK rotation: a new key becomes current (new values use it at
 * once), every data key in every store is re-wrapped with it (ciphertexts
 * untouched), then the old keys leave the key file and stop working.
 * Serialised across replicas by an advisory lock.
 */
export async function rotateKek(
  pool: Pool,
  keks: KekRing,
  stores: KekWrappedStore[],
): Promise<{ newKekId: string; rewrapped: number; retired: string[] }> {
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock(hashtext('latchkey.kek_rotation'))");
    const next = await keks.addCurrent();
    let rewrapped = 0;
    for (const s of stores) rewrapped += await s.rewrapAll();
    // A write that started before the rotation may still have used an old key: keep any in use.
    const inUse = new Set<string>();
    for (const s of stores) for (const id of await s.kekIdsInUse()) if (id !== next.id) inUse.add(id);
    const retired = await keks.retireAllBut(inUse);
    return { newKekId: next.id, rewrapped, retired };
  } finally {
    await client.query("SELECT pg_advisory_unlock(hashtext('latchkey.kek_rotation'))").catch(() => undefined);
    client.release();
  }
}
