import type { SourceType } from '@latchkey/events';

/** Which secrets to find the dependents of: keys of one source, or every key of it. */
export interface DependentsQuery {
  sourceType: SourceType;
  /** MANAGED: a domain or `global`; VAULT: an integration id. */
  sourceId: string;
  /** Distinct keys; undefined for every key of the source. */
  keys?: string[];
}

/** One key and the workloads ("domain/name", sorted) whose spec references it. */
export interface KeyDependents {
  key: string;
  workloads: string[];
}

/** A Vault key some live deployment received, with the highest version any received. */
export interface DeployedVaultKey {
  integrationId: string;
  key: string;
  version: number;
}
