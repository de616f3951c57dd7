import { DOMAIN_NAME, GLOBAL_SCOPE } from '@latchkey/events';
import {
  ACTION_RULES,
  ACTIONS,
  BUNDLE_NAME,
  permissionsOf,
  rolesWith,
  type BundlePermission,
  type Permission,
  type Role,
} from './permission-model.js';

/** One question, as Check receives it (see CheckRequest in ras.proto). */
export interface CheckInput {
  principal: string;
  groups: readonly string[];
  action: string;
  /** Where the caller acts from, or `global`. */
  domain: string;
  /** The target scope when not `domain`: empty or `global`. */
  scope: string;
  resource: string;
}

export interface Decision {
  allowed: boolean;
  /** Empty when allowed; a stable dotted code otherwise. */
  code: string;
  reason: string;
}

/** What a decision needs to know, looked up lazily (ports; the repos implement them). */
export interface PolicyFacts {
  domainExists(domain: string): Promise<boolean>;
  /** The roles `principal` holds in `domain`, directly or through any of `groups`. */
  rolesOf(domain: string, principal: string, groups: readonly string[]): Promise<Role[]>;
  /** Whether the bundle exists, and what `principal` (or its groups) holds on it. */
  bundleAccess(
    domain: string,
    bundle: string,
    principal: string,
    groups: readonly string[],
  ): Promise<{ exists: boolean; permissions: BundlePermission[] }>;
}

export interface PlatformAdmins {
  users: ReadonlySet<string>;
  groups: ReadonlySet<string>;
}

const ALLOW: Decision = Object.freeze({ allowed: true, code: '', reason: '' });
const deny = (code: string, reason: string): Decision => ({ allowed: false, code, reason });
/** Names from a request are echoed at most this long. */
const shown = (s: string): string => (s.length > 80 ? `${s.slice(0, 80)}...` : s);

/**
 * The answer to anyone with no standing in a domain. It is built from the
 * question alone, so it reads the same whether the domain (or a bundle in it)
 * exists or not.
 */
export function noAccess(principal: string, action: string, domain: string): Decision {
  const p = shown(principal);
  const d = shown(domain);
  return deny(
    'ras.permission_denied',
    `${p} may not ${action} in domain ${d}: ${p} holds no role there; a domain owner or a platform admin can grant one (latchkey domain grant ${d} --user ${p} --role member)`,
  );
}

/** The answer to an action that only a domain has, asked of global scope: the same for everyone. */
function globalIsNoDomain(action: string): Decision {
  return deny(
    'domain.reserved',
    `${action} has no meaning in global scope: "global" is the platform-wide scope, not a domain (it has no workloads, Vault integrations, roles or audit of its own)`,
  );
}

export function noSuchDomain(domain: string): Decision {
  const d = shown(domain);
  return deny('ras.domain_not_found', `domain ${d} does not exist: create it with latchkey domain create ${d}`);
}

export function noSuchBundle(domain: string, bundle: string): Decision {
  const b = shown(bundle);
  const d = shown(domain);
  return deny(
    'ras.bundle_not_found',
    `bundle ${b} not found in domain ${d}: create it with latchkey bundle create ${b} --domain ${d}`,
  );
}

/**
 * The policy decision point: answers Check questions from the permission
 * model and the facts. Platform admins may do everything except reach from
 * one domain into another; everyone else needs a role in the domain (or a
 * grant on the bundle); global secrets are readable from a domain by whoever
 * may read that domain's.
 */
export class AccessPolicy {
  constructor(private readonly deps: { facts: PolicyFacts; admins: PlatformAdmins }) {}

  isPlatformAdmin(principal: string, groups: readonly string[]): boolean {
    return this.deps.admins.users.has(principal) || groups.some((g) => this.deps.admins.groups.has(g));
  }

