import type { ReferenceFailure, ResolvedVersion } from '@latchkey/events';
import type { WorkloadSpec } from './workload-spec.js';

export type DeploymentStatus = 'resolving' | 'starting' | 'deployed' | 'failed' | 'exited' | 'stopped';

/** Who asked for a deployment: a person (`deploy`, `redeploy`) or the workload's redeploy policy (`auto`). */
export type DeploymentTrigger = 'deploy' | 'redeploy' | 'auto';

export interface StaleReason {
  scope: string;
  key: string;
  deployedVersion: number;
  currentVersion: number;
  change: string;
}

/** Who applied a workload's spec, with the groups of their token then. */
export interface WorkloadAuthor {
  principal: string;
  groups: string[];
}

export interface WorkloadRecord {
  id: string;
  domain: string;
  name: string;
  kind: string;
  spec: WorkloadSpec;
  createdAt: Date;
  updatedAt: Date;
  stale: boolean;
  staleReasons: StaleReason[];
  lastDeploymentId: string | null;
  /** When it became stale (null when it is not); on the deployer's clock. */
  staleSince: Date | null;
  /** The last redeploy by its redeploy policy. */
  autoRedeployedAt: Date | null;
  /**
   * Who last applied the spec: the only authority its redeploy policy acts
   * with. Null for a workload applied before authors were recorded (its
   * policy then redeploys nothing until it is applied again).
   */
  appliedBy: WorkloadAuthor | null;
}

/** A workload with its live deployment (the last that went live) and its latest deployment. */
export interface WorkloadView {
  workload: WorkloadRecord;
  live?: DeploymentRecord;
  last?: DeploymentRecord;
}

export interface DeploymentRecord {
  id: string;
  workloadId: string;
  domain: string;
  workload: string;
  principal: string;
  /** The principal's groups when it asked: the resolver checks the references with them. */
  groups: string[];
  status: DeploymentStatus;
  reasons: string[];
  /** Notes of the resolution that do not stop it (a domain key shadowing a global one, retries). */
  warnings: string[];
  /** Resolution attempts that met an unavailable backend (0: none). */
  attempts: number;
  versions: ResolvedVersion[];
  pid: number | null;
  exitCode: number | null;
  trigger: DeploymentTrigger;
  /** The replica that starts and runs it. */
  runner: string | null;
  /** Set when `latchkey stop` asked for it to stop while it started or ran. */
  stopRequestedAt: Date | null;
  stopRequestedBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A line of a deployment's output, already masked, numbered from 1 in the order it was printed. */
export interface OutputLine {
  seq: number;
  stream: string;
  line: string;
}

export interface LogLineRecord {
  seq: number;
  stream: string;
  line: string;
  at: Date;
}

export type { ReferenceFailure, ResolvedVersion };
