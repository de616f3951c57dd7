import { Redactor } from '@latchkey/logger';
import { serve } from '@latchkey/service';
import { loadCatalogConfig } from './config.js';
import { addCatalogServices } from './transport/grpc/catalog-services.js';
import { buildCatalogParts } from './wiring/catalog-parts.js';

// The service's log masks every value the catalog handles (stores or reads), while it handles it, as the resolver's and the deployer's do.
const redactor = new Redactor();

serve({
  name: 'catalog',
  loadConfig: loadCatalogConfig,
  redactor,
  database: (c) => ({ url: c.LATCHKEY_DATABASE_URL, migrations: new URL('../../migrations', import.meta.url) }),
  ras: (c) => c.LATCHKEY_RAS_ADDR,
  async build(service) {
    const { config, server } = service;
    // Config -> parts: the KEK ring, the value backend, the clients, the domain services.
    const { secrets, vault, views, watch, rotation, retention } = await buildCatalogParts(service, redactor);
    // Register: the periodic sweeps and the gRPC services.
    service.every('Vault version watch', config.LATCHKEY_VAULT_WATCH_INTERVAL_S, () => watch.pollOnce());
    // A sweep when the catalog starts, then every interval.
    service.every('rotation sweep', config.LATCHKEY_ROTATION_SWEEP_INTERVAL_S, () => rotation.sweepOnce(), 0);
    // Deleted secrets past their recovery window and versions beyond the kept count: destroyed in their backend.
    service.every('retention sweep', config.LATCHKEY_RETENTION_SWEEP_INTERVAL_S, () => retention.sweepOnce(), 0);
    addCatalogServices(server, secrets, vault, views);
  },
});
