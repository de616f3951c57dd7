import { alreadyExists, invalidArgument, notFound, permissionDenied } from '@latchkey/errors';
import type { DomainRecord, DomainRepo } from './ports.js';

import { DOMAIN_NAME, GLOBAL_SCOPE } from '@latchkey/events';

export { DOMAIN_NAME, GLOBAL_SCOPE };

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

export interface Actor {
  id: string;
  kind: 'user' | 'service';
}

/** Actions the minimal policy knows. */
export const ACTIONS = new Set([
  'domain.create',
  'secret.list',
  'secret.manage',
  'secret.use',
  'workload.manage',
  'workload.read',
  'workload.deploy',
  'kek.rotate',
  'vault.manage',
]);

export interface Decision {
  allowed: boolean;
  code: string;
  reason: string;
}

/**
 * The minimal Resource Authorization System: domains exist or not, and the
 * platform admins may do everything. A later step adds domain roles and
 * resource bundles; callers already ask through Check for every action.
 */
export class DomainService {
  constructor(private readonly deps: { repo: DomainRepo; platformAdmins: ReadonlySet<string> }) {}

  isPlatformAdmin(principal: string): boolean {
    return this.deps.platformAdmins.has(principal);
  }

  async create(actor: Actor, name: string): Promise<DomainRecord> {
    if (!this.isPlatformAdmin(actor.id)) {
      throw permissionDenied('ras.permission_denied', 'only platform admins create domains');
    }
    validateDomainName(name);
    const created = await this.deps.repo.create(name, actor.id);
    if (!created) throw alreadyExists('domain.exists', `domain ${name} already exists`);
    return created;
  }

  async get(actor: Actor, name: string): Promise<DomainRecord> {
    const found = (await this.deps.repo.get(name)) ?? undefined;
    // Until domain roles exist only admins and services see domains; the
    // same answer whether or not it exists, for anybody else.
    if (!found || !(actor.kind === 'service' || this.isPlatformAdmin(actor.id))) {
      throw notFound(
        'domain.not_found',
        `domain ${name} does not exist: create it with latchkey domain create ${name}`,
      );
    }
    return found;
  }

  async list(actor: Actor): Promise<DomainRecord[]> {
    if (!(actor.kind === 'service' || this.isPlatformAdmin(actor.id))) return [];
    return this.deps.repo.list();
  }

  async check(principal: string, action: string, domain: string): Promise<Decision> {
    if (!ACTIONS.has(action)) {
      return { allowed: false, code: 'ras.unknown_action', reason: `unknown action ${action}` };
    }
    if (action !== 'domain.create' && domain !== GLOBAL_SCOPE) {
      if (!DOMAIN_NAME.test(domain) || !(await this.deps.repo.get(domain))) {
        return {
          allowed: false,
          code: 'ras.domain_not_found',
          reason: `domain ${domain.slice(0, 80)} does not exist: create it with latchkey domain create ${domain.slice(0, 80)}`,
        };
      }
    }
    if (this.isPlatformAdmin(principal)) return { allowed: true, code: '', reason: '' };
    return {
      allowed: false,
      code: 'ras.permission_denied',
      reason: `${principal} may not ${action} in ${domain === GLOBAL_SCOPE ? 'global scope' : `domain ${domain}`}`,
    };
  }
}
