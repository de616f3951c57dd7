import {
  ALL,
  DURABLES,
  eventHandler,
  eventTypes,
  STREAM_EVENTS,
  subjects,
  type WorkloadDeploying,
} from '@latchkey/events';
import type { ServiceMetrics } from '@latchkey/metrics';
import type { DurableConsumer, MessageHandler } from '@latchkey/nats';
import type { DeployerAttribution } from '../../domain/deployer-attribution.js';
import type { ResolutionService } from '../../domain/resolution-service.js';

export const DEPLOYING_CONSUMER = DURABLES.resolverDeploying;

/**
 * Each delivery of a `deploying` event is one resolution attempt (redeliveries
 * are the retries). One the deployer did not sign is terminated unread.
 */
export function deployingConsumer(
  resolution: ResolutionService,
  attribution: DeployerAttribution,
  metrics?: Pick<ServiceMetrics, 'resolutionObserved'>,
): MessageHandler {
  return eventHandler<WorkloadDeploying>(
    'resolver/workload.deploying',
    async (event, msg) => {
      await attribution.deploying(event.id, event.data);
      const started = performance.now();
      let result: 'ok' | 'error' = 'error';
      try {
        await resolution.resolve(event.data, msg.info.deliveryCount);
        result = 'ok';
      } finally {
        metrics?.resolutionObserved((performance.now() - started) / 1000, result);
      }
    },
    { type: eventTypes.deploying },
  );
}

/** The deploying consumer as the service bootstrap runs it. */
export const deployingConsumerSpec = (
  resolution: ResolutionService,
  attribution: DeployerAttribution,
  metrics?: Pick<ServiceMetrics, 'resolutionObserved'>,
): DurableConsumer => ({
  stream: STREAM_EVENTS,
  durable: DEPLOYING_CONSUMER,
  filterSubjects: [subjects.deploying(ALL)],
  handler: deployingConsumer(resolution, attribution, metrics),
});
