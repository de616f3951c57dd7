import { withTransaction, wrapDbError, type Pool } from '@latchkey/db';
import { LatchkeyError } from '@latchkey/errors';
import type { ServiceMetrics } from '@latchkey/metrics';
import type { AutoRedeploySkip, AutoRedeployDecision, CandidateCursor, RedeployRepo } from '../domain/ports.js';
import type { DeploymentRecord, WorkloadRecord } from '../domain/deployment-types.js';
import { cooldownLeftMs } from '../domain/staleness/redeploy-policy.js';
import { insertDeployment, type DeployerSigner } from './postgres-deployment-store.js';
import {
  DEPLOYMENT_SELECT,
  toDeployment,
  toWorkload,
  WORKLOAD_COLUMNS,
  type DeploymentRow,
  type WorkloadRow,
} from './postgres-rows.js';

/**
 * Advisory lock keys (the two-integer form): the first names what is
 * locked, the second is a hash of the domain (claims) or 0 (the scan).
 */
export const CLAIM_LOCK = 0x4c4b5244; // 'LKRD'
const SCAN_LOCK = 0x4c4b5253; // 'LKRS'

/**
 * Auto redeploys, safe with any number of replicas: every claim of a domain
 * runs under that domain's transaction-scoped advisory lock, and re-reads
 * what it decides on (the workload row, in-flight deployments) inside it, so
 * two replicas that consider the same workloads at once record each
 * redeploy once and never more than the domain's limit.
 */
export class PostgresRedeployRepo implements RedeployRepo {
  constructor(
    private readonly pool: Pool,
    /** Signs the deploying events of auto redeploys (as PostgresWorkloadRepo does). */
    private readonly sign?: DeployerSigner,
    /** Counts each auto redeploy recorded (once it is committed). */
    private readonly metrics?: Pick<ServiceMetrics, 'redeployed'>,
  ) {}

  async autoCandidates(
    now: Date,
    cooldownMs: number,
    limit: number,
    after?: CandidateCursor,
  ): Promise<{ ids: string[]; next?: CandidateCursor }> {
    try {
      // Keyset paging on (stale since, id); the cursor keeps the timestamp as
      // text, at the database's precision (a Date would drop microseconds).
      const { rows } = await this.pool.query<{ id: string; since: string }>(
        `SELECT id, since::text AS since FROM (
           SELECT id, coalesce(stale_since, '-infinity'::timestamptz) AS since FROM workloads
           WHERE stale AND spec -> 'redeployPolicy' ->> 'mode' = 'auto'
             AND EXISTS (SELECT 1 FROM deployments d WHERE d.id = workloads.last_deployment_id AND d.status = 'deployed')
             AND coalesce(stale_since, updated_at) <= $1::timestamptz - make_interval(secs => $2::double precision / 1000)
             AND (auto_redeployed_at IS NULL
               OR auto_redeployed_at <= $1::timestamptz - make_interval(secs => $2::double precision / 1000))
         ) c
         WHERE $4::text IS NULL OR (since, id) > ($4::timestamptz, $5::uuid)
         ORDER BY since, id
         LIMIT $3`,
        [now, cooldownMs, limit, after?.since ?? null, after?.id ?? null],
      );
      const last = rows.length === limit ? rows.at(-1) : undefined;
      return { ids: rows.map((r) => r.id), ...(last ? { next: { since: last.since, id: last.id } } : {}) };
    } catch (err) {
      throw wrapDbError(err, 'finding workloads to redeploy');
    }
  }

  async claimAutoRedeploy(input: {
    workloadId: string;
    now: Date;
    cooldownMs: number;
    decide: (w: WorkloadRecord, live: DeploymentRecord) => Promise<AutoRedeployDecision>;
  }): Promise<{ deployment: DeploymentRecord } | { skip: AutoRedeploySkip }> {
    const claimed = await this.#claimAutoRedeploy(input);
    if ('deployment' in claimed) this.metrics?.redeployed('auto');
    return claimed;
  }

