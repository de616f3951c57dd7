import type { AuditRecord, ReferenceSpec, WorkloadResolutionFailed, WorkloadResolved } from '@latchkey/events';

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
  /** `scope`: the scope that answered (MANAGED) or the integration id (VAULT). */
  | { refId: string; found: true; scope: string; version: number; value: Buffer }
  | { refId: string; found: false; code: string; message: string };

/** Managed and Vault values, read through catalog's internal gRPC read. */
export interface ValueSource {
  read(items: ValueRead[]): Promise<ValueReadResult[]>;
}

/** Where the outcome of a resolution goes (the bus). */
export interface ResolutionPublisher {
  resolved(ev: WorkloadResolved): Promise<void>;
  failed(ev: WorkloadResolutionFailed): Promise<void>;
}

/** The audit stream: write() resolves only once the record is stored (JetStream acknowledged it). */
export interface AuditTrail {
  write(record: AuditRecord): Promise<void>;
}

export type { ReferenceSpec };
