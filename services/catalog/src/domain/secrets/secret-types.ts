/** A domain name, or `global`. */
export type ScopeName = string;

export interface SecretMeta {
  scope: ScopeName;
  key: string;
  source: 'MANAGED';
  version: number;
  description: string;
  createdAt: Date;
  updatedAt: Date;
  updatedBy: string;
  /** The rotation policy: the longest the current version may stay current, in seconds; null without one. */
  rotateEverySeconds: number | null;
  /** When the current version was created (the age a rotation policy measures). */
  versionCreatedAt: Date;
}

/** A version that outlived its secret's rotation policy, as announced by the sweep. */
export interface RotationDue {
  scope: ScopeName;
  key: string;
  version: number;
  rotateEverySeconds: number;
  versionCreatedAt: Date;
  dueSince: Date;
}

export interface PutResult {
  meta: SecretMeta;
  change: 'created' | 'updated';
  /** How many older versions the put queued for destruction (beyond the kept count). */
  pruned?: number;
}

/** One kept version of a managed secret: metadata and where its value lives, never the value. */
export interface VersionInfo {
  version: number;
  createdAt: Date;
  createdBy: string;
  backend: string;
  ref: string;
  disabledAt: Date | null;
  disabledBy: string | null;
  /** A rollback's version: the version whose value it copied. */
  rolledBackFrom: number | null;
}

/** A deleted secret in its recovery window. */
export interface DeletedSecret {
  meta: SecretMeta;
  deletedAt: Date;
  recoverUntil: Date;
}

/** A value waiting to be destroyed in its backend. */
export interface PendingDestruction {
  scope: ScopeName;
  key: string;
  version: number;
  backend: string;
  ref: string;
}

export interface ValueQuery {
  refId: string;
  key: string;
  /** MANAGED: the scope to read. VAULT: the workload's domain, which must own the integration. */
  scope: ScopeName;
  fallbackToGlobal: boolean;
  /** Default MANAGED. */
  sourceType?: 'MANAGED' | 'VAULT';
  /** VAULT only. */
  integrationId?: string;
}

export type ValueAnswer =
  /**
   * `scope`: the scope that answered (MANAGED) or the integration id (VAULT).
   * `shadowedGlobal`: set on a legacy read the domain answered while global scope has the key too.
   */
  | { refId: string; found: true; scope: ScopeName; version: number; value: Buffer; shadowedGlobal?: true }
  | { refId: string; found: false; code: string; message: string };

/** Whether a referenced key exists, as ValueAnswer without the value (0 as the version of a Vault key). */
export type KeyAnswer =
  | { refId: string; found: true; scope: ScopeName; version: number; shadowedGlobal?: true }
  | { refId: string; found: false; code: string; message: string };
