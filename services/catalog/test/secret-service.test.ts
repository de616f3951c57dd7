import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import type { LatchkeyError } from '@latchkey/errors';
import type { Pool } from '@latchkey/db';
import { eventTypes, subjects, type AuditRecord, type SecretChanged } from '@latchkey/events';
import type { Authorizer } from '@latchkey/authz';
import { deny, FakeAuthorizer } from '@latchkey/testing';
import type { PostgresSecretStore } from '../src/adapters/postgres-secret-store.js';
import { SecretService, type SecretServiceDeps } from '../src/domain/secrets/secret-service.js';
import { databaseCatalog, outboxRows, usePostgres } from './support.js';
import { dumpAllTables } from './table-dump.js';

const postgres = usePostgres();

const allowAll = () => new FakeAuthorizer();
const denyAll = () => new FakeAuthorizer(deny('bob may not manage secrets here'));

interface Catalog {
  pool: Pool;
  store: PostgresSecretStore;
  service(authorizer: Authorizer, extra?: Partial<SecretServiceDeps>): SecretService;
}

/** A fresh migrated database with the secret store over it, closed when the test ends. */
async function catalog(t: TestContext): Promise<Catalog> {
  const { pool, store, backend } = await databaseCatalog(t, postgres(), { prefix: 'catalog', poolSize: 20 });
  return {
    pool,
    store,
    service: (authorizer, extra = {}) =>
      new SecretService({
        store,
        authorizer,
        backend,
        onChange: () => undefined,
        ...extra,
      }),
  };
}

const domain = (name: string) => ({ domain: name, global: false });
const GLOBAL_SCOPE = { domain: '', global: true };

function put(svc: SecretService, scope: { domain: string; global: boolean }, key: string, value: string) {
  return svc.put('admin', { scope, key, value: Buffer.from(value), description: '' });
}

const changedEvents = (pool: Pool) => outboxRows<SecretChanged>(pool, 'latchkey.secret.changed.');

/** The audit records the outbox holds, oldest first. */
async function auditRecords(pool: Pool): Promise<{ subject: string; data: AuditRecord }[]> {
  const { rows } = await pool.query<{ subject: string; data: AuditRecord }>(
    "SELECT subject, data FROM outbox WHERE subject LIKE 'latchkey.audit.%' ORDER BY seq",
  );
  return rows;
}

test('20 concurrent puts of one key produce versions 1..20 once each and 20 secret.changed events; the newest 10 are kept', async (t) => {
  const c = await catalog(t);
  const svc = c.service(allowAll());
  // Open every connection first, so that the 20 transactions really overlap.
  const warm = await Promise.all(Array.from({ length: 20 }, () => c.pool.connect()));
  for (const client of warm) client.release();
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => put(svc, domain('analytics'), 'db_password', `value-${i}`)),
  );
  const expected = Array.from({ length: 20 }, (_, i) => i + 1);
  assert.deepEqual(
    results.map((r) => r.meta.version).sort((a, b) => a - b),
    expected,
  );

  const { rows } = await c.pool.query<{ version: number }>(
    `SELECT version FROM secret_versions WHERE scope = 'analytics' AND key = 'db_password' ORDER BY version`,
  );
  assert.deepEqual(
    rows.map((r) => r.version),
    expected.slice(10),
  );
  // The older ten wait for destruction (this service has no retention wired to destroy them at once).
  const { rows: queued } = await c.pool.query<{ version: number }>(
    `SELECT version FROM secret_destructions WHERE scope = 'analytics' AND key = 'db_password' ORDER BY version`,
  );
  assert.deepEqual(
    queued.map((r) => r.version),
    expected.slice(0, 10),
  );
  const events = await changedEvents(c.pool);
  assert.equal(events.length, 20);
  assert.deepEqual(
    events.map((e) => e.data.version).sort((a, b) => a - b),
    expected,
  );
  for (const e of events) {
    assert.equal(e.type, eventTypes.secretChanged);
    assert.equal(e.subject, subjects.secretChanged('analytics'));
    assert.equal(e.data.key, 'db_password');
  }
  // Only the first version is a creation; every later one is an update, in the result and in the event.
  const changeOf = (v: number) => (v === 1 ? 'created' : 'updated');
  for (const r of results) assert.equal(r.change, changeOf(r.meta.version), `change of version ${r.meta.version}`);
  for (const e of events) assert.equal(e.data.change, changeOf(e.data.version), `event of version ${e.data.version}`);
  const current = await svc.readValues([
    { refId: 'r', key: 'db_password', scope: 'analytics', fallbackToGlobal: false },
  ]);
  assert.equal(current[0]?.found && current[0].version, 20);
});

