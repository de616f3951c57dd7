import { PLAN_SUBJECTS, type PlanReply, type PlanRequest } from '@latchkey/events';
import type { Logger } from '@latchkey/logger';
import type { NatsConnection, Subscription } from 'nats';
import type { DeployerAttribution } from '../../domain/deployer-attribution.js';
import type { ResolutionService } from '../../domain/resolution-service.js';
import { startRequestResponder } from './request-responder.js';

/** The queue group: one resolver replica answers each request. */
export const PLAN_QUEUE = 'resolver-plan';

/**
 * Answers plan requests (a check on apply, a dry run) over NATS
 * request/reply. The reply holds scopes, versions and reasons, never a value.
 * A request the deployer did not sign is refused unread.
 */
export function startPlanResponder(
  nc: NatsConnection,
  resolution: ResolutionService,
  attribution: DeployerAttribution,
  logger: Logger,
): Subscription {
  return startRequestResponder<PlanRequest, PlanReply>({
    nc,
    subjects: PLAN_SUBJECTS,
    queue: PLAN_QUEUE,
    what: 'plan request',
    failure: 'the resolution could not be done',
    logger,
    answer: async (req) => (await attribution.plan(req)) ?? (await resolution.plan(req)),
  });
}
