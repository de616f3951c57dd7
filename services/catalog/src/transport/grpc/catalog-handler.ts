import { LatchkeyError } from '@latchkey/errors';
import type { Handlers } from '@latchkey/grpc';
import type { CatalogInternalServer, CatalogServiceServer, SecretMetadata } from '@latchkey/proto';
import type { SecretService } from '../../domain/secret-service.js';
import { GLOBAL, type SecretMeta } from '../../domain/secret-types.js';

export const toMetadata = (m: SecretMeta): SecretMetadata => ({
  scope: m.scope === GLOBAL ? { domain: '', global: true } : { domain: m.scope, global: false },
  key: m.key,
  source: m.source,
  version: m.version,
  createdAt: m.createdAt.toISOString(),
  updatedAt: m.updatedAt.toISOString(),
  updatedBy: m.updatedBy,
  description: m.description,
});

/** Calls declared in the contract whose service side is not built yet: UNIMPLEMENTED, saying so. */
const notYet = (what: string) => async (): Promise<never> => {
  throw new LatchkeyError('catalog.not_implemented', `not available in this version of the catalog: ${what}`, {
    kind: 'unimplemented',
  });
};

export function catalogHandlers(secrets: SecretService): Handlers<CatalogServiceServer> {
  return {
    putSecret: async (req, ctx) => {
      const { meta } = await secrets.put(ctx.principal.id, {
        scope: req.scope,
        key: req.key,
        value: Buffer.from(req.value),
        description: req.description,
      });
      return toMetadata(meta);
    },
    listSecrets: async (req, ctx) => ({ secrets: (await secrets.list(ctx.principal.id, req.scope)).map(toMetadata) }),
    deleteSecret: async (req, ctx) => ({
      deleted: toMetadata(await secrets.delete(ctx.principal.id, req.scope, req.key)),
      dependents: [],
    }),
    rotateKek: async (_req, ctx) => {
      const r = await secrets.rotateKek(ctx.principal.id);
      return { newKekId: r.newKekId, rewrapped: r.rewrapped, retiredKekIds: r.retired };
    },
    createVaultIntegration: notYet('vault integrations'),
    getVaultIntegration: notYet('vault integrations'),
    listVaultIntegrations: notYet('vault integrations'),
    updateVaultIntegration: notYet('vault integrations'),
    deleteVaultIntegration: notYet('vault integrations'),
    testVaultIntegration: notYet('vault integrations'),
    selector: notYet('the secret selector'),
    inventory: notYet('the inventory'),
  };
}

export function catalogInternalHandlers(secrets: SecretService): Handlers<CatalogInternalServer> {
  return {
    readValues: async (req) => {
      const answers = await secrets.readValues(
        req.items.map((i) => ({
          refId: i.refId,
          key: i.key,
          scope: i.scope?.global ? GLOBAL : (i.scope?.domain ?? ''),
          fallbackToGlobal: i.fallbackToGlobal,
        })),
      );
      return {
        results: answers.map((a) =>
          a.found
            ? {
                refId: a.refId,
                found: true,
                resolvedScope: a.scope,
                version: a.version,
                value: a.value,
                errorCode: '',
                errorMessage: '',
              }
            : {
                refId: a.refId,
                found: false,
                resolvedScope: '',
                version: 0,
                value: Buffer.alloc(0),
                errorCode: a.code,
                errorMessage: a.message,
              },
        ),
      };
    },
  };
}
