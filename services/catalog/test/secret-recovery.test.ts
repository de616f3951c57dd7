import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import type { Pool } from '@latchkey/db';
import type { AuditRecord, SecretChanged } from '@latchkey/events';
import { deny, FakeAuthorizer } from '@latchkey/testing';
import type { DatabaseValueBackend } from '../src/adapters/database-value-backend.js';
import type { PostgresSecretStore } from '../src/adapters/postgres-secret-store.js';
import type { SecretRetention } from '../src/domain/secrets/secret-retention.js';
import { SecretService } from '../src/domain/secrets/secret-service.js';
import { databaseCatalog, outboxRows, rejection, storedValues, testRetention, usePostgres } from './support.js';
import { dumpAllTables } from './table-dump.js';

const postgres = usePostgres();
const DAY = 86_400_000;

interface World {
  pool: Pool;
  store: PostgresSecretStore;
  backend: DatabaseValueBackend;
  svc: SecretService;
  sweep(now: Date): ReturnType<SecretRetention['sweepOnce']>;
}

async function world(t: TestContext): Promise<World> {
  const { pool, store, backend } = await databaseCatalog(t, postgres(), { prefix: 'recovery' });
  const retention = (now?: Date) =>
    testRetention({ store, backends: { database: backend }, ...(now ? { now: () => now } : {}) });
  const svc = new SecretService({
    store,
    authorizer: new FakeAuthorizer(),
    backend,

    onChange: () => undefined,
    retention: retention(),
  });
  return { pool, store, backend, svc, sweep: (now) => retention(now).sweepOnce() };
}

const analytics = { domain: 'analytics', global: false };
const canary = () => `recovery-canary-${randomBytes(8).toString('hex')}`;
const put = (svc: SecretService, key: string, value: string) =>
  svc.put('admin', { scope: analytics, key, value: Buffer.from(value), description: '' });
const ref = (key: string) => ({ refId: key, key, scope: 'analytics', fallbackToGlobal: false });

test('a delete keeps the secret recoverable for 7 days: listed as deleted, references fail with secret.deleted and the time, restore brings it back as it was', async (t) => {
  const w = await world(t);
  const value = canary();
  await put(w.svc, 'db_password', `${value}-1`);
  await put(w.svc, 'db_password', `${value}-2`);
  const started = Date.now();
  const { deleted, recoverUntil } = await w.svc.delete('admin', analytics, 'db_password');
  assert.equal(deleted.version, 2);
  assert.ok(recoverUntil, 'a default delete is recoverable');
  const window = recoverUntil.getTime() - started;
  assert.ok(Math.abs(window - 7 * DAY) < 60_000, `the default window is 7 days (got ${window} ms)`);
  assert.deepEqual(await w.svc.list('admin', analytics), [], 'a deleted secret is not listed');
  const listed = await w.svc.recovery.listDeleted('admin', analytics);
  assert.deepEqual(
    listed.map((d) => [d.meta.key, d.meta.version, d.recoverUntil.toISOString()]),
    [['db_password', 2, recoverUntil.toISOString()]],
  );
  assert.deepEqual(await storedValues(w.pool, 'db_password'), [1, 2], 'the values stay for the window');

  // A deployment referencing it fails with secret.deleted and when its values are destroyed.
  const [read] = await w.svc.readValues([ref('db_password')]);
  const [found] = await w.svc.findKeys([ref('db_password')]);
  for (const a of [read, found]) {
    assert.equal(a?.found, false);
    assert.equal(a && !a.found ? a.code : '', 'secret.deleted');
    assert.match(a && !a.found ? a.message : '', new RegExp(`can be restored until ${recoverUntil.toISOString()}`));
  }

  // Nothing writes over it: a put and a second delete with a window are refused and say what to do.
  const putAgain = await rejection(put(w.svc, 'db_password', `${value}-3`));
  assert.equal(putAgain.code, 'secret.deleted');
  assert.match(
    putAgain.message,
    /restore it, or destroy it now \(latchkey secret delete db_password --domain analytics --recovery-days 0\)/,
  );
  const deleteAgain = await rejection(w.svc.delete('admin', analytics, 'db_password'));
  assert.equal(deleteAgain.code, 'secret.deleted');
  assert.match(deleteAgain.message, /--recovery-days 0/);

  const restored = await w.svc.recovery.restore('admin', { scope: analytics, key: 'db_password', requestId: 'req-r' });
  assert.equal(restored.version, 2, 'the same versions, the same current one');
  const [back] = await w.svc.readValues([ref('db_password')]);
  assert.deepEqual(back, {
    refId: 'db_password',
    found: true,
    scope: 'analytics',
    version: 2,
    value: Buffer.from(`${value}-2`),
  });
  assert.deepEqual(await w.svc.recovery.listDeleted('admin', analytics), []);
  const notDeleted = await rejection(w.svc.recovery.restore('admin', { scope: analytics, key: 'db_password' }));
  assert.equal(notDeleted.code, 'secret.not_deleted');

  // The restore is announced (dependents re-evaluate) under an id of its own, and audited.
  const events = await outboxRows<SecretChanged>(w.pool, 'latchkey.secret.changed.');
  assert.deepEqual(
    events.map((e) => [e.data.change, e.data.version]),
    [
      ['created', 1],
      ['updated', 2],
      ['deleted', 2],
      ['created', 2],
    ],
  );
  assert.equal(new Set(events.map((e) => e.id)).size, 4, 'the restore event does not reuse an id');
  const audits = await outboxRows<AuditRecord>(w.pool, 'latchkey.audit.');
  const restoreAudit = audits.find((a) => a.data.action === 'secret.restore');
  assert.equal(restoreAudit?.data.requestId, 'req-r');
  assert.match(audits.find((a) => a.data.action === 'secret.delete')?.data.reason ?? '', /recoverable until/);
  assert.ok(!(await dumpAllTables(w.pool)).includes(value), 'no value in any table, event or audit record');
});

