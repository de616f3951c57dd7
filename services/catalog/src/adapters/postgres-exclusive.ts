import type { Pool } from '@latchkey/db';
import type { Exclusive } from '../domain/ports.js';

/** A session advisory lock, tried once: of several replicas, one does the work and the others skip it. */
export function postgresExclusive(pool: Pool): Exclusive {
  return async (name, fn) => {
    const client = await pool.connect();
    try {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [name]);
      if (!rows[0]?.ok) return undefined;
      try {
        return await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [name]).catch(() => undefined);
      }
    } finally {
      client.release();
    }
  };
}
