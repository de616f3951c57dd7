import { LatchkeyError } from '@latchkey/errors';
import { RUNTIME_READ_SUBJECTS, type RuntimeReadReply, type RuntimeReadRequest } from '@latchkey/events';
import type { Logger } from '@latchkey/logger';
import type { Msg, NatsConnection, Subscription } from 'nats';
import type { DeployerAttribution } from '../../domain/deployer-attribution.js';
import { invalidRuntimeRead } from '../../domain/resolution-errors.js';
import type { ResolutionService } from '../../domain/resolution-service.js';

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
  const answer = async (msg: Msg): Promise<RuntimeReadReply> => {
    let req: RuntimeReadRequest;
    try {
      req = JSON.parse(new TextDecoder().decode(msg.data)) as RuntimeReadRequest;
    } catch {
      return invalidRuntimeRead('the request is not JSON');
    }
    try {
      if (typeof req !== 'object' || req === null) return invalidRuntimeRead('the request is not a JSON object');
      const refused = await attribution.runtimeRead(req);
      if (refused) return refused;
      return await resolution.runtimeRead(req);
    } catch (err) {
      const code = err instanceof LatchkeyError ? err.code : 'resolver.error';
      logger.warn('a runtime read failed', { code, subject: msg.subject });
      return { ok: false, code, message: 'the read could not be done (see the resolver log)' };
    }
  };
  return nc.subscribe(RUNTIME_READ_SUBJECTS, {
    queue: RUNTIME_READ_QUEUE,
    callback: (err, msg) => {
      if (err) return;
      void answer(msg).then((reply) => msg.respond(JSON.stringify(reply)));
    },
  });
}
