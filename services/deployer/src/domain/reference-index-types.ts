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

/** Reads of the reference index (written by WorkloadRepo.upsertWorkload). */
export interface ReferenceIndex {
  /**
   * The dependents of each key that has any, by key. MANAGED + a domain:
   * structured references to that domain's key and the domain's legacy
   * placeholders. MANAGED + `global`: structured references to the global key
   * and legacy placeholders of every domain. VAULT: structured references to
   * that integration's key.
   */
  dependents(query: DependentsQuery): Promise<KeyDependents[]>;
  /**
   * The catalog's delete, first step: the dependents (as `dependents`) and,
   * in the same decision, unless there are some and the delete is not
   * forced, a fence on the keys: until endDeletion (or the fence's ttl), no
   * apply or deployment may reference them (`reference.being_deleted`).
   */
  beginDeletion(query: DeletionQuery): Promise<DeletionCheck>;
  /** The catalog's delete is over, done or not: lifts its fence. */
  endDeletion(deletionId: string): Promise<void>;
  /** Per (integration, key), the lowest version any workload's live deployment received. */
  deployedVaultKeys(): Promise<DeployedVaultKey[]>;
  /** Each workload whose live deployment holds the key of that source (the answering scope), with the version. */
  heldVersions(query: { sourceType: SourceType; sourceId: string; key: string }): Promise<HeldVersion[]>;
  /**
   * Those of `ids` whose deployment is live: resolving, starting or running,
   * and not replaced by a newer deployment of its workload that went live.
   */
  liveDeployments(ids: readonly string[]): Promise<string[]>;
}
