import {
  claimEvent,
  enqueueEvents,
  eventTypes,
  subjects,
  type ResolvedVersion,
  type WorkloadStopRequested,
} from '@latchkey/events';
import { withTransaction, type Pool } from '@latchkey/db';
import type { DeploymentRecord } from '../domain/deployment-types.js';
import { outcomeEvent } from './postgres-deployment-store.js';
import {
  dbCall,
  DEPLOYMENT_COLUMNS,
  DEPLOYMENT_SELECT,
  toDeployment,
  workloadById,
  type DeploymentRow,
} from './postgres-rows.js';

/** What a runner records: a claim, the start, the end, and stops asked for. */
export class PostgresRunnerStore {
  constructor(private readonly pool: Pool) {}

  requestStop(
    workloadId: string,
    by: string,
  ): Promise<{ cancelled: DeploymentRecord[]; stopping: DeploymentRecord[] }> {
    return dbCall('recording a stop', () =>
      withTransaction(this.pool, async (tx) => {
        // Not started yet: stopped here and now. A resolution that arrives
        // later finds it no longer resolving and starts nothing.
        const cancelled = await tx.query<{ id: string }>(
          `UPDATE deployments SET status = 'stopped', stop_requested_at = now(), stop_requested_by = $2,
             reasons = reasons || jsonb_build_array('stopped by ' || $2 || ' before it started'), updated_at = now()
           WHERE workload_id = $1 AND status = 'resolving' RETURNING id`,
          [workloadId, by],
        );
        // Starting or running: the replica running it stops it. A second stop
        // keeps who asked first, and its event id is the same (not sent again).
        const stopping = await tx.query<DeploymentRow>(
          `UPDATE deployments SET stop_requested_at = coalesce(stop_requested_at, now()),
             stop_requested_by = coalesce(stop_requested_by, $2), updated_at = now()
           WHERE workload_id = $1 AND status IN ('starting', 'deployed') RETURNING ${DEPLOYMENT_COLUMNS}`,
          [workloadId, by],
        );
        await enqueueEvents(
          tx,
          stopping.rows.map((d) => ({
            id: `stop:${d.id}`,
            type: eventTypes.stopRequested,
            subject: subjects.stopRequested(d.domain),
            data: {
              deploymentId: d.id,
              workloadId: d.workload_id,
              workload: d.workload_name,
              domain: d.domain,
              by: d.stop_requested_by ?? by,
            } satisfies WorkloadStopRequested,
          })),
        );
        const ids = [...cancelled.rows.map((r) => r.id), ...stopping.rows.map((r) => r.id)];
        const { rows } = await tx.query<DeploymentRow>(
          `${DEPLOYMENT_SELECT} WHERE d.id = ANY ($1::uuid[]) ORDER BY d.created_at`,
          [ids],
        );
        const all = rows.map(toDeployment);
        const wasCancelled = new Set(cancelled.rows.map((r) => r.id));
        return {
          cancelled: all.filter((d) => wasCancelled.has(d.id)),
          stopping: all.filter((d) => !wasCancelled.has(d.id)),
        };
      }),
    );
  }

  stopRequested(deploymentIds: readonly string[]): Promise<{ id: string; by: string }[]> {
    return dbCall('reading stop requests', async () => {
      if (deploymentIds.length === 0) return [];
      const { rows } = await this.pool.query<{ id: string; by: string }>(
        `SELECT id, coalesce(stop_requested_by, '') AS by FROM deployments
         WHERE id = ANY ($1::uuid[]) AND stop_requested_at IS NOT NULL`,
        [deploymentIds],
      );
      return rows;
    });
  }

  heldBy(runner: string): Promise<DeploymentRecord[]> {
    return dbCall('reading the deployments of a replica', async () => {
      const { rows } = await this.pool.query<DeploymentRow>(
        `${DEPLOYMENT_SELECT} WHERE d.runner = $1 AND d.status IN ('starting', 'deployed') ORDER BY d.created_at`,
        [runner],
      );
      return rows.map(toDeployment);
    });
  }

