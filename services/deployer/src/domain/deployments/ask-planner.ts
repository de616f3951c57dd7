import type { PlanReply, PlanRequest } from '@latchkey/events';
import { dryRunFailed, resolverUnavailable } from './deployment-errors.js';
import type { ResolutionPlanner } from '../ports.js';

/**
 * Asks the resolver for a resolution without a deployment (a dry run, a
 * connection test) and gives its answer; throws when this deployer has no
 * resolver (resolverUnavailable) or the resolver could not do it (dryRunFailed).
 */
export async function askPlanner(
  planner: ResolutionPlanner | undefined,
  request: PlanRequest,
  timeoutMs = 30_000,
): Promise<Extract<PlanReply, { ok: true }>> {
  if (!planner) throw resolverUnavailable();
  const reply = await planner.plan(request, timeoutMs);
  if (!reply.ok) throw dryRunFailed(reply.code, reply.message);
  return reply;
}
