import type { AuditRecord } from '@latchkey/events';
import type {
  DeletedSecret,
  PendingDestruction,
  PutResult,
  RotationDue,
  ScopeName,
  SecretMeta,
  VersionInfo,
} from './secrets/secret-types.js';
import type {
  VaultConnectionSettings,
  VaultIntegrationRecord,
  VaultSettingsInput,
  VaultSource,
} from './vault/vault-integration-types.js';
import type { VaultLeaseAction, VaultLeaseRecord } from './vault/vault-lease-types.js';

/** Where the value of a current version lives. */
export interface StoredValue {
  version: number;
  backend: string;
  ref: string;
  /** The current version is disabled: it may not be resolved. */
  disabled: boolean;
  /** Set when the secret is deleted and still recoverable: until when. */
  recoverUntil?: Date;
}

/** The managed store (database backend): metadata, versions and the change events, atomically. */
export interface SecretStore extends SecretLifecycleStore {
  /**
   * Adds a version. `writeValue` is called with the new version number while
   * the version is held (inside the transaction): the value is in its backend
   * before the metadata commits, so a committed version always has a value.
   */
  put(input: {
    scope: ScopeName;
    key: string;
    description: string | undefined;
    by: string;
    /** The request that asked, for the audit record written with the change. */
    requestId?: string;
    /**
     * The rotation policy in seconds, or null to remove it; undefined keeps
     * the secret's policy (a secret created anew, also after a delete, has none).
     */
    rotateEverySeconds?: number | null;
    writeValue: (version: number, txn: unknown) => Promise<{ backend: string; ref: string }>;
    /** A rollback: the version whose value the new one copies (recorded with it and in the audit record). */
    rolledBackFrom?: number;
  }): Promise<PutResult>;
  list(scope: ScopeName): Promise<SecretMeta[]>;
  /** Keys of the scope in the store's key order, after `after` (from the start when undefined), at most `limit`. */
  listKeys(scope: ScopeName, after: string | undefined, limit: number): Promise<string[]>;
  /**
   * Sets (seconds) or removes (null) the rotation policy of a present secret,
   * with its audit record; no new version, no `secret.changed`. undefined
   * when the secret is missing or deleted.
   */
  setRotationPolicy(input: {
    scope: ScopeName;
    key: string;
    rotateEverySeconds: number | null;
    by: string;
    requestId?: string;
  }): Promise<SecretMeta | undefined>;
  /**
   * Records every current version whose policy says it is due at `now` and
   * was not recorded before, and writes `secret.rotation_due` for each in the
   * same transaction: once per (secret, version), whichever caller gets there
   * first. Returns those it recorded.
   */
  announceRotationDue(now: Date): Promise<RotationDue[]>;
  /**
   * The current version of each (scope, key); absent when missing or
   * destroyed; with `recoverUntil` when deleted and still recoverable.
   */
  readCurrent(items: { scope: ScopeName; key: string }[]): Promise<Map<string, StoredValue>>;
  /** Writes the records of an internal value read to the outbox, in one insert; throws when it cannot. */
  recordReads(records: AuditRecord[]): Promise<void>;
}

/** What a delete found and did. */
export type DeleteOutcome =
  | { kind: 'deleted'; meta: SecretMeta; recoverUntil: Date | null }
  /** A deleted secret, still recoverable, whose values a delete with no window destroyed now. */
  | { kind: 'destroyed'; meta: SecretMeta }
  /** Deleted already and recoverable until then (a delete with a window changes nothing). */
  | { kind: 'pending'; recoverUntil: Date }
  | { kind: 'missing' };

/**
 * Deletes, restores, versions and the destruction of values, beside
 * SecretStore: each change with its events and audit record, atomically.
 */
