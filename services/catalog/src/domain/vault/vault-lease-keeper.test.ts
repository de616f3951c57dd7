import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LatchkeyError, unavailable } from '@latchkey/errors';
import type { LiveDeployments, VaultLeaseRepo } from '../ports.js';
import type { DynamicVaultSource, VaultIntegrationRecord, VaultSource } from './vault-integration-types.js';
import { decideLease, VaultLeaseKeeper } from './vault-lease-keeper.js';
import type { VaultLeaseAction, VaultLeaseRecord } from './vault-lease-types.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const INTEGRATION = '6f1c2a9e-0b7d-4c3e-9a51-2d8e4f6a7b10';
const LIVE = '11111111-1111-4111-8111-111111111111';
const ENDED = '22222222-2222-4222-8222-222222222222';

const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function lease(id: string, deploymentId: string, over: Partial<VaultLeaseRecord> = {}): VaultLeaseRecord {
  return {
    leaseId: `database/creds/app/${id}`,
    integrationId: INTEGRATION,
    domain: 'analytics',
    deploymentId,
    issuedAt: T0,
    expiresAt: at(60),
    leaseSeconds: 60,
    renewable: true,
    state: 'active',
    failures: 0,
    ...over,
  };
}

describe('decideLease', () => {
  test('a lease of a live deployment is renewed once half its duration has gone, looked at again before', () => {
    const live = new Set([LIVE]);
    assert.equal(decideLease(lease('a', LIVE), live, at(29)), 'check');
    assert.equal(decideLease(lease('a', LIVE), live, at(30)), 'renew');
    assert.equal(decideLease(lease('a', LIVE, { renewable: false }), live, at(45)), 'check');
  });

  test('a lease shorter than two rounds of the keeper is renewed every round, not missed', () => {
    const short = lease('a', LIVE, { expiresAt: at(20), leaseSeconds: 20 });
    assert.equal(decideLease(short, new Set([LIVE]), at(1), 0), 'check');
    assert.equal(decideLease(short, new Set([LIVE]), at(1), 15_000), 'renew');
    assert.equal(decideLease(lease('b', LIVE), new Set([LIVE]), at(1), 15_000), 'check');
  });

  test('a lease of a deployment that is not live is revoked; one whose time is up is expired', () => {
    assert.equal(decideLease(lease('a', ENDED), new Set([LIVE]), at(1)), 'revoke');
    assert.equal(decideLease(lease('a', LIVE, { state: 'revoking' }), new Set([LIVE]), at(1)), 'revoke');
    assert.equal(decideLease(lease('a', ENDED), new Set([LIVE]), at(60)), 'expire');
  });

  test('when the deployer cannot tell, nothing is revoked that was not decided before: only renewals', () => {
    assert.equal(decideLease(lease('a', ENDED), undefined, at(1)), 'check');
    assert.equal(decideLease(lease('a', ENDED), undefined, at(31)), 'renew');
    assert.equal(decideLease(lease('a', ENDED, { state: 'revoking' }), undefined, at(1)), 'revoke');
  });
});

/** The lease table, faked: claims what is due once, remembers each settlement. */
class FakeLeases implements Pick<VaultLeaseRepo, 'claimDue' | 'settle'> {
  readonly settled = new Map<string, VaultLeaseAction>();
  constructor(private due: VaultLeaseRecord[]) {}
  claimDue(_now: Date, _until: Date, limit: number): Promise<VaultLeaseRecord[]> {
    const out = this.due.slice(0, limit);
    this.due = this.due.slice(limit);
    return Promise.resolve(out);
  }
  settle(leaseId: string, action: VaultLeaseAction): Promise<void> {
    this.settled.set(leaseId, action);
    return Promise.resolve();
  }
}

/** One integration's Vault leases, faked: `failRevoke`/`failRenew` make those calls fail with the code. */
class FakeDynamic implements DynamicVaultSource {
  readonly credsPath = 'database/creds/app';
  readonly renewed: string[] = [];
  readonly revoked: string[] = [];
  failRevoke: string | undefined;
  failRenew: string | undefined;
  issue(): never {
    throw new Error('the keeper never issues');
  }
  renew(leaseId: string, increment: number) {
    if (this.failRenew)
      return Promise.reject(new LatchkeyError(this.failRenew, 'renew failed', { kind: 'unavailable' }));
    this.renewed.push(leaseId);
    return Promise.resolve({ leaseSeconds: Math.min(increment, 40), renewable: true });
  }
  revoke(leaseId: string) {
    if (this.failRevoke) return Promise.reject(unavailable(this.failRevoke, 'revoke failed'));
    this.revoked.push(leaseId);
    return Promise.resolve();
  }
}

const RECORD = { id: INTEGRATION, domain: 'analytics', name: 'db' } as VaultIntegrationRecord;

function keeper(
  leases: FakeLeases,
  dynamic: FakeDynamic,
  deployments: LiveDeployments,
  opts: { now?: Date; records?: VaultIntegrationRecord[] } = {},
) {
  const source = { dynamic } as unknown as VaultSource;
  return new VaultLeaseKeeper({
    leases,
    integrations: { byIds: () => Promise.resolve(opts.records ?? [RECORD]) },
    sources: { forIntegration: () => Promise.resolve(source) },
    deployments,
    intervalSeconds: 10,
    now: () => opts.now ?? at(35),
    batch: 2,
  });
}