test('--recovery-days 0 destroys the values now, also of a secret deleted before; then it cannot be restored and a put starts over', async (t) => {
  const w = await world(t);
  await put(w.svc, 'now_gone', 'value-now-gone');
  const r = await w.svc.delete('admin', analytics, 'now_gone', false, undefined, 0);
  assert.equal(r.recoverUntil, null);
  assert.deepEqual(await storedValues(w.pool, 'now_gone'), [], 'the backend holds no value of it');
  const { rows: queued } = await w.pool.query('SELECT 1 FROM secret_destructions');
  assert.equal(queued.length, 0, 'nothing left waiting');
  const restore = await rejection(w.svc.recovery.restore('admin', { scope: analytics, key: 'now_gone' }));
  assert.equal(restore.code, 'secret.not_found');
  assert.match(restore.message, /its recovery window ended and its values were destroyed/);
  const [read] = await w.svc.readValues([ref('now_gone')]);
  assert.equal(read && !read.found ? read.code : '', 'secret.not_found');
  const again = await put(w.svc, 'now_gone', 'value-again');
  assert.equal(again.meta.version, 2, 'versions keep counting up');

  // A secret in its window, destroyed early.
  await put(w.svc, 'early', 'value-early-1');
  await w.svc.delete('admin', analytics, 'early', false, undefined, 3);
  await w.svc.delete('admin', analytics, 'early', false, undefined, 0);
  assert.deepEqual(await storedValues(w.pool, 'early'), []);
  assert.deepEqual(await w.svc.recovery.listDeleted('admin', analytics), []);
});

