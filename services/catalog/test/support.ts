/**
 * What the catalog's component tests share: one test PostgreSQL per file, a
 * fresh migrated catalog database per test (libs/testing's freshDatabase), a
 * KEK file, the database backend and secret store over them, and small
 * helpers (a rejection's error, a closed port, a stop that runs once).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { ensureKekFile } from '@latchkey/crypto';
import type { Pool } from '@latchkey/db';
import { LatchkeyError } from '@latchkey/errors';
import { ensureEventTables } from '@latchkey/events';
import {
  freshDatabase,
  startVaultContainer,
  startVaultEmulator,
  tempDir,
  vaultContainerAvailability,
  type TestPostgres,
  type VaultTestServer,
} from '@latchkey/testing';
import { DatabaseValueBackend } from '../src/adapters/database-value-backend.js';
import { KekRing } from '../src/adapters/kek-ring.js';
import { PostgresSecretStore } from '../src/adapters/postgres-secret-store.js';
import type { Dependents } from '../src/domain/ports.js';
import { SecretRetention, type SecretRetentionDeps } from '../src/domain/secrets/secret-retention.js';

export const MIGRATIONS = fileURLToPath(new URL('../../migrations', import.meta.url));

/** A logger that says nothing. */
export const quiet = { info: () => undefined, warn: () => undefined };

export { usePostgres } from '@latchkey/testing';

/** A fresh catalog database (event tables, then the catalog's migrations), closed when `t` ends. */
export function catalogDatabase(
  t: Pick<TestContext, 'after'>,
  postgres: TestPostgres,
  opts: { prefix: string; poolSize?: number },
): Promise<{ pool: Pool; url: string }> {
  return freshDatabase(t, postgres, { ...opts, migrations: MIGRATIONS, prepare: ensureEventTables });
}

/** A new key-encryption key file in a folder removed when `t` ends, and its ring. */
export async function kekRing(t: Pick<TestContext, 'after'>): Promise<{ keks: KekRing; kekFile: string }> {
  const dir = await tempDir('latchkey-kek-');
  t.after(() => dir.cleanup());
  const kekFile = join(dir.path, 'kek.json');
  await ensureKekFile(kekFile);
  return { keks: await KekRing.load(kekFile), kekFile };
}

export interface DatabaseCatalog {
  pool: Pool;
  url: string;
  keks: KekRing;
  kekFile: string;
  backend: DatabaseValueBackend;
  store: PostgresSecretStore;
}

/** A fresh catalog database with its KEK, the database backend and the secret store over it. */
export async function databaseCatalog(
  t: Pick<TestContext, 'after'>,
  postgres: TestPostgres,
  opts: { prefix: string; poolSize?: number },
): Promise<DatabaseCatalog> {
  const [{ pool, url }, { keks, kekFile }] = await Promise.all([catalogDatabase(t, postgres, opts), kekRing(t)]);
  return {
    pool,
    url,
    keks,
    kekFile,
    backend: new DatabaseValueBackend(pool, keks),
    store: new PostgresSecretStore(pool),
  };
}

/** The outbox's events under a subject prefix (`latchkey.secret.changed.`), oldest first. */
export async function outboxRows<T>(
  pool: Pool,
  subjectPrefix: string,
): Promise<{ id: string; subject: string; type: string; data: T }[]> {
  const { rows } = await pool.query<{ id: string; subject: string; type: string; data: T }>(
    "SELECT id, subject, type, data FROM outbox WHERE subject LIKE $1 || '%' ORDER BY seq",
    [subjectPrefix],
  );
  return rows;
}

/** The deployer's index with no references and no deployments: every delete may go ahead. */
export const noDependents: Dependents = {
  of: async () => new Map(),
  beginDeletion: async () => ({ deletionId: '00000000-0000-4000-8000-000000000000', dependents: new Map() }),
  endDeletion: async () => undefined,
  deployedVaultKeys: async () => [],
};

/** A retention sweep for tests: one replica (no lock held), quiet, 10 kept versions unless told. */
export function testRetention(
  deps: Pick<SecretRetentionDeps, 'store' | 'backends'> & Partial<SecretRetentionDeps>,
): SecretRetention {
  return new SecretRetention({
    keepVersions: 10,
    exclusive: async (_name, fn) => fn(),
    logger: quiet,
    onChange: () => undefined,
    ...deps,
  });
}

/** The versions of `key` whose value rows the database backend still holds, oldest first. */
export async function storedValues(pool: Pool, key: string): Promise<number[]> {
  const { rows } = await pool.query<{ version: number }>(
    'SELECT version FROM secret_values WHERE key = $1 ORDER BY version',
    [key],
  );
  return rows.map((r) => r.version);
}

/** The LatchkeyError `p` rejects with (fails the test when it resolves or rejects with anything else). */
export async function rejection(p: Promise<unknown>): Promise<LatchkeyError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof LatchkeyError, `expected a LatchkeyError, got ${inspect(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

/** A loopback port nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** `stop`, made safe to call more than once (a contract's makeUnavailable and then its cleanup). */
export function stopOnce(stop: () => Promise<void>): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => (stopping ??= stop());
}

/** The Vault servers the Vault suites run against: the emulator, and a real Vault where Docker is. */
export async function vaultServers(): Promise<
  { name: string; start: () => Promise<VaultTestServer>; skip: string | false }[]
> {
  const container = await vaultContainerAvailability();
  return [
    { name: 'emulator', start: startVaultEmulator, skip: false },
    { name: 'vault container', start: startVaultContainer, skip: container.available ? false : container.reason },
  ];
}
