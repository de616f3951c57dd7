import { randomUUID } from 'node:crypto';
import { withTransaction, type Pool } from '@latchkey/db';
import { auditEvent, enqueueEvents, type AuditRecord, type ReferenceSpec } from '@latchkey/events';
import type { DeploymentRecord, WorkloadAuthor, WorkloadRecord, WorkloadView } from '../domain/deployment-types.js';
import type { WorkloadSpec } from '../domain/workload-spec.js';
import { assertNotFenced } from './deletion-fence.js';
import {
  dbCall,
  DEPLOYMENT_SELECT,
  toDeployment,
  toWorkload,
  WORKLOAD_COLUMNS,
  type DeploymentRow,
  type WorkloadRow,
  workloadById,
} from './postgres-rows.js';

/** Workloads as applied, with their entries in the reference index; and their views. */
export class PostgresWorkloadStore {
  constructor(private readonly pool: Pool) {}

  upsertWorkload(
    domain: string,
    spec: WorkloadSpec,
    references: ReferenceSpec[],
    author?: WorkloadAuthor,
  ): Promise<WorkloadRecord> {
    return dbCall('storing a workload', () =>
      withTransaction(this.pool, async (tx) => {
        const { rows } = await tx.query<WorkloadRow>(
          `INSERT INTO workloads (id, domain, name, kind, spec, applied_by, applied_groups)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (domain, name) DO UPDATE SET kind = EXCLUDED.kind, spec = EXCLUDED.spec,
             applied_by = EXCLUDED.applied_by, applied_groups = EXCLUDED.applied_groups, updated_at = now()
           RETURNING ${WORKLOAD_COLUMNS}`,
          [
            randomUUID(),
            domain,
            spec.name,
            spec.kind,
            JSON.stringify(spec),
            author?.principal ?? null,
            JSON.stringify(author?.groups ?? []),
          ],
        );
        const w = rows[0]!;
        // No new reference to what is being deleted (after the row lock, as everywhere: see deletion-fence.ts).
        await assertNotFenced(tx, domain, references);
        // The upsert holds the workload's row lock, so concurrent applies of
        // one workload replace its references one after the other.
        await tx.query('DELETE FROM workload_refs WHERE workload_id = $1', [w.id]);
        await tx.query(
          `INSERT INTO workload_refs (workload_id, ref_id, key, source_type, source_id, legacy)
           SELECT $1, u.ref_id, u.key, u.source_type, u.source_id, u.legacy
           FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[]) AS u (ref_id, key, source_type, source_id, legacy)
           ON CONFLICT DO NOTHING`,
          [
            w.id,
            references.map((r) => r.refId),
            references.map((r) => r.key),
            references.map((r) => r.sourceType),
            references.map((r) => r.sourceId),
            references.map((r) => r.legacy),
          ],
        );
        return toWorkload(w);
      }),
    );
  }

  deleteWorkload(w: WorkloadRecord, audit: AuditRecord): Promise<{ deleted: true } | { active: DeploymentRecord }> {
    return dbCall('deleting a workload', () =>
      withTransaction(this.pool, async (tx) => {
        // The row lock orders this after (or before) any deploy, redeploy or apply of the workload.
        const locked = await tx.query('SELECT id FROM workloads WHERE id = $1 FOR UPDATE', [w.id]);
        if (locked.rowCount === 0) return { deleted: true as const };
        const { rows } = await tx.query<DeploymentRow>(
          `${DEPLOYMENT_SELECT} WHERE d.workload_id = $1 AND d.status IN ('resolving', 'starting', 'deployed')
           ORDER BY d.created_at DESC LIMIT 1`,
          [w.id],
        );
        if (rows[0]) return { active: toDeployment(rows[0]) };
        // Deployments, their versions and output, and the reference index go with it (ON DELETE CASCADE).
        await tx.query('DELETE FROM workloads WHERE id = $1', [w.id]);
        await enqueueEvents(tx, [auditEvent(audit)]);
        return { deleted: true as const };
      }),
    );
  }

  getWorkload(domain: string, name: string): Promise<WorkloadRecord | undefined> {
    return dbCall('reading a workload', async () => {
      const { rows } = await this.pool.query<WorkloadRow>(
        `SELECT ${WORKLOAD_COLUMNS} FROM workloads WHERE domain = $1 AND name = $2`,
        [domain, name],
      );
      return rows[0] ? toWorkload(rows[0]) : undefined;
    });
  }

  listWorkloads(domain: string): Promise<WorkloadRecord[]> {
    return dbCall('listing workloads', async () => {
      const { rows } = await this.pool.query<WorkloadRow>(
        `SELECT ${WORKLOAD_COLUMNS} FROM workloads WHERE domain = $1 ORDER BY name`,
        [domain],
      );
      return rows.map(toWorkload);
    });
  }

  getWorkloadById(id: string): Promise<WorkloadRecord | undefined> {
    return dbCall('reading a workload', () => workloadById(this.pool, id));
  }

  listWorkloadViews(domains: readonly string[], opts: { staleOnly?: boolean } = {}): Promise<WorkloadView[]> {
    return dbCall('listing workloads', async () => {
      if (domains.length === 0) return [];
      const { rows } = await this.pool.query<WorkloadRow>(
        `SELECT ${WORKLOAD_COLUMNS} FROM workloads WHERE domain = ANY ($1::text[]) AND (stale OR NOT $2::boolean)
         ORDER BY domain COLLATE "C", name COLLATE "C"`,
        [domains, opts.staleOnly === true],
      );
      if (rows.length === 0) return [];
      // Each workload's latest deployment, and the live ones (usually the same rows).
      const { rows: deployments } = await this.pool.query<DeploymentRow>(
        `${DEPLOYMENT_SELECT} WHERE d.id IN (
           SELECT DISTINCT ON (workload_id) id FROM deployments WHERE workload_id = ANY ($1::uuid[])
           ORDER BY workload_id, created_at DESC)
         OR d.id = ANY ($2::uuid[])`,
        [rows.map((r) => r.id), rows.flatMap((r) => (r.last_deployment_id ? [r.last_deployment_id] : []))],
      );
      const byId = new Map(deployments.map((d) => [d.id, toDeployment(d)]));
      const latest = new Map<string, DeploymentRecord>();
      for (const d of byId.values()) {
        const seen = latest.get(d.workloadId);
        if (!seen || seen.createdAt < d.createdAt) latest.set(d.workloadId, d);
      }
      return rows.map((r) => {
        const live = r.last_deployment_id ? byId.get(r.last_deployment_id) : undefined;
        const last = latest.get(r.id);
        return { workload: toWorkload(r), ...(live ? { live } : {}), ...(last ? { last } : {}) };
      });
    });
  }

  workloadDomains(opts: { staleOnly?: boolean } = {}): Promise<string[]> {
    return dbCall('listing workloads', async () => {
      const { rows } = await this.pool.query<{ domain: string }>(
        `SELECT domain FROM workloads WHERE stale OR NOT $1::boolean GROUP BY domain ORDER BY domain COLLATE "C"`,
        [opts.staleOnly === true],
      );
      return rows.map((r) => r.domain);
    });
  }
}
