import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { createPool, type Pool } from '@latchkey/db';
import { eventTypes, PeriodicTask, subjects, type AuditRecord, type SecretRotationDue } from '@latchkey/events';
import { silentLogger } from '@latchkey/logger';
import { deny, FakeAuthorizer, waitFor } from '@latchkey/testing';
import { DatabaseValueBackend } from '../src/adapters/database-value-backend.js';
import { postgresExclusive } from '../src/adapters/postgres-exclusive.js';
import { PostgresSecretStore } from '../src/adapters/postgres-secret-store.js';
import type { Exclusive, VaultIntegrationRepo, VaultSources } from '../src/domain/ports.js';
import { RotationSweep } from '../src/domain/rotation/rotation-sweep.js';
import { SecretService } from '../src/domain/secrets/secret-service.js';
import { CatalogViewService } from '../src/domain/views/catalog-view-service.js';
import { databaseCatalog, kekRing, noDependents, outboxRows, quiet, rejection, usePostgres } from './support.js';

const DAY_MS = 86_400_000;

const postgres = usePostgres();

/** A clock the test moves: starts at the real time (versions are stamped by PostgreSQL's clock). */
class TestClock {
  #at = Date.now();
  now = (): Date => new Date(this.#at);
  advanceDays(days: number): void {
    this.#at += days * DAY_MS;
  }
}

interface World {
  url: string;
  pool: Pool;
  store: PostgresSecretStore;
  authorizer: FakeAuthorizer;
  secrets: SecretService;
  clock: TestClock;
  views: CatalogViewService;
  /** A sweeper as one replica runs it: its own pool (connection), the advisory lock unless told otherwise. */
  sweeper(opts?: { exclusive?: Exclusive; pool?: Pool }): RotationSweep;
}

async function world(t: TestContext): Promise<World> {
  const { url, pool, store, backend } = await databaseCatalog(t, postgres(), { prefix: 'rotation' });
  const authorizer = new FakeAuthorizer();
  const clock = new TestClock();
  return {
    url,
    pool,
    store,
    authorizer,
    clock,
    secrets: new SecretService({ store, authorizer, backend, onChange: () => undefined }),
    views: new CatalogViewService({
      store,
      integrations: { list: async () => [] } satisfies Pick<VaultIntegrationRepo, 'list'>,
      sources: {} as VaultSources,
      dependents: noDependents,
      authorizer,
      backend: 'database',
      now: clock.now,
    }),
    sweeper: (opts = {}) => {
      const p = opts.pool ?? pool;
      return new RotationSweep({
        store: p === pool ? store : new PostgresSecretStore(p),
        exclusive: opts.exclusive ?? postgresExclusive(p),
        now: clock.now,
        logger: quiet,
        onChange: () => undefined,
      });
    },
  };
}

const analytics = { domain: 'analytics', global: false };

function put(w: World, key: string, value: string, rotateEvery?: string, scope = analytics) {
  return w.secrets.put('alice', {
    scope,
    key,
    value: Buffer.from(value),
    description: '',
    ...(rotateEvery === undefined ? {} : { rotateEvery }),
  });
}

/** Makes a version `days` old, as if it had been put then (PostgreSQL stamps versions with its own clock). */
async function backdate(w: World, key: string, version: number, days: number): Promise<void> {
  const r = await w.pool.query(
    `UPDATE secret_versions SET created_at = now() - make_interval(days => $3) WHERE scope = 'analytics' AND key = $1 AND version = $2`,
    [key, version, days],
  );
  assert.equal(r.rowCount, 1);
}

const dueEvents = (pool: Pool) => outboxRows<SecretRotationDue>(pool, 'latchkey.secret.rotation_due.');

/** `n` secrets of analytics with a one-day policy whose version 1 is two days old. */
async function seedDue(w: World, n: number): Promise<void> {
  await w.pool.query(
    `INSERT INTO secrets (scope, key, current_version, updated_by, rotate_every_seconds)
     SELECT 'analytics', 'k' || i, 1, 'seed', 86400 FROM generate_series(1, $1) i`,
    [n],
  );
  await w.pool.query(
    `INSERT INTO secret_versions (scope, key, version, created_by, created_at)
     SELECT 'analytics', 'k' || i, 1, 'seed', now() - interval '2 days' FROM generate_series(1, $1) i`,
    [n],
  );
}

describe('the rotation sweep', () => {
  test('a version older than its policy is announced once with its key, scope, version and due time; never its value', async (t) => {
    const w = await world(t);
    const canary = 'canary-value-7f3a91';
    const { meta } = await put(w, 'db_password', canary, '90d');
    await put(w, 'no_policy', 'other-value');
    const sweep = w.sweeper();

    w.clock.advanceDays(89);
    assert.deepEqual(await sweep.sweepOnce(), [], 'not due after 89 days');
    assert.equal((await dueEvents(w.pool)).length, 0);

    w.clock.advanceDays(2);
    const announced = await sweep.sweepOnce();
    assert.deepEqual(
      announced?.map((d) => [d.scope, d.key, d.version]),
      [['analytics', 'db_password', 1]],
    );
    const events = await dueEvents(w.pool);
    assert.equal(events.length, 1);
    const [ev] = events;
    const dueSince = new Date(meta.versionCreatedAt.getTime() + 90 * DAY_MS).toISOString();
    assert.equal(ev?.id, 'secret.rotation_due:analytics/db_password/1');
    assert.equal(ev?.type, eventTypes.secretRotationDue);
    assert.equal(ev?.subject, subjects.secretRotationDue('analytics'));
    assert.equal(ev?.subject, 'latchkey.secret.rotation_due.analytics');
    assert.deepEqual(ev?.data, {
      scope: 'analytics',
      domain: 'analytics',
      key: 'db_password',
      source: 'MANAGED',
      version: 1,
      rotateEvery: '90d',
      versionCreatedAt: meta.versionCreatedAt.toISOString(),
      dueSince,
    });
    const { rows } = await w.pool.query<{ t: string }>(
      `SELECT string_agg(x::text, E'\\n') AS t FROM (
         SELECT to_jsonb(o) AS x FROM outbox o UNION ALL SELECT to_jsonb(r) FROM rotation_due r) q`,
    );
    assert.ok(!(rows[0]?.t ?? '').includes(canary), 'the value is in no event and no rotation row');

    // The next day's sweep, and one a year later: the same version is not announced again.
    w.clock.advanceDays(1);
    assert.deepEqual(await sweep.sweepOnce(), []);
    w.clock.advanceDays(365);
    assert.deepEqual(await sweep.sweepOnce(), []);
    assert.equal((await dueEvents(w.pool)).length, 1);
  });

  test('a secret rotated in time is not announced; its new version is, once it grows old', async (t) => {
    const w = await world(t);
    await put(w, 'api_token', 'first-value', '90d');
    await backdate(w, 'api_token', 1, 80);
    const sweep = w.sweeper();
    assert.deepEqual(await sweep.sweepOnce(), [], 'version 1 is 80 days old');

    await put(w, 'api_token', 'second-value'); // the rotation, on day 80; the policy stays
    w.clock.advanceDays(20); // version 1 would be 100 days old now; version 2 is 20
    assert.deepEqual(await sweep.sweepOnce(), []);
    assert.equal((await dueEvents(w.pool)).length, 0);

    w.clock.advanceDays(71); // version 2: 91 days
    const announced = await sweep.sweepOnce();
    assert.deepEqual(
      announced?.map((d) => [d.key, d.version]),
      [['api_token', 2]],
    );
    assert.deepEqual(
      (await dueEvents(w.pool)).map((e) => e.id),
      ['secret.rotation_due:analytics/api_token/2'],
    );
  });

  test('a rotation after the announcement starts over: the new version is announced when it, too, is due', async (t) => {
    const w = await world(t);
    await put(w, 'k', 'value-one', '30d');
    await backdate(w, 'k', 1, 31);
    const sweep = w.sweeper();
    assert.equal((await sweep.sweepOnce())?.length, 1);
    await put(w, 'k', 'value-two');
    assert.deepEqual(await sweep.sweepOnce(), [], 'version 2 is new');
    w.clock.advanceDays(31);
    assert.deepEqual(
      (await sweep.sweepOnce())?.map((d) => d.version),
      [2],
    );
    assert.deepEqual(
      (await dueEvents(w.pool)).map((e) => e.data.version),
      [1, 2],
    );
  });

  test('what was announced is kept only while it is current: a new version or a delete removes it', async (t) => {
    const w = await world(t);
    const recorded = async () =>
      (
        await w.pool.query<{ key: string; version: number }>(
          'SELECT key, version FROM rotation_due ORDER BY key, version',
        )
      ).rows.map((r) => [r.key, r.version]);
    await put(w, 'k', 'value-one', '30d');
    await put(w, 'other', 'other-one', '30d');
    await backdate(w, 'k', 1, 31);
    await backdate(w, 'other', 1, 31);
    const sweep = w.sweeper();
    assert.equal((await sweep.sweepOnce())?.length, 2);
    assert.deepEqual(await recorded(), [
      ['k', 1],
      ['other', 1],
    ]);
    await put(w, 'k', 'value-two');
    assert.deepEqual(await recorded(), [['other', 1]], "k's version 1 is no longer current");
    await w.secrets.delete('alice', analytics, 'other');
    assert.deepEqual(await recorded(), []);
    assert.deepEqual(await sweep.sweepOnce(), [], 'nothing announced again');
  });

  test('a changed policy judges the current version afresh; the same policy set again announces nothing twice', async (t) => {
    const w = await world(t);
    await put(w, 'k', 'value-one', '30d');
    await backdate(w, 'k', 1, 31);
    const sweep = w.sweeper();
    assert.deepEqual(
      (await sweep.sweepOnce())?.map((d) => d.version),
      [1],
    );
    await w.secrets.setRotationPolicy('alice', { scope: analytics, key: 'k', rotateEvery: '30d' });
    assert.deepEqual(await sweep.sweepOnce(), [], 'the same policy: already announced');
    await w.secrets.setRotationPolicy('alice', { scope: analytics, key: 'k', rotateEvery: '60d' });
    assert.deepEqual(await sweep.sweepOnce(), [], '31 days old, not due under 60 days');
    w.clock.advanceDays(30);
    assert.deepEqual(
      (await sweep.sweepOnce())?.map((d) => d.version),
      [1],
      'due again under the new policy, and announced again',
    );
  });

  test('hours work like days; global secrets are announced on the global subject; deleted ones never', async (t) => {
    const w = await world(t);
    await put(w, 'shared', 'shared-value', '36h', { domain: '', global: true });
    await put(w, 'gone', 'gone-value', '1d');
    await w.secrets.delete('alice', analytics, 'gone');
    const sweep = w.sweeper();
    w.clock.advanceDays(1);
    assert.deepEqual(await sweep.sweepOnce(), [], '24 of 36 hours');
    w.clock.advanceDays(1);
    assert.deepEqual(
      ((await sweep.sweepOnce()) ?? []).map((d) => [d.scope, d.key]),
      [['global', 'shared']],
    );
    const [ev, ...more] = await dueEvents(w.pool);
    assert.equal(more.length, 0);
    assert.equal(ev?.subject, 'latchkey.secret.rotation_due.global');
    assert.equal(ev?.data.rotateEvery, '36h');
  });

  test('two replicas sweeping at once announce each due version exactly once', async (t) => {
    const w = await world(t);
    // More than one sweep transaction's worth (500), so that the sweeps overlap.
    const n = 1200;
    await seedDue(w, n);
    const replicaPools = [1, 2].map(() => createPool(w.url, undefined, 3));
    t.after(() => Promise.all(replicaPools.map((p) => p.end())));
    const [a, b] = replicaPools.map((pool) => w.sweeper({ pool }));
    const rounds = await Promise.all([a!.sweepOnce(), b!.sweepOnce()]);
    const announced = rounds.flatMap((r) => r ?? []);
    assert.equal(announced.length, n);
    const events = await dueEvents(w.pool);
    assert.equal(events.length, n);
    assert.equal(new Set(events.map((e) => e.id)).size, n);
    // Again: nothing more (a replica that found the other sweeping skipped its round).
    const again = await Promise.all([a!.sweepOnce(), b!.sweepOnce()]);
    assert.equal(again.flatMap((r) => r ?? []).length, 0);
  });

  test('without the advisory lock, four sweepers at once still announce each version once (the recorded row decides)', async (t) => {
    const w = await world(t);
    const n = 1200;
    await seedDue(w, n);
    const always: Exclusive = (_name, fn) => fn();
    const replicaPools = [1, 2, 3, 4].map(() => createPool(w.url, undefined, 2));
    t.after(() => Promise.all(replicaPools.map((p) => p.end())));
    const rounds = await Promise.all(replicaPools.map((pool) => w.sweeper({ pool, exclusive: always }).sweepOnce()));
    assert.equal(rounds.flatMap((r) => r ?? []).length, n);
    const events = await dueEvents(w.pool);
    assert.equal(events.length, n);
    assert.equal(new Set(events.map((e) => e.id)).size, n);
  });

  test('while one replica sweeps, another skips the round', async (t) => {
    const w = await world(t);
    await put(w, 'k', 'some-value', '1d');
    w.clock.advanceDays(2);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inLock = new Promise<void>((resolve) => (entered = resolve));
    // Another replica holds the sweep's lock (its function runs only once the lock is taken).
    const holder = postgresExclusive(w.pool)('latchkey.rotation_sweep', () => {
      entered();
      return held;
    });
    await inLock;
    const other = createPool(w.url, undefined, 2);
    t.after(() => other.end());
    assert.equal(await w.sweeper({ pool: other }).sweepOnce(), undefined, 'skipped');
    assert.equal((await dueEvents(w.pool)).length, 0);
    release();
    await holder;
    assert.equal((await w.sweeper({ pool: other }).sweepOnce())?.length, 1);
  });

  test('as the catalog runs it (a PeriodicTask started at 0), a sweep happens at once; stop() waits for a sweep in progress', async (t) => {
    const w = await world(t);
    await put(w, 'k', 'some-value', '1d');
    await backdate(w, 'k', 1, 2);
    const sweeper = w.sweeper();
    const sweep = new PeriodicTask({
      name: 'rotation sweep',
      intervalMs: DAY_MS,
      run: () => sweeper.sweepOnce(),
      logger: silentLogger,
    });
    sweep.start(0);
    t.after(() => sweep.stop());
    await waitFor(async () => (await dueEvents(w.pool)).length === 1, {
      what: 'the sweep at start to announce k',
      timeoutMs: 10_000,
    });
    await sweep.stop();
  });
});

describe('rotation policies', () => {
  test('put without --rotate-every keeps the policy; never removes it; a secret put again after a delete has none', async (t) => {
    const w = await world(t);
    assert.equal((await put(w, 'k', 'value-one', '90d')).meta.rotateEverySeconds, 90 * 86400);
    assert.equal((await put(w, 'k', 'value-two')).meta.rotateEverySeconds, 90 * 86400);
    assert.equal((await put(w, 'k', 'value-three', '12h')).meta.rotateEverySeconds, 12 * 3600);
    assert.equal((await put(w, 'k', 'value-four', 'never')).meta.rotateEverySeconds, null);
    await put(w, 'k', 'value-five', '30d');
    await w.secrets.delete('alice', analytics, 'k', false, undefined, 0);
    const again = await put(w, 'k', 'value-six');
    assert.equal(again.change, 'created');
    assert.equal(again.meta.rotateEverySeconds, null);
  });

  test('secret policy sets and removes a policy without a new version or secret.changed, and is audited', async (t) => {
    const w = await world(t);
    await put(w, 'k', 'value-one');
    const set = await w.secrets.setRotationPolicy('olive', {
      scope: analytics,
      key: 'k',
      rotateEvery: '60d',
      requestId: 'req-1',
    });
    assert.deepEqual([set.version, set.rotateEverySeconds, set.updatedBy], [1, 60 * 86400, 'alice']);
    const [listed] = await w.secrets.list('alice', analytics);
    assert.equal(listed?.rotateEverySeconds, 60 * 86400);
    await w.secrets.setRotationPolicy('olive', { scope: analytics, key: 'k', rotateEvery: 'never' });
    assert.equal((await w.secrets.list('alice', analytics))[0]?.rotateEverySeconds, null);
    const { rows: changed } = await w.pool.query("SELECT 1 FROM outbox WHERE subject LIKE 'latchkey.secret.changed.%'");
    assert.equal(changed.length, 1, 'only the put announced a change');
    const { rows } = await w.pool.query<{ data: AuditRecord }>(
      "SELECT data FROM outbox WHERE subject LIKE 'latchkey.audit.%' AND data->>'action' = 'secret.policy' ORDER BY seq",
    );
    assert.deepEqual(
      rows.map((r) => [r.data.actor, r.data.resource, r.data.reason, r.data.requestId]),
      [
        ['olive', 'secret:k', 'rotate every 60d', 'req-1'],
        ['olive', 'secret:k', 'rotation policy removed', ''],
      ],
    );
    assert.deepEqual(
      w.authorizer.asked.filter((q) => q.principal === 'olive').map((q) => [q.action, q.domain, q.resource]),
      [
        ['secret.manage', 'analytics', 'k'],
        ['secret.manage', 'analytics', 'k'],
      ],
    );
  });

  test('a bad period is refused with what is wrong and what is accepted, before ras is asked or anything stored', async (t) => {
    const w = await world(t);
    for (const [given, why] of [
      ['90', /"90" is not a rotation period/],
      ['3 months', /"3 months" is not a rotation period/],
      ['90D', /"90D" is not a rotation period/],
      ['0d', /"0d" is not a rotation period \(zero\)/],
      ['3651d', /"3651d" is longer than the longest rotation period \(3650d\)/],
      ['87601h', /longer than the longest rotation period/],
      ['', /the rotation period is empty/],
    ] as const) {
      const err = await rejection(put(w, 'k', 'some-value', given));
      assert.equal(err.code, 'secret.invalid_rotation_policy', given);
      assert.match(err.message, why);
      assert.match(err.message, /use <N>d or <N>h \(e\.g\. 90d, 36h; at most 3650d\), or "never"/);
    }
    const err = await rejection(
      w.secrets.setRotationPolicy('alice', { scope: analytics, key: 'k', rotateEvery: 'weekly' }),
    );
    assert.equal(err.code, 'secret.invalid_rotation_policy');
    assert.deepEqual(w.authorizer.asked, []);
    const { rows } = await w.pool.query('SELECT 1 FROM secrets');
    assert.equal(rows.length, 0);
    assert.equal((await put(w, 'k', 'some-value', '3650d')).meta.rotateEverySeconds, 3650 * 86400);
  });

  test('setting the policy of a missing secret says so and how to create it', async (t) => {
    const w = await world(t);
    const err = await rejection(
      w.secrets.setRotationPolicy('alice', { scope: analytics, key: 'ghost', rotateEvery: '30d' }),
    );
    assert.equal(err.code, 'secret.not_found');
    assert.equal(
      err.message,
      'secret ghost not found in domain analytics: put it with its policy (latchkey secret put ghost --domain analytics --rotate-every 30d)',
    );
  });

  test('a denied principal cannot set a policy', async (t) => {
    const w = await world(t);
    await put(w, 'k', 'some-value');
    const denied = new SecretService({
      store: w.store,
      authorizer: new FakeAuthorizer(deny('bob may not')),
      backend: new DatabaseValueBackend(w.pool, (await kekRing(t)).keks),
      onChange: () => undefined,
    });
    const err = await rejection(denied.setRotationPolicy('bob', { scope: analytics, key: 'k', rotateEvery: '1d' }));
    assert.equal(err.code, 'ras.permission_denied');
    assert.equal((await w.secrets.list('alice', analytics))[0]?.rotateEverySeconds, null);
  });
});

describe('the inventory', () => {
  test('shows each secret’s policy, when its current version is due, and whether it is due now', async (t) => {
    const w = await world(t);
    const { meta } = await put(w, 'db_password', 'some-value', '90d');
    await put(w, 'old_token', 'old-value', '90d');
    await backdate(w, 'old_token', 1, 91);
    await put(w, 'no_policy', 'other-value');
    const rows = async () => {
      const entries = await w.views.inventory('alice', analytics, '');
      return Object.fromEntries(
        entries.map((e) => [e.secret.key, [e.secret.rotateEverySeconds, e.rotationDue, e.rotationDueAt?.getTime()]]),
      );
    };
    const dueAt = meta.versionCreatedAt.getTime() + 90 * DAY_MS;
    const before = await rows();
    assert.deepEqual(before['db_password'], [90 * 86400, false, dueAt]);
    assert.deepEqual(before['no_policy'], [null, false, undefined]);
    assert.equal(before['old_token']?.[1], true, 'version 1 is 91 days old');
    assert.ok(Number(before['old_token']?.[2]) < Date.now(), 'it was due a day ago');

    await put(w, 'old_token', 'rotated-value');
    assert.equal((await rows())['old_token']?.[1], false, 'rotated: the new version is young');

    w.clock.advanceDays(91);
    assert.deepEqual((await rows())['db_password'], [90 * 86400, true, dueAt]);
    // Due in the inventory whether or not a sweep announced it yet.
    assert.equal((await dueEvents(w.pool)).length, 0);
  });
});
