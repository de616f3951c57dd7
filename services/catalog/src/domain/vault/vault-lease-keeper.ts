/**
 * The lease keeper of Vault dynamic credentials: each round (every
 * LATCHKEY_VAULT_LEASE_INTERVAL_S) it claims the leases due (replicas never
 * claim the same one), asks the deployer once which of their deployments are
 * live, then for each lease:
 * - its time ran out: recorded expired (Vault revoked it itself);
 * - its deployment ended or was replaced (or an earlier round decided so):
 *   revoked; a failed revocation is tried again next round;
 * - its deployment lives, or the deployer cannot say: renewed once half its
 *   duration has gone (or fewer than two rounds are left), otherwise looked
 *   at again next round.
 * When the deployer cannot be asked, nothing is revoked: only renewals.
 * A lease whose integration is gone (deleted, or no longer a dynamic-secrets
 * path) is dropped: there is nothing left to revoke it with; its TTL ends it.
 */
import { LatchkeyError } from '@latchkey/errors';
import type { LiveDeployments, VaultIntegrationRepo, VaultLeaseRepo, VaultSources } from '../ports.js';
import type { DynamicVaultSource } from './vault-integration-types.js';
import type { VaultLeaseAction, VaultLeaseRecord, VaultLeaseRound } from './vault-lease-types.js';

export interface VaultLeaseKeeperDeps {
  leases: Pick<VaultLeaseRepo, 'claimDue' | 'settle'>;
  integrations: Pick<VaultIntegrationRepo, 'byIds'>;
  sources: Pick<VaultSources, 'forIntegration'>;
  deployments: LiveDeployments;
  intervalSeconds: number;
  now?: () => Date;
  logger?: {
    info(msg: string, fields?: Record<string, unknown>): void;
    warn(msg: string, fields?: Record<string, unknown>): void;
  };
  /** Leases claimed at once; default 200 (a round claims batches until none is left). */
  batch?: number;
}

export type LeaseDecision = 'expire' | 'revoke' | 'renew' | 'check';

/**
 * What to do with one claimed lease at `now`; `live` undefined when the
 * deployer could not tell. A lease is renewed once half its duration has
 * gone, or earlier when less than two rounds (`intervalMs` each) are left,
 * so that a lease shorter than the keeper's rhythm is renewed every round
 * rather than missed.
 */
export function decideLease(
  lease: VaultLeaseRecord,
  live: ReadonlySet<string> | undefined,
  now: Date,
  intervalMs = 0,
): LeaseDecision {
  const t = now.getTime();
  if (t >= lease.expiresAt.getTime()) return 'expire';
  if (lease.state === 'revoking') return 'revoke';
  if (live !== undefined && !live.has(lease.deploymentId)) return 'revoke';
  const renewFrom = lease.expiresAt.getTime() - Math.max((lease.leaseSeconds * 1000) / 2, 2 * intervalMs);
  return lease.renewable && t >= renewFrom ? 'renew' : 'check';
}

const codeOf = (err: unknown) => (err instanceof LatchkeyError ? err.code : 'vault.error');

/** Most deployments one ListLiveDeployments call asks about. */
const LIVE_QUERY_LIMIT = 1000;
/** Batches in one round at most (a backlog beyond waits for the next round). */
const MAX_BATCHES = 50;

export class VaultLeaseKeeper {
  readonly #now: () => Date;
  readonly #batch: number;

  constructor(private readonly deps: VaultLeaseKeeperDeps) {
    if (!(deps.intervalSeconds > 0)) throw new Error('VaultLeaseKeeper: intervalSeconds must be > 0');
    this.#now = deps.now ?? (() => new Date());
    this.#batch = Math.min(deps.batch ?? 200, LIVE_QUERY_LIMIT);
  }

