import { invalidArgument, permissionDenied } from '@latchkey/errors';
import type { CallContext, Handlers, Principal } from '@latchkey/grpc';
import type { AuditRecord } from '@latchkey/events';
import type {
  AuditEntry,
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
import type { AuditService } from '../../domain/audit-service.js';
import type { BundleService } from '../../domain/bundle-service.js';
import type { DomainService } from '../../domain/domain-service.js';
import { EventCredentialService } from '../../domain/event-credential-service.js';
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

/** The caller as ras sees it: its id, kind and the groups of its identity (the token's groups claim). */
function actorOf(p: Principal): Actor {
  return { id: p.id, kind: p.kind, groups: [...p.groups] };
}

/** The caller, with the request id its call came with (for the audit records of what it decides and changes). */
const caller = (ctx: CallContext): Actor => ({ ...actorOf(ctx.principal), requestId: ctx.requestId });

const toAuditEntry = (r: AuditRecord): AuditEntry => ({
  id: r.id,
  at: r.at,
  service: r.service,
  actor: r.actor,
  groups: r.groups ?? [],
  action: r.action,
  domain: r.domain,
  resource: r.resource,
  outcome: r.outcome,
  reason: r.reason,
  requestId: r.requestId,
});

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
  audit: AuditService,
  eventCredentials: EventCredentialService = new EventCredentialService({ domains, minter: undefined }),
): Handlers<RasServiceServer> {
  return {
    mintEventCredentials: async (req, ctx) => {
      const minted = await eventCredentials.mint(caller(ctx), {
        domains: req.domains,
        name: req.name,
        ttlDays: req.ttlDays,
      });
      return {
        creds: minted.creds,
        user: minted.user,
        expiresAt: minted.expiresAt.toISOString(),
        subjects: minted.subjects,
      };
    },
    createBundle: async (req, ctx) => toBundle(await bundles.create(caller(ctx), req.domain, req.name)),
    getBundle: async (req, ctx) => toBundle(await bundles.get(caller(ctx), req.domain, req.name)),
    listBundles: async (req, ctx) => ({
      bundles: (await bundles.list(caller(ctx), req.domain)).map(toBundle),
    }),
    grantBundle: async (req, ctx) => ({
      granted: (await bundles.grant(caller(ctx), req.domain, req.bundle, req.grantee, req.permissions)).map(
        toBundleGrant,
      ),
    }),
    revokeBundle: async (req, ctx) => ({
      revoked: (await bundles.revoke(caller(ctx), req.domain, req.bundle, req.grantee, req.permissions)).map(
        toBundleGrant,
      ),
    }),
    listBundleGrants: async (req, ctx) => ({
      grants: (await bundles.grants(caller(ctx), req.domain, req.bundle)).map(toBundleGrant),
    }),
    createDomain: async (req, ctx) => toDomain(await domains.create(caller(ctx), req.name)),
    getDomain: async (req, ctx) => toDomain(await domains.get(caller(ctx), req.name)),
    listDomains: async (_req, ctx) => ({ domains: (await domains.list(caller(ctx))).map(toDomain) }),
    grantDomainRole: async (req, ctx) => {
      const r = await grants.grant(caller(ctx), req.domain, req.grantee, req.role);
      return { grant: toDomainGrant(r.grant), changed: r.changed, previousRole: r.previous ?? '' };
    },
    revokeDomainRole: async (req, ctx) => ({
      revoked: toDomainGrant(await grants.revoke(caller(ctx), req.domain, req.grantee, req.role)),
    }),
    listDomainMembers: async (req, ctx) => ({
      members: (await grants.members(caller(ctx), req.domain)).map(toDomainGrant),
    }),
    check: async (req, ctx) => {
      servicesOnly(ctx);
      return toCheckResponse(await domains.check(toCheckInput(req), req.requestId || ctx.requestId));
    },
    checkBatch: async (req, ctx) => {
      servicesOnly(ctx);
      if (req.checks.length > MAX_CHECK_BATCH) {
        throw invalidArgument(
          'ras.batch_too_large',
          `${req.checks.length} checks in one batch; at most ${MAX_CHECK_BATCH}: split the batch`,
        );
      }
      const decisions = await domains.checkBatch(
        req.checks.map(toCheckInput),
        req.checks.map((c) => c.requestId || ctx.requestId),
      );
      return { results: decisions.map(toCheckResponse) };
    },
    listAudit: async (req, ctx) => {
      const page = await audit.list(caller(ctx), {
        domain: req.domain,
        since: req.since,
        actor: req.actor,
        limit: req.limit,
        pageToken: req.pageToken,
      });
      return { records: page.records.map(toAuditEntry), nextPageToken: page.nextPageToken };
    },
    whoAmI: async (_req, ctx) => ({
      principal: ctx.principal.id,
      platformAdmin: ctx.principal.kind === 'user' && domains.isPlatformAdmin(caller(ctx)),
      groups: [...ctx.principal.groups],
    }),
  };
}
