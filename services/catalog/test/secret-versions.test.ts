import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import type { Pool } from '@latchkey/db';
import type { AuditRecord, SecretChanged } from '@latchkey/events';
import { deny, FakeAuthorizer } from '@latchkey/testing';
import { PostgresSecretStore } from '../src/adapters/postgres-secret-store.js';
import type { DatabaseValueBackend } from '../src/adapters/database-value-backend.js';
import type { Dependents } from '../src/domain/ports.js';
import type { SecretRetention } from '../src/domain/secrets/secret-retention.js';
import { SecretService } from '../src/domain/secrets/secret-service.js';
import {
  databaseCatalog,
  noDependents,
  outboxRows,
  rejection,
  storedValues,
  testRetention,
  usePostgres,
} from './support.js';

const postgres = usePostgres();
const analytics = { domain: 'analytics', global: false };
const ref = (key: string) => ({ refId: key, key, scope: 'analytics', fallbackToGlobal: false });

interface World {
  pool: Pool;
  backend: DatabaseValueBackend;
  svc: SecretService;
  /** What the fake deployer says live deployments hold. */
  held: { workload: string; version: number }[];
  retention(keep: number): SecretRetention;
}

async function world(t: TestContext, keep = 10): Promise<World> {
  const { pool, backend } = await databaseCatalog(t, postgres(), { prefix: 'versions' });
  const store = new PostgresSecretStore(pool, { keepVersions: keep });
  const held: { workload: string; version: number }[] = [];
  const dependents: Dependents = { ...noDependents, heldVersions: async () => held };
  const retention = (k: number) => testRetention({ store, backends: { database: backend }, keepVersions: k });
  const svc = new SecretService({
    store,
    authorizer: new FakeAuthorizer(),
    backend,

    onChange: () => undefined,
    dependents,
    keepVersions: keep,
    retention: retention(keep),
  });
  return { pool, backend, svc, held, retention };
}

const put = (svc: SecretService, key: string, value: string) =>
  svc.put('max', { scope: analytics, key, value: Buffer.from(value), description: '' });

test('secret versions lists each kept version, newest first: number, created, by, state, current, and which live deployments hold it', async (t) => {
  const w = await world(t);
  for (const n of [1, 2, 3]) await put(w.svc, 'db_password', `value-number-${n}`);
  w.held.push({ workload: 'analytics/etl', version: 3 }, { workload: 'analytics/report', version: 1 });
  const r = await w.svc.versions.list('mia', analytics, 'db_password');
  assert.equal(r.meta.version, 3);
  assert.equal(r.kept, 10);
  assert.equal(r.holdersKnown, true);
  assert.deepEqual(
    r.versions.map((v) => [v.version, v.current, v.createdBy, v.disabledAt, v.heldBy]),
    [
      [3, true, 'max', null, ['analytics/etl']],
      [2, false, 'max', null, []],
      [1, false, 'max', null, ['analytics/report']],
    ],
  );
  assert.ok(r.versions.every((v) => v.createdAt instanceof Date));
  assert.ok(!JSON.stringify(r).includes('value-number'), 'no value in the listing');
  const missing = await rejection(w.svc.versions.list('mia', analytics, 'ghost'));
  assert.equal(missing.code, 'secret.not_found');
  await w.svc.delete('max', analytics, 'db_password');
  const deleted = await rejection(w.svc.versions.list('mia', analytics, 'db_password'));
  assert.equal(deleted.code, 'secret.deleted');
});