export interface SecretLifecycleStore {
  /**
   * Marks the key deleted, recoverable for `recoveryDays` (0: its versions
   * are queued for destruction at once), with secret.changed and the audit record.
   */
  delete(input: {
    scope: ScopeName;
    key: string;
    by: string;
    recoveryDays: number;
    requestId?: string;
  }): Promise<DeleteOutcome>;
  /** Brings a deleted secret back while its window lasts, announcing it; why not otherwise. */
  restore(input: {
    scope: ScopeName;
    key: string;
    by: string;
    requestId?: string;
  }): Promise<{ kind: 'restored'; meta: SecretMeta } | { kind: 'present' } | { kind: 'missing' }>;
  /** Deleted secrets of the scope still in their window, by key. */
  listDeleted(scope: ScopeName): Promise<DeletedSecret[]>;
  /** A present secret and its kept versions, newest first; the window's end when deleted; undefined when missing. */
  versions(
    scope: ScopeName,
    key: string,
  ): Promise<{ meta: SecretMeta; versions: VersionInfo[]; recoverUntil?: Date } | undefined>;
  /** Disables or enables a kept version of a present secret, with its audit record. */
  setVersionDisabled(input: {
    scope: ScopeName;
    key: string;
    version: number;
    disabled: boolean;
    by: string;
    requestId?: string;
  }): Promise<
    | { kind: 'done'; version: VersionInfo; current: boolean }
    | { kind: 'no_version'; kept: number[] }
    | { kind: 'missing' }
    | { kind: 'deleted'; recoverUntil: Date }
  >;
  /**
   * Queues for destruction the versions of secrets whose window ended at
   * `now` (each announced in the audit log) and the versions beyond the
   * newest `keep` of every secret. Returns the secrets destroyed and the
   * versions queued.
   */
  queueDestructions(now: Date, keep: number): Promise<{ expired: { scope: ScopeName; key: string }[]; queued: number }>;
  /** Values waiting to be destroyed, oldest first (only those of one key when given). */
  pendingDestructions(limit: number, only?: { scope: ScopeName; key: string }): Promise<PendingDestruction[]>;
  /** Destroyed in their backend: their rows go. */
  destructionsDone(items: PendingDestruction[]): Promise<void>;
  /** Not destroyed this time: counted, tried again by the next sweep. */
  destructionsFailed(items: PendingDestruction[]): Promise<void>;
}

export const storeKey = (scope: ScopeName, key: string): string => `${scope}\u0000${key}`;

/**
 * Saved Vault integrations; credentials stored encrypted, handed out only to
 * build a connection. create, update and delete write the change's audit
 * record (never the credential) in the same transaction.
 */
export interface VaultIntegrationRepo {
  /** undefined when the domain already has an integration of that name. */
  create(input: {
    id: string;
    domain: string;
    name: string;
    bundle: string;
    settings: VaultSettingsInput;
    by: string;
    requestId?: string;
  }): Promise<VaultIntegrationRecord | undefined>;
  /** By id, or else by name, within the domain. */
  find(domain: string, nameOrId: string): Promise<VaultIntegrationRecord | undefined>;
  list(domain: string): Promise<VaultIntegrationRecord[]>;
  /** By id, in any domain (the version watch). */
  byIds(ids: string[]): Promise<VaultIntegrationRecord[]>;
  /** Replaces the settings (and the credential when given); 'name_taken' when the new name is in use. */
  update(
    id: string,
    changes: VaultConnectionSettings & { name: string },
    credential: Buffer | undefined,
    by: string,
    requestId?: string,
  ): Promise<VaultIntegrationRecord | 'name_taken' | 'credential_needed' | undefined>;
  /**
   * Removes the integration (never touches its Vault) and, in the same
   * transaction, announces `secret.changed` (deleted) for each of `deployedKeys`.
   */
  delete(
    id: string,
    by: string,
    deployedKeys: { key: string; version: number }[],
    requestId?: string,
  ): Promise<boolean>;
  /** The decrypted credential of a saved integration (to connect; never returned to a caller). */
  credential(id: string): Promise<Buffer | undefined>;
  /** Records the KV versions the watch saw; announces each that moved past the deployed one. Returns how many. */
  recordVersions(
    integration: VaultIntegrationRecord,
    seen: { key: string; version: number; deployedVersion: number }[],
  ): Promise<number>;
}

