import { RasServiceService, type RasServiceServer } from '@latchkey/proto';
import { serve } from '@latchkey/service';
import { PostgresAuditStore } from './adapters/postgres-audit-store.js';
import { PostgresDecisionAudit } from './adapters/postgres-decision-audit.js';
import { PostgresBundleRepo } from './adapters/postgres-bundle-repo.js';
import { PostgresDomainRepo } from './adapters/postgres-domain-repo.js';
import { PostgresGrantRepo } from './adapters/postgres-grant-repo.js';
import { loadRasConfig } from './config.js';
import { AccessPolicy } from './domain/access-policy.js';
import { NatsSubscriberMinter, readSubscriberSigner } from './adapters/nats-subscriber-minter.js';
import { EventCredentialService } from './domain/event-credential-service.js';
import { AuditService } from './domain/audit-service.js';
import { BundleService } from './domain/bundle-service.js';
import { DomainService } from './domain/domain-service.js';
import { GrantService } from './domain/grant-service.js';
import { repoFacts } from './domain/policy-facts.js';
import { auditConsumerSpec } from './transport/events/audit-consumer.js';
import { rasHandlers } from './transport/grpc/ras-handler.js';

serve({
  name: 'ras',
  loadConfig: loadRasConfig,
  database: (c) => ({ url: c.LATCHKEY_DATABASE_URL, migrations: new URL('../../migrations', import.meta.url) }),
  async build({ config, pool, relay, server, consume }) {
    const kick = () => relay.kick();
    const domainRepo = new PostgresDomainRepo(pool, kick);
    const grantRepo = new PostgresGrantRepo(pool, kick);
    const bundleRepo = new PostgresBundleRepo(pool, kick);
    const facts = repoFacts({ domains: domainRepo, grants: grantRepo, bundles: bundleRepo });
    const policy = new AccessPolicy({
      facts,
      admins: {
        users: new Set(config.LATCHKEY_PLATFORM_ADMINS),
        groups: new Set(config.LATCHKEY_PLATFORM_ADMIN_GROUPS),
      },
    });
    // Each decision is in the outbox before it is answered.
    const decisionAudit = new PostgresDecisionAudit(pool, kick);
    const domains = new DomainService({ repo: domainRepo, policy, facts, audit: decisionAudit });
    const grants = new GrantService({ repo: grantRepo, domains });
    const bundles = new BundleService({ repo: bundleRepo, domains });
    const audit = new AuditService({ store: new PostgresAuditStore(pool), domains });
    await consume([auditConsumerSpec(audit)]);
    const eventCredentials = new EventCredentialService({
      domains,
      minter:
        config.LATCHKEY_NATS_SUBSCRIBER_SIGNER_FILE === undefined
          ? undefined
          : new NatsSubscriberMinter(await readSubscriberSigner(config.LATCHKEY_NATS_SUBSCRIBER_SIGNER_FILE)),
    });
    server.addService<RasServiceServer>(
      RasServiceService,
      rasHandlers(domains, grants, bundles, audit, eventCredentials),
    );
  },
});
