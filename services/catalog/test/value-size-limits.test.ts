// Issue 19 §5: each managed backend states its own limit on one value, and
// a put over it is refused with secret.value_too_large naming the backend,
// the limit and the size, storing nothing: the database (a setting), the
// kubernetes backend (what fits a key's Secret with its kept versions) and
// Vault (its own answer, a 413).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { FakeAuthorizer, startKubernetesEmulator, startVaultEmulator } from '@latchkey/testing';
import { DatabaseValueBackend } from '../src/adapters/database-value-backend.js';
import { KubernetesValueBackend } from '../src/adapters/kubernetes-value-backend.js';
import { VaultValueBackend } from '../src/adapters/vault-value-backend.js';
import { SecretService } from '../src/domain/secrets/secret-service.js';
import type { ValueBackend } from '../src/domain/value-backend.js';
import { databaseCatalog, rejection, usePostgres } from './support.js';

const postgres = usePostgres();
const analytics = { domain: 'analytics', global: false };

async function serviceOver(t: TestContext, backend: (db: Awaited<ReturnType<typeof databaseCatalog>>) => ValueBackend) {
  const db = await databaseCatalog(t, postgres(), { prefix: 'sizes' });
  const svc = new SecretService({
    store: db.store,
    authorizer: new FakeAuthorizer(),
    backend: backend(db),
    onChange: () => undefined,
  });
  const put = (key: string, value: Buffer) => svc.put('admin', { scope: analytics, key, value, description: '' });
  const keys = async () => (await svc.list('admin', analytics)).map((s) => s.key);
  return { put, keys };
}

/** A value of `bytes` bytes that starts with a canary, which no error may show. */
function valueOf(bytes: number): { value: Buffer; canary: string } {
  const canary = `canary-${randomBytes(8).toString('hex')}`;
  const value = Buffer.alloc(bytes, 'x');
  value.write(canary);
  return { value, canary };
}

/**
 * A put of a `bytes`-byte value (starting with a canary) is refused with
 * secret.value_too_large, this message and these details, neither showing the canary.
 */
async function assertRefusedTooLarge(
  put: (key: string, value: Buffer) => Promise<unknown>,
  bytes: number,
  message: string,
  details: Record<string, unknown>,
): Promise<void> {
  const { value, canary } = valueOf(bytes);
  const err = await rejection(put('OVER', value));
  assert.equal(err.code, 'secret.value_too_large');
  assert.equal(err.kind, 'invalid_argument');
  assert.equal(err.message, message);
  assert.deepEqual(err.details, details);
  assert.ok(!JSON.stringify({ m: err.message, d: err.details }).includes(canary));
}

test('database backend: its limit is the setting LATCHKEY_MAX_VALUE_BYTES; one byte more is refused naming it, and nothing is stored', async (t) => {
  const { put, keys } = await serviceOver(t, (db) => new DatabaseValueBackend(db.pool, db.keks, 1024));
  await put('AT_LIMIT', Buffer.alloc(1024, 'a'));
  await assertRefusedTooLarge(
    put,
    1025,
    'the value is 1025 bytes; the database backend stores at most 1024 bytes (the setting LATCHKEY_MAX_VALUE_BYTES): store a smaller value',
    { backend: 'database', bytes: 1025, limitBytes: 1024 },
  );
  assert.deepEqual(await keys(), ['AT_LIMIT']);
});

test('kubernetes backend: its limit is a 1 MiB Secret over the kept versions; at the limit every kept version fits, one byte more is refused', async (t) => {
  const emu = await startKubernetesEmulator({ namespaces: ['store'] });
  t.after(() => emu.stop());
  const k8s = new KubernetesValueBackend({ kubeConfig: emu.kubeConfig(), namespace: 'store', keepVersions: 4 });
  assert.deepEqual(k8s.valueLimit, {
    bytes: 262_144,
    why: "a key's newest 4 versions share one Kubernetes Secret, which holds at most 1 MiB",
  });
  const { put, keys } = await serviceOver(t, () => k8s);
  // Four versions at the limit fill the key's Secret exactly; a fifth prunes the first.
  for (let v = 1; v <= 5; v++) assert.equal((await put('BIG', Buffer.alloc(262_144, v))).meta.version, v);
  await assertRefusedTooLarge(
    put,
    262_145,
    "the value is 262145 bytes; the kubernetes backend stores at most 262144 bytes (a key's newest 4 versions share one Kubernetes Secret, which holds at most 1 MiB): store a smaller value",
    { backend: 'kubernetes', bytes: 262_145, limitBytes: 262_144 },
  );
  assert.deepEqual(await keys(), ['BIG']);
  assert.equal(
    emu.requests().filter((r) => r.method !== 'GET').length,
    5,
    'five writes of BIG; the refused value never reached the API server',
  );
});

test("vault backend: Vault's own limit answers; its 413 is secret.value_too_large naming the vault backend and the size, and nothing is stored", async (t) => {
  const vault = await startVaultEmulator({ maxRequestBytes: 4096 });
  t.after(() => vault.stop());
  const backend = VaultValueBackend.create({
    host: vault.url,
    auth: { method: 'token', token: vault.rootToken },
    path: '/v1/secret/data/latchkey',
    timeoutMs: 2000,
  });
  const stated: ValueBackend = backend;
  assert.equal(stated.valueLimit, undefined, 'the vault backend states no limit of its own');
  const { put, keys } = await serviceOver(t, () => backend);
  await put('SMALL', Buffer.alloc(2000, 's'));
  await assertRefusedTooLarge(
    put,
    5000,
    "the value is 5000 bytes; the vault backend stores less (Vault answered 413: the write is larger than its listener's max_request_size): store a smaller value",
    { backend: 'vault', bytes: 5000 },
  );
  assert.deepEqual(await keys(), ['SMALL']);
});
