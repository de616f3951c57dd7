import type { WorkloadStale } from '@latchkey/events';
import type { Authorizer, Decision } from '@latchkey/authz';
import type { Logger } from '@latchkey/logger';
import type { AutoRedeployDecision, AutoRedeploySkip, CandidateCursor, RedeployRepo, WorkloadRepo } from '../ports.js';
import { cooldownLeftMs, effectivePolicy, inWindow } from './redeploy-policy.js';
import { firstStructuredReference, referencesOf } from '../workload-spec.js';
import type { DeploymentRecord, WorkloadAuthor, WorkloadRecord } from '../deployment-types.js';

const sameAuthor = (a: WorkloadAuthor | null, b: WorkloadAuthor | null): boolean =>
  a === b || (a !== null && b !== null && a.principal === b.principal && a.groups.join('\n') === b.groups.join('\n'));

export interface AutoRedeployDeps {
  redeploys: RedeployRepo;
  workloads: WorkloadRepo;
  authorizer: Authorizer;
  logger: Logger;
  /** Called after events were committed (kicks the outbox relay). */
  onEvents: () => void;
  /** How long a workload stays stale before its policy redeploys it, and the least time between two such redeploys. */
  cooldownMs: number;
  /** The time (UTC windows are read from it); tests inject one. */
  clock?: () => Date;
  /** Candidates read per query by the scan, which pages through all of them (default 500). */
  scanLimit?: number;
  /** features.secretsV2 (default true); false: a workload with a structured reference is not redeployed. */
  secretsV2?: boolean;
}

export type AutoRedeployOutcome =
  | { redeployed: DeploymentRecord }
  | {
      skip: AutoRedeploySkip;
      /** With `cooldown`: how long until the workload may be redeployed. */
      retryInMs?: number;
    };

/**
 * The redeploy policy at work: a stale workload whose policy is `auto` is
 * redeployed, inside its window, with the authority of whoever last applied
 * its spec (principal and groups, WorkloadRecord.appliedBy), never with that
 * of the deployment it replaces: an apply by someone else ends the earlier
 * author's authority, and a workload without a recorded author is not
 * redeployed by its policy. ras is asked again at each redeploy whether the
 * author may deploy it, and the resolver checks every reference for the
 * author. It is redeployed once it has been stale for the cooldown (so that a
 * burst of rotations leads to one redeploy, which receives all of them), at
 * most once per cooldown, and with at most `maxConcurrent` auto redeploys of
 * its domain in flight at once. Everything that counts is re-read under the
 * domain's lock in the database (RedeployRepo.claimAutoRedeploy), so any
 * number of replicas may consider the same workload at the same time. The
 * permission question goes to ras before the lock is taken (a slow ras
 * must not hold up the domain's other claims); under the lock it is asked
 * again only if the workload was applied again (by another author) meanwhile.
 *
 * Two callers: the `workload.stale` consumer (one replica per event) and a
 * periodic scan (one replica at a time), which picks up the workloads whose
 * cooldown ended, whose window opened, or which waited for a free slot.
 */
export class AutoRedeployService {
  constructor(private readonly deps: AutoRedeployDeps) {}

  private now(): Date {
    return this.deps.clock?.() ?? new Date();
  }

  /**
   * `workload.stale`: redeploys now each workload it names whose policy
   * allows it now; one outcome per workload, in the event's order.
   * `progress` is called before each workload that costs a lookup (the
   * consumer tells the bus it is still working).
   */
  async onStale(ev: WorkloadStale, progress?: () => void): Promise<AutoRedeployOutcome[]> {
    const outcomes: AutoRedeployOutcome[] = [];
    for (const w of ev.workloads) {
      // Most workloads are manual: a rotation with many dependents must not
      // cost a lookup each. (A policy turned auto since then is found by the scan.)
      if (w.redeployMode !== 'auto') {
        outcomes.push({ skip: 'not_auto' });
        continue;
      }
      progress?.();
      outcomes.push(await this.consider(w.workloadId));
    }
    return outcomes;
  }

