import type { Pool } from '@latchkey/db';
import type { KekRing } from './kek-ring.js';

/** A table of data keys wrapped by the KEK (database-backend values, Vault integration credentials). */
export interface KekWrappedStore {
  /** Re-wraps every data key with the ring's current KEK; returns how many. */
  rewrapAll(): Promise<number>;
  /** KEK ids still wrapping some data key. */
  kekIdsInUse(): Promise<string[]>;
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
