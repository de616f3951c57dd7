import { fileURLToPath } from 'node:url';
import { createPool, migrate } from '@latchkey/db';
import {
  dropOnPolicyChange,
  ensureEventTables,
  inboxPrefix,
  ownsStream,
  OutboxRelay,
  PeriodicTask,
  STREAMS,
} from '@latchkey/events';
import {
  CachingAuthorizer,
  createServer,
  RasAuthorizer,
  readCredentials,
  runService,
  identityAuthenticator,
  loadServiceTransport,
} from '@latchkey/grpc';
import { createLogger, initTracing, Redactor } from '@latchkey/logger';
import { connectBus, readBusAuth, ensureStream } from '@latchkey/nats';
import {
  CatalogInternalService,
  CatalogServiceService,
  type CatalogInternalServer,
  type CatalogServiceServer,
} from '@latchkey/proto';
import { DatabaseValueBackend } from './adapters/database-value-backend.js';
import { KekRing } from './adapters/kek-ring.js';
import { PostgresSecretStore } from './adapters/postgres-secret-store.js';
import { createValueBackend } from './adapters/value-backend-factory.js';
import { loadCatalogConfig } from './config.js';
import { rotateKek } from './adapters/kek-rotation.js';
import { DeployerDependents } from './adapters/deployer-dependents.js';
import { postgresExclusive } from './adapters/postgres-exclusive.js';
import { PostgresVaultIntegrationRepo } from './adapters/postgres-vault-integration-repo.js';
import { RasBundles } from './adapters/ras-bundles.js';
import { CachedVaultSources } from './adapters/vault-sources.js';
import { platformHostsOf, VaultHostPolicy } from './adapters/vault-host-policy.js';
import { RotationSweep } from './domain/rotation/rotation-sweep.js';
import { CatalogViewService } from './domain/views/catalog-view-service.js';
import { SecretService } from './domain/secrets/secret-service.js';
import { VaultIntegrationService } from './domain/vault/vault-integration-service.js';
import { VaultVersionWatch } from './domain/vault/vault-version-watch.js';
import { catalogHandlers, catalogInternalHandlers } from './transport/grpc/catalog-handler.js';

// The service's log masks every value the catalog handles (stores or reads), while it handles it, as the resolver's and the deployer's do.
const redactor = new Redactor();
const logger = createLogger({
  service: 'catalog',
  level: process.env.LATCHKEY_LOG_LEVEL as 'info' | undefined,
  redactor,
});