  /** One round; what it did. */
  async runOnce(): Promise<VaultLeaseRound> {
    const round: VaultLeaseRound = {
      claimed: 0,
      renewed: 0,
      revoked: 0,
      expired: 0,
      dropped: 0,
      failed: 0,
      knewLiveness: true,
    };
    for (let i = 0; i < MAX_BATCHES; i++) {
      const now = this.#now();
      const intervalMs = this.deps.intervalSeconds * 1000;
      // Claimed for a few intervals: a replica that stops mid-round leaves its leases to a later round.
      const claimUntil = new Date(now.getTime() + Math.max(60_000, 3 * intervalMs));
      const claimed = await this.deps.leases.claimDue(now, claimUntil, this.#batch);
      if (claimed.length === 0) break;
      round.claimed += claimed.length;
      await this.#settleBatch(claimed, now, round);
      if (claimed.length < this.#batch) break;
    }
    // Rounds that only looked (most of them) say nothing.
    const acted = round.renewed + round.revoked + round.expired + round.dropped + round.failed;
    if (acted > 0) this.deps.logger?.info('Vault lease keeper round', { ...round });
    return round;
  }

  async #settleBatch(claimed: VaultLeaseRecord[], now: Date, round: VaultLeaseRound): Promise<void> {
    const live = await this.#liveness(claimed);
    if (live === undefined) round.knewLiveness = false;
    // Looked at again next round (a little before it, so that the round finds it due).
    const nextCheck = new Date(now.getTime() + this.deps.intervalSeconds * 900);
    const records = new Map(
      (await this.deps.integrations.byIds([...new Set(claimed.map((l) => l.integrationId))])).map((r) => [r.id, r]),
    );
    for (const lease of claimed) {
      const decision = decideLease(lease, live, now, this.deps.intervalSeconds * 1000);
      const action = await this.#act(lease, decision, now, nextCheck, async () => {
        const record = records.get(lease.integrationId);
        if (record === undefined || record.domain !== lease.domain) return undefined;
        return (await this.deps.sources.forIntegration(record)).dynamic;
      });
      await this.deps.leases.settle(lease.leaseId, action);
      count(round, action);
    }
  }

  /** The live deployments among the leases' active ones; undefined when the deployer cannot say. */
  async #liveness(claimed: VaultLeaseRecord[]): Promise<ReadonlySet<string> | undefined> {
    const ids = [...new Set(claimed.filter((l) => l.state === 'active').map((l) => l.deploymentId))];
    if (ids.length === 0) return new Set();
    try {
      return await this.deps.deployments.live(ids);
    } catch (err) {
      this.deps.logger?.warn(
        'the deployer cannot say which deployments live: Vault leases are only renewed this round',
        {
          code: codeOf(err),
        },
      );
      return undefined;
    }
  }

  async #act(
    lease: VaultLeaseRecord,
    decision: LeaseDecision,
    now: Date,
    nextCheck: Date,
    dynamicOf: () => Promise<DynamicVaultSource | undefined>,
  ): Promise<VaultLeaseAction> {
    if (decision === 'expire') return { kind: 'ended', state: 'expired', at: now };
    if (decision === 'check') return { kind: 'checked', nextCheck };
    const failState = decision === 'revoke' ? 'revoking' : 'active';
    let dynamic: DynamicVaultSource | undefined;
    try {
      dynamic = await dynamicOf();
    } catch (err) {
      return { kind: 'failed', state: failState, code: codeOf(err), nextCheck };
    }
    if (dynamic === undefined) return { kind: 'ended', state: 'dropped', at: now };
    try {
      if (decision === 'revoke') {
        await dynamic.revoke(lease.leaseId);
        this.deps.logger?.info('Vault lease revoked: its deployment is no longer live', {
          deployment: lease.deploymentId,
          integration: lease.integrationId,
        });
        return { kind: 'ended', state: 'revoked', at: now };
      }
      const granted = await dynamic.renew(lease.leaseId, lease.leaseSeconds);
      return {
        kind: 'renewed',
        expiresAt: new Date(now.getTime() + granted.leaseSeconds * 1000),
        renewable: granted.renewable,
        nextCheck,
      };
    } catch (err) {
      const code = codeOf(err);
      if (code === 'vault.lease_not_found') return { kind: 'ended', state: 'expired', at: now };
      this.deps.logger?.warn(
        `Vault lease ${decision === 'revoke' ? 'revocation' : 'renewal'} failed: tried again next round`,
        {
          deployment: lease.deploymentId,
          integration: lease.integrationId,
          code,
        },
      );
      return { kind: 'failed', state: failState, code, nextCheck };
    }
  }
}

function count(round: VaultLeaseRound, a: VaultLeaseAction): void {
  if (a.kind === 'renewed') round.renewed += 1;
  else if (a.kind === 'failed') round.failed += 1;
  else if (a.kind === 'ended') round[a.state] += 1;
}
