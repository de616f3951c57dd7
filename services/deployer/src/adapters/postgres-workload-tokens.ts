import { columnList, type Pool } from '@latchkey/db';
import type { ReferenceSpec } from '@latchkey/events';
import type { TokenHolder, WorkloadTokenStore } from '../domain/ports.js';
import {
  dbCall,
  DEPLOYMENT_COLUMN_NAMES,
  DEPLOYMENT_SELECT,
  toDeployment,
  type DeploymentRow,
} from './postgres-rows.js';

type HolderRow = DeploymentRow & { token_hash: Buffer; reference_specs: ReferenceSpec[] | null; live: boolean };

/** The hashes of the workload tokens (table workload_tokens), and the state of each one's deployment. */
export class PostgresWorkloadTokens implements WorkloadTokenStore {
  constructor(private readonly pool: Pool) {}

  findByHash(tokenHash: Buffer): Promise<TokenHolder | undefined> {
    return dbCall('reading a workload token', async () => {
      // Live: starting or running, not asked to stop, and no deployment of
      // its workload created after it has gone live (the rule markDeployed
      // follows to decide which deployment is live).
      const { rows } = await this.pool.query<HolderRow>(
        `SELECT t.token_hash, ${columnList([...DEPLOYMENT_COLUMN_NAMES, 'versions'], 'x')},
           (x.status IN ('starting', 'deployed') AND x.stop_requested_at IS NULL
            AND (w.last_deployment_id IS NULL OR w.last_deployment_id = x.id OR l.created_at <= x.created_at)) AS live
         FROM workload_tokens t
         JOIN (${DEPLOYMENT_SELECT}) x ON x.id = t.deployment_id
         JOIN workloads w ON w.id = x.workload_id
         LEFT JOIN deployments l ON l.id = w.last_deployment_id
         WHERE t.token_hash = $1`,
        [tokenHash],
      );
      const r = rows[0];
      if (!r) return undefined;
      return { tokenHash: r.token_hash, deployment: toDeployment(r), references: r.reference_specs, live: r.live };
    });
  }
}
