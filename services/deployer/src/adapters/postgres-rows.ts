import { columnList, wrapDbError, type Queryable } from '@latchkey/db';
import type { ResolvedVersion } from '@latchkey/events';
import type {
  DeploymentRecord,
  DeploymentStatus,
  DeploymentTrigger,
  StaleReason,
  WorkloadRecord,
} from '../domain/deployment-types.js';
import type { WorkloadSpec } from '../domain/workload-spec.js';

/** Runs a database call; its failure becomes a LatchkeyError saying what was being done. */
export async function dbCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw wrapDbError(err, what);
  }
}

/**
 * The columns of a table a row type reads, listed rather than `*`: a
 * statement with its columns listed is prepared once per connection
 * (libs/db), and keeps its result type when a migration adds a column.
 * postgres-columns.test.ts holds each list equal to its migrated table.
 */
export const WORKLOAD_COLUMN_NAMES = [
  'id',
  'domain',
  'name',
  'kind',
  'spec',
  'created_at',
  'updated_at',
  'stale',
  'stale_reasons',
  'last_deployment_id',
  'stale_since',
  'auto_redeployed_at',
  'applied_by',
  'applied_groups',
] as const;

/** See WORKLOAD_COLUMN_NAMES. */
export const DEPLOYMENT_COLUMN_NAMES = [
  'id',
  'workload_id',
  'domain',
  'workload_name',
  'principal',
  'principal_groups',
  'status',
  'reasons',
  'warnings',
  'attempts',
  'pid',
  'exit_code',
  'trigger',
  'runner',
  'stop_requested_at',
  'stop_requested_by',
  'reference_specs',
  'created_at',
  'updated_at',
] as const;

/** Every column of workloads, for SELECT and RETURNING. */
export const WORKLOAD_COLUMNS = columnList(WORKLOAD_COLUMN_NAMES);
/**
 * The columns of deployments a DeploymentRow holds, for RETURNING: all but
 * reference_specs (the references as recorded, a JSON list of every one),
 * which only the acceptance check and the token read use, and which the
 * writes on a deployment's way (insert, claim, start, end) need not send back.
 */
export const DEPLOYMENT_COLUMNS = columnList(DEPLOYMENT_COLUMN_NAMES.filter((c) => c !== 'reference_specs'));

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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

/** The workload with this id, if there is one (by the pool or inside a transaction). */
export async function workloadById(q: Queryable, id: string): Promise<WorkloadRecord | undefined> {
  const { rows } = await q.query<WorkloadRow>(`SELECT ${WORKLOAD_COLUMNS} FROM workloads WHERE id = $1`, [id]);
  return rows[0] ? toWorkload(rows[0]) : undefined;
}

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

export const DEPLOYMENT_SELECT = `SELECT ${columnList(DEPLOYMENT_COLUMN_NAMES, 'd')}, (
    SELECT coalesce(jsonb_agg(jsonb_build_object('refId', v.ref_id, 'key', v.key, 'sourceType', v.source_type,
      'scope', v.scope, 'version', v.version) ORDER BY v.ref_id), '[]'::jsonb)
    FROM deployment_versions v WHERE v.deployment_id = d.id) AS versions
  FROM deployments d`;