  async decide(q: CheckInput, facts: PolicyFacts = this.deps.facts): Promise<Decision> {
    const rule = ACTION_RULES[q.action];
    if (rule === undefined || !ACTIONS.has(q.action)) {
      return deny(
        'ras.unknown_action',
        `unknown action ${JSON.stringify(shown(q.action))}: one of ${[...ACTIONS].sort().join(', ')}`,
      );
    }
    const admin = this.isPlatformAdmin(q.principal, q.groups);
    if (rule.kind === 'platform') {
      return admin
        ? ALLOW
        : deny('ras.permission_denied', `${shown(q.principal)} may not ${q.action}: only platform admins may`);
    }
    const scope = q.scope === '' ? q.domain : q.scope;
    const malformed = malformedCheck(q, scope);
    if (malformed) return malformed;

    if (rule.kind === 'domain' && rule.domainOnly === true && (q.domain === GLOBAL_SCOPE || scope === GLOBAL_SCOPE)) {
      return globalIsNoDomain(q.action);
    }

    if (rule.kind === 'bundle') {
      if (scope === GLOBAL_SCOPE) {
        return deny(
          'ras.invalid_check',
          `${q.action} names global scope: bundles belong to domains; give the bundle's domain`,
        );
      }
      return this.decideBundle(q, rule.anyOf, admin, facts);
    }

    if (scope === GLOBAL_SCOPE && !(rule.globalRead && q.domain !== GLOBAL_SCOPE)) {
      // Global scope is administered by platform admins; reads from a domain are handled below.
      return admin
        ? ALLOW
        : deny(
            'ras.permission_denied',
            `${shown(q.principal)} may not ${q.action} in global scope: global secrets are managed by platform admins, and read by domains (ask with the domain you act from)`,
          );
    }

    // A permission in q.domain: for its own secrets, or to read global ones from it.
    if (admin) return (await facts.domainExists(q.domain)) ? ALLOW : noSuchDomain(q.domain);
    const roles = await facts.rolesOf(q.domain, q.principal, q.groups);
    if (roles.length === 0) return noAccess(q.principal, q.action, q.domain);
    return permissionsOf(roles).has(rule.permission)
      ? ALLOW
      : lacking(q, roles, rule.permission, scope === GLOBAL_SCOPE);
  }

  private async decideBundle(
    q: CheckInput,
    anyOf: readonly BundlePermission[],
    admin: boolean,
    facts: PolicyFacts,
  ): Promise<Decision> {
    if (q.resource === '') {
      return deny(
        'ras.invalid_check',
        `the check of ${q.action} names no bundle: pass the bundle name as the resource`,
      );
    }
    if (admin && !(await facts.domainExists(q.domain))) return noSuchDomain(q.domain);
    const roles = admin ? [] : await facts.rolesOf(q.domain, q.principal, q.groups);
    const manages = admin || permissionsOf(roles).has('MANAGE_GRANTS');
    const access = BUNDLE_NAME.test(q.resource)
      ? await facts.bundleAccess(q.domain, q.resource, q.principal, q.groups)
      : { exists: false, permissions: [] };
    // Those who manage a domain's bundles learn whether one exists; nobody else does.
    if (manages) return access.exists ? ALLOW : noSuchBundle(q.domain, q.resource);
    if (access.exists && access.permissions.some((p) => anyOf.includes(p))) return ALLOW;
    if (roles.length === 0) return noAccess(q.principal, q.action, q.domain);
    const b = shown(q.resource);
    const d = shown(q.domain);
    return deny(
      'ras.permission_denied',
      `${shown(q.principal)} may not ${q.action} on bundle ${b} in domain ${d}: it needs ${anyOf.join(' or ')} on the bundle; a domain owner can grant it (latchkey bundle grant ${b} --domain ${d} --user ${shown(q.principal)} --permission ${anyOf[0] ?? 'USE'})`,
    );
  }
}

/** What is wrong with the domain and scope a check names, if anything: no domain, not a name, another domain's scope. */
function malformedCheck(q: CheckInput, scope: string): Decision | undefined {
  if (q.domain === '') {
    return deny(
      'ras.invalid_check',
      `the check of ${q.action} names no domain: give the domain the caller acts in (or "global")`,
    );
  }
  if (q.domain !== GLOBAL_SCOPE && !DOMAIN_NAME.test(q.domain)) {
    return deny(
      'ras.invalid_check',
      `invalid domain name ${JSON.stringify(shown(q.domain))}: 1-63 lowercase letters, digits and hyphens`,
    );
  }
  if (scope !== q.domain && scope !== GLOBAL_SCOPE) {
    return deny(
      'ras.cross_domain',
      `${q.action} from domain ${shown(q.domain)} cannot reach scope ${JSON.stringify(shown(scope))}: a domain reaches only its own secrets and global ones`,
    );
  }
  return undefined;
}

/** "a", "a and b", "a, b and c". */
function listed(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1) ?? ''}`;
}

/** Denial for someone who has a role in the domain, but not one that permits the action. */
function lacking(q: CheckInput, roles: readonly Role[], needed: Permission, global: boolean): Decision {
  const where = global ? `global scope from domain ${shown(q.domain)}` : `domain ${shown(q.domain)}`;
  return deny(
    'ras.permission_denied',
    `${shown(q.principal)} may not ${q.action} in ${where}: it needs ${needed}, which ${listed(rolesWith(needed).map((r) => `${r}s`))} hold; ${shown(q.principal)} is ${listed([...new Set(roles)])} there`,
  );
}
