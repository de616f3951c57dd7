import type { DomainService } from './domain-service.js';
import { grantNotFound, roleMismatch } from './grant-errors.js';
import type { Actor, DomainGrantRecord } from './grant-types.js';
import type { Role } from './permission-model.js';
import type { GrantRepo } from './ports.js';
import { parseGrantee, parseRole, requireDomainName } from './request-parsers.js';

/**
 * Domain roles: who is owner, maintainer or member of a domain. Platform
 * admins and the domain's owners change them; anyone with a role there sees
 * them.
 */
export class GrantService {
  constructor(private readonly deps: { repo: GrantRepo; domains: DomainService }) {}

  async grant(
    actor: Actor,
    domain: string,
    granteeInput: { kind: string; id: string } | undefined,
    roleInput: string,
  ): Promise<{ grant: DomainGrantRecord; changed: boolean; previous: Role | undefined }> {
    requireDomainName(domain);
    const grantee = parseGrantee(granteeInput);
    const role = parseRole(roleInput);
    await this.deps.domains.authorize(actor, 'grant.manage', domain);
    return this.deps.repo.put(domain, grantee, role, actor);
  }

  async revoke(
    actor: Actor,
    domain: string,
    granteeInput: { kind: string; id: string } | undefined,
    roleInput: string,
  ): Promise<DomainGrantRecord> {
    requireDomainName(domain);
    const grantee = parseGrantee(granteeInput);
    const role = roleInput === '' ? undefined : parseRole(roleInput);
    await this.deps.domains.authorize(actor, 'grant.manage', domain);
    const removed = await this.deps.repo.remove(domain, grantee, role, actor);
    if (removed) return removed;
    const held = await this.deps.repo.get(domain, grantee);
    if (held && role !== undefined) {
      throw roleMismatch(grantee, domain, held.role, role);
    }
    throw grantNotFound('role', grantee, `in domain ${domain}`, `see who does with latchkey domain members ${domain}`);
  }

  async members(actor: Actor, domain: string): Promise<DomainGrantRecord[]> {
    requireDomainName(domain);
    await this.deps.domains.authorize(actor, 'domain.read', domain);
    return this.deps.repo.list(domain);
  }
}