test('a value appears in no row of any table: not as text, base64 or hex', async (t) => {
  const c = await catalog(t);
  const svc = c.service(allowAll());
  const canary = `canary-${randomBytes(12).toString('hex')}`;
  await put(svc, domain('analytics'), 'db_password', canary);
  await put(svc, domain('analytics'), 'db_password', canary);
  await put(svc, GLOBAL_SCOPE, 'db_password', canary);
  await svc.delete('admin', domain('analytics'), 'db_password', false, undefined, 0);
  await put(svc, domain('analytics'), 'db_password', canary);

  const dump = await dumpAllTables(c.pool);
  assert.match(dump, /db_password/, 'the dump holds the secrets');
  const forms = {
    text: canary,
    base64: Buffer.from(canary).toString('base64'),
    base64url: Buffer.from(canary).toString('base64url'),
    // bytea columns print as \x<hex>, so this also catches a plaintext bytea.
    hex: Buffer.from(canary).toString('hex'),
  };
  for (const [form, s] of Object.entries(forms)) {
    assert.ok(!dump.includes(s), `the value appears in the database as ${form}`);
    assert.ok(!dump.toLowerCase().includes(s.toLowerCase()), `the value appears in the database as ${form}`);
  }
});

test('readValues answers the current version of each key and decrypts it', async (t) => {
  const c = await catalog(t);
  const svc = c.service(allowAll());
  await put(svc, domain('analytics'), 'db_password', 'first');
  await put(svc, domain('analytics'), 'db_password', 'second');
  await put(svc, domain('analytics'), 'api_token', 'tok-1');
  const answers = await svc.readValues([
    { refId: 'a', key: 'db_password', scope: 'analytics', fallbackToGlobal: false },
    { refId: 'b', key: 'api_token', scope: 'analytics', fallbackToGlobal: false },
  ]);
  assert.deepEqual(answers, [
    { refId: 'a', found: true, scope: 'analytics', version: 2, value: Buffer.from('second') },
    { refId: 'b', found: true, scope: 'analytics', version: 1, value: Buffer.from('tok-1') },
  ]);
});

test('a legacy read answers from the domain first, then global scope, and says which scope answered', async (t) => {
  const c = await catalog(t);
  const svc = c.service(allowAll());
  const legacy = (scope: string) => ({
    refId: `LEGACY:api_token@${scope}`,
    key: 'api_token',
    scope,
    fallbackToGlobal: true,
  });

  await put(svc, GLOBAL_SCOPE, 'api_token', 'global-value');
  const [fromGlobal] = await svc.readValues([legacy('analytics')]);
  assert.deepEqual(fromGlobal, {
    refId: 'LEGACY:api_token@analytics',
    found: true,
    scope: 'global',
    version: 1,
    value: Buffer.from('global-value'),
  });

  await put(svc, domain('analytics'), 'api_token', 'analytics-value');
  const [fromDomain, otherDomain] = await svc.readValues([legacy('analytics'), legacy('finance')]);
  assert.deepEqual(fromDomain, {
    refId: 'LEGACY:api_token@analytics',
    found: true,
    scope: 'analytics',
    version: 1,
    value: Buffer.from('analytics-value'),
    shadowedGlobal: true,
  });
  assert.equal(otherDomain?.found && otherDomain.scope, 'global', 'another domain still falls back to global');
  assert.ok(otherDomain?.found && !('shadowedGlobal' in otherDomain), 'a global answer shadows nothing');
  // A structured reference to the domain key names its scope: nothing is shadowed.
  const [structured] = await svc.readValues([
    { refId: 's', key: 'api_token', scope: 'analytics', fallbackToGlobal: false },
  ]);
  assert.ok(structured?.found && !('shadowedGlobal' in structured));

  // Without the fallback, a domain read never sees global scope.
  const [strict] = await svc.readValues([{ refId: 's', key: 'api_token', scope: 'finance', fallbackToGlobal: false }]);
  assert.equal(strict?.found, false);
});

