import { withTransaction, wrapDbError, type Pool, type Queryable } from '@latchkey/db';
import { GLOBAL_SCOPE } from '@latchkey/events';
import type { ReferenceIndex } from '../domain/ports.js';
import type {
  DeletionCheck,
  DeletionQuery,
  DependentsQuery,
  DeployedVaultKey,
  HeldVersion,
  KeyDependents,
} from '../domain/reference-index-types.js';
import { lowerFence, raiseFence } from './deletion-fence.js';

/**
 * Dependents by key, in one statement whatever the number of workloads. The
 * first branch serves a domain key (its structured references and the
 * domain's legacy placeholders, whose source_id is the domain), a global key's
 * structured references, and a Vault key, through workload_refs_by_source.
 * The second adds, for a global key, legacy placeholders of every domain
 * (they fall back to global scope), through workload_refs_legacy_by_key.
 * UNION drops a workload that reaches a key both ways. Names sort bytewise.
 */
const DEPENDENTS = `
  WITH hit AS (
    SELECT r.key, r.workload_id FROM workload_refs r
    WHERE r.source_type = $1 AND r.source_id = $2 AND ($3::text[] IS NULL OR r.key = ANY ($3::text[]))
    UNION
    SELECT r.key, r.workload_id FROM workload_refs r
    WHERE $4::boolean AND r.legacy AND ($3::text[] IS NULL OR r.key = ANY ($3::text[]))
  )
  SELECT h.key, array_agg(w.domain || '/' || w.name ORDER BY (w.domain || '/' || w.name) COLLATE "C") AS workloads
  FROM hit h JOIN workloads w ON w.id = h.workload_id
  GROUP BY h.key
  ORDER BY h.key COLLATE "C"`;

/** For VAULT rows of deployment_versions, `scope` holds the integration id. */
const DEPLOYED_VAULT_KEYS = `
  SELECT dv.scope AS integration_id, dv.key, min(dv.version)::integer AS version
  FROM workloads w JOIN deployment_versions dv ON dv.deployment_id = w.last_deployment_id
  WHERE dv.source_type = 'VAULT'
  GROUP BY dv.scope, dv.key
  ORDER BY dv.scope COLLATE "C", dv.key COLLATE "C"`;

/** The version of one key each workload's live deployment received (dv.scope: the scope that answered). */
const HELD_VERSIONS = `
  SELECT w.domain || '/' || w.name AS workload, max(dv.version)::integer AS version
  FROM workloads w
  JOIN deployments d ON d.id = w.last_deployment_id AND d.status IN ('starting', 'deployed')
  JOIN deployment_versions dv ON dv.deployment_id = d.id
  WHERE dv.source_type = $1 AND dv.scope = $2 AND dv.key = $3
  GROUP BY w.domain, w.name
  ORDER BY (w.domain || '/' || w.name) COLLATE "C"`;

/**
 * Live: resolving, starting or running, and no deployment of its workload
 * created after it has gone live (the rule markDeployed follows to decide
 * which deployment is live; the workload tokens' rule too).
 */
const LIVE_DEPLOYMENTS = `
  SELECT d.id::text AS id
  FROM deployments d
  JOIN workloads w ON w.id = d.workload_id
  LEFT JOIN deployments l ON l.id = w.last_deployment_id
  WHERE d.id = ANY ($1::uuid[]) AND d.status IN ('resolving', 'starting', 'deployed')
    AND (w.last_deployment_id IS NULL OR w.last_deployment_id = d.id OR l.created_at <= d.created_at)
  ORDER BY d.id`;

async function dependentsIn(db: Queryable, q: DependentsQuery): Promise<KeyDependents[]> {
  const { rows } = await db.query<KeyDependents>(DEPENDENTS, [
    q.sourceType,
    q.sourceId,
    q.keys ?? null,
    q.sourceType === 'MANAGED' && q.sourceId === GLOBAL_SCOPE,
  ]);
  return rows;
}

export class PostgresReferenceIndex implements ReferenceIndex {
  constructor(private readonly pool: Pool) {}

  async dependents(q: DependentsQuery): Promise<KeyDependents[]> {
    try {
      return await dependentsIn(this.pool, q);
    } catch (err) {
      throw wrapDbError(err, 'reading the dependents of secrets');
    }
  }

  async beginDeletion(q: DeletionQuery): Promise<DeletionCheck> {
    try {
      return await withTransaction(this.pool, (tx) => raiseFence(tx, q, () => dependentsIn(tx, q)));
    } catch (err) {
      throw wrapDbError(err, 'checking the dependents of a deletion');
    }
  }

  async endDeletion(deletionId: string): Promise<void> {
    try {
      await lowerFence(this.pool, deletionId);
    } catch (err) {
      throw wrapDbError(err, 'ending a deletion');
    }
  }

  async deployedVaultKeys(): Promise<DeployedVaultKey[]> {
    try {
      const { rows } = await this.pool.query<{ integration_id: string; key: string; version: number }>(
        DEPLOYED_VAULT_KEYS,
      );
      return rows.map((r) => ({ integrationId: r.integration_id, key: r.key, version: r.version }));
    } catch (err) {
      throw wrapDbError(err, 'reading the Vault keys of live deployments');
    }
  }

  async heldVersions(q: { sourceType: string; sourceId: string; key: string }): Promise<HeldVersion[]> {
    try {
      const { rows } = await this.pool.query<HeldVersion>(HELD_VERSIONS, [q.sourceType, q.sourceId, q.key]);
      return rows;
    } catch (err) {
      throw wrapDbError(err, 'reading the versions live deployments hold');
    }
  }

  async liveDeployments(ids: readonly string[]): Promise<string[]> {
    try {
      const { rows } = await this.pool.query<{ id: string }>(LIVE_DEPLOYMENTS, [ids]);
      return rows.map((r) => r.id);
    } catch (err) {
      throw wrapDbError(err, 'reading which deployments are live');
    }
  }
}
