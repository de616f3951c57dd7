// What the gateway answers, in its JSON (the gRPC messages' camelCase
// fields). There is deliberately no value field anywhere: values only go in.

export interface Session {
  principal: string;
  groups: string[];
  platformAdmin: boolean;
}

export interface Domain {
  name: string;
  createdAt?: string;
  createdBy?: string;
}

export interface SecretMetadata {
  key: string;
  source?: string;
  version?: number | string;
  createdAt?: string;
  updatedAt?: string;
  updatedBy?: string;
  description?: string;
  rotateEvery?: string;
  scope?: { domain?: string; global?: boolean };
}

export interface DeleteSecretResult {
  deleted?: SecretMetadata;
  dependents?: string[];
  /** Restorable until then; '' when its values were destroyed at once. */
  recoverUntil?: string;
}

/** One kept version of a secret: metadata, never its value. */
export interface SecretVersion {
  version: number;
  createdAt?: string;
  createdBy?: string;
  /** 'enabled' or 'disabled' (a disabled version cannot be resolved). */
  state: string;
  /** The version workloads receive. */
  current?: boolean;
  /** The workloads ("domain/name") whose live deployment holds it. */
  heldBy?: string[];
  /** A rollback: the version whose value it copied (0: none). */
  rolledBackFrom?: number;
  disabledAt?: string;
  disabledBy?: string;
}

export interface SecretVersions {
  secret?: SecretMetadata;
  /** Newest first. */
  versions: SecretVersion[];
  /** Versions kept per secret; older ones are destroyed. */
  kept?: number;
  /** False when the deployer could not say who holds what. */
  holdersKnown?: boolean;
}

/** A deleted secret that can still be restored. */
export interface DeletedSecret {
  secret?: SecretMetadata;
  deletedAt?: string;
  /** Restorable until then; its values are destroyed after. */
  recoverUntil?: string;
}

export interface VaultIntegration {
  id: string;
  domain?: string;
  name: string;
  host: string;
  path: string;
  namespace?: string;
  bundle?: string;
  authMethod?: string;
  roleId?: string;
  layout?: string;
  createdAt?: string;
  updatedAt?: string;
  updatedBy?: string;
}

/** Settings of an integration as the forms send them; `credential` is write-only. */
export interface VaultSettingsInput {
  host: string;
  path: string;
  namespace?: string;
  authMethod: 'token' | 'approle';
  roleId?: string;
  credential?: string;
}

export interface VaultTestResult {
  outcome: string;
  message?: string;
  keys?: number | string;
}

export interface Bundle {
  domain?: string;
  name: string;
}

export interface SelectorEntry {
  key: string;
  sourceType: 'MANAGED' | 'VAULT' | string;
  backend?: string;
  sourceId: string;
  integrationName?: string;
  readOnly?: boolean;
}

export interface SelectorSource {
  source: string;
  available: boolean;
  reason?: string;
}

export interface Selector {
  entries: SelectorEntry[];
  sources: SelectorSource[];
}

export interface InventoryEntry {
  secret?: SecretMetadata;
  workloadCount?: number | string;
  workloads?: string[];
  unreferenced?: boolean;
  rotationDue?: boolean;
  rotationDueAt?: string;
}

export interface ReceivedVersion {
  key: string;
  sourceType?: string;
  scope?: string;
  version?: number | string;
}

export interface Deployment {
  id: string;
  domain?: string;
  workload?: string;
  status: string;
  reasons?: string[];
  versions?: ReceivedVersion[];
  principal?: string;
  createdAt?: string;
  updatedAt?: string;
  warnings?: string[];
  trigger?: string;
}

export interface StaleReason {
  key: string;
  scope?: string;
  deployedVersion?: number | string;
  currentVersion?: number | string;
  change?: string;
}

export interface Workload {
  id?: string;
  domain?: string;
  name: string;
  kind: string;
  specJson?: string;
  spec?: Record<string, unknown>;
  stale?: boolean;
  staleReasons?: StaleReason[];
  lastDeployment?: Deployment;
  liveDeployment?: Deployment;
  updatedAt?: string;
  warnings?: string[];
}

export interface PlannedReference {
  key: string;
  sourceType?: string;
  ok?: boolean;
  scope?: string;
  version?: number | string;
  code?: string;
  message?: string;
}

/** A STORAGE_CONFIG's connection test: ok, or a stable code and the precise reason. */
export interface StorageTestResult {
  domain?: string;
  workload?: string;
  ok?: boolean;
  code?: string;
  message?: string;
  endpoint?: string;
  region?: string;
  bucket?: string;
  references?: PlannedReference[];
  warnings?: string[];
  httpStatus?: number;
}

export interface DeploymentPlan {
  ok?: boolean;
  references?: PlannedReference[];
  warnings?: string[];
}

export interface LogLine {
  seq?: number | string;
  stream?: string;
  line: string;
  at?: string;
}

export interface Logs {
  deploymentId?: string;
  lines: LogLine[];
  ended?: boolean;
}

export interface AuditEntry {
  id: string;
  at: string;
  service?: string;
  actor?: string;
  action: string;
  domain?: string;
  resource?: string;
  outcome?: string;
  reason?: string;
}

/** A structured secret reference (KUBERNETES is accepted as MANAGED on input). */
export interface SecretRef {
  key: string;
  source: { type: string; id: string };
}
