import { invalidArgument, permissionDenied } from '@latchkey/errors';
import type { CallContext, Handlers, Principal } from '@latchkey/grpc';
import type {
  Bundle,
  BundleGrant,
  CheckRequest,
  CheckResponse,
  Domain,
  DomainGrant,
  Grantee,
  RasServiceServer,
} from '@latchkey/proto';
import type { CheckInput } from '../../domain/access-policy.js';
import type { BundleService } from '../../domain/bundle-service.js';
import type { DomainService } from '../../domain/domain-service.js';
import type { GrantService } from '../../domain/grant-service.js';
import type { Actor, BundleGrantRecord, DomainGrantRecord } from '../../domain/grant-types.js';
import type { BundleRecord, DomainRecord } from '../../domain/ports.js';

const toDomain = (d: DomainRecord): Domain => ({
  name: d.name,
  createdAt: d.createdAt.toISOString(),
  createdBy: d.createdBy,
});

const toBundle = (b: BundleRecord): Bundle => ({
  domain: b.domain,
  name: b.name,
  createdAt: b.createdAt.toISOString(),
  createdBy: b.createdBy,
});

const toGrantee = (g: { kind: string; id: string }): Grantee => ({ kind: g.kind, id: g.id });

const toDomainGrant = (g: DomainGrantRecord): DomainGrant => ({
  domain: g.domain,
  grantee: toGrantee(g.grantee),
  role: g.role,
  grantedAt: g.grantedAt.toISOString(),
  grantedBy: g.grantedBy,
});

const toBundleGrant = (g: BundleGrantRecord): BundleGrant => ({
  domain: g.domain,
  bundle: g.bundle,
  grantee: toGrantee(g.grantee),
  permission: g.permission,
  grantedAt: g.grantedAt.toISOString(),
  grantedBy: g.grantedBy,
});

/**
 * The caller as ras sees it. Groups come from the identity; the static
 * tokens of today carry none, and identities that do (OIDC claims) are
 * expected to add `groups` to the Principal.
 */
function actorOf(p: Principal): Actor {
  const groups = (p as Principal & { groups?: unknown }).groups;
  return {
    id: p.id,
    kind: p.kind,
    groups: Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [],
  };
}

function servicesOnly(ctx: CallContext): void {
  if (ctx.principal.kind !== 'service')
    throw permissionDenied('auth.forbidden_caller', 'Check is for Latchkey services');
}

/** At most this many questions in one CheckBatch. */
export const MAX_CHECK_BATCH = 1000;

const toCheckInput = (req: CheckRequest): CheckInput => ({
  principal: req.principal,
  groups: req.groups.filter((g) => g !== ''),
  action: req.action,
  domain: req.domain,
  scope: req.scope,
  resource: req.resource,
});

const toCheckResponse = (d: { allowed: boolean; code: string; reason: string }): CheckResponse => ({
  allowed: d.allowed,
  code: d.code,
  reason: d.reason,
});

export function rasHandlers(
  domains: DomainService,
  grants: GrantService,
  bundles: BundleService,
): Handlers<RasServiceServer> {
  return {
    createBundle: async (req, ctx) => toBundle(await bundles.create(actorOf(ctx.principal), req.domain, req.name)),
    getBundle: async (req, ctx) => toBundle(await bundles.get(actorOf(ctx.principal), req.domain, req.name)),
    listBundles: async (req, ctx) => ({
      bundles: (await bundles.list(actorOf(ctx.principal), req.domain)).map(toBundle),
    }),
    grantBundle: async (req, ctx) => ({
      granted: (await bundles.grant(actorOf(ctx.principal), req.domain, req.bundle, req.grantee, req.permissions)).map(
        toBundleGrant,
      ),
    }),
    revokeBundle: async (req, ctx) => ({
      revoked: (await bundles.revoke(actorOf(ctx.principal), req.domain, req.bundle, req.grantee, req.permissions)).map(
        toBundleGrant,
      ),
    }),
    listBundleGrants: async (req, ctx) => ({
      grants: (await bundles.grants(actorOf(ctx.principal), req.domain, req.bundle)).map(toBundleGrant),
    }),
    createDomain: async (req, ctx) => toDomain(await domains.create(actorOf(ctx.principal), req.name)),
    getDomain: async (req, ctx) => toDomain(await domains.get(actorOf(ctx.principal), req.name)),
    listDomains: async (_req, ctx) => ({ domains: (await domains.list(actorOf(ctx.principal))).map(toDomain) }),
    grantDomainRole: async (req, ctx) => {
      const r = await grants.grant(actorOf(ctx.principal), req.domain, req.grantee, req.role);
      return { grant: toDomainGrant(r.grant), changed: r.changed, previousRole: r.previous ?? '' };
    },
    revokeDomainRole: async (req, ctx) => ({
      revoked: toDomainGrant(await grants.revoke(actorOf(ctx.principal), req.domain, req.grantee, req.role)),
    }),
    listDomainMembers: async (req, ctx) => ({
      members: (await grants.members(actorOf(ctx.principal), req.domain)).map(toDomainGrant),
    }),
    check: async (req, ctx) => {
      servicesOnly(ctx);
      return toCheckResponse(await domains.check(toCheckInput(req)));
    },
    checkBatch: async (req, ctx) => {
      servicesOnly(ctx);
      if (req.checks.length > MAX_CHECK_BATCH) {
        throw invalidArgument(
          'ras.batch_too_large',
          `${req.checks.length} checks in one batch; at most ${MAX_CHECK_BATCH}: split the batch`,
        );
      }
      return { results: (await domains.checkBatch(req.checks.map(toCheckInput))).map(toCheckResponse) };
    },
    whoAmI: async (_req, ctx) => ({
      principal: ctx.principal.id,
      platformAdmin: ctx.principal.kind === 'user' && domains.isPlatformAdmin(actorOf(ctx.principal)),
    }),
  };
}
