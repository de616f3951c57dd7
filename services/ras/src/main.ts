import { fileURLToPath } from 'node:url';
import { createPool, migrate } from '@latchkey/db';
import { ensureEventTables, inboxPrefix, ownsStream, OutboxRelay, STREAM_AUDIT, STREAMS } from '@latchkey/events';
import { createServer, identityAuthenticator, loadServiceTransport, readCredentials, runService } from '@latchkey/grpc';
import { createLogger, initTracing } from '@latchkey/logger';
import { connectBus, readBusAuth, ConsumerRunner, ensureConsumer, ensureStream } from '@latchkey/nats';
import { RasServiceService, type RasServiceServer } from '@latchkey/proto';
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
import { AUDIT_CONSUMER, AUDIT_SUBJECTS, auditConsumer } from './transport/events/audit-consumer.js';
import { rasHandlers } from './transport/grpc/ras-handler.js';

const logger = createLogger({ service: 'ras', level: process.env.LATCHKEY_LOG_LEVEL as 'info' | undefined });

runService('ras', logger, async () => {
  const config = loadRasConfig();
  initTracing();
  const log = logger.child({ replica: config.LATCHKEY_REPLICA_ID });
  const transport = await loadServiceTransport('ras', config, readCredentials);
  const pool = createPool(config.LATCHKEY_DATABASE_URL, log);
  await ensureEventTables(pool);
  await migrate(pool, fileURLToPath(new URL('../../migrations', import.meta.url)), log);
  const bus = await connectBus(
    config.LATCHKEY_NATS_URL,
    config.LATCHKEY_REPLICA_ID,
    log,
    await readBusAuth(config, inboxPrefix('ras')),
  );
  for (const s of STREAMS) await ensureStream(bus.jsm, s, { update: ownsStream('ras', s.name) });
  await ensureConsumer(bus.jsm, { stream: STREAM_AUDIT, durable: AUDIT_CONSUMER, filterSubjects: AUDIT_SUBJECTS });
  const relay = new OutboxRelay({ pool, js: bus.js, logger: log, source: 'latchkey/ras' });
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
  const auditRunner = new ConsumerRunner({
    js: bus.js,
    stream: STREAM_AUDIT,
    durable: AUDIT_CONSUMER,
    handler: auditConsumer(audit),
    logger: log,
    concurrency: 32,
  });

  const server = createServer({
    service: 'ras',
    logger: log,
    authenticate: await identityAuthenticator(config, transport.serviceTokens && { services: transport.serviceTokens }),
    tls: transport.tls,
  });
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
  const port = await server.listen(config.LATCHKEY_SERVICE_HOST, config.LATCHKEY_GRPC_PORT);
  relay.start();
  await auditRunner.start();
  server.setServing(true);
  return {
    port,
    async stop() {
      await server.shutdown();
      await auditRunner.stop();
      await relay.stop();
      await bus.drain();
      await pool.end();
    },
  };
});