  async #claimAutoRedeploy(input: {
    workloadId: string;
    now: Date;
    cooldownMs: number;
    decide: (w: WorkloadRecord, live: DeploymentRecord) => Promise<AutoRedeployDecision>;
  }): Promise<{ deployment: DeploymentRecord } | { skip: AutoRedeploySkip }> {
    try {
      return await withTransaction(this.pool, async (tx) => {
        const domainOf = await tx.query<{ domain: string }>('SELECT domain FROM workloads WHERE id = $1', [
          input.workloadId,
        ]);
        const domain = domainOf.rows[0]?.domain;
        if (domain === undefined) return { skip: 'not_stale' as const };
        await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [CLAIM_LOCK, domain]);
        const { rows } = await tx.query<WorkloadRow>(
          `SELECT ${WORKLOAD_COLUMNS} FROM workloads WHERE id = $1 FOR UPDATE`,
          [input.workloadId],
        );
        const row = rows[0];
        if (!row?.stale) return { skip: 'not_stale' as const };
        const w = toWorkload(row);
        if (cooldownLeftMs(w, input.now, input.cooldownMs) > 0) return { skip: 'cooldown' as const };
        if (!w.lastDeploymentId) return { skip: 'never_deployed' as const };
        const live = await tx.query<DeploymentRow>(`${DEPLOYMENT_SELECT} WHERE d.id = $1`, [w.lastDeploymentId]);
        if (!live.rows[0]) return { skip: 'never_deployed' as const };
        // A redeploy replaces what runs: a workload stopped by a person, or
        // a job that ended, is not started again by a rotation.
        if (live.rows[0].status !== 'deployed') return { skip: 'not_running' as const };
        const decision = await input.decide(w, toDeployment(live.rows[0]));
        if ('skip' in decision) {
          if (decision.skip === 'refused') {
            await tx.query('UPDATE workloads SET auto_redeployed_at = $2 WHERE id = $1', [w.id, input.now]);
          }
          return decision;
        }
        const inFlight = await tx.query<{ mine: number; auto: number }>(
          `SELECT count(*) FILTER (WHERE workload_id = $2)::int AS mine,
             count(*) FILTER (WHERE trigger = 'auto')::int AS auto
           FROM deployments WHERE domain = $1 AND status IN ('resolving', 'starting')`,
          [domain, w.id],
        );
        const counts = inFlight.rows[0] ?? { mine: 0, auto: 0 };
        if (counts.mine > 0) return { skip: 'in_flight' as const };
        if (counts.auto >= decision.maxConcurrent) return { skip: 'max_concurrent' as const };
        let deployment: DeploymentRecord;
        await tx.query('SAVEPOINT auto_redeploy');
        try {
          deployment = await insertDeployment(
            tx,
            w,
            decision.author.principal,
            decision.references,
            decision.author.groups,
            'auto',
            this.sign,
          );
        } catch (err) {
          // A key it references is being deleted: tried again by a later scan.
          if (err instanceof LatchkeyError && err.code === 'reference.being_deleted') {
            await tx.query('ROLLBACK TO SAVEPOINT auto_redeploy');
            return { skip: 'being_deleted' as const };
          }
          throw err;
        }
        await tx.query('UPDATE workloads SET auto_redeployed_at = $2 WHERE id = $1', [w.id, input.now]);
        return { deployment };
      });
    } catch (err) {
      throw wrapDbError(err, 'recording an auto redeploy');
    }
  }

  async exclusiveScan(fn: () => Promise<void>): Promise<boolean> {
    try {
      return await withTransaction(this.pool, async (tx) => {
        const { rows } = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1, 0) AS locked', [
          SCAN_LOCK,
        ]);
        if (!rows[0]?.locked) return false;
        await fn();
        return true;
      });
    } catch (err) {
      throw wrapDbError(err, 'scanning for workloads to redeploy');
    }
  }
}
