import type {
  AuditRecord,
  PlanReply,
  PlanRequest,
  ReferenceSpec,
  RuntimeReadReply,
  RuntimeReadRequest,
  SecretChanged,
} from '@latchkey/events';
import type {
  WorkloadAuthor,
  DeploymentRecord,
  DeploymentStatus,
  DeploymentTrigger,
  LogLineRecord,
  OutputLine,
  ResolvedVersion,
  WorkloadRecord,
  WorkloadView,
} from './deployment-types.js';
import type { RecordedDeployment } from './deployments/resolution-check.js';
import type { WorkloadSpec } from './workload-spec.js';

export type { ReferenceIndex } from './reference-index-types.js';

/** Workloads, deployments and the reference index, with their events written atomically. */
export interface WorkloadRepo {
  /**
   * Stores a workload and, in the same transaction, replaces its entries in
   * the reference index with `references` (its spec's distinct references).
   * `author` is who applied it (and their groups): from then on, its redeploy
   * policy acts with their authority only (none without an author).
   */
  upsertWorkload(
    domain: string,
    spec: WorkloadSpec,
    references: ReferenceSpec[],
    author?: WorkloadAuthor,
  ): Promise<WorkloadRecord>;
  getWorkload(domain: string, name: string): Promise<WorkloadRecord | undefined>;
  getWorkloadById(id: string): Promise<WorkloadRecord | undefined>;
  listWorkloads(domain: string): Promise<WorkloadRecord[]>;
  /**
   * The workloads of `domains` (only the stale ones with `staleOnly`), by
   * domain and name, each with its live and its latest deployment.
   */
  listWorkloadViews(domains: readonly string[], opts?: { staleOnly?: boolean }): Promise<WorkloadView[]>;
  /** The domains that have workloads (stale ones with `staleOnly`). */
  workloadDomains(opts?: { staleOnly?: boolean }): Promise<string[]>;
  /** Records a deployment in `resolving` and its `workload.deploying` event. */
  createDeployment(
    w: WorkloadRecord,
    principal: string,
    references: ReferenceSpec[],
    groups?: readonly string[],
    trigger?: DeploymentTrigger,
  ): Promise<DeploymentRecord>;
  /**
   * `redeploy --stale` for one workload: records the deployment only if the
   * workload is still stale and has no deployment on its way, decided under
   * the workload's row lock (which auto redeploys take too), so replicas and
   * people asking at once deploy it once.
   */
  createRedeployOfStale(
    w: WorkloadRecord,
    principal: string,
    references: ReferenceSpec[],
    groups: readonly string[],
  ): Promise<RedeployOfStale>;
  getDeployment(id: string): Promise<DeploymentRecord | undefined>;
  /**
   * The domain and references a deployment was recorded with, to check an
   * answer from the bus against; undefined when no such deployment exists
   * (an id that is not a deployment id included).
   */
  recordedDeployment(id: string): Promise<RecordedDeployment | undefined>;
  /** Writes one of the deployer's own audit records (a message it refused) to its outbox. */
  recordAudit(record: AuditRecord): Promise<void>;
  /**
   * Deletes workload `w` (its deployments, their versions and output, its
   * reference index entries) and writes `audit` to the outbox, in one
   * transaction under the workload's row lock, unless one of its
   * deployments is on its way or running: then nothing is changed and that
   * deployment is answered.
   */
  deleteWorkload(w: WorkloadRecord, audit: AuditRecord): Promise<{ deleted: true } | { active: DeploymentRecord }>;
  latestDeployment(workloadId: string): Promise<DeploymentRecord | undefined>;
  /**
   * Moves a deployment from `resolving` to `starting` for this runner and
   * records the versions it receives, once per event, with the hash of its
   * workload token when it gets one (in the same transaction). Undefined
   * when it was not `resolving` (already handled elsewhere, or failed).
   */
  claimForStart(
    eventId: string,
    deploymentId: string,
    runner: string,
    versions: ResolvedVersion[],
    warnings?: string[],
    tokenHash?: Buffer,
  ): Promise<{ deployment: DeploymentRecord; workload: WorkloadRecord } | undefined>;
  /**
   * A deployment still `resolving` waits for an unavailable backend: records
   * the attempt and why (as its reasons). False when it is no longer
   * resolving or a later attempt was already recorded.
   */
  markRetrying(deploymentId: string, attempt: number, reasons: string[]): Promise<boolean>;
  /**
   * A started deployment goes live: `deployed`, unless a stop was asked for
   * while it started (`stop_requested`: it stays `starting` for the runner to
   * stop it) or it is no longer starting.
   */
  markDeployed(d: DeploymentRecord, pid: number): Promise<'deployed' | 'stop_requested' | 'not_starting'>;
  /** Fails a deployment still `resolving` or `starting`; emits `workload.failed`. */
  markFailed(d: { id: string }, reasons: string[], eventId?: string): Promise<boolean>;
  /** A running deployment ended (exited or stopped). */
  markEnded(
    id: string,
    status: Extract<DeploymentStatus, 'exited' | 'stopped'>,
    exitCode: number | null,
    reason?: string,
  ): Promise<void>;
  /**
   * Marks dependents stale and queues the `workload.stale` events naming
   * them (one per domain and per STALE_WORKLOADS_PER_EVENT dependents),
   * once per event; `now` (default: the database's clock) is when a
   * workload that was not stale became so.
   */
  markStale(eventId: string, change: SecretChanged, now?: Date): Promise<StaleMarks>;
  /**
   * Stops a workload's deployments: those still resolving become `stopped`
   * at once (`cancelled`); those starting or running are marked as asked to
   * stop, with a `workload.stop_requested` event each (`stopping`), for the
   * replica running them. Asking again changes nothing.
   */
  requestStop(workloadId: string, by: string): Promise<{ cancelled: DeploymentRecord[]; stopping: DeploymentRecord[] }>;
  /** Of `deploymentIds`, those asked to stop, with who asked. */
  stopRequested(deploymentIds: readonly string[]): Promise<{ id: string; by: string }[]>;
  /** The deployments recorded as starting or running on replica `runner`. */
  heldBy(runner: string): Promise<DeploymentRecord[]>;
  /**
   * Stores a deployment's output lines (in seq order), then drops its oldest
   * lines while it keeps more than `quotaBytes` of output.
   */
  appendLogs(deploymentId: string, lines: readonly OutputLine[], quotaBytes: number): Promise<void>;
  /**
   * Up to `limit` of a deployment's stored lines after seq `afterSeq`, in
   * order, ending before `maxBytes` of text (at least one line, each counted
   * with 64 bytes of framing); `more` when lines after them are stored.
   */
  readLogs(
    deploymentId: string,
    afterSeq: number,
    limit: number,
    maxBytes: number,
  ): Promise<{ lines: LogLineRecord[]; more: boolean }>;
  /** Deletes up to `batch` output lines stored before `cutoff` (the retention); how many. */
  deleteLogsOlderThan(cutoff: Date, batch: number): Promise<number>;
}

