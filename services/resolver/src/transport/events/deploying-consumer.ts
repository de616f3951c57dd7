import {
  ALL,
  DURABLES,
  eventHandler,
  eventTypes,
  STREAM_EVENTS,
  subjects,
  type WorkloadDeploying,
} from '@latchkey/events';
import type { DurableConsumer, MessageHandler } from '@latchkey/nats';
import type { DeployerAttribution } from '../../domain/deployer-attribution.js';
import type { ResolutionService } from '../../domain/resolution-service.js';

export const DEPLOYING_CONSUMER = DURABLES.resolverDeploying;

/**
 * Each delivery of a `deploying` event is one resolution attempt (redeliveries
 * are the retries). One the deployer did not sign is terminated unread.
 */
export function deployingConsumer(resolution: ResolutionService, attribution: DeployerAttribution): MessageHandler {
  return eventHandler<WorkloadDeploying>(
    'resolver/workload.deploying',
    async (event, msg) => {
      await attribution.deploying(event.id, event.data);
      await resolution.resolve(event.data, msg.info.deliveryCount);
    },
    { type: eventTypes.deploying },
  );
}

/** The deploying consumer as the service bootstrap runs it. */
export const deployingConsumerSpec = (
  resolution: ResolutionService,
  attribution: DeployerAttribution,
): DurableConsumer => ({
  stream: STREAM_EVENTS,
  durable: DEPLOYING_CONSUMER,
  filterSubjects: [subjects.deploying(ALL)],
  handler: deployingConsumer(resolution, attribution),
});
