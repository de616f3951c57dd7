import type { BundlePermission, GranteeKind, Role } from './permission-model.js';

/** Who is asking a ras RPC: a person (with the groups of its identity) or another Latchkey service. */
export interface Actor {
  id: string;
  kind: 'user' | 'service';
  groups: readonly string[];
  /** The request the actor's call came with; it goes into the audit records of what the call decides and changes. */
  requestId?: string;
}

/** Who a grant is for. */
export interface Grantee {
  kind: GranteeKind;
  id: string;
}

export interface DomainGrantRecord {
  domain: string;
  grantee: Grantee;
  role: Role;
  grantedAt: Date;
  grantedBy: string;
}

export interface BundleGrantRecord {
  domain: string;
  bundle: string;
  grantee: Grantee;
  permission: BundlePermission;
  grantedAt: Date;
  grantedBy: string;
}

/**
 * The payload of `latchkey.policy.changed`: what changed, never more. Caches
 * of decisions drop everything on any of these; the fields say what for
 * anyone who wants to be finer.
 */
export interface PolicyChanged {
  change:
    'domain.created' | 'domain.granted' | 'domain.revoked' | 'bundle.created' | 'bundle.granted' | 'bundle.revoked';
  domain: string;
  bundle?: string;
  grantee?: Grantee;
  /** domain.granted: the new role; domain.revoked: the role taken away. */
  role?: Role;
  /** domain.granted: the role it replaced, if any. */
  previousRole?: Role;
  /** bundle.granted / bundle.revoked: the permissions added or taken away. */
  permissions?: BundlePermission[];
  by: string;
}

/** "user alice", "group data-eng": how a grantee is named in messages. */
export const granteeLabel = (g: Grantee): string => `${g.kind} ${g.id}`;