/** Why an auto redeploy was not recorded now. */
export type AutoRedeploySkip =
  | 'not_stale'
  | 'not_auto'
  | 'outside_window'
  | 'cooldown'
  | 'in_flight'
  | 'max_concurrent'
  | 'never_deployed'
  /** Its live deployment ended (stopped with latchkey stop, or exited): nothing runs to be replaced. */
  | 'not_running'
  /** The workload cannot be started, or its principal may no longer deploy it: tried again after the cooldown. */
  | 'refused'
  /** A key it references is being deleted (reference.being_deleted): tried again by the next scan. */
  | 'being_deleted';

/**
 * What the policy decided for a workload, read under the claim's lock: the
 * redeploy is recorded as `author`'s (who last applied the spec).
 */
export type AutoRedeployDecision =
  { skip: AutoRedeploySkip } | { maxConcurrent: number; references: ReferenceSpec[]; author: WorkloadAuthor };

/** Where a page of auto redeploy candidates ended; opaque to the domain. */
export interface CandidateCursor {
  since: string;
  id: string;
}

/** The auto redeploys of the redeploy policy, guarded across replicas. */
export interface RedeployRepo {
  /**
   * Stale workloads with an auto policy whose live deployment runs and whose
   * cooldown is over at `now` (stale and not auto-redeployed for
   * `cooldownMs`), longest stale first,
   * at most `limit` from just after `after`; `next` (when the page is full)
   * is where the next page starts.
   */
  autoCandidates(
    now: Date,
    cooldownMs: number,
    limit: number,
    after?: CandidateCursor,
  ): Promise<{ ids: string[]; next?: CandidateCursor }>;
  /**
   * Under the workload's domain's redeploy lock (one claim per domain at a
   * time, across replicas): re-reads the workload and its live deployment,
   * asks `decide`, and records a deployment (trigger `auto`, as the author
   * `decide` names, with its `workload.deploying` event)
   * when the workload is still stale, its live deployment still runs
   * (`deployed`), its cooldown is over, none of its
   * deployments is in flight, and fewer than `maxConcurrent` auto redeploys
   * of the domain are. A redeploy, or a `refused` decision, starts the
   * workload's next cooldown.
   */
  claimAutoRedeploy(input: {
    workloadId: string;
    now: Date;
    cooldownMs: number;
    decide: (w: WorkloadRecord, live: DeploymentRecord) => Promise<AutoRedeployDecision>;
  }): Promise<{ deployment: DeploymentRecord } | { skip: AutoRedeploySkip }>;
  /** Runs `fn` unless another replica runs a scan now; false when one did. */
  exclusiveScan(fn: () => Promise<void>): Promise<boolean>;
}