  claimForStart(
    eventId: string,
    deploymentId: string,
    runner: string,
    versions: ResolvedVersion[],
    warnings: string[] = [],
    tokenHash?: Buffer,
  ) {
    return dbCall('claiming a deployment', () =>
      withTransaction(this.pool, async (tx) => {
        if (!(await claimEvent(tx, 'deployer-resolved', eventId))) return undefined;
        // The notes of a wait for an unavailable backend are over: the values are here.
        const { rows } = await tx.query<DeploymentRow>(
          `UPDATE deployments SET status = 'starting', runner = $2, warnings = $3, reasons = '[]', updated_at = now()
           WHERE id = $1 AND status = 'resolving' RETURNING ${DEPLOYMENT_COLUMNS}`,
          [deploymentId, runner, JSON.stringify(warnings)],
        );
        const d = rows[0];
        if (!d) return undefined;
        await tx.query(
          `INSERT INTO deployment_versions (deployment_id, ref_id, key, source_type, scope, version)
           SELECT $1, u.ref_id, u.key, u.source_type, u.scope, u.version
           FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int[]) AS u (ref_id, key, source_type, scope, version)`,
          [
            deploymentId,
            versions.map((v) => v.refId),
            versions.map((v) => v.key),
            versions.map((v) => v.sourceType),
            versions.map((v) => v.scope),
            versions.map((v) => v.version),
          ],
        );
        if (tokenHash) {
          await tx.query('INSERT INTO workload_tokens (token_hash, deployment_id) VALUES ($1, $2)', [
            tokenHash,
            deploymentId,
          ]);
        }
        const workload = (await workloadById(tx, d.workload_id))!;
        return { deployment: toDeployment({ ...d, versions }), workload };
      }),
    );
  }

  markDeployed(d: DeploymentRecord, pid: number): Promise<'deployed' | 'stop_requested' | 'not_starting'> {
    return dbCall('recording a deployment', () =>
      withTransaction(this.pool, async (tx) => {
        // A stop asked for while it started: it never goes live (its runner stops it).
        const r = await tx.query<DeploymentRow & { stop_requested: boolean }>(
          `UPDATE deployments SET status = CASE WHEN stop_requested_at IS NULL THEN 'deployed' ELSE status END,
             pid = $2, updated_at = now()
           WHERE id = $1 AND status = 'starting'
           RETURNING ${DEPLOYMENT_COLUMNS}, stop_requested_at IS NOT NULL AS stop_requested`,
          [d.id, pid],
        );
        const live = r.rows[0];
        if (r.rowCount !== 1 || !live) return 'not_starting';
        if (live.stop_requested) return 'stop_requested';
        // This deployment now decides staleness, unless a newer one already
        // went live. What made the workload stale is over, except a change to
        // a version newer than the one this deployment received (a rotation
        // during its resolution): that reason stays, against this deployment.
        await tx.query(
          `WITH still AS (
             SELECT coalesce(jsonb_agg(k.reason ORDER BY k.reason ->> 'scope', k.reason ->> 'key'), '[]'::jsonb) AS reasons
             FROM (
               SELECT DISTINCT ON (r.reason ->> 'scope', r.reason ->> 'key')
                 r.reason || jsonb_build_object('deployedVersion', dv.version) AS reason
               FROM workloads w0
               CROSS JOIN LATERAL jsonb_array_elements(w0.stale_reasons) AS r (reason)
               JOIN deployment_versions dv ON dv.deployment_id = $2
                 AND dv.scope = r.reason ->> 'scope' AND dv.key = r.reason ->> 'key'
               WHERE w0.id = $1 AND (r.reason ->> 'currentVersion')::bigint > dv.version
               ORDER BY r.reason ->> 'scope', r.reason ->> 'key', (r.reason ->> 'currentVersion')::bigint DESC
             ) k
           )
           UPDATE workloads w SET last_deployment_id = $2, updated_at = now(),
             stale = still.reasons <> '[]'::jsonb, stale_reasons = still.reasons,
             stale_since = CASE WHEN still.reasons <> '[]'::jsonb THEN w.stale_since END
           FROM still
           WHERE w.id = $1 AND (w.last_deployment_id IS NULL OR
             (SELECT created_at FROM deployments WHERE id = w.last_deployment_id) <= $3)`,
          [d.workloadId, d.id, d.createdAt],
        );
        await outcomeEvent(tx, live, 'deployed');
        return 'deployed';
      }),
    );
  }

  markEnded(id: string, status: 'exited' | 'stopped', exitCode: number | null, reason?: string): Promise<void> {
    return dbCall('recording the end of a deployment', async () => {
      await this.pool.query(
        `UPDATE deployments SET status = $2, exit_code = $3, updated_at = now(),
           reasons = CASE WHEN $4::text IS NULL THEN reasons ELSE reasons || jsonb_build_array($4::text) END
         WHERE id = $1 AND status IN ('deployed', 'starting')`,
        [id, status, exitCode, reason ?? null],
      );
    });
  }
}
