import { DURABLES, eventHandler, type WorkloadDeploying } from '@latchkey/events';
import type { MessageHandler } from '@latchkey/nats';
import type { ResolutionService } from '../../domain/resolution-service.js';

export const DEPLOYING_CONSUMER = DURABLES.resolverDeploying;

/** Each delivery of a `deploying` event is one resolution attempt (redeliveries are the retries). */
export function deployingConsumer(resolution: ResolutionService): MessageHandler {
  return eventHandler<WorkloadDeploying>('resolver/workload.deploying', async (event, msg) => {
    await resolution.resolve(event.data, msg.info.deliveryCount);
  });
}
