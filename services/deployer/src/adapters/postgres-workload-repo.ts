import { randomUUID } from 'node:crypto';
import { withTransaction, wrapDbError, type Pool, type Queryable } from '@latchkey/db';
import {
  auditEvent,
  claimEvent,
  deployingPayload,
  enqueueEvents,
  eventTypes,
  subjects,
  type AuditRecord,
  type DeployerSignature,
  type ReferenceSpec,
  type ResolvedVersion,
  type SecretChanged,
  type WorkloadDeploying,
  type WorkloadOutcome,
  type WorkloadStale,
  type WorkloadStopRequested,
} from '@latchkey/events';
import { injectTraceHeaders } from '@latchkey/logger';
import type {
  DeploymentRecord,
  DeploymentStatus,
  WorkloadAuthor,
  DeploymentTrigger,
  LogLineRecord,
  OutputLine,
  StaleReason,
  WorkloadRecord,
  WorkloadView,
} from '../domain/deployment-types.js';
import type { RedeployOfStale, WorkloadRepo } from '../domain/ports.js';
import type { RecordedDeployment } from '../domain/resolution-check.js';
import { PostgresOutputStore } from './postgres-output-store.js';
import type { WorkloadSpec } from '../domain/workload-spec.js';
import { assertNotFenced } from './deletion-fence.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `latchkey.workload.stale.<domain>` without the domain, for events built in SQL. */
const STALE_SUBJECT_PREFIX = subjects.stale('');

interface WorkloadRow {
  id: string;
  domain: string;
  name: string;
  kind: string;
  spec: WorkloadSpec;
  created_at: Date;
  updated_at: Date;
  stale: boolean;
  stale_reasons: StaleReason[];
  last_deployment_id: string | null;
  stale_since: Date | null;
  auto_redeployed_at: Date | null;
  applied_by: string | null;
  applied_groups: string[];
}

interface DeploymentRow {
  id: string;
  workload_id: string;
  domain: string;
  workload_name: string;
  principal: string;
  principal_groups: string[];
  status: DeploymentStatus;
  reasons: string[];
  warnings: string[];
  attempts: number;
  pid: number | null;
  exit_code: number | null;
  trigger: DeploymentTrigger;
  runner: string | null;
  stop_requested_at: Date | null;
  stop_requested_by: string | null;
  created_at: Date;
  updated_at: Date;
  versions?: ResolvedVersion[] | null;
}

export const toWorkload = (r: WorkloadRow): WorkloadRecord => ({
  id: r.id,
  domain: r.domain,
  name: r.name,
  kind: r.kind,
  spec: r.spec,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  stale: r.stale,
  staleReasons: r.stale_reasons,
  lastDeploymentId: r.last_deployment_id,
  staleSince: r.stale_since,
  autoRedeployedAt: r.auto_redeployed_at,
  appliedBy: r.applied_by === null ? null : { principal: r.applied_by, groups: r.applied_groups },
});

