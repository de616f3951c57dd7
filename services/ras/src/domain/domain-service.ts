import { checkNewDomainName } from '@latchkey/authz';
import { GLOBAL_SCOPE } from '@latchkey/events';
import { noSuchDomain, type AccessPolicy, type CheckInput, type Decision, type PolicyFacts } from './access-policy.js';
import { decisionRecord } from './audit-records.js';
import type { Actor } from './grant-types.js';
import { memoFacts } from './policy-facts.js';
import { decisionError } from './decision-errors.js';
import { domainExists, domainNotFound, globalNameReserved, onlyAdminsCreateDomains } from './domain-errors.js';
import { requireDomainName } from './request-parsers.js';
import type { DecisionAudit, DomainRecord, DomainRepo } from './ports.js';

/**
 * The name of a domain to create: valid in every place a domain name goes
 * (NEW_DOMAIN_NAME: at most 54 characters, starting with a letter, ending
 * with a letter or digit), and not `global`. Domains created under the
 * looser rule before stay readable; none is created anew.
 */
export function validateDomainName(name: string): void {
  if (name === GLOBAL_SCOPE) throw globalNameReserved();
  checkNewDomainName(name);
}

/** Actions another Latchkey service may take on its own account (reads of policy objects). */
const SERVICE_READS = new Set(['domain.read', 'bundle.view']);

/**
 * Domains, and the decisions about them: Check for other services, and the
 * same policy for ras's own RPCs (authorize()). Every decision, allow or
 * deny, goes to the audit stream.
 */
export class DomainService {
  constructor(
    private readonly deps: { repo: DomainRepo; policy: AccessPolicy; facts: PolicyFacts; audit: DecisionAudit },
  ) {}

  isPlatformAdmin(actor: Pick<Actor, 'id' | 'groups'>): boolean {
    return this.deps.policy.isPlatformAdmin(actor.id, actor.groups);
  }

  async create(actor: Actor, name: string): Promise<DomainRecord> {
    if (actor.kind !== 'user' || !this.isPlatformAdmin(actor)) {
      const err = onlyAdminsCreateDomains();
      await this.#record(actor, 'domain.create', name, '', { allowed: false, code: err.code, reason: err.message });
      throw err;
    }
    await this.#record(actor, 'domain.create', name, '', { allowed: true, code: '', reason: '' });
    validateDomainName(name);
    const created = await this.deps.repo.create(name, actor);
    if (!created) throw domainExists(name);
    return created;
  }

  async get(actor: Actor, name: string): Promise<DomainRecord> {
    requireDomainName(name);
    await this.authorize(actor, 'domain.read', name);
    const found = await this.deps.repo.get(name);
    // Only reachable by someone allowed to learn that it does not exist.
    if (!found) throw domainNotFound(name);
    return found;
  }

  async list(actor: Actor): Promise<DomainRecord[]> {
    if (actor.kind === 'service' || this.isPlatformAdmin(actor)) return this.deps.repo.list();
    return this.deps.repo.listWithRole(actor.id, actor.groups);
  }

  /** `requestId`: the request the asking service acts for, in the audit record. */
  async check(q: CheckInput, requestId = ''): Promise<Decision> {
    const d = await this.deps.policy.decide(q);
    await this.deps.audit.record([decisionRecord(q, d, requestId)]);
    return d;
  }

  /**
   * Each question decided on its own (and audited on its own, with its
   * request id from `requestIds`), with every fact looked up once for the
   * whole batch.
   */
  async checkBatch(qs: readonly CheckInput[], requestIds: readonly string[] = []): Promise<Decision[]> {
    const facts = memoFacts(this.deps.facts);
    const ds = await Promise.all(qs.map((q) => this.deps.policy.decide(q, facts)));
    // One write for the whole batch, durable before any answer leaves.
    await this.deps.audit.record(qs.map((q, i) => decisionRecord(q, ds[i]!, requestIds[i] ?? '')));
    return ds;
  }

  /**
   * Throws the error `actor` must get unless it may do `action` in `domain`.
   * Services may read policy objects of existing domains, and change nothing.
   */
  async authorize(actor: Actor, action: string, domain: string, resource = ''): Promise<void> {
    const d = await this.#decideFor(actor, action, domain, resource);
    await this.#record(actor, action, domain, resource, d);
    if (!d.allowed) throw decisionError(d);
  }

  async #decideFor(actor: Actor, action: string, domain: string, resource: string): Promise<Decision> {
    if (actor.kind === 'service') {
      if (!SERVICE_READS.has(action)) {
        const why = action.startsWith('audit.')
          ? 'audit records are for platform admins and domain owners'
          : 'only people change policy';
        return { allowed: false, code: 'auth.forbidden_caller', reason: `services may not ${action}: ${why}` };
      }
      if (!(await this.deps.facts.domainExists(domain))) return noSuchDomain(domain);
      return { allowed: true, code: '', reason: '' };
    }
    return this.deps.policy.decide({ principal: actor.id, groups: actor.groups, action, domain, scope: '', resource });
  }

  /** Audits a decision ras made about one of its own RPCs. */
  async #record(actor: Actor, action: string, domain: string, resource: string, d: Decision): Promise<void> {
    const q: CheckInput = { principal: actor.id, groups: actor.groups, action, domain, scope: '', resource };
    await this.deps.audit.record([decisionRecord(q, d, actor.requestId ?? '')]);
  }
}
