import { alreadyExists, invalidArgument, notFound, permissionDenied } from '@latchkey/errors';
import type { Actor, DomainService } from './domain-service.js';
import type { BundleRecord, BundleRepo } from './ports.js';

export const BUNDLE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/**
 * Resource bundles: named access-control objects owned by a domain. In this
 * step they are names only (a Vault integration belongs to one); their VIEW /
 * UPDATE / USE grants come with the full ras.
 */
export class BundleService {
  constructor(private readonly deps: { repo: BundleRepo; domains: DomainService }) {}

  private async authorize(actor: Actor, domain: string, action: string): Promise<void> {
    if (actor.kind === 'service') {
      await this.deps.domains.get(actor, domain);
      return;
    }
    const d = await this.deps.domains.check(actor.id, action, domain);
    if (!d.allowed) {
      if (d.code === 'ras.domain_not_found') throw notFound('domain.not_found', d.reason);
      throw permissionDenied(d.code, d.reason);
    }
  }

  async create(actor: Actor, domain: string, name: string): Promise<BundleRecord> {
    if (!BUNDLE_NAME.test(name)) {
      throw invalidArgument(
        'bundle.invalid_name',
        `invalid bundle name ${JSON.stringify(name.slice(0, 80))}: 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`,
      );
    }
    await this.authorize(actor, domain, 'secret.manage');
    const b = await this.deps.repo.create(domain, name, actor.id);
    if (!b) throw alreadyExists('bundle.exists', `bundle ${name} already exists in domain ${domain}`);
    return b;
  }

  async get(actor: Actor, domain: string, name: string): Promise<BundleRecord> {
    await this.authorize(actor, domain, 'secret.list');
    const b = BUNDLE_NAME.test(name) ? await this.deps.repo.get(domain, name) : undefined;
    if (!b) {
      throw notFound(
        'bundle.not_found',
        `bundle ${name.slice(0, 80)} not found in domain ${domain}: create it with latchkey bundle create ${name.slice(0, 80)} --domain ${domain}`,
      );
    }
    return b;
  }

  async list(actor: Actor, domain: string): Promise<BundleRecord[]> {
    await this.authorize(actor, domain, 'secret.list');
    return this.deps.repo.list(domain);
  }
}
