import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, connect, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { createPool, type Pool } from '@latchkey/db';
import { DatabaseValueBackend } from '../src/adapters/database-value-backend.js';
import { KekRing } from '../src/adapters/kek-ring.js';
import { rotateKek } from '../src/adapters/kek-rotation.js';
import { catalogDatabase, kekRing, usePostgres } from './support.js';
import { valueBackendContract } from './value-backend-contract.js';

const postgres = usePostgres();

/** A TCP relay in front of PostgreSQL, so that a test can cut the database off. */
async function relay(port: number): Promise<{ port: number; cut: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    cut: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

/** The database backend over a fresh catalog database, reached through a relay the test can cut. */
async function subject(t: TestContext) {
  const { url: direct } = await catalogDatabase(t, postgres(), { prefix: 'dbbackend' });
  const r = await relay(postgres().port);
  const url = direct.replace(`:${postgres().port}/`, `:${r.port}/`);
  const pool: Pool = createPool(url, undefined, 20);
  const { keks, kekFile } = await kekRing(t);
  const backend = new DatabaseValueBackend(pool, keks);
  return {
    backend,
    pool,
    keks,
    kekFile,
    makeUnavailable: async () => {
      await r.cut();
    },
    cleanup: async () => {
      await r.cut();
      await pool.end().catch(() => undefined);
    },
  };
}

valueBackendContract('database', subject);

test('KEK rotation re-wraps every data key, leaves ciphertext alone, and retires the old key', async (t) => {
  const s = await subject(t);
  try {
    const values = Array.from({ length: 30 }, (_, i) => `value-${i}-${randomBytes(6).toString('hex')}`);
    for (const [i, v] of values.entries())
      await s.backend.write({ scope: 'analytics', key: `k${i}`, version: 1, value: Buffer.from(v) });
    const before = await s.pool.query<{ key: string; kek_id: string; ciphertext: Buffer }>(
      'SELECT key, kek_id, ciphertext FROM secret_values',
    );
    const oldId = s.keks.current().id;
    const result = await rotateKek(s.pool, s.keks, [s.backend]);
    assert.notEqual(result.newKekId, oldId);
    assert.equal(result.rewrapped, 30);
    assert.deepEqual(result.retired, [oldId]);
    const afterRows = await s.pool.query<{ key: string; kek_id: string; ciphertext: Buffer }>(
      'SELECT key, kek_id, ciphertext FROM secret_values',
    );
    const byKey = new Map(before.rows.map((r) => [r.key, r]));
    for (const r of afterRows.rows) {
      assert.equal(r.kek_id, result.newKekId);
      assert.deepEqual(r.ciphertext, byKey.get(r.key)!.ciphertext, 'values are not re-encrypted');
    }
    for (const [i, v] of values.entries()) {
      assert.equal((await s.backend.read({ scope: 'analytics', key: `k${i}`, version: 1 }))?.toString(), v);
    }
    const file = await readFile(s.kekFile, 'utf8');
    assert.ok(!file.includes(oldId), 'the old key left the key file');
    // Another replica that still holds only the old key reloads the ring and reads on.
    const stale = new DatabaseValueBackend(s.pool, await KekRing.load(s.kekFile));
    assert.equal((await stale.read({ scope: 'analytics', key: 'k0', version: 1 }))?.toString(), values[0]);
  } finally {
    await s.cleanup();
  }
});

test('reads asked for in one tick are answered by one query, each with its own value; a missing or tampered one fails alone', async (t) => {
  const s = await subject(t);
  try {
    const values = Array.from({ length: 12 }, (_, i) => `batched-${i}-${randomBytes(6).toString('hex')}`);
    for (const [i, v] of values.entries())
      await s.backend.write({ scope: 'analytics', key: `b${i}`, version: 1, value: Buffer.from(v) });
    await s.pool.query(
      "UPDATE secret_values SET ciphertext = decode('00', 'hex') || ciphertext WHERE scope = 'analytics' AND key = 'b3'",
    );
    const query = s.pool.query.bind(s.pool) as (...args: unknown[]) => unknown;
    let reads = 0;
    (s.pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      if (String(args[0]).includes('FROM secret_values v')) reads++;
      return query(...args);
    };
    const outcomes = await Promise.allSettled([
      ...values.map((_, i) => s.backend.read({ scope: 'analytics', key: `b${i}`, version: 1 })),
      s.backend.read({ scope: 'analytics', key: 'b0', version: 2 }),
      s.backend.read({ scope: 'other', key: 'b1', version: 1 }),
    ]);
    assert.equal(reads, 1, 'one query for the 14 reads');
    for (const [i, v] of values.entries()) {
      const o = outcomes[i];
      if (i === 3) assert.equal(o?.status, 'rejected', 'the tampered value fails');
      else assert.deepEqual(o, { status: 'fulfilled', value: Buffer.from(v) });
    }
    assert.deepEqual(outcomes.slice(12), [
      { status: 'fulfilled', value: undefined },
      { status: 'fulfilled', value: undefined },
    ]);
    // A database that is gone fails every read of the batch, as retryable.
    await s.makeUnavailable();
    const gone = await Promise.allSettled(
      [0, 1].map((i) => s.backend.read({ scope: 'analytics', key: `b${i}`, version: 1 })),
    );
    for (const o of gone) {
      assert.equal(o.status, 'rejected');
      assert.equal((o.reason as { retryable?: boolean }).retryable, true);
    }
  } finally {
    await s.cleanup();
  }
});
