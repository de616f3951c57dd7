import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatchkeyError } from '@latchkey/errors';
import { PostgresSandboxIdentities } from '../src/adapters/postgres-sandbox-identities.js';
import { migratedPool, usePostgres } from './deployer-test-support.js';

const postgres = usePostgres();

test('replicas allocating at once give each domain one uid of the range, never one uid to two domains', async (t) => {
  const pool = await migratedPool(t, postgres(), 'sandbox_ids');
  const range = { first: 1_700_000_000, last: 1_700_000_099 };
  // Three replicas, each with its own cache, asked for the same domains at the same time.
  const replicas = [1, 2, 3].map(() => new PostgresSandboxIdentities(pool, range));
  const domains = Array.from({ length: 12 }, (_, i) => `domain-${i}`);
  const answers = await Promise.all(
    replicas.flatMap((r) => domains.map(async (d) => [d, (await r.identityFor(d)).uid] as const)),
  );
  const uidOf = new Map<string, number>();
  for (const [d, uid] of answers) {
    assert.equal(uidOf.get(d) ?? uid, uid, `${d} got one uid from every replica`);
    uidOf.set(d, uid);
    assert.ok(uid >= range.first && uid <= range.last);
  }
  assert.equal(new Set(uidOf.values()).size, domains.length, 'no two domains share a uid');
  // A later start (a fresh cache) finds the same uid again.
  assert.equal((await new PostgresSandboxIdentities(pool, range).identityFor('domain-3')).uid, uidOf.get('domain-3'));
  assert.deepEqual(await replicas[0]!.identityFor('domain-5'), {
    uid: uidOf.get('domain-5'),
    gid: uidOf.get('domain-5'),
  });
});

test('a range with no uid left refuses a new domain, naming LATCHKEY_SANDBOX_UID_RANGE', async (t) => {
  const pool = await migratedPool(t, postgres(), 'sandbox_ids');
  const ids = new PostgresSandboxIdentities(pool, { first: 1_700_000_000, last: 1_700_000_001 });
  await ids.identityFor('a');
  await ids.identityFor('b');
  await assert.rejects(
    ids.identityFor('c'),
    (err: unknown) =>
      err instanceof LatchkeyError &&
      err.code === 'runtime.sandbox_uids_exhausted' &&
      /LATCHKEY_SANDBOX_UID_RANGE \(1700000000-1700000001\).*widen the range/.test(err.message),
  );
});
