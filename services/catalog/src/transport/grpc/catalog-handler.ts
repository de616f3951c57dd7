import { GLOBAL_SCOPE } from '@latchkey/events';
import type { Handlers } from '@latchkey/grpc';
import type {
  CatalogInternalServer,
  CatalogServiceServer,
  SecretMetadata,
  SecretVersion,
  ValueRequest,
  VaultIntegration,
  VaultSettings,
} from '@latchkey/proto';
import { formatRotateEvery } from '../../domain/rotation/rotation-policy.js';
import type { CatalogViewService } from '../../domain/views/catalog-view-service.js';
import type { SecretService } from '../../domain/secrets/secret-service.js';
import type { KeyAnswer, SecretMeta, ValueQuery, VersionInfo } from '../../domain/secrets/secret-types.js';
import type { RawVaultSettings, VaultIntegrationService } from '../../domain/vault/vault-integration-service.js';
import type { VaultIntegrationRecord } from '../../domain/vault/vault-integration-types.js';

export const toMetadata = (m: SecretMeta, deleted?: { deletedAt: Date; recoverUntil: Date }): SecretMetadata => ({
  scope: m.scope === GLOBAL_SCOPE ? { domain: '', global: true } : { domain: m.scope, global: false },
  key: m.key,
  source: m.source,
  version: m.version,
  createdAt: m.createdAt.toISOString(),
  updatedAt: m.updatedAt.toISOString(),
  updatedBy: m.updatedBy,
  description: m.description,
  rotateEvery: m.rotateEverySeconds === null ? '' : formatRotateEvery(m.rotateEverySeconds),
  deletedAt: deleted?.deletedAt.toISOString() ?? '',
  recoverUntil: deleted?.recoverUntil.toISOString() ?? '',
});

const toVersion = (v: VersionInfo & { current: boolean; heldBy?: string[] }): SecretVersion => ({
  version: v.version,
  createdAt: v.createdAt.toISOString(),
  createdBy: v.createdBy,
  state: v.disabledAt === null ? 'enabled' : 'disabled',
  current: v.current,
  heldBy: v.heldBy ?? [],
  rolledBackFrom: v.rolledBackFrom ?? 0,
  disabledAt: v.disabledAt?.toISOString() ?? '',
  disabledBy: v.disabledBy ?? '',
});

export const toIntegration = (v: VaultIntegrationRecord): VaultIntegration => ({
  id: v.id,
  domain: v.domain,
  name: v.name,
  host: v.host,
  path: v.path,
  namespace: v.namespace,
  bundle: v.bundle,
  authMethod: v.authMethod,
  roleId: v.roleId,
  layout: v.layout,
  createdAt: v.createdAt.toISOString(),
  updatedAt: v.updatedAt.toISOString(),
  updatedBy: v.updatedBy,
});

const rawSettings = (s: VaultSettings | undefined): RawVaultSettings => ({
  host: s?.host ?? '',
  path: s?.path ?? '',
  namespace: s?.namespace ?? '',
  authMethod: s?.authMethod ?? '',
  roleId: s?.roleId ?? '',
  layout: s?.layout ?? '',
  credential: Buffer.from(s?.credential ?? new Uint8Array()),
});

