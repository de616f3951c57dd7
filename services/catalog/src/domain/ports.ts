import type { AuditRecord } from '@latchkey/events';
import type { PutResult, RotationDue, ScopeName, SecretMeta } from './secrets/secret-types.js';
import type {
  VaultConnectionSettings,
  VaultIntegrationRecord,
  VaultSettingsInput,
  VaultSource,
} from './vault/vault-integration-types.js';

/** Where the value of a current version lives. */
export interface StoredValue {
  version: number;
  backend: string;
  ref: string;
}

/** The managed store (database backend): metadata, versions and the change events, atomically. */
export interface SecretStore {
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
  /** Marks the key deleted and writes secret.changed and the audit record with it. */
  delete(scope: ScopeName, key: string, by: string, requestId?: string): Promise<SecretMeta | undefined>;
  /** The current version of each (scope, key); absent when missing or deleted. */
  readCurrent(items: { scope: ScopeName; key: string }[]): Promise<Map<string, StoredValue>>;
  /** Writes the records of an internal value read to the outbox, in one insert; throws when it cannot. */
  recordReads(records: AuditRecord[]): Promise<void>;
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
}

/** ras's resource bundles, as far as the catalog needs them. */
export interface Bundles {
  exists(domain: string, name: string): Promise<boolean>;
}

/** Runs `fn` only if no other replica is running work of the same name; undefined when skipped. */
export type Exclusive = <T>(name: string, fn: () => Promise<T>) => Promise<T | undefined>;
