import type { Handlers, ServiceOptions } from '@latchkey/grpc';
import type { DeployerInternalServer } from '@latchkey/proto';
import type { ReferenceIndexService } from '../../domain/reference-index-service.js';
import type { RuntimeReadService } from '../../domain/runtime/runtime-read-service.js';

/** The runtime reads, which pass on a workload's token. */
const RUNTIME_METHODS: ReadonlySet<string> = new Set(['listRuntimeSecrets', 'readRuntimeSecret']);

/**
 * The gateway's runtime identity: a client certificate of its own (CN
 * gateway-runtime) that the gateway presents on these two calls only. Its
 * serving certificate cannot call at all, and every other call it makes
 * carries its caller's token.
 */
export const GATEWAY_RUNTIME_PRINCIPAL = 'service:gateway-runtime';

/**
 * DeployerInternal answers services only: the reference index the catalog's
 * identity alone, the runtime reads the gateway's runtime identity alone.
 */
export const deployerInternalCallers: ServiceOptions = {
  allow: (p, method) =>
    p.kind === 'service' && p.id === (RUNTIME_METHODS.has(method) ? GATEWAY_RUNTIME_PRINCIPAL : 'service:catalog'),
};

export function deployerInternalHandlers(
  index: ReferenceIndexService,
  runtime: RuntimeReadService,
): Handlers<DeployerInternalServer> {
  return {
    listDependents: async (req) => ({ keys: await index.dependents(req.sourceType, req.sourceId, req.keys) }),
    listDeployedVaultKeys: async () => ({ keys: await index.deployedVaultKeys() }),
    listHeldVersions: async (req) => ({ held: await index.heldVersions(req.sourceType, req.sourceId, req.key) }),
    listLiveDeployments: async (req) => ({ liveIds: await index.liveDeployments(req.deploymentIds) }),
    beginDeletion: async (req) => {
      const r = await index.beginDeletion(req.sourceType, req.sourceId, req.keys, req.force);
      return { deletionId: r.deletionId, keys: r.dependents };
    },
    endDeletion: async (req) => {
      await index.endDeletion(req.deletionId);
      return {};
    },
    listRuntimeSecrets: async (req) => {
      const { deployment, references } = await runtime.references(req.token);
      return {
        deploymentId: deployment.id,
        workload: deployment.workload,
        domain: deployment.domain,
        references: references.map((r) => ({
          key: r.key,
          sourceType: r.sourceType,
          sourceId: r.sourceId,
          legacy: r.legacy,
        })),
      };
    },
    readRuntimeSecret: async (req) =>
      runtime.read(req.token, { key: req.key, sourceType: req.sourceType, sourceId: req.sourceId }),
  };
}