export function catalogHandlers(
  secrets: SecretService,
  vault: VaultIntegrationService,
  views: CatalogViewService,
): Handlers<CatalogServiceServer> {
  return {
    putSecret: async (req, ctx) => {
      const { meta } = await secrets.put(ctx.principal.id, {
        scope: req.scope,
        key: req.key,
        value: Buffer.from(req.value),
        description: req.description,
        ...(req.rotateEvery === undefined ? {} : { rotateEvery: req.rotateEvery }),
        requestId: ctx.requestId,
      });
      return toMetadata(meta);
    },
    setRotationPolicy: async ({ scope, key, rotateEvery }, ctx) =>
      toMetadata(
        await secrets.setRotationPolicy(ctx.principal.id, { scope, key, rotateEvery, requestId: ctx.requestId }),
      ),
    listSecrets: async (req, ctx) =>
      req.deleted
        ? {
            secrets: (await secrets.recovery.listDeleted(ctx.principal.id, req.scope)).map((d) =>
              toMetadata(d.meta, d),
            ),
          }
        : { secrets: (await secrets.list(ctx.principal.id, req.scope)).map((m) => toMetadata(m)) },
    deleteSecret: async (req, ctx) => {
      const r = await secrets.delete(ctx.principal.id, req.scope, req.key, req.force, ctx.requestId, req.recoveryDays);
      return {
        deleted: toMetadata(r.deleted),
        dependents: r.dependents,
        recoverUntil: r.recoverUntil?.toISOString() ?? '',
      };
    },
    restoreSecret: async (req, ctx) =>
      toMetadata(
        await secrets.recovery.restore(ctx.principal.id, { scope: req.scope, key: req.key, requestId: ctx.requestId }),
      ),
    listSecretVersions: async (req, ctx) => {
      const r = await secrets.versions.list(ctx.principal.id, req.scope, req.key);
      return {
        secret: toMetadata(r.meta),
        versions: r.versions.map(toVersion),
        kept: r.kept,
        holdersKnown: r.holdersKnown,
      };
    },
    rollbackSecret: async (req, ctx) =>
      toMetadata(
        await secrets.versions.rollback(ctx.principal.id, {
          scope: req.scope,
          key: req.key,
          toVersion: req.toVersion,
          requestId: ctx.requestId,
        }),
      ),
    setSecretVersionState: async (req, ctx) =>
      toVersion(
        await secrets.versions.setDisabled(ctx.principal.id, {
          scope: req.scope,
          key: req.key,
          version: req.version,
          disabled: req.disabled,
          requestId: ctx.requestId,
        }),
      ),
    rotateKek: async (_req, ctx) => {
      const r = await secrets.rotateKek(ctx.principal.id);
      return { newKekId: r.newKekId, rewrapped: r.rewrapped, retiredKekIds: r.retired };
    },
    createVaultIntegration: async (req, ctx) =>
      toIntegration(
        await vault.create(ctx.principal.id, {
          domain: req.domain,
          name: req.name,
          bundle: req.bundle,
          settings: rawSettings(req.settings),
          requestId: ctx.requestId,
        }),
      ),
    getVaultIntegration: async (req, ctx) =>
      toIntegration(await vault.get(ctx.principal.id, req.domain, req.integration)),
    listVaultIntegrations: async (req, ctx) => ({
      integrations: (await vault.list(ctx.principal.id, req.domain)).map(toIntegration),
    }),
    updateVaultIntegration: async (req, ctx) =>
      toIntegration(
        await vault.update(
          ctx.principal.id,
          req.domain,
          req.integration,
          {
            ...(req.name === undefined ? {} : { name: req.name }),
            ...(req.host === undefined ? {} : { host: req.host }),
            ...(req.path === undefined ? {} : { path: req.path }),
            ...(req.namespace === undefined ? {} : { namespace: req.namespace }),
            ...(req.authMethod === undefined ? {} : { authMethod: req.authMethod }),
            ...(req.roleId === undefined ? {} : { roleId: req.roleId }),
            ...(req.credential === undefined ? {} : { credential: Buffer.from(req.credential) }),
            ...(req.layout === undefined ? {} : { layout: req.layout }),
            ...(req.bundle === undefined ? {} : { bundle: req.bundle }),
          },
          ctx.requestId,
        ),
      ),
    deleteVaultIntegration: async (req, ctx) => {
      const r = await vault.delete(ctx.principal.id, req.domain, req.integration, req.force, ctx.requestId);
      return { deleted: toIntegration(r.deleted), dependents: r.dependents };
    },
    testVaultIntegration: async (req, ctx) => {
      const r = await vault.test(
        ctx.principal.id,
        req.domain,
        req.integration !== '' ? { integration: req.integration } : { settings: rawSettings(req.settings) },
      );
      return r.outcome === 'ok'
        ? { outcome: 'ok', message: `ok: ${r.keys} key(s) under the path`, keys: r.keys }
        : { outcome: r.outcome, message: r.message, keys: 0 };
    },
    selector: async (req, ctx) => views.selector(ctx.principal.id, req.domain, req.pageSize, req.pageToken),
    inventory: async (req, ctx) => ({
      entries: (await views.inventory(ctx.principal.id, req.scope, req.usedByKey)).map((e) => ({
        secret: toMetadata(e.secret),
        workloadCount: e.workloadCount,
        workloads: e.workloads,
        unreferenced: e.unreferenced,
        rotationDue: e.rotationDue,
        rotationDueAt: e.rotationDueAt?.toISOString() ?? '',
      })),
    }),
  };
}

const toValueQuery = (i: ValueRequest): ValueQuery => ({
  refId: i.refId,
  key: i.key,
  scope: i.scope?.global ? GLOBAL_SCOPE : (i.scope?.domain ?? ''),
  fallbackToGlobal: i.fallbackToGlobal,
  sourceType: i.sourceType === 'VAULT' ? 'VAULT' : 'MANAGED',
  integrationId: i.integrationId,
});

/** A found or missing key as the wire answers it (readValues adds the value). */
const toKeyResult = (a: KeyAnswer) =>
  a.found
    ? {
        refId: a.refId,
        found: true,
        resolvedScope: a.scope,
        version: a.version,
        shadowedGlobal: a.shadowedGlobal === true,
        errorCode: '',
        errorMessage: '',
      }
    : {
        refId: a.refId,
        found: false,
        resolvedScope: '',
        version: 0,
        shadowedGlobal: false,
        errorCode: a.code,
        errorMessage: a.message,
      };

export function catalogInternalHandlers(
  secrets: SecretService,
  vault: VaultIntegrationService,
): Handlers<CatalogInternalServer> {
  return {
    integrationBundles: async (req) => ({
      integrations: (await vault.bundlesOf(req.domain, req.integrationIds)).map((b) => ({
        integrationId: b.id,
        found: b.bundle !== undefined,
        bundle: b.bundle ?? '',
      })),
    }),
    findKeys: async (req) => ({ results: (await secrets.findKeys(req.items.map(toValueQuery))).map(toKeyResult) }),
    readValues: async (req, ctx) => {
      // What was read is recorded (the calling service as the actor) before any value is returned.
      const answers = await secrets.readValues(req.items.map(toValueQuery), {
        actor: ctx.principal.id,
        requestId: ctx.requestId,
        ...(req.deploymentId === '' ? {} : { deploymentId: req.deploymentId }),
      });
      return {
        results: answers.map((a) => ({ ...toKeyResult(a), value: a.found ? a.value : Buffer.alloc(0) })),
      };
    },
  };
}