test('rollback --to N makes a new version with N’s value (a new number, secret.changed updated, audited with N) and never returns the value', async (t) => {
  const w = await world(t);
  const canary = `rollback-canary-${randomBytes(8).toString('hex')}`;
  await put(w.svc, 'db_password', `${canary}-one`);
  await put(w.svc, 'db_password', `${canary}-two`);
  const meta = await w.svc.versions.rollback('max', {
    scope: analytics,
    key: 'db_password',
    toVersion: 1,
    requestId: 'req-rb',
  });
  assert.equal(meta.version, 3);
  assert.ok(!JSON.stringify(meta).includes(canary));
  const [read] = await w.svc.readValues([ref('db_password')]);
  assert.deepEqual(read, {
    refId: 'db_password',
    found: true,
    scope: 'analytics',
    version: 3,
    value: Buffer.from(`${canary}-one`),
  });
  const events = await outboxRows<SecretChanged>(w.pool, 'latchkey.secret.changed.');
  assert.deepEqual(events.at(-1)?.data, {
    scope: 'analytics',
    key: 'db_password',
    source: 'MANAGED',
    version: 3,
    change: 'updated',
    by: 'max',
  });
  const audit = (await outboxRows<AuditRecord>(w.pool, 'latchkey.audit.')).find(
    (a) => a.data.action === 'secret.rollback',
  );
  assert.equal(audit?.data.reason, 'version 3 updated with the value of version 1');
  assert.equal(audit?.data.requestId, 'req-rb');
  const listed = await w.svc.versions.list('max', analytics, 'db_password');
  assert.deepEqual(
    listed.versions.map((v) => [v.version, v.rolledBackFrom]),
    [
      [3, 1],
      [2, null],
      [1, null],
    ],
  );
  const outbox = await w.pool.query<{ row: string }>('SELECT t::text AS row FROM outbox t');
  assert.ok(!outbox.rows.some((r) => r.row.includes(canary)), 'no value in any event');
});

test('rollback refuses a bad, missing, current or disabled version with what to do, and adds nothing', async (t) => {
  const w = await world(t);
  await put(w.svc, 'db_password', 'value-first');
  await put(w.svc, 'db_password', 'value-second');
  const cases: [number, string, RegExp][] = [
    [0, 'secret.invalid_version', /give a whole number from 1 up/],
    [1.5, 'secret.invalid_version', /give a whole number from 1 up/],
    [
      9,
      'secret.version_not_found',
      /has no version 9: the kept versions are 2, 1 \(latchkey secret versions db_password --domain analytics\)/,
    ],
    [2, 'secret.rollback_to_current', /version 2 is the current version already/],
  ];
  for (const [to, code, message] of cases) {
    const err = await rejection(
      w.svc.versions.rollback('max', { scope: analytics, key: 'db_password', toVersion: to }),
    );
    assert.equal(err.code, code, `--to ${to}`);
    assert.match(err.message, message);
  }
  await w.svc.versions.setDisabled('max', { scope: analytics, key: 'db_password', version: 1, disabled: true });
  const disabled = await rejection(
    w.svc.versions.rollback('max', { scope: analytics, key: 'db_password', toVersion: 1 }),
  );
  assert.equal(disabled.code, 'secret.version_disabled');
  assert.match(disabled.message, /enable it \(latchkey secret enable db_password --domain analytics --version 1\)/);
  assert.equal((await w.svc.versions.list('max', analytics, 'db_password')).meta.version, 2, 'no version was added');
});

