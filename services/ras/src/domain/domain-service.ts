import { alreadyExists, invalidArgument, permissionDenied } from '@latchkey/errors';
import { DOMAIN_NAME, GLOBAL_SCOPE } from '@latchkey/events';
import {
  domainNotFound,
  type AccessPolicy,
  type CheckInput,
  type Decision,
  type PolicyFacts,
} from './access-policy.js';
import type { Actor } from './grant-types.js';
import { memoFacts } from './policy-facts.js';
import { decisionError, requireDomainName } from './policy-errors.js';
import type { DomainRecord, DomainRepo } from './ports.js';

export function validateDomainName(name: string): void {
  if (name === GLOBAL_SCOPE) {
    throw invalidArgument(
      'domain.reserved',
      '"global" is reserved for platform-wide secrets: choose another domain name',
    );
  }
  if (!DOMAIN_NAME.test(name)) {
    throw invalidArgument(
      'domain.invalid_name',
      `invalid domain name ${JSON.stringify(name.slice(0, 80))}: use 1-63 lowercase letters, digits and hyphens, starting with a letter or digit`,
    );
  }
}

/** Actions another Latchkey service may take on its own account (reads of policy objects). */
const SERVICE_READS = new Set(['domain.read', 'bundle.view']);

/**
 * Domains, and the decisions about them: Check for other services, and the
 * same policy for ras's own RPCs (authorize()).
 */
export class DomainService {
  constructor(private readonly deps: { repo: DomainRepo; policy: AccessPolicy; facts: PolicyFacts }) {}

  isPlatformAdmin(actor: Pick<Actor, 'id' | 'groups'>): boolean {
    return this.deps.policy.isPlatformAdmin(actor.id, actor.groups);
  }

  async create(actor: Actor, name: string): Promise<DomainRecord> {
    if (actor.kind !== 'user' || !this.isPlatformAdmin(actor)) {
      throw permissionDenied('ras.permission_denied', 'only platform admins create domains');
    }
    validateDomainName(name);
    const created = await this.deps.repo.create(name, actor.id);
    if (!created) throw alreadyExists('domain.exists', `domain ${name} already exists`);
    return created;
  }

  async get(actor: Actor, name: string): Promise<DomainRecord> {
    requireDomainName(name);
    await this.authorize(actor, 'domain.read', name);
    const found = await this.deps.repo.get(name);
    // Only reachable by someone allowed to learn that it does not exist.
    if (!found) throw decisionError(domainNotFound(name));
    return found;
  }

  async list(actor: Actor): Promise<DomainRecord[]> {
    if (actor.kind === 'service' || this.isPlatformAdmin(actor)) return this.deps.repo.list();
    return this.deps.repo.listWithRole(actor.id, actor.groups);
  }

  check(q: CheckInput): Promise<Decision> {
    return this.deps.policy.decide(q);
  }

  /** Each question decided on its own, with every fact looked up once for the whole batch. */
  checkBatch(qs: readonly CheckInput[]): Promise<Decision[]> {
    const facts = memoFacts(this.deps.facts);
    return Promise.all(qs.map((q) => this.deps.policy.decide(q, facts)));
  }

  /**
   * Throws the error `actor` must get unless it may do `action` in `domain`.
   * Services may read policy objects of existing domains, and change nothing.
   */
  async authorize(actor: Actor, action: string, domain: string, resource = ''): Promise<void> {
    if (actor.kind === 'service') {
      if (!SERVICE_READS.has(action)) {
        throw permissionDenied('auth.forbidden_caller', `services may not ${action}: only people change policy`);
      }
      if (!(await this.deps.facts.domainExists(domain))) throw decisionError(domainNotFound(domain));
      return;
    }
    const d = await this.deps.policy.decide({
      principal: actor.id,
      groups: actor.groups,
      action,
      domain,
      scope: '',
      resource,
    });
    if (!d.allowed) throw decisionError(d);
  }
}
