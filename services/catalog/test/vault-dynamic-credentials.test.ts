/**
 * Vault dynamic credentials (an integration whose path is <mount>/creds/<role>),
 * against the Vault emulator's database secrets engine and a real PostgreSQL:
 * one lease per deployment read, recorded without the credentials, kept by
 * the lease keeper (renewed while live, revoked once ended), shared by replicas.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test, type TestContext } from 'node:test';
import type { LiveDeployments } from '../src/domain/ports.js';
import type { ValueQuery } from '../src/domain/secrets/secret-types.js';
import { VaultLeaseKeeper } from '../src/domain/vault/vault-lease-keeper.js';
import { readLeasedValues } from '../src/domain/vault/vault-lease-issue.js';
import type { DynamicVaultSource } from '../src/domain/vault/vault-integration-types.js';
import { quiet, rejection } from './support.js';
import { dumpAllTables } from './table-dump.js';
import { create, useVaultWorld, vault, world, type World } from './vault-world.js';

useVaultWorld();

let roles = 0;

/** A world with a dynamic integration on a fresh role of the emulator's `database` mount. */
async function dynamicWorld(t: TestContext, ttl = { defaultTtlSeconds: 60, maxTtlSeconds: 600 }) {
  const w = await world(t);
  const role = `app${++roles}`;
  vault.addDatabaseRole('database', role, ttl);
  const token = await vault.addToken([`database/creds/${role}`, 'sys/leases/']);
  const integration = await create(w, 'db-creds', {
    path: `/v1/database/creds/${role}`,
    credential: Buffer.from(token),
  });
  return { w, role, integration };
}

const ref = (refId: string, key: string, integrationId: string): ValueQuery => ({
  refId,
  key,
  scope: 'analytics',
  fallbackToGlobal: false,
  sourceType: 'VAULT',
  integrationId,
});

const leasesOf = (role: string) => vault.leases().filter((l) => l.role === role);

async function readFor(w: World, integrationId: string, deploymentId: string | undefined) {
  const answers = await w.secrets.readValues(
    [ref('u', 'username', integrationId), ref('p', 'password', integrationId), ref('p2', 'password', integrationId)],
    { actor: 'service:resolver', requestId: 'r1', ...(deploymentId === undefined ? {} : { deploymentId }) },
  );
  return new Map(answers.map((a) => [a.refId, a]));
}

function keeperOf(w: World, live: LiveDeployments, now?: () => Date) {
  return new VaultLeaseKeeper({
    leases: w.leases,
    integrations: w.repo,
    sources: w.sources,
    deployments: live,
    intervalSeconds: 1,
    logger: quiet,
    ...(now === undefined ? {} : { now }),
  });
}

const liveAre = (ids: string[]): LiveDeployments => ({
  live: (q) => Promise.resolve(new Set(q.filter((id) => ids.includes(id)))),
});