test('a read of a missing key answers found=false with secret.not_found and no value in the message', async (t) => {
  const c = await catalog(t);
  const svc = c.service(allowAll());
  const value = `v-${randomBytes(8).toString('hex')}`;
  await put(svc, domain('analytics'), 'db_password', value);
  await put(svc, GLOBAL_SCOPE, 'other_key', value);
  const [missing, legacyMissing] = await svc.readValues([
    { refId: 'm', key: 'nope', scope: 'analytics', fallbackToGlobal: false },
    { refId: 'l', key: 'also_nope', scope: 'analytics', fallbackToGlobal: true },
  ]);
  assert.ok(missing && !missing.found);
  assert.equal(missing.code, 'secret.not_found');
  assert.match(missing.message, /nope/);
  assert.ok(legacyMissing && !legacyMissing.found);
  assert.equal(legacyMissing.code, 'secret.not_found');
  assert.match(legacyMissing.message, /domain analytics or global scope/);
  for (const a of [missing, legacyMissing]) {
    assert.ok(!JSON.stringify(a).includes(value), 'no value in a not-found answer');
    assert.ok(!('value' in a));
  }
});

test('delete then put continues the version numbering and records the change as created', async (t) => {
  const c = await catalog(t);
  const svc = c.service(allowAll());
  await put(svc, domain('analytics'), 'db_password', 'one-1');
  await put(svc, domain('analytics'), 'db_password', 'two-2');
  // No recovery window: the values go now (secret-recovery.test.ts holds the window).
  const { deleted } = await svc.delete('admin', domain('analytics'), 'db_password', false, undefined, 0);
  assert.equal(deleted.version, 2);
  const { rows: left } = await c.pool.query(`SELECT 1 FROM secret_versions WHERE key = 'db_password'`);
  assert.equal(left.length, 0, 'a delete removes the values');
  assert.deepEqual(await svc.list('admin', domain('analytics')), []);
  const [gone] = await svc.readValues([
    { refId: 'g', key: 'db_password', scope: 'analytics', fallbackToGlobal: false },
  ]);
  assert.equal(gone?.found, false);

  const again = await put(svc, domain('analytics'), 'db_password', 'three-3');
  assert.equal(again.meta.version, 3);
  assert.equal(again.change, 'created');
  const events = await changedEvents(c.pool);
  assert.deepEqual(
    events.map((e) => [e.data.change, e.data.version]),
    [
      ['created', 1],
      ['updated', 2],
      ['deleted', 2],
      ['created', 3],
    ],
  );
  assert.equal(new Set(events.map((e) => e.id)).size, 4, 'each change has its own event id');
  const [now] = await svc.readValues([{ refId: 'n', key: 'db_password', scope: 'analytics', fallbackToGlobal: false }]);
  assert.deepEqual(now, { refId: 'n', found: true, scope: 'analytics', version: 3, value: Buffer.from('three-3') });
});

test('a denied principal changes nothing: no secret rows, no versions, no events', async (t) => {
  const c = await catalog(t);
  const deny = denyAll();
  const denied = c.service(deny);
  const counts = async () => {
    const r = await c.pool.query<{ secrets: number; versions: number; outbox: number }>(
      `SELECT (SELECT count(*) FROM secrets)::int AS secrets, (SELECT count(*) FROM secret_versions)::int AS versions,
              (SELECT count(*) FROM outbox)::int AS outbox`,
    );
    return r.rows[0];
  };

  await assert.rejects(
    denied.put('bob', { scope: domain('finance'), key: 'db_password', value: Buffer.from('x-value'), description: '' }),
    { code: 'ras.permission_denied', kind: 'permission_denied' },
  );
  assert.deepEqual(await counts(), { secrets: 0, versions: 0, outbox: 0 });
  assert.deepEqual(deny.asked, [
    { principal: 'bob', action: 'secret.manage', domain: 'finance', resource: 'db_password' },
  ]);

  // An existing secret survives a denied update and a denied delete untouched.
  await put(c.service(allowAll()), domain('finance'), 'db_password', 'kept');
  const before = await counts();
  await assert.rejects(
    denied.put('bob', { scope: domain('finance'), key: 'db_password', value: Buffer.from('y-value'), description: '' }),
    { code: 'ras.permission_denied' },
  );
  await assert.rejects(denied.delete('bob', domain('finance'), 'db_password'), { code: 'ras.permission_denied' });
  await assert.rejects(denied.list('bob', domain('finance')), { code: 'ras.permission_denied' });
  assert.deepEqual(await counts(), before);
  const [still] = await c
    .service(allowAll())
    .readValues([{ refId: 'k', key: 'db_password', scope: 'finance', fallbackToGlobal: false }]);
  assert.deepEqual(still, { refId: 'k', found: true, scope: 'finance', version: 1, value: Buffer.from('kept') });
});

