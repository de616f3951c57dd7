import type {
  AuditRecord,
  ReferenceSpec,
  WorkloadResolutionFailed,
  WorkloadResolutionRetrying,
  WorkloadResolved,
} from '@latchkey/events';

export interface ValueRead {
  refId: string;
  key: string;
  /** MANAGED: domain name or `global`. VAULT: the workload's domain (which must own the integration). */
  scope: string;
  fallbackToGlobal: boolean;
  /** Default MANAGED. */
  sourceType?: 'MANAGED' | 'VAULT';
  /** VAULT only. */
  integrationId?: string;
}

export type ValueReadResult =
  /**
   * `scope`: the scope that answered (MANAGED) or the integration id (VAULT).
   * `shadowedGlobal`: a legacy read the domain answered while global scope has the key too.
   */
  | { refId: string; found: true; scope: string; version: number; value: Buffer; shadowedGlobal: boolean }
  | { refId: string; found: false; code: string; message: string };

/** Whether a key exists: a ValueReadResult without the value (version 0 for a Vault key). */
export type KeyPresenceResult =
  | { refId: string; found: true; scope: string; version: number; shadowedGlobal: boolean }
  | { refId: string; found: false; code: string; message: string };

/**
 * Managed and Vault values, read through catalog's internal gRPC read. A
 * catalog that cannot be reached (or whose managed backend is unavailable)
 * throws a retryable LatchkeyError; per-reference failures are results.
 */
export interface ValueSource {
  /** `deploymentId`: the deployment the values are for (Vault dynamic credentials are leased to it). */
  read(items: ValueRead[], deploymentId?: string): Promise<ValueReadResult[]>;
  /** The same question without reading any value. */
  findKeys(items: ValueRead[]): Promise<KeyPresenceResult[]>;
  /**
   * The resource bundle of each of `integrationIds` that is a Vault
   * integration of `domain` (metadata only); ids it does not hold are absent.
   */
  integrationBundles(domain: string, integrationIds: string[]): Promise<Map<string, string>>;
}

/** Where the outcome of a resolution goes (the bus). */
export interface ResolutionPublisher {
  resolved(ev: WorkloadResolved): Promise<void>;
  failed(ev: WorkloadResolutionFailed): Promise<void>;
  /** Only retryable failures this attempt: the deployment waits, and says so. */
  retrying(ev: WorkloadResolutionRetrying): Promise<void>;
}

/** The audit stream: write() resolves only once the record is stored (JetStream acknowledged it). */
export interface AuditTrail {
  write(record: AuditRecord): Promise<void>;
}

export type { ReferenceSpec };