test('the retention sweep destroys a deleted secret after its window (injected clock), and not before', async (t) => {
  const w = await world(t);
  await put(w.svc, 'short', 'value-short-1');
  await put(w.svc, 'short', 'value-short-2');
  await put(w.svc, 'long', 'value-long-1');
  await w.svc.delete('admin', analytics, 'short', false, undefined, 1);
  await w.svc.delete('admin', analytics, 'long', false, undefined, 30);
  const now = Date.now();
  const early = await w.sweep(new Date(now + DAY / 2));
  assert.deepEqual(early?.expired, []);
  assert.deepEqual(await storedValues(w.pool, 'short'), [1, 2]);

  const late = await w.sweep(new Date(now + 2 * DAY));
  assert.deepEqual(late?.expired, [{ scope: 'analytics', key: 'short' }]);
  assert.equal(late?.destroyed, 2);
  assert.deepEqual(await storedValues(w.pool, 'short'), [], 'destroyed in the backend');
  assert.deepEqual(await storedValues(w.pool, 'long'), [1], 'a longer window is still running');
  const restore = await rejection(w.svc.recovery.restore('admin', { scope: analytics, key: 'short' }));
  assert.equal(restore.code, 'secret.not_found');
  assert.deepEqual(
    (await w.svc.recovery.listDeleted('admin', analytics)).map((d) => d.meta.key),
    ['long'],
  );
  const audits = await outboxRows<AuditRecord>(w.pool, 'latchkey.audit.');
  assert.deepEqual(
    audits.filter((a) => a.data.action === 'secret.destroy').map((a) => [a.data.resource, a.data.actor]),
    [['secret:short', 'service:catalog']],
  );
  const again = await w.sweep(new Date(now + 3 * DAY));
  assert.deepEqual(again?.expired, [], 'destroyed once');
});

test('a backend that refuses to destroy keeps the values queued (metadata gone) until a later sweep succeeds', async (t) => {
  const w = await world(t);
  await put(w.svc, 'stubborn', 'value-stubborn');
  let refuse = true;
  const flaky = {
    destroyVersions: async (input: Parameters<DatabaseValueBackend['destroyVersions']>[0]) => {
      if (refuse) throw new Error('backend away');
      await w.backend.destroyVersions(input);
    },
  };
  const sweeper = (now: Date) => testRetention({ store: w.store, backends: { database: flaky }, now: () => now });
  await w.svc.delete('admin', analytics, 'stubborn', false, undefined, 1);
  const later = new Date(Date.now() + 2 * DAY);
  const first = await sweeper(later).sweepOnce();
  assert.deepEqual([first?.destroyed, first?.failed], [0, 1]);
  const { rows } = await w.pool.query<{ attempts: number }>('SELECT attempts FROM secret_destructions');
  assert.deepEqual(rows, [{ attempts: 1 }]);
  const [read] = await w.svc.readValues([ref('stubborn')]);
  assert.equal(read?.found, false, 'nothing can read a value waiting for destruction');
  refuse = false;
  const second = await sweeper(later).sweepOnce();
  assert.deepEqual([second?.destroyed, second?.failed], [1, 0]);
  assert.deepEqual(await storedValues(w.pool, 'stubborn'), []);
});

test('bad recovery windows are refused with the bounds and change nothing; a denied principal restores and lists nothing', async (t) => {
  const w = await world(t);
  await put(w.svc, 'db_password', 'value-kept-1');
  for (const days of [31, -1, 1.5]) {
    const err = await rejection(w.svc.delete('admin', analytics, 'db_password', false, undefined, days));
    assert.equal(err.code, 'secret.invalid_recovery_days');
    assert.match(err.message, /give a whole number of days from 0 to 30 \(0 destroys the values now\)/);
  }
  assert.equal((await w.svc.list('admin', analytics)).length, 1, 'still there');
  await w.svc.delete('admin', analytics, 'db_password');

  const denied = new SecretService({
    store: w.store,
    authorizer: new FakeAuthorizer(deny('mallory may not manage secrets here')),
    backend: w.backend,

    onChange: () => undefined,
  });
  const restore = await rejection(denied.recovery.restore('mallory', { scope: analytics, key: 'db_password' }));
  assert.equal(restore.code, 'ras.permission_denied');
  const list = await rejection(denied.recovery.listDeleted('mallory', analytics));
  assert.equal(list.code, 'ras.permission_denied');
  assert.equal((await w.svc.recovery.listDeleted('admin', analytics)).length, 1, 'still deleted, still recoverable');
});