test('a managed value shorter than 4 bytes is refused before anything is asked or stored; 4 bytes is enough', async (t) => {
  const c = await catalog(t);
  const authorizer = allowAll();
  const svc = c.service(authorizer);
  for (const short of ['Q', 'Qz', 'Qz9', 'é']) {
    await assert.rejects(put(svc, domain('analytics'), 'pin', short), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'secret.value_too_short');
      assert.match(
        err.message,
        new RegExp(`is ${Buffer.byteLength(short)} byte\\(s\\); managed values need at least 4`),
      );
      assert.match(err.message, /cannot be redacted/);
      assert.ok(!err.message.includes(short), 'the value is not in the message');
      return true;
    });
  }
  assert.deepEqual(authorizer.asked, [], 'refused before ras was asked');
  const { rows } = await c.pool.query('SELECT 1 FROM secrets');
  assert.equal(rows.length, 0, 'nothing was stored');
  const ok = await put(svc, domain('analytics'), 'pin', '1234');
  assert.equal(ok.meta.version, 1);
});

test('findKeys answers which keys exist, the scope and version that would answer, and never reads a value', async (t) => {
  const c = await catalog(t);
  const svc = c.service(allowAll());
  await put(svc, GLOBAL_SCOPE, 'shared', 'global-value');
  await put(svc, domain('analytics'), 'shared', 'domain-value');
  await put(svc, domain('analytics'), 'db_password', 'v1-value');
  await put(svc, domain('analytics'), 'db_password', 'v2-value');
  await put(svc, GLOBAL_SCOPE, 'only_global', 'g-value');
  // A value the backend could not decrypt: findKeys answers from metadata alone.
  await c.pool.query('UPDATE secret_values SET ciphertext = $1', [Buffer.from('not-a-ciphertext')]);

  const answers = await svc.findKeys([
    { refId: 'structured', key: 'db_password', scope: 'analytics', fallbackToGlobal: false },
    { refId: 'legacy-shadowing', key: 'shared', scope: 'analytics', fallbackToGlobal: true },
    { refId: 'legacy-global', key: 'only_global', scope: 'analytics', fallbackToGlobal: true },
    { refId: 'missing', key: 'absent', scope: 'analytics', fallbackToGlobal: true },
    { refId: 'other-domain', key: 'db_password', scope: 'finance', fallbackToGlobal: false },
    { refId: 'vault', key: 'k', scope: 'analytics', fallbackToGlobal: false, sourceType: 'VAULT', integrationId: 'x' },
  ]);
  assert.deepEqual(answers, [
    { refId: 'structured', found: true, scope: 'analytics', version: 2 },
    { refId: 'legacy-shadowing', found: true, scope: 'analytics', version: 1, shadowedGlobal: true },
    { refId: 'legacy-global', found: true, scope: 'global', version: 1 },
    {
      refId: 'missing',
      found: false,
      code: 'secret.not_found',
      message: 'secret absent not found in domain analytics or global scope',
    },
    {
      refId: 'other-domain',
      found: false,
      code: 'secret.not_found',
      message: 'secret db_password not found in domain finance',
    },
    {
      refId: 'vault',
      found: false,
      code: 'source.unsupported',
      message: 'reference k: this catalog has no Vault integrations configured',
    },
  ]);
});

test('a put and a delete each write their audit record in the change transaction: who, which key and version, the request id, never the value', async (t) => {
  const c = await catalog(t);
  const authorizer = allowAll();
  const svc = c.service(authorizer);
  const canary = `canary-${randomBytes(12).toString('hex')}`;
  await svc.put('olive', {
    scope: domain('analytics'),
    key: 'db_password',
    value: Buffer.from(canary),
    description: 'warehouse',
    requestId: 'req-put',
  });
  await svc.put('admin', { scope: GLOBAL_SCOPE, key: 'shared', value: Buffer.from(`${canary}-g`), description: '' });
  await svc.delete('olive', domain('analytics'), 'db_password', false, 'req-delete', 0);

  const records = await auditRecords(c.pool);
  assert.deepEqual(
    records.map((r) => [r.subject, r.data.actor, r.data.action, r.data.domain, r.data.resource, r.data.outcome]),
    [
      ['latchkey.audit.catalog.analytics', 'olive', 'secret.put', 'analytics', 'secret:db_password', 'ok'],
      ['latchkey.audit.catalog.global', 'admin', 'secret.put', 'global', 'secret:shared', 'ok'],
      ['latchkey.audit.catalog.analytics', 'olive', 'secret.delete', 'analytics', 'secret:db_password', 'ok'],
    ],
  );
  assert.deepEqual(
    records.map((r) => [r.data.service, r.data.reason, r.data.requestId]),
    [
      ['catalog', 'version 1 created', 'req-put'],
      ['catalog', 'version 1 created', ''],
      ['catalog', 'version 1 deleted, values destroyed', 'req-delete'],
    ],
  );
  // ras hears the same request ids, for the records of its decisions.
  assert.deepEqual(
    authorizer.asked.map((q) => q.requestId),
    ['req-put', undefined, 'req-delete'],
  );
  for (const r of records) assert.ok(!JSON.stringify(r).includes(canary), 'no value in an audit record');
  // A put whose value cannot be written leaves neither the version nor its record.
  const failing = new SecretService({
    store: c.store,
    authorizer,
    backend: {
      kind: 'database',
      write: () => Promise.reject(new Error('backend down')),
      read: () => Promise.resolve(undefined),
      remove: () => Promise.resolve(),
      destroyVersions: () => Promise.resolve(),
    },
    onChange: () => undefined,
  });
  await assert.rejects(
    failing.put('olive', { scope: domain('analytics'), key: 'api_token', value: Buffer.from(canary), description: '' }),
    /while storing a secret/,
  );
  assert.equal((await auditRecords(c.pool)).length, 3);
});