/** Builds (and reuses) read-only connections to integrations' Vaults. */
export interface VaultSources {
  /** A connection for a saved integration; reused while the integration is unchanged. */
  forIntegration(record: VaultIntegrationRecord): Promise<VaultSource>;
  /** Checks host and path syntax without any request; throws invalid_argument errors. */
  validate(settings: VaultConnectionSettings): void;
  /** A one-off connection for unsaved settings. */
  forSettings(settings: VaultSettingsInput, label: string): VaultSource;
  /** Drops a cached connection (after update or delete). */
  forget(id: string): void;
}

/** The deployer's reference index, asked over its internal gRPC. */
export interface Dependents {
  /** For each key (every referenced key when `keys` is empty): the workloads ("domain/name") whose spec references it. */
  of(sourceType: 'MANAGED' | 'VAULT', sourceId: string, keys: string[]): Promise<Map<string, string[]>>;
  /**
   * A delete's check, in one decision with the delete: the dependents (as
   * `of`) and, unless there are some and it is not forced, a fence in the
   * deployer against new references to the keys (every key of the source
   * when `keys` is empty) until endDeletion. `deletionId` is undefined when
   * refused: nothing was fenced and nothing may be deleted.
   */
  beginDeletion(
    sourceType: 'MANAGED' | 'VAULT',
    sourceId: string,
    keys: string[],
    force: boolean,
  ): Promise<{ deletionId: string | undefined; dependents: Map<string, string[]> }>;
  /** The delete is over (done or failed): lifts the fence. */
  endDeletion(deletionId: string): Promise<void>;
  /** Every Vault key a live deployment holds, with the lowest version held. */
  deployedVaultKeys(): Promise<{ integrationId: string; key: string; version: number }[]>;
  /** Each workload ("domain/name") whose live deployment holds the key of that scope, with the version. */
  heldVersions?(
    sourceType: 'MANAGED' | 'VAULT',
    sourceId: string,
    key: string,
  ): Promise<{ workload: string; version: number }[]>;
}

/** ras's resource bundles, as far as the catalog needs them. */
export interface Bundles {
  exists(domain: string, name: string): Promise<boolean>;
}

/** Runs `fn` only if no other replica is running work of the same name; undefined when skipped. */
export type Exclusive = <T>(name: string, fn: () => Promise<T>) => Promise<T | undefined>;

/**
 * The leases of Vault dynamic credentials (table vault_leases): who each is
 * for and its timing, never the credentials.
 */
export interface VaultLeaseRepo {
  /** Records a lease just issued (state active, due at once for its first check). */
  record(lease: Omit<VaultLeaseRecord, 'state' | 'failures'>): Promise<void>;
  /**
   * Claims up to `limit` leases due at `now` (active or revoking), each row
   * locked with SKIP LOCKED so that replicas never claim the same lease, and
   * moves them to `claimUntil` (a replica that stops while acting leaves them
   * to the next round after that).
   */
  claimDue(now: Date, claimUntil: Date, limit: number): Promise<VaultLeaseRecord[]>;
  /** What the keeper did with a claimed lease. */
  settle(leaseId: string, action: VaultLeaseAction): Promise<void>;
  /** The leases of a deployment, oldest first (for tests and diagnosis). */
  ofDeployment(deploymentId: string): Promise<VaultLeaseRecord[]>;
}

/** The deployer's answer to which deployments are live, asked over its internal gRPC. */
export interface LiveDeployments {
  /** Those of `ids` that are live (resolving, starting or running, and not replaced). Throws when it cannot tell. */
  live(ids: string[]): Promise<Set<string>>;
}
