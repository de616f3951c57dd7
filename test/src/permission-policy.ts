// The declared authorization policy of every RPC Latchkey serves, in one
// table: who may call it, on which target, and what everyone else is told.
// permission-matrix.test.ts calls every RPC as every kind of caller on every
// target and fails on any outcome this table does not declare, an allow above
// all. The table is the contract; README "Security" summarises it.

/** The callers the matrix tries. Roles are held in the own domain only; nobody holds a bundle grant. */
export const CALLERS = [
  /** No credentials at all. */
  'anonymous',
  /** A well-formed JWT naming the platform admin, signed by a key the services do not trust. */
  'bad-token',
  /** A token of the platform admin from the trusted issuer, expired. */
  'expired-token',
  /** A member of a third domain, with no role in the own or the other domain. */
  'stranger',
  'member',
  'maintainer',
  'owner',
  /** The embedded bootstrap platform admin. */
  'admin',
] as const;
export type Caller = (typeof CALLERS)[number];

/**
 * Where a call is aimed: the domain the roles are held in, another existing
 * domain, global scope, or nothing (calls that name no domain).
 */
export const TARGETS = ['own', 'other', 'global', 'none'] as const;
export type Target = (typeof TARGETS)[number];

/** An outcome: the call succeeds, or it is refused with this error code. */
export type Outcome = 'allow' | `${string}.${string}`;

/** One cell group: the callers who are allowed; everyone else is refused with `deny`. */
export interface Rule {
  allow: readonly Caller[];
  /** The code of the refusal for authenticated callers not in `allow`; default ras.permission_denied. */
  deny?: Outcome;
}

const MEMBERS_UP = ['member', 'maintainer', 'owner', 'admin'] as const;
const MAINTAINERS_UP = ['maintainer', 'owner', 'admin'] as const;
const OWNERS = ['owner', 'admin'] as const;
const ADMIN = ['admin'] as const;
const PEOPLE = ['stranger', 'member', 'maintainer', 'owner', 'admin'] as const;

const rule = (allow: readonly Caller[], deny?: Outcome): Rule => (deny ? { allow, deny } : { allow });
/** Nobody: every authenticated caller gets `deny`. */
const nobody = (deny: Outcome): Rule => ({ allow: [], deny });

/** An RPC on one domain's objects: allowed to `who` of the own domain and to platform admins anywhere; none in global scope. */
const inDomain = (who: readonly Caller[]) => ({
  own: rule(who),
  other: rule(ADMIN),
  global: nobody('domain.reserved'),
});
const IN_DOMAIN_MEMBERS = inDomain(MEMBERS_UP);
const IN_DOMAIN_OWNERS = inDomain(OWNERS);

/** Callers the identity layer turns away before any policy is asked. */
const UNAUTHENTICATED: Readonly<Partial<Record<Caller, Outcome>>> = {
  anonymous: 'auth.unauthenticated',
  'bad-token': 'auth.unauthenticated',
  'expired-token': 'auth.unauthenticated',
};

/**
 * `Service.Method` → target → rule. A target an RPC has no row for is not
 * callable that way (an RPC without a domain has only `none`).
 *
 * Notes on the choices:
 * - Global scope is the platform admins' to change and list; domains read
 *   global secrets through the selector and references (secret.use from the
 *   domain), not through ListSecrets/Inventory of global scope.
 * - Vault integrations: MANAGE_VAULT (owners, admins) creates; VIEW on the
 *   integration's bundle shows it (Get; List shows only those one may view);
 *   UPDATE on it changes, deletes and tests it. Owners hold every bundle
 *   permission in their domain (MANAGE_GRANTS), so no role below owner sees
 *   an integration without a grant on its bundle.
 * - `global` is not a domain: calls about what only a domain has (Vault
 *   integrations, workloads, bundles, roles, the domain itself) refuse it
 *   with domain.reserved, platform admins included. The selector opened on
 *   global scope is the global keys, for platform admins (who list them anyway).
 */