/** The resolver, asked for a resolution without a deployment (a check on apply, or a dry run). */
export interface ResolutionPlanner {
  /** Throws a retryable LatchkeyError when no resolver answers within `timeoutMs`. */
  plan(request: PlanRequest, timeoutMs: number): Promise<PlanReply>;
}

/** The resolver, asked for one reference of a running deployment (a runtime read). */
export interface RuntimeValueReader {
  /** Signs and sends the request; throws a retryable LatchkeyError when no resolver answers within `timeoutMs`. */
  read(request: RuntimeReadRequest, timeoutMs: number): Promise<RuntimeReadReply>;
}

/** The deployment a workload token belongs to, as it is now. */
export interface TokenHolder {
  tokenHash: Buffer;
  deployment: DeploymentRecord;
  /** The references its workload.deploying event carried (null: recorded before they were kept). */
  references: readonly ReferenceSpec[] | null;
  /**
   * Starting or running, not asked to stop, and not replaced (no deployment
   * of its workload created after it has gone live).
   */
  live: boolean;
}

/** The hashes of the workload tokens, by deployment (each recorded by claimForStart, before its workload starts). */
export interface WorkloadTokenStore {
  /** The deployment whose token has this hash, if any. */
  findByHash(tokenHash: Buffer): Promise<TokenHolder | undefined>;
}

export interface RunSpec {
  deploymentId: string;
  workloadId: string;
  workload: string;
  domain: string;
  command: string[];
  /** Container image (kubernetes runtime); the runtime's default when absent. */
  image?: string;
  /** Container resources (kubernetes runtime), as in a Pod spec. */
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  env: Record<string, string>;
  sparkConf: Record<string, string>;
  /** The resolved values (and the workload token), for redaction of the output only. */
  secrets: string[];
  /**
   * The CA certificate (PEM) that the workload trusts the gateway with: the
   * runtime puts it in a file the workload can read and its path in
   * LATCHKEY_CA_FILE.
   */
  apiCaPem?: string;
}

/** What markStale did: dependents marked stale, and `workload.stale` events queued for them (0, 0 for a redelivery). */
export interface StaleMarks {
  marked: number;
  events: number;
}

/** What `createRedeployOfStale` did: the deployment, or why there is none. */
export type RedeployOfStale =
  { deployment: DeploymentRecord } | { skip: 'not_stale' } | { skip: 'in_flight'; inFlight: DeploymentRecord };

export interface RunHooks {
  onLine(stream: 'stdout' | 'stderr', line: string): void;
  /** `stopReason` is set when the runtime was asked to stop it. */
  onExit(code: number | null, signal: string | null, stopReason?: string): void;
}

/** Where workloads run: here, child processes; later, Kubernetes pods. */
export interface WorkloadRuntime {
  /** What every deployment started here carries as a warning (e.g. that it runs without isolation). */
  readonly warnings?: readonly string[];
  start(spec: RunSpec, hooks: RunHooks): Promise<{ pid: number }>;
  /** Stops one deployment if it runs here; true when it did. */
  stop(deploymentId: string, reason: string): Promise<boolean>;
  /** Deployments running here, by workload. */
  running(): { deploymentId: string; workloadId: string }[];
  stopAll(reason: string): Promise<void>;
  /**
   * Stops what an earlier run of this replica left running for a
   * deployment it no longer tracks (after a crash), if it can be found and
   * is surely that deployment's; does nothing otherwise.
   */
  reclaim?(leftover: DeploymentRecord): Promise<void>;
}
