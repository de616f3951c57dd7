import { OBJECT_NAME, PRINCIPAL_ID } from '@latchkey/events';

/**
 * The permission model of ras, in one place: domain roles and what they
 * permit, bundle permissions, and which permission each action needs.
 * Pure data and lookups; decisions are made in access-policy.ts.
 */

export const ROLES = ['owner', 'maintainer', 'member'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'LIST_SECRETS',
  'USE_SECRETS',
  'MANAGE_SECRETS',
  'MANAGE_VAULT',
  'MANAGE_GRANTS',
  'READ_AUDIT',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/**
 * What each domain role permits in its domain.
 *
 * - LIST_SECRETS: see secret metadata, the selector, workloads and bundles.
 * - USE_SECRETS: reference secrets in workloads, apply and deploy them.
 * - MANAGE_SECRETS: create, update and delete managed secrets.
 * - MANAGE_VAULT: create Vault integrations (owners and platform admins only).
 * - MANAGE_GRANTS: grant and revoke domain roles, create bundles and manage
 *   their grants.
 * - READ_AUDIT: read the domain's audit records.
 */
export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  member: new Set<Permission>(['LIST_SECRETS', 'USE_SECRETS']),
  maintainer: new Set<Permission>(['LIST_SECRETS', 'USE_SECRETS', 'MANAGE_SECRETS']),
  // Every permission.
  owner: new Set<Permission>(PERMISSIONS),
};

export const BUNDLE_PERMISSIONS = ['VIEW', 'UPDATE', 'USE'] as const;
export type BundlePermission = (typeof BUNDLE_PERMISSIONS)[number];

export const GRANTEE_KINDS = ['user', 'group'] as const;
export type GranteeKind = (typeof GRANTEE_KINDS)[number];

/** How an action is decided. */
export type ActionRule =
  /** Platform admins only; the domain is not looked at. */
  | { kind: 'platform' }
  /**
   * A permission in the domain; `globalRead` actions may target global scope
   * from a domain. `domainOnly` actions concern what only a domain has
   * (workloads, Vault integrations, roles, its audit): global scope is refused
   * for them, platform admins included (domain.reserved).
   */
  | { kind: 'domain'; permission: Permission; globalRead: boolean; domainOnly?: true }
  /** A grant on the bundle named by the resource (any of `anyOf`), or MANAGE_GRANTS in its domain. */
  | { kind: 'bundle'; anyOf: readonly BundlePermission[] };

export const ACTION_RULES: Readonly<Record<string, ActionRule>> = {
  'domain.create': { kind: 'platform' },
  'kek.rotate': { kind: 'platform' },
  // Every domain's audit records (and the global ones).
  'audit.read_all': { kind: 'platform' },
  'secret.list': { kind: 'domain', permission: 'LIST_SECRETS', globalRead: true },
  'secret.use': { kind: 'domain', permission: 'USE_SECRETS', globalRead: true },
  'secret.manage': { kind: 'domain', permission: 'MANAGE_SECRETS', globalRead: false },
  'workload.read': { kind: 'domain', permission: 'LIST_SECRETS', globalRead: false, domainOnly: true },
  'workload.manage': { kind: 'domain', permission: 'USE_SECRETS', globalRead: false, domainOnly: true },
  'workload.deploy': { kind: 'domain', permission: 'USE_SECRETS', globalRead: false, domainOnly: true },
  'vault.manage': { kind: 'domain', permission: 'MANAGE_VAULT', globalRead: false, domainOnly: true },
  // See the domain and its members, list its bundles: any role.
  'domain.read': { kind: 'domain', permission: 'LIST_SECRETS', globalRead: false, domainOnly: true },
  // Grant and revoke domain roles, create bundles, grant and revoke on them.
  'grant.manage': { kind: 'domain', permission: 'MANAGE_GRANTS', globalRead: false, domainOnly: true },
  // One domain's audit records: owners.
  'audit.read': { kind: 'domain', permission: 'READ_AUDIT', globalRead: false, domainOnly: true },
  // UPDATE implies VIEW: whoever may change a configuration may see it.
  'bundle.view': { kind: 'bundle', anyOf: ['VIEW', 'UPDATE'] },
  'bundle.update': { kind: 'bundle', anyOf: ['UPDATE'] },
  'bundle.use': { kind: 'bundle', anyOf: ['USE'] },
};

export const ACTIONS: ReadonlySet<string> = new Set(Object.keys(ACTION_RULES));

export const isRole = (s: string): s is Role => (ROLES as readonly string[]).includes(s);
export const isBundlePermission = (s: string): s is BundlePermission =>
  (BUNDLE_PERMISSIONS as readonly string[]).includes(s);
export const isGranteeKind = (s: string): s is GranteeKind => (GRANTEE_KINDS as readonly string[]).includes(s);

/** The union of what `roles` permit. */
export function permissionsOf(roles: Iterable<Role>): Set<Permission> {
  const out = new Set<Permission>();
  for (const r of roles) for (const p of ROLE_PERMISSIONS[r]) out.add(p);
  return out;
}

/** The least role that permits `p`, for messages ("needs maintainer or owner"). */
export function rolesWith(p: Permission): Role[] {
  return ROLES.filter((r) => ROLE_PERMISSIONS[r].has(p));
}

/** A bundle name. */
export const BUNDLE_NAME = OBJECT_NAME;

/** A user id or group name a grant may name (service identities cannot hold grants: no ':'). */
export const GRANTEE_ID = PRINCIPAL_ID;
