import type { ReferenceSpec, WorkloadResolutionFailed, WorkloadResolved } from '@latchkey/events';

export interface ValueRead {
  refId: string;
  key: string;
  /** Domain name or `global`. */
  scope: string;
  fallbackToGlobal: boolean;
}

export type ValueReadResult =
  | { refId: string; found: true; scope: string; version: number; value: Buffer }
  | { refId: string; found: false; code: string; message: string };

/** The managed store, read through catalog's internal gRPC read. */
export interface ValueSource {
  read(items: ValueRead[]): Promise<ValueReadResult[]>;
}

/** Where the outcome of a resolution goes (the bus). */
export interface ResolutionPublisher {
  resolved(ev: WorkloadResolved): Promise<void>;
  failed(ev: WorkloadResolutionFailed): Promise<void>;
}

export type { ReferenceSpec };
