import type { LatchkeyServer } from '@latchkey/grpc';
import {
  CatalogInternalService,
  CatalogServiceService,
  type CatalogInternalServer,
  type CatalogServiceServer,
} from '@latchkey/proto';
import type { CatalogViewService } from '../../domain/views/catalog-view-service.js';
import type { SecretService } from '../../domain/secrets/secret-service.js';
import type { VaultIntegrationService } from '../../domain/vault/vault-integration-service.js';
import { catalogHandlers, catalogInternalHandlers } from './catalog-handler.js';

/** The catalog's gRPC services: CatalogService for everyone, CatalogInternal (values) for the resolver. */
export function addCatalogServices(
  server: LatchkeyServer,
  secrets: SecretService,
  vault: VaultIntegrationService,
  views: CatalogViewService,
): void {
  server.addService<CatalogServiceServer>(CatalogServiceService, catalogHandlers(secrets, vault, views));
  // Values cross gRPC only here, and only to the resolver.
  server.addService<CatalogInternalServer>(CatalogInternalService, catalogInternalHandlers(secrets, vault), {
    allow: (p) => p.kind === 'service' && p.id === 'service:resolver',
  });
}
