import type { AuditRecord } from '@latchkey/events';
import type { Actor, BundleGrantRecord, DomainGrantRecord, Grantee } from './grant-types.js';
import type { BundlePermission, Role } from './permission-model.js';

export interface DomainRecord {
  name: string;
  createdAt: Date;
  createdBy: string;
}

export interface DomainRepo {
  /** Creates the domain, its policy.changed event and its audit record atomically; undefined if it existed. */
  create(name: string, by: Actor): Promise<DomainRecord | undefined>;
  get(name: string): Promise<DomainRecord | undefined>;
  list(): Promise<DomainRecord[]>;
  /** The domains where `principal` or one of `groups` holds a role. */
  listWithRole(principal: string, groups: readonly string[]): Promise<DomainRecord[]>;
}

/**
 * Domain roles: at most one per grantee and domain. Every change writes its
 * policy.changed event and its audit record in the same transaction.
 */
export interface GrantRepo {
  rolesOf(domain: string, principal: string, groups: readonly string[]): Promise<Role[]>;
  get(domain: string, grantee: Grantee): Promise<DomainGrantRecord | undefined>;
  /**
   * Gives `grantee` `role` in `domain`, replacing the role it held. Nothing is
   * written (and `changed` is false) when it held exactly that role.
   */
  put(
    domain: string,
    grantee: Grantee,
    role: Role,
    by: Actor,
  ): Promise<{ grant: DomainGrantRecord; changed: boolean; previous: Role | undefined }>;
  /** Removes the grantee's role (only if it is `role`, when given); undefined when nothing matched. */
  remove(domain: string, grantee: Grantee, role: Role | undefined, by: Actor): Promise<DomainGrantRecord | undefined>;
  list(domain: string): Promise<DomainGrantRecord[]>;
}

export interface BundleRecord {
  domain: string;
  name: string;
  createdAt: Date;
  createdBy: string;
}

export interface BundleRepo {
  /** Creates the bundle, its policy.changed event and audit record atomically; undefined when one of that name exists. */
  create(domain: string, name: string, by: Actor): Promise<BundleRecord | undefined>;
  get(domain: string, name: string): Promise<BundleRecord | undefined>;
  list(domain: string): Promise<BundleRecord[]>;
  /** Whether the bundle exists, and the permissions `principal` or its groups hold on it. */
  access(
    domain: string,
    bundle: string,
    principal: string,
    groups: readonly string[],
  ): Promise<{ exists: boolean; permissions: BundlePermission[] }>;
  grants(domain: string, bundle: string): Promise<BundleGrantRecord[]>;
  /** Adds the permissions the grantee does not hold yet; returns those (and writes policy.changed and audit if any). */
  addGrants(
    domain: string,
    bundle: string,
    grantee: Grantee,
    permissions: readonly BundlePermission[],
    by: Actor,
  ): Promise<BundleGrantRecord[]>;
  /** Removes `permissions` (all it holds when undefined); returns what was removed (and writes policy.changed and audit if any). */
  removeGrants(
    domain: string,
    bundle: string,
    grantee: Grantee,
    permissions: readonly BundlePermission[] | undefined,
    by: Actor,
  ): Promise<BundleGrantRecord[]>;
}

/**
 * Where the records of decisions go. record() resolves once they are durable
 * (ras's outbox, relayed to the audit stream), and a decision is answered only
 * after that; it throws (retryable) when they cannot be stored, and the
 * decision is then not answered at all.
 */
export interface DecisionAudit {
  record(records: readonly AuditRecord[]): Promise<void>;
}

export interface AuditQuery {
  /** Only this domain's records (or `global`'s); undefined: every record. */
  domain?: string;
  since?: Date;
  actor?: string;
  limit: number;
  /** Strictly older than this record in (at, id) order (the previous page's last). */
  before?: { at: string; id: string };
}

/** The audit table, written by the audit consumer. */
export interface AuditStore {
  /** Stores the record; false when one with its id was stored already. */
  insert(record: AuditRecord): Promise<boolean>;
  /** Newest first ((at, id) descending), at most `limit`. */
  list(query: AuditQuery): Promise<AuditRecord[]>;
}

/** Mints the NATS user of an external event subscriber, allowed only the public events of `domains`. */
export interface SubscriberMinter {
  mint(
    name: string,
    domains: readonly string[],
    expiresAt: Date,
  ): Promise<{ creds: string; user: string; subjects: string[] }>;
}
