import { invalidArgument, LatchkeyError } from '@latchkey/errors';
import type { DomainService } from './domain-service.js';
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
    if (input.domains.length === 0) {
      throw invalidArgument('events.no_domain', 'name at least one domain whose events the subscriber may receive');
    }
    if (input.domains.length > MAX_EVENT_CREDENTIAL_DOMAINS) {
      throw invalidArgument(
        'events.too_many_domains',
        `at most ${MAX_EVENT_CREDENTIAL_DOMAINS} domains per credential, got ${input.domains.length}`,
      );
    }
    const domains = [...new Set(input.domains)];
    for (const d of domains) requireDomainName(d);
    if (!SUBSCRIBER_NAME.test(input.name)) {
      throw invalidArgument(
        'events.invalid_name',
        `the subscriber name ${JSON.stringify(input.name.slice(0, 80))} must match ${SUBSCRIBER_NAME.source} (e.g. redeploy-trigger)`,
      );
    }
    const days = input.ttlDays === 0 ? DEFAULT_EVENT_CREDENTIAL_DAYS : input.ttlDays;
    if (!Number.isInteger(days) || days < 1 || days > MAX_EVENT_CREDENTIAL_DAYS) {
      throw invalidArgument(
        'events.invalid_ttl',
        `ttl_days must be a whole number of days from 1 to ${MAX_EVENT_CREDENTIAL_DAYS}, got ${input.ttlDays}`,
      );
    }
    for (const d of domains) await this.deps.domains.authorize(actor, 'grant.manage', d);
    if (this.deps.minter === undefined) {
      throw new LatchkeyError(
        'events.credentials_unavailable',
        'ras has no subscriber signing key, so it cannot mint event credentials: set LATCHKEY_NATS_SUBSCRIBER_SIGNER_FILE (latchkey up does)',
        { kind: 'failed_precondition' },
      );
    }
    const now = this.deps.now?.() ?? new Date();
    const expiresAt = new Date((Math.floor(now.getTime() / 1000) + days * DAY_S) * 1000);
    const minted = await this.deps.minter.mint(input.name, domains, expiresAt);
    return { ...minted, expiresAt };
  }
}