const liveOnly = (ids: string[]): LiveDeployments & { asked: string[][] } => {
  const asked: string[][] = [];
  return {
    asked,
    live: (q) => {
      asked.push([...q].sort());
      return Promise.resolve(new Set(ids.filter((id) => q.includes(id))));
    },
  };
};

describe('VaultLeaseKeeper', () => {
  test('a round renews live deployments’ leases at half duration and revokes the others’, in batches, one liveness question each', async () => {
    const leases = new FakeLeases([lease('a', LIVE), lease('b', ENDED), lease('c', LIVE, { expiresAt: at(90) })]);
    const dynamic = new FakeDynamic();
    const deployer = liveOnly([LIVE]);
    const round = await keeper(leases, dynamic, deployer).runOnce();
    assert.deepEqual(dynamic.renewed, ['database/creds/app/a']);
    assert.deepEqual(dynamic.revoked, ['database/creds/app/b']);
    assert.deepEqual(leases.settled.get('database/creds/app/a'), {
      kind: 'renewed',
      expiresAt: at(35 + 40),
      renewable: true,
      nextCheck: at(44),
    });
    assert.deepEqual(leases.settled.get('database/creds/app/b'), { kind: 'ended', state: 'revoked', at: at(35) });
    assert.deepEqual(leases.settled.get('database/creds/app/c'), { kind: 'checked', nextCheck: at(44) });
    assert.deepEqual(deployer.asked, [[ENDED, LIVE].sort(), [LIVE]]);
    assert.deepEqual(
      { claimed: round.claimed, renewed: round.renewed, revoked: round.revoked, knew: round.knewLiveness },
      { claimed: 3, renewed: 1, revoked: 1, knew: true },
    );
  });

  test('with the deployer unreachable a round only renews: no lease is revoked on an unknown answer', async () => {
    const leases = new FakeLeases([lease('a', LIVE), lease('b', ENDED, { expiresAt: at(300), leaseSeconds: 300 })]);
    const dynamic = new FakeDynamic();
    const down: LiveDeployments = {
      live: () => Promise.reject(unavailable('grpc.unavailable', 'connect ECONNREFUSED')),
    };
    const round = await keeper(leases, dynamic, down).runOnce();
    assert.deepEqual(dynamic.revoked, []);
    assert.deepEqual(dynamic.renewed, ['database/creds/app/a']);
    assert.equal(leases.settled.get('database/creds/app/b')?.kind, 'checked');
    assert.equal(round.knewLiveness, false);
  });

  test('a failed revocation stays decided and is tried next round; a lease Vault no longer has is expired', async () => {
    const dynamic = new FakeDynamic();
    dynamic.failRevoke = 'vault.server_error';
    const first = new FakeLeases([lease('b', ENDED)]);
    await keeper(first, dynamic, liveOnly([])).runOnce();
    assert.deepEqual(first.settled.get('database/creds/app/b'), {
      kind: 'failed',
      state: 'revoking',
      code: 'vault.server_error',
      nextCheck: at(44),
    });
    dynamic.failRevoke = undefined;
    // Next round, the deployer down: a decided revocation goes ahead anyway.
    const down: LiveDeployments = { live: () => Promise.reject(unavailable('grpc.unavailable', 'down')) };
    const second = new FakeLeases([lease('b', ENDED, { state: 'revoking', failures: 1 })]);
    await keeper(second, dynamic, down).runOnce();
    assert.deepEqual(dynamic.revoked, ['database/creds/app/b']);
    assert.equal(second.settled.get('database/creds/app/b')?.kind, 'ended');

    dynamic.failRenew = 'vault.lease_not_found';
    const gone = new FakeLeases([lease('a', LIVE)]);
    await keeper(gone, dynamic, liveOnly([LIVE])).runOnce();
    assert.deepEqual(gone.settled.get('database/creds/app/a'), { kind: 'ended', state: 'expired', at: at(35) });
  });

  test('a lease whose integration is gone is dropped, one whose time ran out is expired, without a Vault call', async () => {
    const dynamic = new FakeDynamic();
    const leases = new FakeLeases([lease('b', ENDED), lease('x', LIVE, { expiresAt: at(20) })]);
    await keeper(leases, dynamic, liveOnly([LIVE]), { records: [] }).runOnce();
    assert.deepEqual(leases.settled.get('database/creds/app/b'), { kind: 'ended', state: 'dropped', at: at(35) });
    assert.deepEqual(leases.settled.get('database/creds/app/x'), { kind: 'ended', state: 'expired', at: at(35) });
    assert.deepEqual([...dynamic.revoked, ...dynamic.renewed], []);
  });

  test('an interval that is not a positive number is refused', () => {
    assert.throws(
      () =>
        new VaultLeaseKeeper({
          leases: new FakeLeases([]),
          integrations: { byIds: () => Promise.resolve([]) },
          sources: { forIntegration: () => Promise.reject(new Error('unused')) },
          deployments: liveOnly([]),
          intervalSeconds: 0,
        }),
      /intervalSeconds must be > 0/,
    );
  });
});
