import { RUNTIME_READ_SUBJECTS, type RuntimeReadReply, type RuntimeReadRequest } from '@latchkey/events';
import type { Logger } from '@latchkey/logger';
import type { NatsConnection, Subscription } from 'nats';
import type { DeployerAttribution } from '../../domain/deployer-attribution.js';
import type { ResolutionService } from '../../domain/resolution-service.js';
import { startRequestResponder } from './request-responder.js';

/** The queue group: one resolver replica answers each request. */
export const RUNTIME_READ_QUEUE = 'resolver-runtime-read';

/**
 * Answers a running workload's read of one of its references, asked by the
 * deployer over NATS request/reply. The reply holds the value sealed to the
 * deployers' key (for that request only), or a code and a reason. A request
 * the deployer did not sign is refused unread.
 */
export function startRuntimeReadResponder(
  nc: NatsConnection,
  resolution: ResolutionService,
  attribution: DeployerAttribution,
  logger: Logger,
): Subscription {
  return startRequestResponder<RuntimeReadRequest, RuntimeReadReply>({
    nc,
    subjects: RUNTIME_READ_SUBJECTS,
    queue: RUNTIME_READ_QUEUE,
    what: 'runtime read',
    failure: 'the read could not be done',
    logger,
    answer: async (req) => (await attribution.runtimeRead(req)) ?? (await resolution.runtimeRead(req)),
  });
}
