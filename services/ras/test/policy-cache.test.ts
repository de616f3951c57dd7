import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { connect } from 'nats';
import { dropOnPolicyChange, OutboxRelay, STREAMS } from '@latchkey/events';
import { CachingAuthorizer, RasAuthorizer, type CachingAuthorizerOptions } from '@latchkey/grpc';
import { type AuthorizationQuestion } from '@latchkey/authz';
import { silentLogger } from '@latchkey/logger';
import { ensureStream } from '@latchkey/nats';
import { startTestNats, waitFor, type TestNats } from '@latchkey/testing';
import { person, startRas, type Ras, usePostgres, withAnalytics } from './ras-fixture.js';

const postgres = usePostgres();

const olive = person('olive');
const use: AuthorizationQuestion = {
  principal: 'mia',
  action: 'secret.use',
  domain: 'analytics',
  resource: 'db_password',
};

/** ras whose outbox relay publishes to a private nats-server as soon as a change commits. */
async function rasOnNats(t: TestContext): Promise<{ ras: Ras; nats: TestNats }> {
  const nats = await startTestNats();
  const nc = await connect({ servers: nats.url });
  const jsm = await nc.jetstreamManager();
  for (const s of STREAMS) await ensureStream(jsm, s);
  const relayed: { relay?: OutboxRelay } = {};
  const ras = await startRas(t, postgres(), { onCommit: () => relayed.relay?.kick() });
  const relay = new OutboxRelay({ pool: ras.pool, js: nc.jetstream(), logger: silentLogger, source: 'latchkey/ras' });
  relayed.relay = relay;
  relay.start();
  t.after(async () => {
    await relay.stop();
    await nc.close();
    await nats.stop();
  });
  await withAnalytics(ras);
  return { ras, nats };
}

/**
 * Waits until every change so far is published, so that replicas started
 * next do not hear it (a late policy.changed of the setup's own grant
 * would empty the cache the test is about to look at).
 */
async function settled(ras: Ras): Promise<void> {
  await waitFor(
    async () => {
      const { rows } = await ras.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
      );
      return rows[0]?.n === 0;
    },
    { what: "the setup's changes to be published" },
  );
}

/**
 * One replica of a service, wired as the services' main.ts wire it: its own
 * NATS connection, a CachingAuthorizer in front of ras, dropped on every
 * latchkey.policy.changed (unless `listen` is false).
 */
async function replica(
  t: TestContext,
  ras: Ras,
  nats: TestNats,
  options: CachingAuthorizerOptions & { listen?: boolean } = {},
): Promise<CachingAuthorizer> {
  const nc = await connect({ servers: nats.url });
  const inner = new RasAuthorizer(ras.address, 'resolver-token');
  const cache = new CachingAuthorizer(inner, options);
  const sub = options.listen === false ? undefined : await dropOnPolicyChange(nc, cache);
  t.after(async () => {
    sub?.stop();
    inner.close();
    await nc.close();
  });
  return cache;
}

/**
 * Waits until every replica has dropped its cached answers, and returns how
 * long that took from `started`. Only the replicas' own state is polled (no
 * calls to ras in the loop), so what is timed is the change's path: commit,
 * outbox relay, NATS, the replicas' listeners.
 */
async function dropped(replicas: CachingAuthorizer[], started: number): Promise<number> {
  await waitFor(() => replicas.every((r) => r.size === 0), {
    what: 'every replica to drop its cached answers',
    timeoutMs: 5000,
    intervalMs: 2,
  });
  return Date.now() - started;
}

/** Revokes mia's role: every replica drops its cache within one second of the revoke, then denies. */
async function revokeAndWait(ras: Ras, replicas: CachingAuthorizer[]): Promise<number> {
  const started = Date.now();
  await ras.grants.revoke(olive, 'analytics', { kind: 'user', id: 'mia' }, '');
  const took = await dropped(replicas, started);
  assert.ok(took <= 1000, `took ${took}ms`);
  for (const r of replicas) {
    const d = await r.check(use);
    assert.equal(d.allowed, false);
    assert.equal(d.code, 'ras.permission_denied');
  }
  return took;
}

test('a revoked grant is denied by every replica within one second of the revoke (production TTL)', async (t) => {
  const { ras, nats } = await rasOnNats(t);
  await ras.grants.grant(olive, 'analytics', { kind: 'user', id: 'mia' }, 'member');
  await settled(ras);
  const replicas = [await replica(t, ras, nats), await replica(t, ras, nats)];
  for (const r of replicas) {
    assert.equal((await r.check(use)).allowed, true);
    assert.equal(r.size, 1, 'the allow is cached');
  }
  await revokeAndWait(ras, replicas);
  // And granting again is seen as quickly: a cached deny does not linger either.
  for (const r of replicas) assert.equal(r.size, 1, 'the deny is cached');
  const started = Date.now();
  await ras.grants.grant(olive, 'analytics', { kind: 'user', id: 'mia' }, 'member');
  assert.ok((await dropped(replicas, started)) <= 1000);
  for (const r of replicas) assert.equal((await r.check(use)).allowed, true);
});

test('the policy.changed event alone drops every replica cache: with a one-minute TTL the revoke still lands within one second', async (t) => {
  const { ras, nats } = await rasOnNats(t);
  await ras.grants.grant(olive, 'analytics', { kind: 'user', id: 'mia' }, 'member');
  await settled(ras);
  const ttlMs = 60_000;
  const replicas = [await replica(t, ras, nats, { ttlMs }), await replica(t, ras, nats, { ttlMs })];
  // A control that does not listen: the same cache without the event keeps the stale allow.
  const deaf = await replica(t, ras, nats, { ttlMs, listen: false });
  for (const r of [...replicas, deaf]) assert.equal((await r.check(use)).allowed, true);
  await revokeAndWait(ras, replicas);
  assert.equal((await deaf.check(use)).allowed, true, 'without the event the cached allow would have stayed');
});
