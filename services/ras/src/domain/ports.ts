import type { BundleGrantRecord, DomainGrantRecord, Grantee } from './grant-types.js';
import type { BundlePermission, Role } from './permission-model.js';

export interface DomainRecord {
  name: string;
  createdAt: Date;
  createdBy: string;
}

export interface DomainRepo {
  /** Creates the domain and its policy.changed event atomically; undefined if it existed. */
  create(name: string, by: string): Promise<DomainRecord | undefined>;
  get(name: string): Promise<DomainRecord | undefined>;
  list(): Promise<DomainRecord[]>;
  /** The domains where `principal` or one of `groups` holds a role. */
  listWithRole(principal: string, groups: readonly string[]): Promise<DomainRecord[]>;
}

/**
 * Domain roles: at most one per grantee and domain. Every change writes its
 * policy.changed event in the same transaction.
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
    by: string,
  ): Promise<{ grant: DomainGrantRecord; changed: boolean; previous: Role | undefined }>;
  /** Removes the grantee's role (only if it is `role`, when given); undefined when nothing matched. */
  remove(domain: string, grantee: Grantee, role: Role | undefined, by: string): Promise<DomainGrantRecord | undefined>;
  list(domain: string): Promise<DomainGrantRecord[]>;
}

export interface BundleRecord {
  domain: string;
  name: string;
  createdAt: Date;
  createdBy: string;
}

export interface BundleRepo {
  /** Creates the bundle and its policy.changed event atomically; undefined when one of that name exists. */
  create(domain: string, name: string, by: string): Promise<BundleRecord | undefined>;
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
  /** Adds the permissions the grantee does not hold yet; returns those (and writes policy.changed if any). */
  addGrants(
    domain: string,
    bundle: string,
    grantee: Grantee,
    permissions: readonly BundlePermission[],
    by: string,
  ): Promise<BundleGrantRecord[]>;
  /** Removes `permissions` (all it holds when undefined); returns what was removed (and writes policy.changed if any). */
  removeGrants(
    domain: string,
    bundle: string,
    grantee: Grantee,
    permissions: readonly BundlePermission[] | undefined,
    by: string,
  ): Promise<BundleGrantRecord[]>;
}
