/** Payloads of the events on the bus. None of them ever holds a plaintext value. */

export type SourceType = 'MANAGED' | 'VAULT';

/** One distinct reference of a deployment. */
export interface ReferenceSpec {
  /** Stable id within the deployment, e.g. `MANAGED:analytics:DB_PASSWORD` or `LEGACY:DB_PASSWORD`. */
  refId: string;
  key: string;
  sourceType: SourceType;
  /** Domain name or `global` (MANAGED), integration id (VAULT); for legacy placeholders the workload's domain. */
  sourceId: string;
  /** `${secrets.KEY}`: the workload's domain first, then global scope. */
  legacy: boolean;
}

export interface WorkloadDeploying {
  deploymentId: string;
  workloadId: string;
  workload: string;
  domain: string;
  principal: string;
  /** The principal's groups when it asked (from its token): the resolver checks with them. */
  groups?: string[];
  references: ReferenceSpec[];
  /**
   * The deployer's Ed25519 signature over every field above and the event id
   * (deployingPayload); the resolver acts on no deploying event without a
   * valid one.
   */
  signature?: DeployerSignature;
}

/** A signature by the deployer's signing key: its key id and the Ed25519 signature (base64). */
export interface DeployerSignature {
  kid: string;
  sig: string;
}

export interface ResolvedVersion {
  refId: string;
  key: string;
  sourceType: SourceType;
  /** The scope that answered: a domain name or `global`. */
  scope: string;
  version: number;
}

export interface SealedValues {
  kid: string;
  epk: string;
  box: string;
}

export interface WorkloadResolved {
  deploymentId: string;
  domain: string;
  versions: ResolvedVersion[];
  /** JSON `{refId: value}`, sealed to the deployer's key, bound to the deployment id. */
  sealed: SealedValues;
  warnings: string[];
}

export interface ReferenceFailure {
  refId: string;
  key: string;
  /** `secret.not_found`, `ras.permission_denied`, `backend.unavailable` ... */
  code: string;
  message: string;
}

export interface WorkloadResolutionFailed {
  deploymentId: string;
  domain: string;
  failures: ReferenceFailure[];
}

/**
 * A resolution met only retryable failures (a backend unavailable) and will
 * be tried again: the deployment says so while it waits.
 */
export interface WorkloadResolutionRetrying {
  deploymentId: string;
  domain: string;
  /** This attempt (1-based) and how many are made in all. */
  attempt: number;
  maxAttempts: number;
  /** The failures of this attempt, every one retryable. */
  failures: ReferenceFailure[];
}

export interface WorkloadOutcome {
  deploymentId: string;
  workloadId: string;
  workload: string;
  domain: string;
  status: 'deployed' | 'failed';
  reasons: string[];
}

export interface SecretChanged {
  /** MANAGED: the domain name or `global`. VAULT: the integration id. */
  scope: string;
  /** VAULT: the domain that owns the integration (the subject's last token). */
  domain?: string;
  key: string;
  source: SourceType;
  /** The new version (Vault's own KV version for VAULT); for a delete, the last version that existed. */
  version: number;
  change: 'created' | 'updated' | 'deleted';
  by: string;
}

/**
 * A managed secret's current version is at least as old as its rotation
 * policy allows (`latchkey secret put KEY --rotate-every 90d`). Announced
 * once per (secret, version) by the catalog's rotation sweep; a new version
 * (a rotation) is announced again only when it, too, grows old.
 */
export interface SecretRotationDue {
  /** The domain name or `global`. */
  scope: string;
  /** The domain the secret belongs to, or `global` (the subject's last token). */
  domain: string;
  key: string;
  source: 'MANAGED';
  /** The version that is due (the current one when the sweep saw it). */
  version: number;
  /** The policy, as `90d` or `36h`. */
  rotateEvery: string;
  /** ISO 8601: when that version was created. */
  versionCreatedAt: string;
  /** ISO 8601: when it became due (created + policy). */
  dueSince: string;
}

/**
 * Someone asked to stop a deployment that starts or runs (`latchkey stop`):
 * the deployer replica running it stops it. Every replica hears it.
 */
export interface WorkloadStopRequested {
  deploymentId: string;
  workloadId: string;
  workload: string;
  domain: string;
  /** The principal who asked. */
  by: string;
}

/**
 * The most workloads one `workload.stale` event names: a rotation with
 * 100,000 dependents in one domain is 100 events, not 100,000. An entry is
 * at most ~190 bytes of JSON (a uuid, a name of at most 63 characters, a
 * version, a mode), so an event stays under ~200 KB, well inside
 * MAX_EVENT_BYTES.
 */
export const STALE_WORKLOADS_PER_EVENT = 1000;

/** One workload a `workload.stale` event names. */
export interface StaleWorkload {
  workloadId: string;
  workload: string;
  /** The version of the changed secret its live deployment received. */
  deployedVersion: number;
  /**
   * Its redeploy policy mode when it was marked: subscribers that act only
   * on `auto` skip the rest without a lookup.
   */
  redeployMode: 'manual' | 'auto';
}

/**
 * One secret change made these workloads of one domain stale (one event
 * per STALE_WORKLOADS_PER_EVENT of them): their live deployments hold an
 * older version of it (or a deleted one). Each dependent is named in one
 * event per change.
 */
export interface WorkloadStale {
  domain: string;
  changed: {
    scope: string;
    key: string;
    currentVersion: number;
    change: SecretChanged['change'];
  };
  workloads: StaleWorkload[];
}