export const toDeployment = (r: DeploymentRow): DeploymentRecord => ({
  id: r.id,
  workloadId: r.workload_id,
  domain: r.domain,
  workload: r.workload_name,
  principal: r.principal,
  groups: r.principal_groups,
  status: r.status,
  reasons: r.reasons,
  warnings: r.warnings,
  attempts: r.attempts,
  versions: r.versions ?? [],
  pid: r.pid,
  exitCode: r.exit_code,
  trigger: r.trigger,
  runner: r.runner,
  stopRequestedAt: r.stop_requested_at,
  stopRequestedBy: r.stop_requested_by,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export type { DeploymentRow, WorkloadRow };

export const DEPLOYMENT_SELECT = `SELECT d.*, (
    SELECT coalesce(jsonb_agg(jsonb_build_object('refId', v.ref_id, 'key', v.key, 'sourceType', v.source_type,
      'scope', v.scope, 'version', v.version) ORDER BY v.ref_id), '[]'::jsonb)
    FROM deployment_versions v WHERE v.deployment_id = d.id) AS versions
  FROM deployments d`;

async function outcomeEvent(tx: Queryable, deploymentId: string, status: 'deployed' | 'failed'): Promise<void> {
  const { rows } = await tx.query<DeploymentRow>('SELECT * FROM deployments WHERE id = $1', [deploymentId]);
  const d = rows[0];
  if (!d) return;
  const data: WorkloadOutcome = {
    deploymentId: d.id,
    workloadId: d.workload_id,
    workload: d.workload_name,
    domain: d.domain,
    status,
    reasons: d.reasons,
  };
  await enqueueEvents(tx, [
    {
      id: `${status}:${d.id}`,
      type: status === 'deployed' ? eventTypes.deployed : eventTypes.failed,
      subject: status === 'deployed' ? subjects.deployed(d.domain) : subjects.failed(d.domain),
      data,
    },
  ]);
}

/**
 * Signs what the resolver acts on (the deployers' Ed25519 key). Without one,
 * deploying events go out unsigned and no resolver acts on them.
 */
export type DeployerSigner = (payload: Buffer) => DeployerSignature;

/**
 * Records a deployment in `resolving` and its `workload.deploying` event, in
 * the caller's transaction; the event is signed here, as it is written, so
 * the outbox relay needs no key.
 */
export async function insertDeployment(
  tx: Queryable,
  w: WorkloadRecord,
  principal: string,
  references: ReferenceSpec[],
  groups: readonly string[],
  trigger: DeploymentTrigger,
  sign?: DeployerSigner,
): Promise<DeploymentRecord> {
  const id = randomUUID();
  const { rows } = await tx.query<DeploymentRow>(
    `INSERT INTO deployments (id, workload_id, domain, workload_name, principal, principal_groups, status, trigger,
       reference_specs)
     VALUES ($1, $2, $3, $4, $5, $6, 'resolving', $7, $8) RETURNING *`,
    [id, w.id, w.domain, w.name, principal, JSON.stringify(groups), trigger, JSON.stringify(references)],
  );
  // After the row locks (the workload's, by the insert's foreign key), as everywhere: see deletion-fence.ts.
  await assertNotFenced(tx, w.domain, references);
  const data: WorkloadDeploying = {
    deploymentId: id,
    workloadId: w.id,
    workload: w.name,
    domain: w.domain,
    principal,
    groups: [...groups],
    references,
  };
  const eventId = `deploying:${id}`;
  const signed: WorkloadDeploying = sign ? { ...data, signature: sign(deployingPayload(eventId, data)) } : data;
  await enqueueEvents(tx, [
    { id: eventId, type: eventTypes.deploying, subject: subjects.deploying(w.domain), data: signed },
  ]);
  return toDeployment(rows[0]!);
}

export class PostgresWorkloadRepo implements WorkloadRepo {
  private readonly output: PostgresOutputStore;

  constructor(
    private readonly pool: Pool,
    private readonly sign?: DeployerSigner,
  ) {
    this.output = new PostgresOutputStore(pool);
  }

  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw wrapDbError(err, what);
    }
  }

  upsertWorkload(
    domain: string,
    spec: WorkloadSpec,
    references: ReferenceSpec[],
    author?: WorkloadAuthor,
  ): Promise<WorkloadRecord> {
    return this.run('storing a workload', () =>
      withTransaction(this.pool, async (tx) => {
        const { rows } = await tx.query<WorkloadRow>(
          `INSERT INTO workloads (id, domain, name, kind, spec, applied_by, applied_groups)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (domain, name) DO UPDATE SET kind = EXCLUDED.kind, spec = EXCLUDED.spec,
             applied_by = EXCLUDED.applied_by, applied_groups = EXCLUDED.applied_groups, updated_at = now()
           RETURNING *`,
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
           SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[])
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

  getWorkload(domain: string, name: string): Promise<WorkloadRecord | undefined> {
    return this.run('reading a workload', async () => {
      const { rows } = await this.pool.query<WorkloadRow>('SELECT * FROM workloads WHERE domain = $1 AND name = $2', [
        domain,
        name,
      ]);
      return rows[0] ? toWorkload(rows[0]) : undefined;
    });
  }

  listWorkloads(domain: string): Promise<WorkloadRecord[]> {
    return this.run('listing workloads', async () => {
      const { rows } = await this.pool.query<WorkloadRow>('SELECT * FROM workloads WHERE domain = $1 ORDER BY name', [
        domain,
      ]);
      return rows.map(toWorkload);
    });
  }

  getWorkloadById(id: string): Promise<WorkloadRecord | undefined> {
    return this.run('reading a workload', async () => {
      const { rows } = await this.pool.query<WorkloadRow>('SELECT * FROM workloads WHERE id = $1', [id]);
      return rows[0] ? toWorkload(rows[0]) : undefined;
    });
  }

  listWorkloadViews(domains: readonly string[], opts: { staleOnly?: boolean } = {}): Promise<WorkloadView[]> {
    return this.run('listing workloads', async () => {
      if (domains.length === 0) return [];
      const { rows } = await this.pool.query<WorkloadRow>(
        `SELECT * FROM workloads WHERE domain = ANY ($1::text[]) AND (stale OR NOT $2::boolean)
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
    return this.run('listing workloads', async () => {
      const { rows } = await this.pool.query<{ domain: string }>(
        `SELECT domain FROM workloads WHERE stale OR NOT $1::boolean GROUP BY domain ORDER BY domain COLLATE "C"`,
        [opts.staleOnly === true],
      );
      return rows.map((r) => r.domain);
    });
  }

  createDeployment(
    w: WorkloadRecord,
    principal: string,
    references: ReferenceSpec[],
    groups: readonly string[] = [],
    trigger: DeploymentTrigger = 'deploy',
  ): Promise<DeploymentRecord> {
    return this.run('recording a deployment', () =>
      withTransaction(this.pool, (tx) => insertDeployment(tx, w, principal, references, groups, trigger, this.sign)),
    );
  }

  createRedeployOfStale(
    w: WorkloadRecord,
    principal: string,
    references: ReferenceSpec[],
    groups: readonly string[],
  ): Promise<RedeployOfStale> {
    return this.run('recording a redeploy', () =>
      withTransaction(this.pool, async (tx) => {
        // The row lock orders this against other redeploys and auto claims of
        // the workload; what they committed meanwhile is seen by the reads below.
        const locked = await tx.query<{ stale: boolean }>('SELECT stale FROM workloads WHERE id = $1 FOR UPDATE', [
          w.id,
        ]);
        const inFlight = await tx.query<DeploymentRow>(
          `${DEPLOYMENT_SELECT} WHERE d.workload_id = $1 AND d.status IN ('resolving', 'starting')
           ORDER BY d.created_at DESC LIMIT 1`,
          [w.id],
        );
        if (inFlight.rows[0]) return { skip: 'in_flight' as const, inFlight: toDeployment(inFlight.rows[0]) };
        if (locked.rows[0]?.stale !== true) return { skip: 'not_stale' as const };
        return { deployment: await insertDeployment(tx, w, principal, references, groups, 'redeploy', this.sign) };
      }),
    );
  }

  requestStop(
    workloadId: string,
    by: string,
  ): Promise<{ cancelled: DeploymentRecord[]; stopping: DeploymentRecord[] }> {
    return this.run('recording a stop', () =>
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
           WHERE workload_id = $1 AND status IN ('starting', 'deployed') RETURNING *`,
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
    return this.run('reading stop requests', async () => {
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
    return this.run('reading the deployments of a replica', async () => {
      const { rows } = await this.pool.query<DeploymentRow>(
        `${DEPLOYMENT_SELECT} WHERE d.runner = $1 AND d.status IN ('starting', 'deployed') ORDER BY d.created_at`,
        [runner],
      );
      return rows.map(toDeployment);
    });
  }

  getDeployment(id: string): Promise<DeploymentRecord | undefined> {
    return this.run('reading a deployment', async () => {
      const { rows } = await this.pool.query<DeploymentRow>(`${DEPLOYMENT_SELECT} WHERE d.id = $1`, [id]);
      return rows[0] ? toDeployment(rows[0]) : undefined;
    });
  }

  recordedDeployment(id: string): Promise<RecordedDeployment | undefined> {
    if (!UUID.test(id)) return Promise.resolve(undefined);
    return this.run('reading a deployment', async () => {
      const { rows } = await this.pool.query<{ domain: string; reference_specs: ReferenceSpec[] | null }>(
        'SELECT domain, reference_specs FROM deployments WHERE id = $1',
        [id],
      );
      const r = rows[0];
      return r ? { domain: r.domain, references: r.reference_specs } : undefined;
    });
  }

  recordAudit(record: AuditRecord): Promise<void> {
    return this.run('writing an audit record', () => enqueueEvents(this.pool, [auditEvent(record)]));
  }

  latestDeployment(workloadId: string): Promise<DeploymentRecord | undefined> {
    return this.run('reading deployments', async () => {
      const { rows } = await this.pool.query<DeploymentRow>(
        `${DEPLOYMENT_SELECT} WHERE d.workload_id = $1 ORDER BY d.created_at DESC LIMIT 1`,
        [workloadId],
      );
      return rows[0] ? toDeployment(rows[0]) : undefined;
    });
  }

  claimForStart(
    eventId: string,
    deploymentId: string,
    runner: string,
    versions: ResolvedVersion[],
    warnings: string[] = [],
  ) {
    return this.run('claiming a deployment', () =>
      withTransaction(this.pool, async (tx) => {
        if (!(await claimEvent(tx, 'deployer-resolved', eventId))) return undefined;
        // The notes of a wait for an unavailable backend are over: the values are here.
        const { rows } = await tx.query<DeploymentRow>(
          `UPDATE deployments SET status = 'starting', runner = $2, warnings = $3, reasons = '[]', updated_at = now()
           WHERE id = $1 AND status = 'resolving' RETURNING *`,
          [deploymentId, runner, JSON.stringify(warnings)],
        );
        const d = rows[0];
        if (!d) return undefined;
        await tx.query(
          `INSERT INTO deployment_versions (deployment_id, ref_id, key, source_type, scope, version)
           SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int[])`,
          [
            deploymentId,
            versions.map((v) => v.refId),
            versions.map((v) => v.key),
            versions.map((v) => v.sourceType),
            versions.map((v) => v.scope),
            versions.map((v) => v.version),
          ],
        );
        const w = await tx.query<WorkloadRow>('SELECT * FROM workloads WHERE id = $1', [d.workload_id]);
        return { deployment: toDeployment({ ...d, versions }), workload: toWorkload(w.rows[0]!) };
      }),
    );
  }

  markDeployed(d: DeploymentRecord, pid: number): Promise<'deployed' | 'stop_requested' | 'not_starting'> {
    return this.run('recording a deployment', () =>
      withTransaction(this.pool, async (tx) => {
        // A stop asked for while it started: it never goes live (its runner stops it).
        const r = await tx.query<{ stop_requested: boolean }>(
          `UPDATE deployments SET status = CASE WHEN stop_requested_at IS NULL THEN 'deployed' ELSE status END,
             pid = $2, updated_at = now()
           WHERE id = $1 AND status = 'starting' RETURNING stop_requested_at IS NOT NULL AS stop_requested`,
          [d.id, pid],
        );
        if (r.rowCount !== 1) return 'not_starting';
        if (r.rows[0]?.stop_requested) return 'stop_requested';
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
        await outcomeEvent(tx, d.id, 'deployed');
        return 'deployed';
      }),
    );
  }

  markRetrying(deploymentId: string, attempt: number, reasons: string[]): Promise<boolean> {
    return this.run('recording a resolution retry', async () => {
      // Only while resolving, and never back to an earlier attempt (events may arrive out of order).
      const r = await this.pool.query(
        `UPDATE deployments SET reasons = $3, attempts = $2, updated_at = now()
         WHERE id = $1 AND status = 'resolving' AND attempts < $2`,
        [deploymentId, attempt, JSON.stringify(reasons)],
      );
      return r.rowCount === 1;
    });
  }

  markFailed(d: { id: string }, reasons: string[], eventId?: string): Promise<boolean> {
    return this.run('recording a failed deployment', () =>
      withTransaction(this.pool, async (tx) => {
        if (eventId && !(await claimEvent(tx, 'deployer-resolution-failed', eventId))) return false;
        const r = await tx.query(
          `UPDATE deployments SET status = 'failed', reasons = $2, updated_at = now()
           WHERE id = $1 AND status IN ('resolving', 'starting')`,
          [d.id, JSON.stringify(reasons)],
        );
        if (r.rowCount !== 1) return false;
        await outcomeEvent(tx, d.id, 'failed');
        return true;
      }),
    );
  }

  markEnded(id: string, status: 'exited' | 'stopped', exitCode: number | null, reason?: string): Promise<void> {
    return this.run('recording the end of a deployment', async () => {
      await this.pool.query(
        `UPDATE deployments SET status = $2, exit_code = $3, updated_at = now(),
           reasons = CASE WHEN $4::text IS NULL THEN reasons ELSE reasons || jsonb_build_array($4::text) END
         WHERE id = $1 AND status IN ('deployed', 'starting')`,
        [id, status, exitCode, reason ?? null],
      );
    });
  }

  markStale(eventId: string, change: SecretChanged, now?: Date): Promise<WorkloadStale[]> {
    return this.run('marking workloads stale', () =>
      withTransaction(this.pool, async (tx) => {
        if (!(await claimEvent(tx, 'deployer-secret-changed', eventId))) return [];
        // Dependents: the workloads whose live deployment received an older
        // version of this secret from this source (for VAULT, scope is the
        // integration id; a domain may look like one, hence the source type);
        // and, when a domain key appears, those whose ${secrets.KEY} fell back
        // to the global one it now shadows. A direct hit wins over a shadowed one.
        //
        // One statement marks them and writes each one's workload.stale event
        // to the outbox, in this transaction: the events are built by
        // PostgreSQL (as enqueueEvents would store them), so a rotation with
        // 100,000 dependents does not ship 100,000 events to the deployer and
        // back before it can commit.
        const source = change.source === 'VAULT' ? 'VAULT' : 'MANAGED';
        const trace: Record<string, string> = {};
        injectTraceHeaders(trace);
        const { rows } = await tx.query<{
          id: string;
          name: string;
          domain: string;
          deployed_version: number;
          mode: 'manual' | 'auto';
        }>(
          `WITH candidate AS (
             SELECT w.id, dv.version AS deployed_version, dv.scope, 0 AS rank
             FROM deployment_versions dv JOIN workloads w ON w.last_deployment_id = dv.deployment_id
             WHERE dv.scope = $1 AND dv.key = $2 AND dv.source_type = $5
               AND (dv.version < $3 OR $4 = 'deleted')
             UNION ALL
             SELECT w.id, dv.version, dv.scope, 1
             FROM deployment_versions dv JOIN workloads w ON w.last_deployment_id = dv.deployment_id
             WHERE $5 = 'MANAGED' AND $4 = 'created' AND $1 <> 'global'
               AND dv.scope = 'global' AND dv.key = $2 AND dv.source_type = 'MANAGED'
               AND dv.ref_id LIKE 'LEGACY:%' AND w.domain = $1
           ), hit AS (
             SELECT DISTINCT ON (id) id, deployed_version, jsonb_build_object(
               'scope', $1::text, 'key', $2::text, 'deployedVersion', deployed_version,
               'currentVersion', CASE WHEN $4 = 'deleted' THEN 0 ELSE $3 END, 'change', $4::text) AS reason
             FROM candidate ORDER BY id, rank
           ), marked AS (
             UPDATE workloads w SET stale = true, updated_at = now(),
               stale_since = CASE WHEN w.stale THEN coalesce(w.stale_since, now()) ELSE coalesce($10::timestamptz, now()) END,
               stale_reasons = w.stale_reasons || jsonb_build_array(hit.reason)
             FROM hit WHERE w.id = hit.id
             RETURNING w.id, w.name, w.domain, hit.deployed_version, hit.reason,
               CASE WHEN w.spec -> 'redeployPolicy' ->> 'mode' = 'auto' THEN 'auto' ELSE 'manual' END AS mode
           ), queued AS (
             INSERT INTO outbox (id, subject, type, data, trace)
             SELECT 'stale:' || m.id || ':' || $6::text, $7::text || m.domain, $8::text,
               jsonb_build_object('workloadId', m.id, 'workload', m.name, 'domain', m.domain,
                 'changed', jsonb_build_array(m.reason), 'redeployMode', m.mode),
               $9::jsonb
             FROM marked m
             ON CONFLICT (id) DO NOTHING
           )
           SELECT id, name, domain, deployed_version, mode FROM marked`,
          [
            change.scope,
            change.key,
            change.version,
            change.change,
            source,
            eventId,
            STALE_SUBJECT_PREFIX,
            eventTypes.stale,
            JSON.stringify(trace),
            now ?? null,
          ],
        );
        return rows.map((r) => ({
          workloadId: r.id,
          workload: r.name,
          domain: r.domain,
          changed: [
            {
              scope: change.scope,
              key: change.key,
              deployedVersion: r.deployed_version,
              currentVersion: change.change === 'deleted' ? 0 : change.version,
              change: change.change,
            },
          ],
          redeployMode: r.mode,
        }));
      }),
    );
  }

  appendLogs(deploymentId: string, lines: readonly OutputLine[], quotaBytes: number): Promise<void> {
    return this.run('storing workload output', () => this.output.append(deploymentId, lines, quotaBytes));
  }

  readLogs(
    deploymentId: string,
    afterSeq: number,
    limit: number,
    maxBytes: number,
  ): Promise<{ lines: LogLineRecord[]; more: boolean }> {
    return this.run('reading workload output', () => this.output.read(deploymentId, afterSeq, limit, maxBytes));
  }

  deleteLogsOlderThan(cutoff: Date, batch: number): Promise<number> {
    return this.run('deleting old workload output', () => this.output.deleteOlderThan(cutoff, batch));
  }
}
