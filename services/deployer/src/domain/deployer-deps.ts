import type { Authorizer } from '@latchkey/authz';
import type { SealKeyPair } from '@latchkey/crypto';
import type { Logger } from '@latchkey/logger';
import type { ResolutionPlanner, WorkloadRepo, WorkloadRuntime, WorkloadTokenStore } from './ports.js';
import type { StorageProbe } from './workloads/storage-probe.js';

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
  /**
   * features.secretsV2 (default true). False, the legacy mode: workloads with
   * structured references are refused on apply, deploy, redeploy and dry run.
   */
  secretsV2?: boolean;
  /** The time (when a workload became stale); tests inject one. */
  clock?: () => Date;
  /** Per deployment, the most output kept (bytes; the oldest lines are dropped). Default DEFAULT_OUTPUT_QUOTA_BYTES. */
  outputQuotaBytes?: number;
  /**
   * Secrets from inside a workload: each deployment gets a token of its own
   * (its hash kept in `tokens`) in LATCHKEY_WORKLOAD_TOKEN, with the
   * gateway's address (LATCHKEY_API_URL) and the CA that issued its
   * certificate. Without it, workloads get no token.
   */
  workloadApi?: WorkloadApiDeps;
  /** A STORAGE_CONFIG's connection test: the S3 client (without it, `workload test` is unavailable). */
  storageProbe?: StorageProbe;
  /** How long its one request may take (default 10 s). */
  storageTestTimeoutMs?: number;
}

export interface WorkloadApiDeps {
  tokens: WorkloadTokenStore;
  /** The gateway's base URL, as the workload reaches it (e.g. https://127.0.0.1:7480). */
  url?: string;
  /** The CA certificate (PEM) that issued the gateway's certificate. */
  caPem?: string;
}