  /** Redeploys one workload if its policy allows it now; says why not otherwise. */
  async consider(workloadId: string): Promise<AutoRedeployOutcome> {
    const now = this.now();
    // Cheap answers first, without a lock; the claim checks all of it again.
    const w = await this.deps.workloads.getWorkloadById(workloadId);
    const early = w ? this.policySkip(w, now) : 'not_stale';
    if (early || !w) return this.skipped(w, early ?? 'not_stale', now);
    if (cooldownLeftMs(w, now, this.deps.cooldownMs) > 0) return this.skipped(w, 'cooldown', now);
    if (!w.lastDeploymentId) return { skip: 'never_deployed' };
    const liveBefore = await this.deps.workloads.getDeployment(w.lastDeploymentId);
    if (liveBefore?.status !== 'deployed') return { skip: liveBefore ? 'not_running' : 'never_deployed' };
    const authorBefore = w.appliedBy;
    const allowedBefore = authorBefore ? await this.mayDeploy(w, authorBefore) : undefined;
    const result = await this.deps.redeploys.claimAutoRedeploy({
      workloadId,
      now,
      cooldownMs: this.deps.cooldownMs,
      decide: (locked) =>
        this.decide(locked, now, sameAuthor(locked.appliedBy, authorBefore) ? allowedBefore : undefined),
    });
    if ('skip' in result) return this.skipped(w, result.skip, now);
    this.deps.onEvents();
    this.deps.logger.info('stale workload redeployed by its policy', {
      workload: result.deployment.workload,
      domain: result.deployment.domain,
      deploymentId: result.deployment.id,
      principal: result.deployment.principal,
    });
    return { redeployed: result.deployment };
  }

  /**
   * Considers every workload that may be redeployed now, unless another
   * replica is scanning. Undefined when one was; otherwise what it did.
   */
  async scan(): Promise<{ considered: number; redeployed: DeploymentRecord[] } | undefined> {
    let outcome: { considered: number; redeployed: DeploymentRecord[] } | undefined;
    const ran = await this.deps.redeploys.exclusiveScan(async () => {
      // Every candidate, page by page: those that must wait (outside their
      // window, no free slot) are read again by each scan, and must not hide
      // the ones behind them.
      const now = this.now();
      const redeployed: DeploymentRecord[] = [];
      let considered = 0;
      let after: CandidateCursor | undefined;
      do {
        const page = await this.deps.redeploys.autoCandidates(
          now,
          this.deps.cooldownMs,
          this.deps.scanLimit ?? 500,
          after,
        );
        for (const id of page.ids) {
          const r = await this.consider(id);
          if ('redeployed' in r) redeployed.push(r.redeployed);
        }
        considered += page.ids.length;
        after = page.next;
      } while (after);
      outcome = { considered, redeployed };
    });
    return ran ? outcome : undefined;
  }

  private policySkip(w: WorkloadRecord, now: Date): AutoRedeploySkip | undefined {
    if (!w.stale) return 'not_stale';
    const policy = effectivePolicy(w.spec.redeployPolicy);
    if (policy.mode !== 'auto') return 'not_auto';
    if (!inWindow(policy.window, now)) return 'outside_window';
    return undefined;
  }

  /** The redeploy acts for whoever last applied the spec: they must still be allowed to deploy it. */
  private mayDeploy(w: WorkloadRecord, author: WorkloadAuthor): Promise<Decision> {
    return this.deps.authorizer.check({
      principal: author.principal,
      groups: author.groups,
      action: 'workload.deploy',
      domain: w.domain,
      resource: w.name,
    });
  }

  /** Under the domain's lock. `asked`: ras's answer for the workload's author, when asked before the lock. */
  private async decide(w: WorkloadRecord, now: Date, asked: Decision | undefined): Promise<AutoRedeployDecision> {
    const skip = this.policySkip(w, now);
    if (skip) return { skip };
    const log = this.deps.logger.child({ workload: w.name, domain: w.domain });
    if (!w.spec.run) {
      log.warn('stale workload not redeployed by its policy: it has no run.command');
      return { skip: 'refused' };
    }
    const structured = this.deps.secretsV2 === false ? firstStructuredReference(w.spec) : undefined;
    if (structured !== undefined) {
      log.warn(
        'stale workload not redeployed by its policy: it has a structured secret reference and Secrets V2 is off (LATCHKEY_SECRETS_V2=false)',
        { path: structured },
      );
      return { skip: 'refused' };
    }
    const author = w.appliedBy;
    if (!author) {
      log.warn(
        'stale workload not redeployed by its policy: it was applied before authors were recorded, so its policy acts for nobody; apply it again',
      );
      return { skip: 'refused' };
    }
    const decision = asked ?? (await this.mayDeploy(w, author));
    if (!decision.allowed) {
      log.warn('stale workload not redeployed by its policy: whoever last applied it may not deploy it', {
        principal: author.principal,
        code: decision.code,
      });
      return { skip: 'refused' };
    }
    return {
      maxConcurrent: effectivePolicy(w.spec.redeployPolicy).maxConcurrent,
      references: referencesOf(w.spec, w.domain),
      author,
    };
  }

  private skipped(w: WorkloadRecord | undefined, skip: AutoRedeploySkip, now: Date): AutoRedeployOutcome {
    if (skip !== 'cooldown' || !w) return { skip };
    return { skip, retryInMs: cooldownLeftMs(w, now, this.deps.cooldownMs) };
  }
}
