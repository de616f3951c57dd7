import type {
  SecretChanged,
  WorkloadOutcome,
  WorkloadResolutionFailed,
  WorkloadResolutionRetrying,
  WorkloadResolved,
  WorkloadStopRequested,
} from '@latchkey/events';
import type { WorkloadServiceDeps } from './deployer-deps.js';
import type { DeploymentRecord, WorkloadRecord, WorkloadView } from './deployment-types.js';
import { BusAcceptance } from './deployments/bus-acceptance.js';
import { Deployments, type DeploymentPlanResult, type RedeployResult } from './deployments/deployment-service.js';
import type { BusOrigin } from './deployments/resolution-check.js';
import { deploymentLogs, type LogsPage } from './runner/deployment-logs.js';
import { WorkloadRunner, type StopResult } from './runner/workload-runner.js';
import { markDependentsStale } from './staleness/staleness-service.js';
import { WorkloadDefinitions } from './workloads/workload-definitions.js';
import { StorageConnectionTests, type ConnectionTestResult } from './workloads/storage-connection-test.js';

/**
 * The deployer's domain as its transport calls it: one entry per call,
 * each handed to the room that owns it — workload definitions
 * (workloads/), deployments (deployments/), what runs here and its output
 * (runner/), staleness (staleness/).
 */
export class WorkloadService {
  private readonly definitions: WorkloadDefinitions;
  private readonly deployments: Deployments;
  private readonly runner: WorkloadRunner;

  constructor(private readonly deps: WorkloadServiceDeps) {
    const bus = new BusAcceptance(deps);
    this.definitions = new WorkloadDefinitions(deps);
    this.deployments = new Deployments(deps, bus);
    this.runner = new WorkloadRunner(deps, bus);
  }

  apply(
    principal: string,
    domain: string,
    specJson: string,
    groups: readonly string[] = [],
  ): Promise<{ workload: WorkloadRecord; warnings: string[] }> {
    return this.definitions.apply(principal, domain, specJson, groups);
  }

  get(
    principal: string,
    domain: string,
    name: string,
  ): Promise<{ workload: WorkloadRecord; live?: DeploymentRecord; last?: DeploymentRecord; warnings: string[] }> {
    return this.definitions.get(principal, domain, name);
  }

  list(
    principal: string,
    domain: string | undefined,
    opts: { staleOnly?: boolean; groups?: readonly string[] } = {},
  ): Promise<WorkloadView[]> {
    return this.definitions.list(principal, domain, opts);
  }

  /** See {@link WorkloadDefinitions.delete}. */
  delete(principal: string, domain: string, name: string, groups: readonly string[] = []): Promise<WorkloadView> {
    return this.definitions.delete(principal, domain, name, groups);
  }

  /** See {@link Deployments.deploy}. */
  deploy(...args: Parameters<Deployments['deploy']>): Promise<DeploymentRecord> {
    return this.deployments.deploy(...args);
  }

  redeploy(
    principal: string,
    domain: string,
    target: { name?: string; stale?: boolean },
    groups: readonly string[] = [],
  ): Promise<RedeployResult[]> {
    return this.deployments.redeploy(principal, domain, target, groups);
  }

  dryRun(
    principal: string,
    domain: string,
    name: string,
    groups: readonly string[] = [],
  ): Promise<DeploymentPlanResult> {
    return this.deployments.dryRun(principal, domain, name, groups);
  }

  getDeployment(principal: string, domain: string, id: string): Promise<DeploymentRecord> {
    return this.deployments.getDeployment(principal, domain, id);
  }

  logs(
    principal: string,
    domain: string,
    name: string,
    deploymentId: string,
    page: { pageToken?: string; pageSize?: number } = {},
  ): Promise<LogsPage> {
    return deploymentLogs(this.deps, principal, { domain, name, deploymentId }, page);
  }

  stop(principal: string, domain: string, name: string): Promise<StopResult> {
    return this.runner.stop(principal, domain, name);
  }

  onStopRequested(ev: WorkloadStopRequested): void {
    this.runner.onStopRequested(ev);
  }

  reconcileStops(): Promise<number> {
    return this.runner.reconcileStops();
  }

  reconcileRunning(): Promise<number> {
    return this.runner.reconcileRunning();
  }

  onResolved(eventId: string, ev: WorkloadResolved, origin: BusOrigin = {}): Promise<void> {
    return this.runner.onResolved(eventId, ev, origin);
  }

  onResolutionRetrying(eventId: string, ev: WorkloadResolutionRetrying, origin: BusOrigin = {}): Promise<void> {
    return this.deployments.onResolutionRetrying(eventId, ev, origin);
  }

  onResolutionFailed(eventId: string, ev: WorkloadResolutionFailed, origin: BusOrigin = {}): Promise<void> {
    return this.deployments.onResolutionFailed(eventId, ev, origin);
  }

  onSecretChanged(eventId: string, change: SecretChanged): Promise<number> {
    return markDependentsStale(this.deps, eventId, change);
  }

  onDeployed(ev: WorkloadOutcome): Promise<void> {
    return this.runner.onDeployed(ev);
  }

  stopAll(): Promise<void> {
    return this.runner.stopAll();
  }

  /** See {@link StorageConnectionTests.test}. */
  test(principal: string, domain: string, name: string, groups: readonly string[] = []): Promise<ConnectionTestResult> {
    return new StorageConnectionTests(this.deps).test(principal, domain, name, groups);
  }
}
