import type { Pool } from '@latchkey/db';
import type { ServiceMetrics } from '@latchkey/metrics';
import type { WorkloadRepo } from '../domain/ports.js';
import { PostgresDeploymentStore, type DeployerSigner } from './postgres-deployment-store.js';
import { PostgresOutputStore } from './postgres-output-store.js';
import { dbCall } from './postgres-rows.js';
import { PostgresRunnerStore } from './postgres-runner-store.js';
import { PostgresStalenessStore } from './postgres-staleness-store.js';
import { PostgresWorkloadStore } from './postgres-workload-store.js';

export type { DeployerSigner } from './postgres-deployment-store.js';

/** What the repo counts as it records it: deployments that end, workloads marked stale, redeploys by a person. */
export type DeploymentMetrics = Pick<ServiceMetrics, 'deploymentEnded' | 'staleMarked' | 'redeployed'>;

/**
 * The deployer's WorkloadRepo port over PostgreSQL, one store per concept:
 * workloads (and the reference index they write), deployments, what
 * runners record, staleness, and the output.
 */
export class PostgresWorkloadRepo implements WorkloadRepo {
  private readonly workloads: PostgresWorkloadStore;
  private readonly deployments: PostgresDeploymentStore;
  private readonly runners: PostgresRunnerStore;
  private readonly staleness: PostgresStalenessStore;
  private readonly output: PostgresOutputStore;

  /**
   * `metrics`: counted here, at the state changes themselves (each is
   * committed once, whatever replica or redelivery asked for it).
   */
  constructor(
    pool: Pool,
    sign?: DeployerSigner,
    private readonly metrics?: DeploymentMetrics,
  ) {
    this.workloads = new PostgresWorkloadStore(pool);
    this.deployments = new PostgresDeploymentStore(pool, sign);
    this.runners = new PostgresRunnerStore(pool);
    this.staleness = new PostgresStalenessStore(pool);
    this.output = new PostgresOutputStore(pool);
  }

  upsertWorkload: WorkloadRepo['upsertWorkload'] = (...a) => this.workloads.upsertWorkload(...a);
  getWorkload: WorkloadRepo['getWorkload'] = (...a) => this.workloads.getWorkload(...a);
  getWorkloadById: WorkloadRepo['getWorkloadById'] = (...a) => this.workloads.getWorkloadById(...a);
  listWorkloads: WorkloadRepo['listWorkloads'] = (...a) => this.workloads.listWorkloads(...a);
  listWorkloadViews: WorkloadRepo['listWorkloadViews'] = (...a) => this.workloads.listWorkloadViews(...a);
  workloadDomains: WorkloadRepo['workloadDomains'] = (...a) => this.workloads.workloadDomains(...a);
  deleteWorkload: WorkloadRepo['deleteWorkload'] = (...a) => this.workloads.deleteWorkload(...a);

  createDeployment: WorkloadRepo['createDeployment'] = async (...a) => {
    const d = await this.deployments.createDeployment(...a);
    if (d.trigger !== 'deploy') this.metrics?.redeployed(d.trigger);
    return d;
  };
  createRedeployOfStale: WorkloadRepo['createRedeployOfStale'] = async (...a) => {
    const created = await this.deployments.createRedeployOfStale(...a);
    if ('deployment' in created) this.metrics?.redeployed('redeploy');
    return created;
  };
  getDeployment: WorkloadRepo['getDeployment'] = (...a) => this.deployments.getDeployment(...a);
  recordedDeployment: WorkloadRepo['recordedDeployment'] = (...a) => this.deployments.recordedDeployment(...a);
  recordAudit: WorkloadRepo['recordAudit'] = (...a) => this.deployments.recordAudit(...a);
  latestDeployment: WorkloadRepo['latestDeployment'] = (...a) => this.deployments.latestDeployment(...a);
  markRetrying: WorkloadRepo['markRetrying'] = (...a) => this.deployments.markRetrying(...a);
  markFailed: WorkloadRepo['markFailed'] = async (...a) => {
    const failed = await this.deployments.markFailed(...a);
    if (failed) this.metrics?.deploymentEnded('failed');
    return failed;
  };

  claimForStart: WorkloadRepo['claimForStart'] = (...a) => this.runners.claimForStart(...a);
  markDeployed: WorkloadRepo['markDeployed'] = async (...a) => {
    const outcome = await this.runners.markDeployed(...a);
    if (outcome === 'deployed') this.metrics?.deploymentEnded('deployed');
    return outcome;
  };
  markEnded: WorkloadRepo['markEnded'] = (...a) => this.runners.markEnded(...a);
  requestStop: WorkloadRepo['requestStop'] = (...a) => this.runners.requestStop(...a);
  stopRequested: WorkloadRepo['stopRequested'] = (...a) => this.runners.stopRequested(...a);
  heldBy: WorkloadRepo['heldBy'] = (...a) => this.runners.heldBy(...a);

  markStale: WorkloadRepo['markStale'] = async (...a) => {
    const marked = await this.staleness.markStale(...a);
    this.metrics?.staleMarked(marked.marked);
    return marked;
  };

  appendLogs: WorkloadRepo['appendLogs'] = (id, lines, quotaBytes) =>
    dbCall('storing workload output', () => this.output.append(id, lines, quotaBytes));
  readLogs: WorkloadRepo['readLogs'] = (id, afterSeq, limit, maxBytes) =>
    dbCall('reading workload output', () => this.output.read(id, afterSeq, limit, maxBytes));
  deleteLogsOlderThan: WorkloadRepo['deleteLogsOlderThan'] = (cutoff, batch) =>
    dbCall('deleting old workload output', () => this.output.deleteOlderThan(cutoff, batch));
}
