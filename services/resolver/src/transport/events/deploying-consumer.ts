import { eventHandler, type WorkloadDeploying } from '@latchkey/events';
import type { MessageHandler } from '@latchkey/nats';
import type { ResolutionService } from '../../domain/resolution-service.js';

export const DEPLOYING_CONSUMER = 'resolver-deploying';

export function deployingConsumer(resolution: ResolutionService): MessageHandler {
  return eventHandler<WorkloadDeploying>('resolver/workload.deploying', async (event) => {
    await resolution.resolve(event.data);
  });
}
