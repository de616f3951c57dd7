import { bundleExists, bundleNotFound } from './bundle-errors.js';
import type { DomainService } from './domain-service.js';
import { grantNotFound } from './grant-errors.js';
import type { Actor, BundleGrantRecord } from './grant-types.js';
import type { BundleRecord, BundleRepo } from './ports.js';
import { parseBundlePermissions, parseGrantee, requireBundleName, requireDomainName } from './request-parsers.js';

/** What grant and revoke take: who asks, which bundle, to or from whom, which permissions. */
type GrantChangeArgs = [
  actor: Actor,
  domain: string,
  name: string,
  granteeInput: { kind: string; id: string } | undefined,
  permissionsInput: readonly string[],
];

/**
 * Resource bundles: named access-control objects owned by a domain, with
 * VIEW / UPDATE / USE grants to users or groups. Platform admins and the
 * domain's owners create them and manage their grants.
 */
export class BundleService {
  constructor(private readonly deps: { repo: BundleRepo; domains: DomainService }) {}

  async create(actor: Actor, domain: string, name: string): Promise<BundleRecord> {
    requireDomainName(domain);
    requireBundleName(name);
    await this.deps.domains.authorize(actor, 'grant.manage', domain);
    const b = await this.deps.repo.create(domain, name, actor);
    if (!b) throw bundleExists(domain, name);
    return b;
  }

  async get(actor: Actor, domain: string, name: string): Promise<BundleRecord> {
    requireDomainName(domain);
    requireBundleName(name);
    await this.deps.domains.authorize(actor, 'domain.read', domain);
    const b = await this.deps.repo.get(domain, name);
    if (!b) throw bundleNotFound(domain, name);
    return b;
  }

  async list(actor: Actor, domain: string): Promise<BundleRecord[]> {
    requireDomainName(domain);
    await this.deps.domains.authorize(actor, 'domain.read', domain);
    return this.deps.repo.list(domain);
  }

  /** The grants on a bundle: for its domain's owners, platform admins, and holders of VIEW or UPDATE on it. */
  async grants(actor: Actor, domain: string, name: string): Promise<BundleGrantRecord[]> {
    requireDomainName(domain);
    requireBundleName(name);
    await this.deps.domains.authorize(actor, 'bundle.view', domain, name);
    if (!(await this.deps.repo.get(domain, name))) throw bundleNotFound(domain, name);
    return this.deps.repo.grants(domain, name);
  }

  async grant(...args: GrantChangeArgs): Promise<BundleGrantRecord[]> {
    const [actor, domain, name] = args;
    const { grantee, permissions } = await this.#grantChange(args, false);
    return this.deps.repo.addGrants(domain, name, grantee, permissions, actor);
  }

  /** Takes `permissionsInput` away (every permission the grantee holds there when empty). */
  async revoke(...args: GrantChangeArgs): Promise<BundleGrantRecord[]> {
    const [actor, domain, name] = args;
    const { grantee, permissions } = await this.#grantChange(args, true);
    const removed = await this.deps.repo.removeGrants(
      domain,
      name,
      grantee,
      permissions.length === 0 ? undefined : permissions,
      actor,
    );
    if (removed.length === 0) {
      throw grantNotFound(
        permissions.length === 0 ? 'grant' : `${permissions.join(' or ')} grant`,
        grantee,
        `on bundle ${name} in domain ${domain}`,
        `see the grants with latchkey bundle show ${name} --domain ${domain}`,
      );
    }
    return removed;
  }

  /** A change to a bundle's grants: its arguments checked, the actor allowed grant.manage, the bundle there. */
  async #grantChange(
    [actor, domain, name, granteeInput, permissionsInput]: GrantChangeArgs,
    allowNoPermission: boolean,
  ) {
    requireDomainName(domain);
    requireBundleName(name);
    const grantee = parseGrantee(granteeInput);
    const permissions = parseBundlePermissions(permissionsInput, allowNoPermission);
    await this.deps.domains.authorize(actor, 'grant.manage', domain);
    if (!(await this.deps.repo.get(domain, name))) throw bundleNotFound(domain, name);
    return { grantee, permissions };
  }
}