test('a disabled current version is kept but not resolved (secret.version_disabled); enabled again, it resolves', async (t) => {
  const w = await world(t);
  await put(w.svc, 'db_password', 'value-first');
  await put(w.svc, 'db_password', 'value-second');
  const off = await w.svc.versions.setDisabled('max', {
    scope: analytics,
    key: 'db_password',
    version: 2,
    disabled: true,
    requestId: 'req-off',
  });
  assert.equal(off.current, true);
  assert.ok(off.disabledAt instanceof Date);
  assert.equal(off.disabledBy, 'max');
  const [read] = await w.svc.readValues([ref('db_password')]);
  const [found] = await w.svc.findKeys([ref('db_password')]);
  for (const a of [read, found]) {
    assert.equal(a?.found, false);
    assert.equal(a && !a.found ? a.code : '', 'secret.version_disabled');
    assert.match(a && !a.found ? a.message : '', /version 2 is disabled: enable it/);
  }
  assert.deepEqual(await storedValues(w.pool, 'db_password'), [1, 2], 'a disabled version is kept');
  const listed = await w.svc.versions.list('max', analytics, 'db_password');
  assert.deepEqual(
    listed.versions.map((v) => [v.version, v.disabledAt === null]),
    [
      [2, false],
      [1, true],
    ],
  );
  const on = await w.svc.versions.setDisabled('max', {
    scope: analytics,
    key: 'db_password',
    version: 2,
    disabled: false,
  });
  assert.equal(on.disabledAt, null);
  const [again] = await w.svc.readValues([ref('db_password')]);
  assert.equal(again?.found, true);
  const missing = await rejection(
    w.svc.versions.setDisabled('max', { scope: analytics, key: 'db_password', version: 7, disabled: true }),
  );
  assert.equal(missing.code, 'secret.version_not_found');
  const audits = (await outboxRows<AuditRecord>(w.pool, 'latchkey.audit.')).map((a) => [a.data.action, a.data.reason]);
  assert.deepEqual(
    audits.filter(([action]) => action === 'secret.disable' || action === 'secret.enable'),
    [
      ['secret.disable', 'version 2 disabled'],
      ['secret.enable', 'version 2 enabled'],
    ],
  );
});

test('only the newest N versions are kept: a put destroys older ones in the backend; the sweep prunes versions kept from before', async (t) => {
  const w = await world(t, 3);
  for (const n of [1, 2, 3, 4, 5]) await put(w.svc, 'busy', `value-busy-${n}`);
  const listed = await w.svc.versions.list('max', analytics, 'busy');
  assert.deepEqual(
    listed.versions.map((v) => v.version),
    [5, 4, 3],
  );
  assert.equal(listed.kept, 3);
  assert.deepEqual(await storedValues(w.pool, 'busy'), [3, 4, 5], 'older values destroyed in the backend');
  const gone = await rejection(w.svc.versions.rollback('max', { scope: analytics, key: 'busy', toVersion: 1 }));
  assert.equal(gone.code, 'secret.version_not_found');

  // Versions from an installation that kept more (or from before this catalog pruned): the sweep's.
  const sweep = await w.retention(2).sweepOnce();
  assert.equal(sweep?.queued, 1);
  assert.equal(sweep?.destroyed, 1);
  assert.deepEqual(await storedValues(w.pool, 'busy'), [4, 5]);
  const { rows } = await w.pool.query('SELECT 1 FROM secret_destructions');
  assert.equal(rows.length, 0);
});

test('a denied principal lists, rolls back, disables and enables nothing', async (t) => {
  const w = await world(t);
  await put(w.svc, 'db_password', 'value-first');
  await put(w.svc, 'db_password', 'value-second');
  const denied = new SecretService({
    store: new PostgresSecretStore(w.pool),
    authorizer: new FakeAuthorizer(deny('mallory may not see or change secrets here')),
    backend: w.backend,

    onChange: () => undefined,
  });
  const attempts = [
    denied.versions.list('mallory', analytics, 'db_password'),
    denied.versions.rollback('mallory', { scope: analytics, key: 'db_password', toVersion: 1 }),
    denied.versions.setDisabled('mallory', { scope: analytics, key: 'db_password', version: 2, disabled: true }),
    denied.versions.setDisabled('mallory', { scope: analytics, key: 'db_password', version: 2, disabled: false }),
  ];
  for (const p of attempts) assert.equal((await rejection(p)).code, 'ras.permission_denied');
  const listed = await w.svc.versions.list('max', analytics, 'db_password');
  assert.deepEqual(
    listed.versions.map((v) => [v.version, v.disabledAt]),
    [
      [2, null],
      [1, null],
    ],
  );
});