export const POLICY: Readonly<Record<string, Readonly<Partial<Record<Target, Rule>>>>> = {
  // CatalogService
  'CatalogService.PutSecret': { own: rule(MAINTAINERS_UP), other: rule(ADMIN), global: rule(ADMIN) },
  'CatalogService.ListSecrets': { own: rule(MEMBERS_UP), other: rule(ADMIN), global: rule(ADMIN) },
  'CatalogService.DeleteSecret': { own: rule(MAINTAINERS_UP), other: rule(ADMIN), global: rule(ADMIN) },
  'CatalogService.SetRotationPolicy': { own: rule(MAINTAINERS_UP), other: rule(ADMIN), global: rule(ADMIN) },
  'CatalogService.RotateKek': { none: rule(ADMIN) },
  'CatalogService.CreateVaultIntegration': IN_DOMAIN_OWNERS,
  'CatalogService.GetVaultIntegration': IN_DOMAIN_OWNERS,
  'CatalogService.ListVaultIntegrations': IN_DOMAIN_MEMBERS,
  'CatalogService.UpdateVaultIntegration': IN_DOMAIN_OWNERS,
  'CatalogService.DeleteVaultIntegration': IN_DOMAIN_OWNERS,
  'CatalogService.TestVaultIntegration': IN_DOMAIN_OWNERS,
  'CatalogService.Selector': { own: rule(MEMBERS_UP), other: rule(ADMIN), global: rule(ADMIN) },
  'CatalogService.Inventory': { own: rule(MEMBERS_UP), other: rule(ADMIN), global: rule(ADMIN) },
  // Versions are viewed like the list, and restored, rolled back, disabled and enabled like a put.
  'CatalogService.RestoreSecret': { own: rule(MAINTAINERS_UP), other: rule(ADMIN), global: rule(ADMIN) },
  'CatalogService.ListSecretVersions': { own: rule(MEMBERS_UP), other: rule(ADMIN), global: rule(ADMIN) },
  'CatalogService.RollbackSecret': { own: rule(MAINTAINERS_UP), other: rule(ADMIN), global: rule(ADMIN) },
  'CatalogService.SetSecretVersionState': { own: rule(MAINTAINERS_UP), other: rule(ADMIN), global: rule(ADMIN) },

  // DeployerService
  'DeployerService.ApplyWorkload': IN_DOMAIN_MEMBERS,
  'DeployerService.GetWorkload': IN_DOMAIN_MEMBERS,
  // Without a domain: the workloads of every domain the caller may read, and nothing about the others.
  'DeployerService.ListWorkloads': { ...IN_DOMAIN_MEMBERS, none: rule(PEOPLE) },
  'DeployerService.Deploy': IN_DOMAIN_MEMBERS,
  'DeployerService.DryRun': IN_DOMAIN_MEMBERS,
  'DeployerService.GetDeployment': IN_DOMAIN_MEMBERS,
  'DeployerService.Redeploy': IN_DOMAIN_MEMBERS,
  'DeployerService.StopWorkload': IN_DOMAIN_MEMBERS,
  'DeployerService.GetLogs': IN_DOMAIN_MEMBERS,
  'DeployerService.DeleteWorkload': IN_DOMAIN_MEMBERS,
  // A connection test resolves credentials as a deployment does: workload.deploy, as for Deploy and DryRun.
  'DeployerService.TestWorkload': IN_DOMAIN_MEMBERS,

  // RasService
  'RasService.CreateBundle': IN_DOMAIN_OWNERS,
  'RasService.GetBundle': IN_DOMAIN_MEMBERS,
  'RasService.ListBundles': IN_DOMAIN_MEMBERS,
  'RasService.GrantBundle': IN_DOMAIN_OWNERS,
  'RasService.RevokeBundle': IN_DOMAIN_OWNERS,
  'RasService.ListBundleGrants': IN_DOMAIN_OWNERS,
  'RasService.CreateDomain': { none: rule(ADMIN) },
  'RasService.GetDomain': IN_DOMAIN_MEMBERS,
  'RasService.ListDomains': { none: rule(PEOPLE) },
  'RasService.GrantDomainRole': IN_DOMAIN_OWNERS,
  'RasService.RevokeDomainRole': IN_DOMAIN_OWNERS,
  'RasService.ListDomainMembers': IN_DOMAIN_MEMBERS,
  // Services only: people, platform admins included, are refused by the transport.
  'RasService.Check': { none: nobody('auth.forbidden_caller') },
  'RasService.CheckBatch': { none: nobody('auth.forbidden_caller') },
  'RasService.WhoAmI': { none: rule(PEOPLE) },
  'RasService.ListAudit': { own: rule(OWNERS), other: rule(ADMIN), global: rule(ADMIN) },
  // Giving an outsider a domain's events is like granting a role there.
  'RasService.MintEventCredentials': IN_DOMAIN_OWNERS,

  // Internal services: only service certificates (the resolver; other services) get in.
  'CatalogInternal.ReadValues': { none: nobody('auth.forbidden_caller') },
  'CatalogInternal.FindKeys': { none: nobody('auth.forbidden_caller') },
  'CatalogInternal.IntegrationBundles': { none: nobody('auth.forbidden_caller') },
  'DeployerInternal.ListDependents': { none: nobody('auth.forbidden_caller') },
  'DeployerInternal.ListDeployedVaultKeys': { none: nobody('auth.forbidden_caller') },
  'DeployerInternal.BeginDeletion': { none: nobody('auth.forbidden_caller') },
  'DeployerInternal.EndDeletion': { none: nobody('auth.forbidden_caller') },
  // A workload's token reaches these through the gateway's certificate only: no person gets in.
  'DeployerInternal.ListRuntimeSecrets': { none: nobody('auth.forbidden_caller') },
  'DeployerInternal.ReadRuntimeSecret': { none: nobody('auth.forbidden_caller') },
  'DeployerInternal.ListHeldVersions': { none: nobody('auth.forbidden_caller') },
  'DeployerInternal.ListLiveDeployments': { none: nobody('auth.forbidden_caller') },
};

/** What `caller` calling `rpc` on `target` must get, by the table. */
export function expected(rpc: string, target: Target, caller: Caller): Outcome {
  const r = POLICY[rpc]?.[target];
  if (r === undefined) throw new Error(`the policy table has no cell for ${rpc} on ${target}`);
  const unauthenticated = UNAUTHENTICATED[caller];
  if (unauthenticated !== undefined) return unauthenticated;
  return r.allow.includes(caller) ? 'allow' : (r.deny ?? 'ras.permission_denied');
}
