import { readFile } from 'node:fs/promises';
import { importSealPublicKey, readSigningPublicKeyFiles } from '@latchkey/crypto';
import { Redactor } from '@latchkey/logger';
import { serve } from '@latchkey/service';
import { CatalogValueSource } from './adapters/catalog-value-source.js';
import { NatsAuditTrail } from './adapters/nats-audit-trail.js';
import { NatsResolutionPublisher } from './adapters/nats-resolution-publisher.js';
import { loadResolverConfig } from './config.js';
import { DeployerAttribution } from './domain/deployer-attribution.js';
import { ResolutionService } from './domain/resolution-service.js';
import { deployingConsumerSpec } from './transport/events/deploying-consumer.js';
import { startPlanResponder } from './transport/nats/plan-responder.js';
import { startRuntimeReadResponder } from './transport/nats/runtime-read-responder.js';

// The logger masks every value the resolver holds between its read and its sealing.
const redactor = new Redactor();

// The resolver is stateless (no database) and serves only health over gRPC.
serve({
  name: 'resolver',
  loadConfig: loadResolverConfig,
  redactor,
  ras: (c) => c.LATCHKEY_RAS_ADDR,
  async build({ config, log, transport, bus, authorizer, metrics, ...service }) {
    const recipient = importSealPublicKey(await readFile(config.LATCHKEY_SEAL_PUBLIC_KEY_FILE, 'utf8'));
    const deployerKeys = await readSigningPublicKeyFiles(config.LATCHKEY_DEPLOYER_SIGNING_KEY_FILES);
    const values = service.close(new CatalogValueSource(config.LATCHKEY_CATALOG_ADDR, transport.client));
    const audit = new NatsAuditTrail(bus.js);
    // Only what the deployer signed is acted on.
    const attribution = new DeployerAttribution({ keys: deployerKeys, audit, logger: log });
    const resolution = new ResolutionService({
      authorizer,
      values,
      publisher: new NatsResolutionPublisher(bus.js, metrics),
      recipient,
      audit,
      auditFailClosed: config.LATCHKEY_AUDIT_FAIL_CLOSED,
      logger: log,
      masker: redactor,
      secretsV2: config.LATCHKEY_SECRETS_V2,
    });
    if (!config.LATCHKEY_SECRETS_V2) {
      log.info(
        'Secrets V2 is off: ${secrets.KEY} placeholders read global scope only; structured references are refused',
      );
    }
    if (config.LATCHKEY_AUDIT_FAIL_CLOSED) log.info('audit.failClosed: resolutions that cannot be audited are refused');
    await service.consume([deployingConsumerSpec(resolution, attribution, metrics)]);
    service.own(startPlanResponder(bus.nc, resolution, attribution, log));
    service.own(startRuntimeReadResponder(bus.nc, resolution, attribution, log));
  },
});
