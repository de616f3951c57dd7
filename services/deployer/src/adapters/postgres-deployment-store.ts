import { randomUUID } from 'node:crypto';
import { withTransaction, type Pool, type Queryable } from '@latchkey/db';
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
  type WorkloadDeploying,
  type WorkloadOutcome,
} from '@latchkey/events';
import type { DeploymentRecord, DeploymentTrigger, WorkloadRecord } from '../domain/deployment-types.js';
import type { RedeployOfStale } from '../domain/ports.js';
import type { RecordedDeployment } from '../domain/deployments/resolution-check.js';
import { assertNotFenced } from './deletion-fence.js';
import {
  dbCall,
  DEPLOYMENT_COLUMNS,
  DEPLOYMENT_SELECT,
  toDeployment,
  UUID,
  type DeploymentRow,
} from './postgres-rows.js';

/**
 * Records a deployment's outcome event (`workload.deployed` / `.failed`) in
 * the caller's transaction; `d` is its row as the caller's UPDATE returned it.
 */
export async function outcomeEvent(tx: Queryable, d: DeploymentRow, status: 'deployed' | 'failed'): Promise<void> {
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
     VALUES ($1, $2, $3, $4, $5, $6, 'resolving', $7, $8) RETURNING ${DEPLOYMENT_COLUMNS}`,
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

/** Deployments as recorded and resolved: created, redeployed, read, failed, waiting for a backend. */
export class PostgresDeploymentStore {
  constructor(
    private readonly pool: Pool,
    private readonly sign?: DeployerSigner,
  ) {}

  createDeployment(
    w: WorkloadRecord,
    principal: string,
    references: ReferenceSpec[],
    groups: readonly string[] = [],
    trigger: DeploymentTrigger = 'deploy',
  ): Promise<DeploymentRecord> {
    return dbCall('recording a deployment', () =>
      withTransaction(this.pool, (tx) => insertDeployment(tx, w, principal, references, groups, trigger, this.sign)),
    );
  }

  createRedeployOfStale(
    w: WorkloadRecord,
    principal: string,
    references: ReferenceSpec[],
    groups: readonly string[],
  ): Promise<RedeployOfStale> {
    return dbCall('recording a redeploy', () =>
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

  getDeployment(id: string): Promise<DeploymentRecord | undefined> {
    return dbCall('reading a deployment', async () => {
      const { rows } = await this.pool.query<DeploymentRow>(`${DEPLOYMENT_SELECT} WHERE d.id = $1`, [id]);
      return rows[0] ? toDeployment(rows[0]) : undefined;
    });
  }

  recordedDeployment(id: string): Promise<RecordedDeployment | undefined> {
    if (!UUID.test(id)) return Promise.resolve(undefined);
    return dbCall('reading a deployment', async () => {
      const { rows } = await this.pool.query<{ domain: string; reference_specs: ReferenceSpec[] | null }>(
        'SELECT domain, reference_specs FROM deployments WHERE id = $1',
        [id],
      );
      const r = rows[0];
      return r ? { domain: r.domain, references: r.reference_specs } : undefined;
    });
  }

  recordAudit(record: AuditRecord): Promise<void> {
    return dbCall('writing an audit record', () => enqueueEvents(this.pool, [auditEvent(record)]));
  }

  latestDeployment(workloadId: string): Promise<DeploymentRecord | undefined> {
    return dbCall('reading deployments', async () => {
      const { rows } = await this.pool.query<DeploymentRow>(
        `${DEPLOYMENT_SELECT} WHERE d.workload_id = $1 ORDER BY d.created_at DESC LIMIT 1`,
        [workloadId],
      );
      return rows[0] ? toDeployment(rows[0]) : undefined;
    });
  }

  markRetrying(deploymentId: string, attempt: number, reasons: string[]): Promise<boolean> {
    return dbCall('recording a resolution retry', async () => {
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
    return dbCall('recording a failed deployment', () =>
      withTransaction(this.pool, async (tx) => {
        if (eventId && !(await claimEvent(tx, 'deployer-resolution-failed', eventId))) return false;
        const r = await tx.query<DeploymentRow>(
          `UPDATE deployments SET status = 'failed', reasons = $2, updated_at = now()
           WHERE id = $1 AND status IN ('resolving', 'starting') RETURNING ${DEPLOYMENT_COLUMNS}`,
          [d.id, JSON.stringify(reasons)],
        );
        const failed = r.rows[0];
        if (r.rowCount !== 1 || !failed) return false;
        await outcomeEvent(tx, failed, 'failed');
        return true;
      }),
    );
  }
}
