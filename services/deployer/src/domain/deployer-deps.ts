import type { Authorizer } from '@latchkey/authz';
import type { SealKeyPair } from '@latchkey/crypto';
import type { Logger } from '@latchkey/logger';
import type { ResolutionPlanner, WorkloadRepo, WorkloadRuntime } from './ports.js';

/** What the deployer's domain services are built from (each takes the part it uses). */
export interface WorkloadServiceDeps {
  repo: WorkloadRepo;
  authorizer: Authorizer;
  runtime: WorkloadRuntime;
  sealKeys: ReadonlyMap<string, SealKeyPair>;
  runner: string;
  logger: Logger;
  /** Called after events were committed (kicks the outbox relay). */
  onEvents: () => void;
  /** The resolver, for the reference check on apply and for dry runs; without it neither is done. */
  planner?: ResolutionPlanner;
  /** How long apply waits for the reference check (default 5 s) and a dry run for its resolution (default 30 s). */
  checkTimeoutMs?: number;
  dryRunTimeoutMs?: number;
  /** The time (when a workload became stale); tests inject one. */
  clock?: () => Date;
  /** Per deployment, the most output kept (bytes; the oldest lines are dropped). Default DEFAULT_OUTPUT_QUOTA_BYTES. */
  outputQuotaBytes?: number;
}
