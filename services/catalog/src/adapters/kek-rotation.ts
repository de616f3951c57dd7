import type { Pool } from '@latchkey/db';
import type { DatabaseValueBackend } from './database-value-backend.js';
import type { KekRing } from './kek-ring.js';

/**
 * Online KEK rotation for the database backend: a new key becomes current
 * (new values use it at once), every data key is re-wrapped with it, then
 * the old keys leave the key file and stop working. Serialised across
 * replicas by an advisory lock.
 */
export async function rotateKek(
  pool: Pool,
  keks: KekRing,
  backend: DatabaseValueBackend,
): Promise<{ newKekId: string; rewrapped: number; retired: string[] }> {
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock(hashtext('latchkey.kek_rotation'))");
    const next = await keks.addCurrent();
    const rewrapped = await backend.rewrapAll();
    // A put that started before the rotation may still have used an old key: keep any in use.
    const inUse = (await backend.kekIdsInUse()).filter((id) => id !== next.id);
    const retired = await keks.retireAllBut(inUse);
    return { newKekId: next.id, rewrapped, retired };
  } finally {
    await client.query("SELECT pg_advisory_unlock(hashtext('latchkey.kek_rotation'))").catch(() => undefined);
    client.release();
  }
}
