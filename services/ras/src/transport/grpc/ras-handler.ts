import { permissionDenied } from '@latchkey/errors';
import type { CallContext, Handlers } from '@latchkey/grpc';
import type { CheckRequest, CheckResponse, Domain, RasServiceServer } from '@latchkey/proto';
import type { DomainService } from '../../domain/domain-service.js';
import type { DomainRecord } from '../../domain/ports.js';

const toDomain = (d: DomainRecord): Domain => ({
  name: d.name,
  createdAt: d.createdAt.toISOString(),
  createdBy: d.createdBy,
});

function servicesOnly(ctx: CallContext): void {
  if (ctx.principal.kind !== 'service')
    throw permissionDenied('auth.forbidden_caller', 'Check is for Latchkey services');
}

export function rasHandlers(domains: DomainService): Handlers<RasServiceServer> {
  const check = async (req: CheckRequest): Promise<CheckResponse> => {
    const d = await domains.check(req.principal, req.action, req.domain);
    return { allowed: d.allowed, code: d.code, reason: d.reason };
  };
  return {
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