runService('catalog', logger, async () => {
  const config = loadCatalogConfig();
  initTracing();
  const log = logger.child({ replica: config.LATCHKEY_REPLICA_ID });
  // Its certificate (or, with LATCHKEY_INSECURE=1, its shared token) names it to the others.
  const transport = await loadServiceTransport('catalog', config, readCredentials);
  const keks = await KekRing.load(config.LATCHKEY_KEK_FILE);
  const pool = createPool(config.LATCHKEY_DATABASE_URL, log);
  await ensureEventTables(pool);
  await migrate(pool, fileURLToPath(new URL('../../migrations', import.meta.url)), log);
  const bus = await connectBus(
    config.LATCHKEY_NATS_URL,
    config.LATCHKEY_REPLICA_ID,
    log,
    await readBusAuth(config, inboxPrefix('catalog')),
  );
  for (const s of STREAMS) await ensureStream(bus.jsm, s, { update: ownsStream('catalog', s.name) });
  const relay = new OutboxRelay({ pool, js: bus.js, logger: log, source: 'latchkey/catalog' });
  const serviceToken = transport.client;
  const rasAuthorizer = new RasAuthorizer(config.LATCHKEY_RAS_ADDR, serviceToken);
  // ras's answers are reused for at most a second, and dropped on every
  // policy change this replica hears (a plain subscription: every replica).
  const authorizer = new CachingAuthorizer(rasAuthorizer);
  const policyChanges = await dropOnPolicyChange(bus.nc, authorizer);
  const backend = await createValueBackend(config, { pool, keks });
  log.info('managed backend', { backend: backend.kind });
  const dependents = new DeployerDependents(config.LATCHKEY_DEPLOYER_ADDR, serviceToken);
  const bundles = new RasBundles(config.LATCHKEY_RAS_ADDR, serviceToken);
  const integrations = new PostgresVaultIntegrationRepo(pool, keks);
  const hostPolicy = new VaultHostPolicy({
    allowed: config.LATCHKEY_VAULT_ALLOWED_HOSTS,
    platformHosts: platformHostsOf(config),
  });
  const sources = new CachedVaultSources({
    repo: integrations,
    hostPolicy,
    timeoutMs: config.LATCHKEY_VAULT_TIMEOUT_MS,
  });
  const store = new PostgresSecretStore(pool);
  const onChange = () => relay.kick();
  // Database-backend values (whatever the backend now: older versions may be
  // there) and integration credentials are wrapped by the KEK.
  const kekStores = [
    backend instanceof DatabaseValueBackend ? backend : new DatabaseValueBackend(pool, keks),
    integrations,
  ];
  const secrets = new SecretService({
    store,
    authorizer,
    backend,
    maxValueBytes: config.LATCHKEY_MAX_VALUE_BYTES,
    logger: log,
    masker: redactor,
    rotateKek: () => rotateKek(pool, keks, kekStores),
    onChange,
    dependents,
    vault: { repo: integrations, sources },
    auditFailClosed: config.LATCHKEY_AUDIT_FAIL_CLOSED,
  });
  const vault = new VaultIntegrationService({
    repo: integrations,
    sources,
    authorizer,
    bundles,
    dependents,
    onChange,
    logger: log,
  });
  const views = new CatalogViewService({
    store,
    integrations,
    sources,
    dependents,
    authorizer,
    backend: backend.kind,
    listTimeoutMs: config.LATCHKEY_SELECTOR_TIMEOUT_MS,
  });
  const exclusive = postgresExclusive(pool);
  const watch = new VaultVersionWatch({
    repo: integrations,
    sources,
    dependents,
    exclusive,
    logger: log,
    onChange,
  });
  const watchTask = new PeriodicTask({
    name: 'Vault version watch',
    intervalMs: config.LATCHKEY_VAULT_WATCH_INTERVAL_S * 1000,
    run: () => watch.pollOnce(),
    logger: log,
  });
  const rotation = new RotationSweep({
    store,
    exclusive,
    logger: log,
    onChange,
  });
  const rotationTask = new PeriodicTask({
    name: 'rotation sweep',
    intervalMs: config.LATCHKEY_ROTATION_SWEEP_INTERVAL_S * 1000,
    run: () => rotation.sweepOnce(),
    logger: log,
  });

  const server = createServer({
    service: 'catalog',
    logger: log,
    authenticate: await identityAuthenticator(config, transport.serviceTokens && { services: transport.serviceTokens }),
    tls: transport.tls,
  });
  server.addService<CatalogServiceServer>(CatalogServiceService, catalogHandlers(secrets, vault, views));
  // Values cross gRPC only here, and only to the resolver.
  server.addService<CatalogInternalServer>(CatalogInternalService, catalogInternalHandlers(secrets, vault), {
    allow: (p) => p.kind === 'service' && p.id === 'service:resolver',
  });
  const port = await server.listen(config.LATCHKEY_SERVICE_HOST, config.LATCHKEY_GRPC_PORT);
  relay.start();
  watchTask.start();
  // A sweep when the catalog starts, then every interval.
  rotationTask.start(0);
  server.setServing(true);
  return {
    port,
    async stop() {
      await server.shutdown();
      await watchTask.stop();
      await rotationTask.stop();
      await relay.stop();
      policyChanges.stop();
      rasAuthorizer.close();
      dependents.close();
      bundles.close();
      await bus.drain();
      await pool.end();
    },
  };
});
