import { fileURLToPath } from 'node:url';
import { createPool, migrate } from '@latchkey/db';
import { ensureEventTables, OutboxRelay, STREAMS } from '@latchkey/events';
import { createServer, readCredentials, runService, staticAuthenticator } from '@latchkey/grpc';
import { createLogger, initTracing } from '@latchkey/logger';
import { connectBus, ensureStream } from '@latchkey/nats';
import { RasServiceService, type RasServiceServer } from '@latchkey/proto';
import { PostgresBundleRepo } from './adapters/postgres-bundle-repo.js';
import { PostgresDomainRepo } from './adapters/postgres-domain-repo.js';
import { PostgresGrantRepo } from './adapters/postgres-grant-repo.js';
import { loadRasConfig } from './config.js';
import { AccessPolicy } from './domain/access-policy.js';
import { BundleService } from './domain/bundle-service.js';
import { DomainService } from './domain/domain-service.js';
import { GrantService } from './domain/grant-service.js';
import { repoFacts } from './domain/policy-facts.js';
import { rasHandlers } from './transport/grpc/ras-handler.js';

const logger = createLogger({ service: 'ras', level: process.env.LATCHKEY_LOG_LEVEL as 'info' | undefined });

runService('ras', logger, async () => {
  const config = loadRasConfig();
  initTracing();
  const log = logger.child({ replica: config.LATCHKEY_REPLICA_ID });
  const creds = await readCredentials(config.LATCHKEY_CREDENTIALS_FILE);
  const pool = createPool(config.LATCHKEY_DATABASE_URL, log);
  await ensureEventTables(pool);
  await migrate(pool, fileURLToPath(new URL('../../migrations', import.meta.url)), log);
  const bus = await connectBus(config.LATCHKEY_NATS_URL, config.LATCHKEY_REPLICA_ID, log);
  for (const s of STREAMS) await ensureStream(bus.jsm, s);
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
  const domains = new DomainService({ repo: domainRepo, policy, facts });
  const grants = new GrantService({ repo: grantRepo, domains });
  const bundles = new BundleService({ repo: bundleRepo, domains });

  const server = createServer({ service: 'ras', logger: log, authenticate: staticAuthenticator(creds) });
  server.addService<RasServiceServer>(RasServiceService, rasHandlers(domains, grants, bundles));
  const port = await server.listen(config.LATCHKEY_SERVICE_HOST, config.LATCHKEY_GRPC_PORT);
  relay.start();
  server.setServing(true);
  return {
    port,
    async stop() {
      await server.shutdown();
      await relay.stop();
      await bus.drain();
      await pool.end();
    },
  };
});
