import { LatchkeyError } from '@latchkey/errors';
import { PLAN_SUBJECTS, type PlanReply, type PlanRequest } from '@latchkey/events';
import type { Logger } from '@latchkey/logger';
import type { Msg, NatsConnection, Subscription } from 'nats';
import type { DeployerAttribution } from '../../domain/deployer-attribution.js';
import { invalidPlanRequest } from '../../domain/resolution-errors.js';
import type { ResolutionService } from '../../domain/resolution-service.js';

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
  const answer = async (msg: Msg): Promise<PlanReply> => {
    let req: PlanRequest;
    try {
      req = JSON.parse(new TextDecoder().decode(msg.data)) as PlanRequest;
    } catch {
      return invalidPlanRequest('the request is not JSON');
    }
    try {
      if (typeof req !== 'object' || req === null) {
        return invalidPlanRequest('the request is not a JSON object');
      }
      const refused = await attribution.plan(req);
      if (refused) return refused;
      return await resolution.plan(req);
    } catch (err) {
      const code = err instanceof LatchkeyError ? err.code : 'resolver.error';
      logger.warn('a plan request failed', { code, subject: msg.subject });
      return { ok: false, code, message: 'the resolution could not be done (see the resolver log)' };
    }
  };
  return nc.subscribe(PLAN_SUBJECTS, {
    queue: PLAN_QUEUE,
    callback: (err, msg) => {
      if (err) return;
      void answer(msg).then((reply) => msg.respond(JSON.stringify(reply)));
    },
  });
}
