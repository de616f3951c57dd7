import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';
import type { Pool } from '@latchkey/db';
import { STREAM_AUDIT } from '@latchkey/events';
import { RasAuthorizer } from '@latchkey/grpc';
import { acquireTestPostgres, freshDatabase, startTestNats, tempDir, waitFor } from '@latchkey/testing';

const RAS_MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

interface RasProcess {
  child: ChildProcess;
  address: string;
}

/** A real ras process (its main.js, as `latchkey up` starts it), ready once it says so over IPC. */
async function startRasProcess(t: TestContext, env: Record<string, string>): Promise<RasProcess> {
  const child = fork(RAS_MAIN, [], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.on('message', (m: { type?: string; port?: number }) => {
      if (m.type === 'ready' && m.port !== undefined) resolve(m.port);
    });
    child.on('exit', (code) => reject(new Error(`ras exited (${code}) before it was ready: ${stderr}`)));
  });
  return { child, address: `127.0.0.1:${port}` };
}

const storedFor = async (pool: Pool, requestId: string): Promise<string[]> =>
  (
    await pool.query<{ actor: string }>('SELECT actor FROM audit_records WHERE request_id = $1 ORDER BY actor', [
      requestId,
    ])
  ).rows.map((r) => r.actor);

test('kill -9 ras right after it answered a CheckBatch: after its restart every decision of that batch is in audit_records', async (t) => {
  const nats = await startTestNats();
  t.after(() => nats.stop());
  const postgres = await acquireTestPostgres();
  t.after(() => postgres.stop());
  // ras's main.js migrates it; the test reads it through `pool`.
  const { pool, url } = await freshDatabase(t, postgres, { prefix: 'ras_kill' });
  const dir = await tempDir('latchkey-ras-kill-');
  t.after(() => dir.cleanup());
  const resolverToken = randomBytes(24).toString('hex');
  const credentials = join(dir.path, 'credentials.json');
  await writeFile(
    credentials,
    JSON.stringify({
      admin: randomBytes(24).toString('hex'),
      services: { ras: randomBytes(24).toString('hex'), resolver: resolverToken },
    }),
    { mode: 0o600 },
  );
  const env = {
    LATCHKEY_INSECURE: '1',
    LATCHKEY_CREDENTIALS_FILE: credentials,
    LATCHKEY_OIDC_ISSUER: 'https://issuer.invalid',
    LATCHKEY_OIDC_AUDIENCE: 'latchkey',
    // No person calls in this test; the key set is fetched only for a JWT.
    LATCHKEY_OIDC_JWKS_URL: 'http://127.0.0.1:9/jwks.json',
    LATCHKEY_NATS_URL: nats.url,
    LATCHKEY_DATABASE_URL: url,
    LATCHKEY_GRPC_PORT: '0',
    LATCHKEY_LOG_LEVEL: 'warn',
    // ras has no default platform admin outside embedded mode.
    LATCHKEY_PLATFORM_ADMINS: 'admin',
  };
  const first = await startRasProcess(t, env);
  // The audit stream is unreachable for a moment, as in a NATS restart: the
  // old in-memory queue lost such records with the process; the outbox keeps them.
  const nc = await connect({ servers: nats.url });
  t.after(() => nc.close());
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(STREAM_AUDIT);

  const requestId = `batch-${randomUUID()}`;
  const principals = Array.from({ length: 25 }, (_, i) => `user-${String(i).padStart(2, '0')}`);
  const authorizer = new RasAuthorizer(first.address, resolverToken);
  try {
    const answers = await authorizer.checkBatch(
      principals.map((principal) => ({
        principal,
        action: 'secret.use',
        domain: 'analytics',
        resource: 'db_password',
        requestId,
      })),
    );
    assert.equal(answers.length, principals.length, 'ras answered the batch');
  } finally {
    authorizer.close();
  }
  first.child.kill('SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));

  // The restarted ras recreates the stream, relays its outbox and stores what it consumes.
  await startRasProcess(t, env);
  const stored = await waitFor(
    async () => {
      const actors = await storedFor(pool, requestId);
      return actors.length >= principals.length ? actors : undefined;
    },
    { what: "every decision of the batch in ras's audit_records", timeoutMs: 30_000 },
  );
  assert.deepEqual(stored, principals, 'each decision once');
});
