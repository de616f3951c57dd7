import type { ReferenceFailure, ResolvedVersion } from '@latchkey/events';
import type { WorkloadSpec } from './workload-spec.js';

export type DeploymentStatus = 'resolving' | 'starting' | 'deployed' | 'failed' | 'exited' | 'stopped';

export interface StaleReason {
  scope: string;
  key: string;
  deployedVersion: number;
  currentVersion: number;
  change: string;
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
  createdAt: Date;
  updatedAt: Date;
}

export interface LogLineRecord {
  seq: number;
  stream: string;
  line: string;
  at: Date;
}

export type { ReferenceFailure, ResolvedVersion };
