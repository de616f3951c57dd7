import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { startOnFreePort, startPostgres } from '@latchkey/embedded';
import type { PostgresHandle } from '@latchkey/embedded';
import { startInTempDir } from './temp-dir.js';

/** A running throwaway PostgreSQL (or the run's shared one, not ours to watch: no `exited`); `stop()` also deletes its data. */
export type TestPostgres = Omit<PostgresHandle, 'exited'>;

/**
 * Starts a throwaway PostgreSQL cluster (temporary data dir, free port,
 * random password, fsync off) with the given databases. initdb makes this
 * take a second or two: prefer one instance per test file plus
 * createTestDatabase() over one instance per test.
 */
export async function startTestPostgres(
  databases: string[],
  opts: { log?: (line: string) => void } = {},
): Promise<TestPostgres> {
  return startInTempDir('latchkey-test-pg-', async (dir) => {
    // mkdtemp gives 0700; as root PostgreSQL runs as OS user 'postgres', which must enter it.
    await fs.chmod(dir.path, 0o755);
    const password = crypto.randomBytes(16).toString('hex');
    let attempt = 0;
    const handle = await startOnFreePort((port) =>
      startPostgres({
        // A fresh data dir per attempt: a start that lost its port leaves an initialised cluster behind.
        dataDir: path.join(dir.path, `data-${++attempt}`),
        port,
        password,
        databases,
        durable: false,
        ...(opts.log === undefined ? {} : { log: opts.log }),
      }),
    );
    return {
      host: handle.host,
      port: handle.port,
      user: handle.user,
      password: handle.password,
      dataDir: handle.dataDir,
      pid: handle.pid,
      connectionString: (db) => handle.connectionString(db),
      createDatabase: (name) => handle.createDatabase(name),
      stop: () => handle.stop(),
    };
  });
}

/** Adds a database to a running instance (no-op if it exists); returns its connection string. */
export async function createTestDatabase(handle: TestPostgres, name: string): Promise<string> {
  await handle.createDatabase(name);
  return handle.connectionString(name);
}
