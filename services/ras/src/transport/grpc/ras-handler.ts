import { permissionDenied } from '@latchkey/errors';
import type { CallContext, Handlers } from '@latchkey/grpc';
import type { Bundle, CheckRequest, CheckResponse, Domain, RasServiceServer } from '@latchkey/proto';
import type { BundleService } from '../../domain/bundle-service.js';
import type { DomainService } from '../../domain/domain-service.js';
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

function servicesOnly(ctx: CallContext): void {
  if (ctx.principal.kind !== 'service')
    throw permissionDenied('auth.forbidden_caller', 'Check is for Latchkey services');
}

export function rasHandlers(domains: DomainService, bundles: BundleService): Handlers<RasServiceServer> {
  const check = async (req: CheckRequest): Promise<CheckResponse> => {
    const d = await domains.check(req.principal, req.action, req.domain);
    return { allowed: d.allowed, code: d.code, reason: d.reason };
  };
  return {
    createBundle: async (req, ctx) => toBundle(await bundles.create(ctx.principal, req.domain, req.name)),
    getBundle: async (req, ctx) => toBundle(await bundles.get(ctx.principal, req.domain, req.name)),
    listBundles: async (req, ctx) => ({ bundles: (await bundles.list(ctx.principal, req.domain)).map(toBundle) }),
    createDomain: async (req, ctx) => toDomain(await domains.create(ctx.principal, req.name)),
    getDomain: async (req, ctx) => toDomain(await domains.get(ctx.principal, req.name)),
    listDomains: async (_req, ctx) => ({ domains: (await domains.list(ctx.principal)).map(toDomain) }),
    check: async (req, ctx) => {
      servicesOnly(ctx);
      return check(req);
    },
    checkBatch: async (req, ctx) => {
      servicesOnly(ctx);
      return { results: await Promise.all(req.checks.map(check)) };
    },
    whoAmI: async (_req, ctx) => ({
      principal: ctx.principal.id,
      platformAdmin: domains.isPlatformAdmin(ctx.principal.id),
    }),
  };
}
