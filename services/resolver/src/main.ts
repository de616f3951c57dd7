import { readFile } from 'node:fs/promises';
import { importSealPublicKey, readSigningPublicKeyFiles } from '@latchkey/crypto';
import { dropOnPolicyChange, inboxPrefix, ownsStream, STREAM_EVENTS, STREAMS } from '@latchkey/events';
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
import { connectBus, readBusAuth, ConsumerRunner, ensureConsumer, ensureStream } from '@latchkey/nats';
import { CatalogValueSource } from './adapters/catalog-value-source.js';
import { NatsAuditTrail } from './adapters/nats-audit-trail.js';
import { NatsResolutionPublisher } from './adapters/nats-resolution-publisher.js';
import { loadResolverConfig } from './config.js';
import { DeployerAttribution } from './domain/deployer-attribution.js';
import { ResolutionService } from './domain/resolution-service.js';
import { DEPLOYING_CONSUMER, deployingConsumer } from './transport/events/deploying-consumer.js';
import { startPlanResponder } from './transport/nats/plan-responder.js';

// The logger masks every value the resolver holds between its read and its sealing.
const redactor = new Redactor();
const logger = createLogger({
  service: 'resolver',
  level: process.env.LATCHKEY_LOG_LEVEL as 'info' | undefined,
  redactor,
});

runService('resolver', logger, async () => {
  const config = loadResolverConfig();
  initTracing();
  const log = logger.child({ replica: config.LATCHKEY_REPLICA_ID });
  // Its certificate (or, with LATCHKEY_INSECURE=1, its shared token) names it to the others.
  const transport = await loadServiceTransport('resolver', config, readCredentials);
  const token = transport.client;
  const recipient = importSealPublicKey(await readFile(config.LATCHKEY_SEAL_PUBLIC_KEY_FILE, 'utf8'));
  const deployerKeys = await readSigningPublicKeyFiles(config.LATCHKEY_DEPLOYER_SIGNING_KEY_FILES);
  const bus = await connectBus(
    config.LATCHKEY_NATS_URL,
    config.LATCHKEY_REPLICA_ID,
    log,
    await readBusAuth(config, inboxPrefix('resolver')),
  );
  for (const s of STREAMS) await ensureStream(bus.jsm, s, { update: ownsStream('resolver', s.name) });
  await ensureConsumer(bus.jsm, {
    stream: STREAM_EVENTS,
    durable: DEPLOYING_CONSUMER,
    filterSubjects: ['latchkey.workload.deploying.>'],
  });
  const rasAuthorizer = new RasAuthorizer(config.LATCHKEY_RAS_ADDR, token);
  // ras's answers are reused for at most a second, and dropped on every
  // policy change this replica hears (a plain subscription: every replica).
  const authorizer = new CachingAuthorizer(rasAuthorizer);
  const policyChanges = await dropOnPolicyChange(bus.nc, authorizer);
  const values = new CatalogValueSource(config.LATCHKEY_CATALOG_ADDR, token);
  const audit = new NatsAuditTrail(bus.js);
  // Only what the deployer signed is acted on.
  const attribution = new DeployerAttribution({ keys: deployerKeys, audit, logger: log });
  const resolution = new ResolutionService({
    authorizer,
    values,
    publisher: new NatsResolutionPublisher(bus.js),
    recipient,
    audit,
    auditFailClosed: config.LATCHKEY_AUDIT_FAIL_CLOSED,
    logger: log,
    masker: redactor,
  });
  if (config.LATCHKEY_AUDIT_FAIL_CLOSED) log.info('audit.failClosed: resolutions that cannot be audited are refused');
  const runner = new ConsumerRunner({
    js: bus.js,
    stream: STREAM_EVENTS,
    durable: DEPLOYING_CONSUMER,
    handler: deployingConsumer(resolution, attribution),
    logger: log,
  });

  // The resolver serves only health over gRPC.
  const server = createServer({
    service: 'resolver',
    logger: log,
    authenticate: await identityAuthenticator(config, transport.serviceTokens && { services: transport.serviceTokens }),
    tls: transport.tls,
  });
  const port = await server.listen(config.LATCHKEY_SERVICE_HOST, config.LATCHKEY_GRPC_PORT);
  await runner.start();
  const plans = startPlanResponder(bus.nc, resolution, attribution, log);
  server.setServing(true);
  return {
    port,
    async stop() {
      await server.shutdown();
      await plans.drain().catch(() => undefined);
      await runner.stop();
      policyChanges.stop();
      rasAuthorizer.close();
      values.close();
      await bus.drain();
    },
  };
});