const resolver = { actor: 'service:resolver', requestId: 'req-read-1' };

test('an internal value read is recorded before the values are returned: one record per scope read, keys and versions, never a value', async (t) => {
  const c = await catalog(t);
  const svc = c.service(allowAll());
  const canary = `canary-${randomBytes(12).toString('hex')}`;
  await put(svc, domain('analytics'), 'db_password', `${canary}-1`);
  await put(svc, GLOBAL_SCOPE, 'api_token', `${canary}-2`);
  const before = (await auditRecords(c.pool)).length;
  const answers = await svc.readValues(
    [
      { refId: 'a', key: 'db_password', scope: 'analytics', fallbackToGlobal: false },
      { refId: 'b', key: 'api_token', scope: 'analytics', fallbackToGlobal: true },
      { refId: 'c', key: 'missing', scope: 'analytics', fallbackToGlobal: false },
    ],
    resolver,
  );
  assert.equal(answers.filter((a) => a.found).length, 2);
  const records = (await auditRecords(c.pool)).slice(before);
  assert.deepEqual(
    records.map((r) => [
      r.subject,
      r.data.actor,
      r.data.action,
      r.data.domain,
      r.data.resource,
      r.data.outcome,
      r.data.requestId,
    ]),
    [
      [
        'latchkey.audit.catalog.analytics',
        'service:resolver',
        'secret.read',
        'analytics',
        'MANAGED:analytics/db_password@v1',
        'ok',
        'req-read-1',
      ],
      [
        'latchkey.audit.catalog.global',
        'service:resolver',
        'secret.read',
        'global',
        'MANAGED:global/api_token@v1',
        'ok',
        'req-read-1',
      ],
    ],
  );
  assert.ok(!JSON.stringify(records).includes(canary), 'no value in a record');
});

test('audit fail-closed: when the record of an internal value read cannot be written, the read is refused with audit.unavailable; fail-open serves it, logged', async (t) => {
  const c = await catalog(t);
  const warnings: string[] = [];
  const logger = { warn: (msg: string) => void warnings.push(msg) };
  const closed = c.service(allowAll(), { auditFailClosed: true, logger });
  const canary = `canary-${randomBytes(12).toString('hex')}`;
  await put(closed, domain('analytics'), 'db_password', canary);
  // The outbox cannot be written (as when the write fails): the read itself still can be done.
  await c.pool.query('ALTER TABLE outbox RENAME TO outbox_gone');
  const q = [{ refId: 'a', key: 'db_password', scope: 'analytics', fallbackToGlobal: false }];
  await assert.rejects(closed.readValues(q, resolver), (err: LatchkeyError) => {
    assert.equal(err.code, 'audit.unavailable');
    assert.equal(err.retryable, false);
    assert.match(
      err.message,
      /values not served: the audit record of this read could not be written and audit\.failClosed is on/,
    );
    assert.ok(!err.message.includes(canary));
    return true;
  });
  assert.deepEqual(warnings, ['audit record of a value read not written: read refused (audit.failClosed)']);

  const open = c.service(allowAll(), { logger });
  const [served] = await open.readValues(q, resolver);
  assert.ok(served?.found && served.value.toString() === canary, 'fail-open serves it');
  assert.equal(
    warnings.at(-1),
    'audit record of a value read not written: values served unaudited (audit.failClosed is off)',
  );
});
