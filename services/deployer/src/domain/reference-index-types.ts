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

/** A Vault key some live deployment received, with the lowest version any received. */
export interface DeployedVaultKey {
  integrationId: string;
  key: string;
  version: number;
}

/** The catalog's delete of keys of a source (every key when `keys` is undefined: a Vault integration). */
export interface DeletionQuery extends DependentsQuery {
  /** Delete even when workloads reference it (they become stale; their next deployment fails). */
  force: boolean;
  /** How long the fence stands if the catalog never lifts it. */
  ttlMs: number;
}

/** What the check decided: a fence (its id) unless the delete is refused for its dependents. */
export interface DeletionCheck {
  /** Undefined when there are dependents and the delete is not forced: nothing was fenced. */
  deletionId: string | undefined;
  dependents: KeyDependents[];
}

/** A workload whose live deployment (starting or deployed) holds a key, and the version it received. */
export interface HeldVersion {
  /** "domain/name". */
  workload: string;
  version: number;
}