describe('vault dynamic credentials', () => {
  test('a deployment read issues one lease for all its references; another deployment gets other credentials', async (t) => {
    const { w, role, integration } = await dynamicWorld(t);
    const d1 = randomUUID();
    const first = await readFor(w, integration.id, d1);
    const [lease] = leasesOf(role);
    assert.equal(leasesOf(role).length, 1, 'one lease for the three references');
    const u = first.get('u');
    const p = first.get('p');
    assert.ok(u?.found && p?.found && first.get('p2')?.found);
    assert.equal(u.value.toString(), lease?.username);
    assert.equal(p.value.toString(), lease?.password);
    assert.equal(p.version, 0);
    assert.equal(p.scope, integration.id);
    const rows = await w.leases.ofDeployment(d1);
    assert.deepEqual(
      rows.map((r) => [r.leaseId, r.integrationId, r.domain, r.state, r.leaseSeconds, r.renewable]),
      [[lease?.leaseId, integration.id, 'analytics', 'active', 60, true]],
    );

    const second = await readFor(w, integration.id, randomUUID());
    assert.equal(leasesOf(role).length, 2);
    const p2 = second.get('p');
    assert.ok(p2?.found);
    assert.notEqual(p2.value.toString(), p.value.toString(), 'never cached across deployments');

    // The credentials are in no row: not in vault_leases, not in the outbox's audit records.
    const tables = await dumpAllTables(w.pool);
    assert.ok(tables.includes(lease?.leaseId ?? '-'), 'the lease is recorded');
    for (const l of leasesOf(role)) {
      assert.ok(!tables.includes(l.password), 'no password in any table');
      assert.ok(!tables.includes(l.username), 'no username in any table');
    }
  });

  test('a read for no deployment (dry run, connection test, runtime read) issues nothing and says why', async (t) => {
    const { w, role, integration } = await dynamicWorld(t);
    const answers = await readFor(w, integration.id, undefined);
    const p = answers.get('p');
    assert.ok(p && !p.found);
    assert.equal(p.code, 'vault.dynamic_needs_deployment');
    assert.match(p.message, /issues credentials for a deployment only/);
    assert.equal(leasesOf(role).length, 0);
    const bad = await rejection(readFor(w, integration.id, 'not-a-uuid'));
    assert.equal(bad.code, 'secret.invalid_deployment_id');
    assert.equal(bad.kind, 'invalid_argument');
  });

  test('listing and testing a dynamic integration issue no credentials; an unknown field is named', async (t) => {
    const { w, role, integration } = await dynamicWorld(t);
    const source = await w.sources.forIntegration(integration);
    assert.deepEqual(await source.listKeys(), ['password', 'username']);
    assert.deepEqual(await source.test(), { outcome: 'ok', keys: 2 });
    assert.equal(leasesOf(role).length, 0);
    const answers = await w.secrets.readValues([ref('x', 'host', integration.id)], {
      actor: 'service:resolver',
      requestId: 'r2',
      deploymentId: randomUUID(),
    });
    const x = answers[0];
    assert.ok(x && !x.found);
    assert.equal(x.code, 'vault.not_found');
    assert.match(x.message, /has the fields password, username/);
  });

  test('a lease that cannot be recorded is revoked at once, and the read fails without a value', async (t) => {
    const { w, role, integration } = await dynamicWorld(t);
    const source = await w.sources.forIntegration(integration);
    const failing = {
      leases: { record: () => Promise.reject(new Error('database down')) },
      logger: quiet,
    };
    await assert.rejects(
      readLeasedValues(
        failing,
        integration,
        source.dynamic as DynamicVaultSource,
        [ref('p', 'password', integration.id)],
        randomUUID(),
      ),
      /database down/,
    );
    const [lease] = leasesOf(role);
    assert.equal(lease?.state, 'revoked');
  });

  test('the keeper revokes the lease of a deployment that ended and renews a live one at half its duration', async (t) => {
    const { w, integration } = await dynamicWorld(t, { defaultTtlSeconds: 60, maxTtlSeconds: 600 });
    const live = randomUUID();
    const ended = randomUUID();
    await readFor(w, integration.id, live);
    await readFor(w, integration.id, ended);
    const [liveLease, endedLease] = (
      await Promise.all([w.leases.ofDeployment(live), w.leases.ofDeployment(ended)])
    ).map((r) => r[0]?.leaseId);
    let now = new Date();
    const keeper = keeperOf(w, liveAre([live]), () => now);
    const first = await keeper.runOnce();
    assert.equal(first.revoked, 1);
    assert.equal(first.renewed, 0);
    const state = (id: string | undefined) => vault.leases().find((l) => l.leaseId === id)?.state;
    assert.equal(state(endedLease), 'revoked');
    assert.equal(state(liveLease), 'active');
    assert.equal((await w.leases.ofDeployment(ended))[0]?.state, 'revoked');

    // Half the lease gone (the emulator's clock and the keeper's alike): renewed.
    vault.advanceClock(31);
    now = new Date(now.getTime() + 31_000);
    const second = await keeper.runOnce();
    assert.equal(second.renewed, 1);
    assert.equal(vault.leases().find((l) => l.leaseId === liveLease)?.renewals, 1);
    const [row] = await w.leases.ofDeployment(live);
    assert.ok(row && row.expiresAt.getTime() >= now.getTime() + 59_000, 'expires a full lease after the renewal');
  });

  test('with the deployer unreachable nothing is revoked; a failed revocation is tried again next round', async (t) => {
    const { w, role, integration } = await dynamicWorld(t);
    const ended = randomUUID();
    await readFor(w, integration.id, ended);
    const down: LiveDeployments = { live: () => Promise.reject(new Error('deployer unreachable')) };
    const blind = await keeperOf(w, down).runOnce();
    assert.equal(blind.knewLiveness, false);
    assert.equal(leasesOf(role)[0]?.state, 'active');

    const clear = vault.injectFault('sys/leases/revoke', 500);
    let now = new Date(Date.now() + 1000);
    const keeper = keeperOf(w, liveAre([]), () => now);
    const failed = await keeper.runOnce();
    assert.equal(failed.failed, 1);
    assert.equal((await w.leases.ofDeployment(ended))[0]?.state, 'revoking');
    clear();
    now = new Date(now.getTime() + 1000);
    const retried = await keeper.runOnce();
    assert.equal(retried.revoked, 1);
    assert.equal(leasesOf(role)[0]?.state, 'revoked');
  });

  test('two keepers (two replicas) share the due leases: each lease is acted on once', async (t) => {
    const { w, role, integration } = await dynamicWorld(t);
    const deployments = Array.from({ length: 6 }, () => randomUUID());
    for (const d of deployments) await readFor(w, integration.id, d);
    const live = liveAre([]);
    const [a, b] = await Promise.all([keeperOf(w, live).runOnce(), keeperOf(w, live).runOnce()]);
    assert.equal(a.claimed + b.claimed, 6);
    assert.equal(a.revoked + b.revoked, 6);
    assert.deepEqual(
      leasesOf(role).map((l) => l.state),
      Array.from({ length: 6 }, () => 'revoked'),
    );
  });
});
