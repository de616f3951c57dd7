import type { Handlers, ServiceOptions } from '@latchkey/grpc';
import type { DeployerInternalServer } from '@latchkey/proto';
import type { ReferenceIndexService } from '../../domain/reference-index-service.js';

/** DeployerInternal answers the catalog's service identity only. */
export const deployerInternalCallers: ServiceOptions = {
  allow: (p) => p.kind === 'service' && p.id === 'service:catalog',
};

export function deployerInternalHandlers(index: ReferenceIndexService): Handlers<DeployerInternalServer> {
  return {
    listDependents: async (req) => ({ keys: await index.dependents(req.sourceType, req.sourceId, req.keys) }),
    listDeployedVaultKeys: async () => ({ keys: await index.deployedVaultKeys() }),
    beginDeletion: async (req) => {
      const r = await index.beginDeletion(req.sourceType, req.sourceId, req.keys, req.force);
      return { deletionId: r.deletionId, keys: r.dependents };
    },
    endDeletion: async (req) => {
      await index.endDeletion(req.deletionId);
      return {};
    },
  };
}
