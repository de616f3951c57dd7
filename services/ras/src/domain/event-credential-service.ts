import type { DomainService } from './domain-service.js';
import {
  credentialsUnavailable,
  invalidSubscriberName,
  invalidTtl,
  noDomain,
  tooManyDomains,
} from './event-credential-errors.js';
import type { Actor } from './grant-types.js';
import { requireDomainName } from './request-parsers.js';
import type { SubscriberMinter } from './ports.js';

export const DEFAULT_EVENT_CREDENTIAL_DAYS = 90;
export const MAX_EVENT_CREDENTIAL_DAYS = 3650;
export const MAX_EVENT_CREDENTIAL_DOMAINS = 16;
const SUBSCRIBER_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const DAY_S = 86_400;

export interface MintEventCredentialsInput {
  domains: readonly string[];
  name: string;
  /** 0: the default. */
  ttlDays: number;
}

export interface EventCredentials {
  creds: string;
  user: string;
  expiresAt: Date;
  subjects: string[];
}

/**
 * Mints NATS credentials for an event subscriber outside Latchkey. Giving an
 * outsider a domain's events is like granting a role in it: the caller must
 * be allowed `grant.manage` (an owner, or a platform admin) in every domain
 * named. Each decision is audited by the domain service.
 */
export class EventCredentialService {
  constructor(
    private readonly deps: { domains: DomainService; minter: SubscriberMinter | undefined; now?: () => Date },
  ) {}

  async mint(actor: Actor, input: MintEventCredentialsInput): Promise<EventCredentials> {
    if (input.domains.length === 0) throw noDomain();
    if (input.domains.length > MAX_EVENT_CREDENTIAL_DOMAINS) {
      throw tooManyDomains(input.domains.length, MAX_EVENT_CREDENTIAL_DOMAINS);
    }
    const domains = [...new Set(input.domains)];
    for (const d of domains) requireDomainName(d);
    if (!SUBSCRIBER_NAME.test(input.name)) throw invalidSubscriberName(input.name, SUBSCRIBER_NAME);
    const days = input.ttlDays === 0 ? DEFAULT_EVENT_CREDENTIAL_DAYS : input.ttlDays;
    if (!Number.isInteger(days) || days < 1 || days > MAX_EVENT_CREDENTIAL_DAYS) {
      throw invalidTtl(input.ttlDays, MAX_EVENT_CREDENTIAL_DAYS);
    }
    for (const d of domains) await this.deps.domains.authorize(actor, 'grant.manage', d);
    if (this.deps.minter === undefined) throw credentialsUnavailable();
    const now = this.deps.now?.() ?? new Date();
    const expiresAt = new Date((Math.floor(now.getTime() / 1000) + days * DAY_S) * 1000);
    const minted = await this.deps.minter.mint(input.name, domains, expiresAt);
    return { ...minted, expiresAt };
  }
}
