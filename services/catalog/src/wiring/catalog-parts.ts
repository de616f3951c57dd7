import type { Redactor } from '@latchkey/logger';
import type { Service } from '@latchkey/service';
import { DatabaseValueBackend } from '../adapters/database-value-backend.js';
import { DeployerDependents } from '../adapters/deployer-dependents.js';
import { KekRing } from '../adapters/kek-ring.js';
import { rotateKek } from '../adapters/kek-rotation.js';
import { postgresExclusive } from '../adapters/postgres-exclusive.js';
import { PostgresSecretStore } from '../adapters/postgres-secret-store.js';
import { PostgresVaultIntegrationRepo } from '../adapters/postgres-vault-integration-repo.js';
import { PostgresVaultLeaseRepo } from '../adapters/postgres-vault-lease-repo.js';
import { RasBundles } from '../adapters/ras-bundles.js';
import { createValueBackend } from '../adapters/value-backend-factory.js';
import { platformHostsOf, VaultHostPolicy } from '../adapters/vault-host-policy.js';
import { CachedVaultSources } from '../adapters/vault-sources.js';
import type { CatalogConfig } from '../config.js';
import { RotationSweep } from '../domain/rotation/rotation-sweep.js';
import { SecretRetention } from '../domain/secrets/secret-retention.js';
import { SecretService } from '../domain/secrets/secret-service.js';
import { VaultIntegrationService } from '../domain/vault/vault-integration-service.js';
import { VaultLeaseKeeper } from '../domain/vault/vault-lease-keeper.js';
import { VaultVersionWatch } from '../domain/vault/vault-version-watch.js';
import { CatalogViewService } from '../domain/views/catalog-view-service.js';

/** The catalog's domain, built from what the service bootstrap made: what its handlers call and what its sweeps run. */
export interface CatalogParts {
  secrets: SecretService;
  vault: VaultIntegrationService;
  views: CatalogViewService;
  watch: VaultVersionWatch;
  rotation: RotationSweep;
  retention: SecretRetention;
}

/**
 * The KEK ring and the value backend, the clients of ras and the deployer,
 * teams' Vault integrations (and the keeper of their dynamic credentials'
 * leases, whose round this registers), the secret store, and the domain
 * services over them.
 */
export async function buildCatalogParts(service: Service<CatalogConfig>, redactor: Redactor): Promise<CatalogParts> {
  const { config, log, transport, pool, relay, authorizer, metrics } = service;
  const keks = await KekRing.load(config.LATCHKEY_KEK_FILE);
  const backend = await createValueBackend(config, { pool, keks, metrics });
  log.info('managed backend', { backend: backend.kind });
  const dependents = service.close(new DeployerDependents(config.LATCHKEY_DEPLOYER_ADDR, transport.client));
  const bundles = service.close(new RasBundles(config.LATCHKEY_RAS_ADDR, transport.client));
  const integrations = new PostgresVaultIntegrationRepo(pool, keks);
  const hostPolicy = new VaultHostPolicy({
    allowed: config.LATCHKEY_VAULT_ALLOWED_HOSTS,
    platformHosts: platformHostsOf(config),
  });
  const sources = new CachedVaultSources({
    repo: integrations,
    hostPolicy,
    timeoutMs: config.LATCHKEY_VAULT_TIMEOUT_MS,
    metrics,
  });
  // Leases of Vault dynamic credentials: recorded per deployment on read, kept (renewed, revoked) by the keeper.
  const leases = new PostgresVaultLeaseRepo(pool);
  const keeper = new VaultLeaseKeeper({
    leases,
    integrations,
    sources,
    deployments: dependents,
    intervalSeconds: config.LATCHKEY_VAULT_LEASE_INTERVAL_S,
    logger: log,
  });
  // Its periodic round is registered here, beside what it needs (main.ts registers the sweeps it is handed).
  service.every('Vault lease keeper', config.LATCHKEY_VAULT_LEASE_INTERVAL_S, () => keeper.runOnce());
  const keepVersions = config.LATCHKEY_SECRET_KEEP_VERSIONS;
  const store = new PostgresSecretStore(pool, { keepVersions });
  const onChange = () => relay.kick();
  // Database-backend values (whatever the backend now: older versions may be
  // there) and integration credentials are wrapped by the KEK.
  const databaseValues = backend instanceof DatabaseValueBackend ? backend : new DatabaseValueBackend(pool, keks);
  const kekStores = [databaseValues, integrations];
  const exclusive = postgresExclusive(pool);
  // Values are destroyed where they live: the configured backend, or the database for versions from before a switch.
  const retention = new SecretRetention({
    store,
    backends: { database: databaseValues, [backend.kind]: backend },
    keepVersions,
    exclusive,
    logger: log,
    onChange,
  });
  const secrets = new SecretService({
    store,
    authorizer,
    backend,
    logger: log,
    masker: redactor,
    rotateKek: () => rotateKek(pool, keks, kekStores),
    onChange,
    dependents,
    vault: { repo: integrations, sources, leases: { leases, logger: log } },
    auditFailClosed: config.LATCHKEY_AUDIT_FAIL_CLOSED,
    keepVersions,
    defaultRecoveryDays: config.LATCHKEY_SECRET_RECOVERY_DAYS,
    retention,
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
  const watch = new VaultVersionWatch({ repo: integrations, sources, dependents, exclusive, logger: log, onChange });
  const rotation = new RotationSweep({ store, exclusive, logger: log, onChange });
  return { secrets, vault, views, watch, rotation, retention };
}
